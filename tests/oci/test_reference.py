"""Image references parse as Docker parses them (cases from distribution/reference and the wild)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gates.oci.digest import Digest
from gates.oci.errors import InvalidReferenceError
from gates.oci.reference import Reference, parse_reference

H = "a" * 64
CASES = [
    # text, registry, repository, tag, digest, api host
    ("alpine", "docker.io", "library/alpine", None, None, "registry-1.docker.io"),
    ("alpine:3.20", "docker.io", "library/alpine", "3.20", None, "registry-1.docker.io"),
    ("library/alpine", "docker.io", "library/alpine", None, None, "registry-1.docker.io"),
    ("docker.io/alpine", "docker.io", "library/alpine", None, None, "registry-1.docker.io"),
    ("index.docker.io/bitnami/nginx:1.27", "docker.io", "bitnami/nginx", "1.27", None, "registry-1.docker.io"),
    ("bitnami/nginx", "docker.io", "bitnami/nginx", None, None, "registry-1.docker.io"),
    ("ghcr.io/acme/api:1.4", "ghcr.io", "acme/api", "1.4", None, "ghcr.io"),
    ("gcr.io/distroless/static-debian12:nonroot", "gcr.io", "distroless/static-debian12", "nonroot", None,
     "gcr.io"),
    ("registry.k8s.io/kube-apiserver:v1.31.0", "registry.k8s.io", "kube-apiserver", "v1.31.0", None,
     "registry.k8s.io"),
    ("quay.io/prometheus/node-exporter@sha256:" + H, "quay.io", "prometheus/node-exporter", None,
     "sha256:" + H, "quay.io"),
    ("localhost:5000/app:dev", "localhost:5000", "app", "dev", None, "localhost:5000"),
    ("localhost/app", "localhost", "app", None, None, "localhost"),
    ("127.0.0.1:5000/team/app@sha256:" + H, "127.0.0.1:5000", "team/app", None, "sha256:" + H,
     "127.0.0.1:5000"),
    ("[::1]:5000/app:1", "[::1]:5000", "app", "1", None, "[::1]:5000"),
    ("registry.gitlab.com/group/sub/project/image:latest", "registry.gitlab.com", "group/sub/project/image",
     "latest", None, "registry.gitlab.com"),
    ("nginx:1.27@sha256:" + H, "docker.io", "library/nginx", "1.27", "sha256:" + H, "registry-1.docker.io"),
    ("Example.COM/app", "example.com", "app", None, None, "example.com"),  # a capitalized first part is a host
    ("my_reg/a__b-c.d:T_1.x-Y", "docker.io", "my_reg/a__b-c.d", "T_1.x-Y", None, "registry-1.docker.io"),
    ("a---b/c", "docker.io", "a---b/c", None, None, "registry-1.docker.io"),
    ("x/y@sha512:" + "b" * 128, "docker.io", "x/y", None, "sha512:" + "b" * 128, "registry-1.docker.io"),
]


@pytest.mark.parametrize(("text", "registry", "repository", "tag", "digest", "api_host"), CASES)
def test_real_world_references(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None, api_host: str
) -> None:
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag) == (registry, repository, tag)
    assert (str(ref.digest) if ref.digest else None) == digest
    assert ref.api_host == api_host
    assert parse_reference(str(ref)) == ref
    assert parse_reference(ref.familiar) == ref


BAD = [
    ("", "empty"),
    ("Alpine", "must be lowercase"),
    ("acme/API", "must be lowercase"),
    ("ghcr.io/Acme/api", "must be lowercase"),
    (H, "64-character hexadecimal"),
    ("alpine:", "invalid tag"),
    ("alpine:-x", "invalid tag"),
    ("alpine:" + "t" * 129, "invalid tag"),
    ("alpine@sha256:abc", "algorithm:hex"),
    ("alpine@sha256:" + "A" * 64, "lowercase hex"),
    ("alpine@md5:" + "0" * 32, "unsupported digest algorithm"),
    ("alpine@sha256:" + "a" * 63, "64 lowercase hex"),
    ("a//b", "invalid repository name"),
    ("-a/b", "invalid repository name"),
    ("a/b-", "invalid repository name"),
    ("a/b.", "invalid repository name"),
    ("a b", "invalid"),
    ("a:b:c", "invalid"),
    ("https://ghcr.io/acme/api", "invalid"),
    ("x/" + "a" * 260, "longer than 255"),
]


@pytest.mark.parametrize(("text", "reason"), BAD)
def test_refused_references_say_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidReferenceError, match=reason):
        parse_reference(text)


def test_identifier_prefers_the_digest() -> None:
    assert parse_reference("alpine").identifier == "latest"
    assert parse_reference("alpine:3").identifier == "3"
    assert parse_reference(f"alpine:3@sha256:{H}").identifier == f"sha256:{H}"


def test_digest_helpers() -> None:
    d = Digest.of(b"hello")
    assert str(d) == "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    assert d.tag_form == "sha256-" + d.hex
    assert Digest.of(b"hello", "sha512").matches(b"hello")
    assert not d.matches(b"hello!")


_component = st.from_regex(r"\A[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*\Z").filter(lambda s: len(s) <= 30)
_host = st.sampled_from(["ghcr.io", "localhost:5000", "registry.example.com:8443", "10.1.2.3", "docker.io"])
_tag = st.from_regex(r"\A[\w][\w.-]{0,20}\Z", alphabet=st.characters(codec="ascii"))
_digest = st.binary(min_size=1, max_size=8).map(Digest.of)


@given(_host, st.lists(_component, min_size=1, max_size=3), st.none() | _tag, st.none() | _digest)
def test_built_references_parse_back(
    host: str, path: list[str], tag: str | None, digest: Digest | None
) -> None:
    repository = "/".join(path)
    if host == "docker.io" and "/" not in repository:
        repository = "library/" + repository
    ref = Reference(host, repository, tag, digest)
    assert parse_reference(str(ref)) == ref
    assert parse_reference(ref.familiar) == ref


@given(st.text(max_size=80))
def test_arbitrary_text_parses_or_fails_cleanly(text: str) -> None:
    try:
        ref = parse_reference(text)
    except InvalidReferenceError as exc:
        message = str(exc)
        ref = None
    else:
        message = ""
    assert "\n" not in message
    if ref is not None:
        assert parse_reference(str(ref)) == ref


@pytest.mark.parametrize(("image", "pattern", "expected"), [
    ("registry.corp.example/team/app:1", "*.corp.example/*", True),
    ("evil.io/registry.corp.example/app", "*.corp.example/*", False),  # a host glob never crosses `/`
    ("evil.io/registry.corp.example/app", "registry.corp.example/*", False),
    ("registry.corp.example/team/app", "registry.corp.example/team/*", True),
    ("registry.corp.example/other/app", "registry.corp.example/team/*", False),
    ("localhost:5000/a/b", "localhost:5000/*", True),
    ("127.0.0.1:5000/a", "127.0.0.1:*/a", True),
    ("alpine:3.20", "alpine", True),
    ("docker.io/library/alpine", "alpine", True),
    ("ghcr.io/library/alpine", "alpine", False),
    ("acme/api", "acme/*", True),
    ("ghcr.io/acme/api", "acme/*", False),
    ("ghcr.io/acme/api", "ghcr.io/acme/*", True),
    ("anything.example/x", "*", True),
])
def test_repository_globs(image: str, pattern: str, expected: bool) -> None:
    from gates.oci.reference import matches_repository

    assert matches_repository(parse_reference(image), pattern) is expected


@pytest.mark.parametrize(("text", "name"), [
    ("GHCR.IO/acme/api:1", "ghcr.io/acme/api"),
    ("ghcr.io:443/acme/api", "ghcr.io/acme/api"),
    ("registry-1.docker.io/alpine", "docker.io/library/alpine"),
    ("index.docker.io/acme/app", "docker.io/acme/app"),
    ("Registry.Example:8443/a", "registry.example:8443/a"),
])
def test_one_spelling_per_registry(text: str, name: str) -> None:
    """A policy over `ghcr.io/acme/*` must not be dodged by `GHCR.IO/...` or `ghcr.io:443/...`."""
    from gates.oci.reference import matches_repository

    ref = parse_reference(text)
    assert ref.name == name
    assert matches_repository(ref, name.rsplit("/", 1)[0] + "/*")
