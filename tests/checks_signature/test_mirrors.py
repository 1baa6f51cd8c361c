"""Mirrored images: a policy's `signed-identity`, with images copied (signature and all) between repositories."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gates.checks import load_config as load
from gates.checks.signature import rules as r
from gates.cosign.reference import InvalidDockerReference
from gates.cosign.signed_identity import DIGEST_ONLY, MATCH_REPOSITORY, identity_problem, normalize_prefix, remap
from gates.errors import ConfigError
from gates.oci.client import RegistryClient
from gates.oci.digest import Digest
from gates.oci.reference import Reference, parse_reference
from tests.checks_signature.conftest import GatesRun, Signers, push, results
from tests.checks_signature.cosign import key_layer, sign_legacy
from tests.support.registry import RegistryServer

_counter = itertools.count()


def copy_image(client: RegistryClient, source: Reference, target: Reference, digest: Digest,
               suffix: str = ".sig") -> None:
    """Copy the image at `digest` and its `.sig` (or `.att`) manifest from `source`'s repository to
    `target`'s, blob by blob, as `cosign copy` or registry replication does; the bytes (so the digest) do
    not change."""
    for tag in (target.tag or "latest", f"{digest.tag_form}{suffix}"):
        src = source.with_digest(digest) if not tag.endswith(suffix) else source.repo_only().with_tag(tag)
        fetched = client.get_manifest(src)
        manifest = fetched.parse()
        for blob in (manifest.config, *manifest.layers):  # type: ignore[union-attr]
            client.put_blob(target, client.get_blob(source, blob.digest))
        client.put_manifest(target.repo_only().with_tag(tag), fetched.content, fetched.media_type)


def signed_and_mirrored(registry: RegistryServer, client: RegistryClient, signers: Signers,
                        mirror: str) -> tuple[Reference, Reference]:
    """An image signed in `HOST/sig/appN`, and its copy at `HOST/MIRROR/sig/appN`."""
    number = next(_counter)
    origin = parse_reference(f"{registry.host}/sig/mirrored{number}:1.0")
    digest = push(client, origin)
    sign_legacy(client, origin, digest, key_layer(signers.key, digest, origin.name, signers.rekor))
    copy = parse_reference(f"{registry.host}/{mirror}/sig/mirrored{number}:1.0")
    copy_image(client, origin, copy, digest)
    return origin, copy


def config_with(tmp_path: Path, signers: Signers, image: Reference, identity: str) -> Path:
    path = tmp_path / "gates.toml"
    path.write_text(f"""
format = ["json"]

[signature]
images = ["{image}"]
trusted-root = "{signers.trusted_root}"

[[signature.policies]]
name = "mirror"
images = ["*"]
{identity}

[[signature.policies.authorities]]
key = "{signers.key_pem}"
""", encoding="utf-8")
    return path


def test_mirrored_image_fails_by_default_naming_expected_and_found(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun, tmp_path: Path
) -> None:
    origin, copy = signed_and_mirrored(registry, pusher, signers, "mirror")
    for identity in ("", 'signed-identity = "match-repository"'):
        run = gates(["signature", "--config", str(config_with(tmp_path, signers, copy, identity))])
        assert run.code == 1, run.out
        [result] = results(run)
        [finding] = result["findings"]
        assert finding["rule"] == r.PAYLOAD_MISMATCH
        assert f"names {origin.name}, expected {copy.name}" in finding["message"]
    assert gates(["signature", "--config", str(config_with(tmp_path, signers, origin, ""))]).code == 0


def test_digest_only_passes_and_says_the_repository_was_not_checked(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun, tmp_path: Path
) -> None:
    _, copy = signed_and_mirrored(registry, pusher, signers, "mirror")
    config = config_with(tmp_path, signers, copy, 'signed-identity = "digest-only"')
    run = gates(["signature", "--config", str(config)])
    assert run.code == 0, run.out
    [result] = results(run)
    assert result["outcome"] == "passed"
    assert "digest-only: the repository the signature names was not checked" in result["details"][1]


def test_digest_only_still_binds_the_digest(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun, tmp_path: Path
) -> None:
    origin, _ = signed_and_mirrored(registry, pusher, signers, "mirror")
    other = parse_reference(f"{registry.host}/sig/unsigned{next(_counter)}:1.0")
    other_digest = push(pusher, other, "other")
    origin_digest = pusher.resolve(origin).digest
    # the origin's signature, placed where the other image's signature would be
    sign_legacy(pusher, other, other_digest, key_layer(signers.key, origin_digest, origin.name, signers.rekor))
    config = config_with(tmp_path, signers, other, 'signed-identity = "digest-only"')
    run = gates(["signature", "--config", str(config)])
    assert run.code == 1
    [finding] = results(run)[0]["findings"]
    assert finding["rule"] == r.PAYLOAD_MISMATCH and f"expected {other_digest}" in finding["message"]


def remap_table(prefix: str, signed_prefix: str) -> str:
    return f'[signature.policies.signed-identity]\nprefix = "{prefix}"\nsigned-prefix = "{signed_prefix}"\n'


def test_remap_passes_when_the_signature_names_the_original(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun, tmp_path: Path
) -> None:
    _, copy = signed_and_mirrored(registry, pusher, signers, "mirror/upstream")
    table = remap_table(f"{registry.host}/mirror/upstream", registry.host)
    run = gates(["signature", "--config", str(config_with(tmp_path, signers, copy, table))])
    assert run.code == 0, run.out
    [result] = results(run)
    assert f"signed-identity remap {registry.host}/mirror/upstream -> {registry.host}" in result["details"][1]


def test_remap_to_the_wrong_signed_prefix_fails(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun, tmp_path: Path
) -> None:
    origin, copy = signed_and_mirrored(registry, pusher, signers, "mirror")
    table = remap_table(f"{registry.host}/mirror", f"{registry.host}/elsewhere")
    run = gates(["signature", "--config", str(config_with(tmp_path, signers, copy, table))])
    assert run.code == 1
    [finding] = results(run)[0]["findings"]
    assert finding["rule"] == r.PAYLOAD_MISMATCH
    expected = f"{registry.host}/elsewhere/sig/{origin.name.rpartition('/')[2]}"
    assert f"names {origin.name}, expected {expected}" in finding["message"]


def test_a_string_prefix_that_is_not_a_path_prefix_does_not_remap(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun, tmp_path: Path
) -> None:
    _, copy = signed_and_mirrored(registry, pusher, signers, "mirror-evil")
    table = remap_table(f"{registry.host}/mirror", registry.host)
    run = gates(["signature", "--config", str(config_with(tmp_path, signers, copy, table))])
    assert run.code == 1
    [finding] = results(run)[0]["findings"]
    assert finding["rule"] == r.PAYLOAD_MISMATCH
    assert f"expected {copy.name} (the image is not under {registry.host}/mirror" in finding["message"]


@pytest.mark.parametrize(
    ("image", "signed", "ok"),
    [
        ("mirror.internal/dockerhub/library/alpine:3.20", "docker.io/library/alpine", True),
        ("mirror.internal/dockerhub/library/alpine", "alpine", True),
        ("mirror.internal/dockerhub/alpine", "index.docker.io/library/alpine:3", True),  # short Hub name
        ("mirror.internal/dockerhub/acme/app@sha256:" + "a" * 64, "acme/app", True),
        ("mirror.internal/dockerhub/acme/app", "docker.io/evil/app", False),
        ("mirror.internal/dockerhub/acme/app", "mirror.internal/dockerhub/acme/app", False),
        ("mirror.internal/dockerhub-evil/acme/app", "acme/app", False),  # not a path-component prefix
        ("mirror.internal/dockerhub-evil/acme/app", "mirror.internal/dockerhub-evil/acme/app", True),  # own name
        ("mirror.internal/dockerhubx/acme/app", "acme/app", False),
        ("mirror.internal/dockerhub", "docker.io/library/docker.io", False),  # the prefix alone: no repository
        ("mirror.internal/dockerhub/acme/app", "not a reference", False),
    ],
)
def test_remap_semantics(image: str, signed: str, ok: bool) -> None:
    rule = remap("mirror.internal/dockerhub", "index.docker.io")
    assert (identity_problem(image, signed, rule) is None) is ok


@pytest.mark.parametrize(
    ("image", "signed", "ok"),
    [
        ("alpine:3.20", "docker.io/library/alpine", True),
        ("docker.io/library/alpine", "index.docker.io/library/alpine:latest", True),
        ("ghcr.io/acme/app:1", "ghcr.io/acme/app", True),
        ("ghcr.io/acme/app:1", "ghcr.io/acme/app-evil", False),
        ("mirror.internal/acme/app", "ghcr.io/acme/app", False),
    ],
)
def test_match_repository_and_digest_only(image: str, signed: str, ok: bool) -> None:
    assert (identity_problem(image, signed, MATCH_REPOSITORY) is None) is ok
    assert identity_problem(image, signed, DIGEST_ONLY) is None


@pytest.mark.parametrize("prefix", ["mirror", "mirror.internal/", "https://mirror.internal", "mirror.internal/a:1",
                                    "mirror.internal/a@sha256:" + "a" * 64, "", "mirror.internal/UPPER", " x.io"])
def test_bad_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(InvalidDockerReference):
        normalize_prefix(prefix)


def test_prefixes_are_normalized() -> None:
    assert normalize_prefix("index.docker.io") == "docker.io"
    assert normalize_prefix("registry-1.docker.io/library") == "docker.io/library"
    assert normalize_prefix("localhost:5000/team") == "localhost:5000/team"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('signed-identity = "digest"', "signed-identity: unknown value 'digest' (did you mean digest-only?)"),
        ("signed-identity = 3", "signed-identity must be \"match-repository\", \"digest-only\" or a table"),
        ('signed-identity = {prefix = "mirror.internal/hub"}',
         "a remap needs both prefix and signed-prefix (signed-prefix missing)"),
        ('signed-identity = {signed-prefix = "docker.io"}', "(prefix missing)"),
        ('signed-identity = {prefix = "mirror", signed-prefix = "docker.io"}',
         "signed-identity: prefix 'mirror' must start with a registry host"),
        ('signed-identity = {prefix = "mirror.internal/hub", signed-prefix = "docker.io/"}',
         "signed-identity: signed-prefix 'docker.io/' is not a registry host"),
        ('signed-identity = {prefix = "m.io", signed-prefix = "docker.io", type = "remap"}',
         "signed-identity.type: unknown key"),
    ],
)
def test_signed_identity_config_errors(toml: str, message: str, tmp_path: Path, gates: GatesRun) -> None:
    path = tmp_path / "gates.toml"
    path.write_text(f"[signature]\nimages = ['m.io/a:1']\n[[signature.policies]]\nimages = ['*']\n{toml}\n"
                    "authorities = [{key = 'k.pub'}]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert message in str(caught.value) and "signature.policies: [1].signed-identity" in str(caught.value)
    run = gates(["signature", "--config", str(path)])
    assert run.code == 2
    assert len(run.err.strip().splitlines()) == 1 and message in run.err


_COMPONENTS = st.sampled_from(["hub", "hub-evil", "hubx", "library", "acme", "app"])
_HOSTS = st.sampled_from(["mirror.internal", "docker.io", "index.docker.io", "ghcr.io"])
_NAMES = st.builds(lambda host, path: "/".join([host, *path]), _HOSTS, st.lists(_COMPONENTS, min_size=1, max_size=4))


@settings(max_examples=300, deadline=None)
@given(image=_NAMES, signed=_NAMES)
def test_remap_accepts_only_the_original_under_whole_components(image: str, signed: str) -> None:
    """Judged against an independent statement of the rule: split on `/`, never compare strings."""
    rule = remap("mirror.internal/hub", "docker.io")
    own, found = parse_reference(image).name, parse_reference(signed).name
    components = own.split("/")
    expected: str | None = own
    if components[:2] == ["mirror.internal", "hub"]:  # the prefix itself remaps to a bare host: no repository
        expected = parse_reference("docker.io/" + "/".join(components[2:])).name if components[2:] else None
    assert (identity_problem(image, signed, rule) is None) is (found == expected)


def test_a_whole_repository_can_be_remapped_to_another() -> None:
    rule = remap("mirror.internal/hub/app", "docker.io/acme/app")
    assert identity_problem("mirror.internal/hub/app:1", "acme/app", rule) is None
    assert identity_problem("mirror.internal/hub/app:1", "acme/other", rule) is not None
    assert identity_problem("mirror.internal/hub/app2", "acme/app2", rule) is not None  # not under the prefix


def _attestation_config(tmp_path: Path, signers: Signers, image: Reference, identity: str) -> Path:
    path = tmp_path / "gates.toml"
    path.write_text(f"""
format = ["json"]

[signature]
images = ["{image}"]
trusted-root = "{signers.trusted_root}"

[[signature.policies]]
name = "mirror"
images = ["*"]
signature = false
{identity}

[[signature.policies.authorities]]
key = "{signers.key_pem}"
ignore-tlog = true

[[signature.policies.attestations]]
type = "slsaprovenance1"
""", encoding="utf-8")
    return path


@pytest.mark.parametrize(("mirror", "identity", "code", "said"), [
    ("mirror", "", 1, "attestation subject"),
    ("mirror", 'signed-identity = "digest-only"', 0, "verified"),
    ("mirror", 'signed-identity = {{ prefix = "{host}/mirror", signed-prefix = "{host}" }}', 0, "verified"),
    ("mirror", 'signed-identity = {{ prefix = "{host}/mirror", signed-prefix = "{host}/other" }}', 1,
     "attestation subject"),
])
def test_attestation_subjects_are_bound_as_signatures_are(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun, tmp_path: Path,
    mirror: str, identity: str, code: int, said: str,
) -> None:
    """An attestation copied with its image to a mirror: its subject names the original repository, so
    the policy's signed-identity decides, exactly as for the signature."""
    from tests.checks_signature.attest import SLSA_V1, att_layer, provenance, push_att

    number = next(_counter)
    origin = parse_reference(f"{registry.host}/att/mirrored{number}:1.0")
    digest = push(pusher, origin)
    push_att(pusher, origin, digest, att_layer(signers.key, digest, SLSA_V1, provenance(),
                                               subject_name=origin.repo_only().name))
    copy = parse_reference(f"{registry.host}/{mirror}/att/mirrored{number}:1.0")
    copy_image(pusher, origin, copy, digest, suffix=".att")
    at_origin = gates(["signature", "--config", str(_attestation_config(tmp_path, signers, origin, ""))])
    assert at_origin.code == 0, at_origin.out  # the subject names the image's own repository
    config = _attestation_config(tmp_path, signers, copy, identity.format(host=registry.host))
    run = gates(["signature", "--config", str(config)])
    assert run.code == code, run.out
    [result] = results(run)
    text = " ".join([*result["details"], *(f["message"] for f in result["findings"])])
    assert said in text, text
    if code:
        assert f"att/mirrored{number}" in text and "expected" in text


def test_a_subject_name_that_is_no_reference_leaves_the_binding_to_the_digest(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun, tmp_path: Path,
) -> None:
    from tests.checks_signature.attest import SLSA_V1, att_layer, provenance, push_att

    number = next(_counter)
    origin = parse_reference(f"{registry.host}/att/named{number}:1.0")
    digest = push(pusher, origin)
    push_att(pusher, origin, digest, att_layer(signers.key, digest, SLSA_V1, provenance(), subject_name="app.tar"))
    copy = parse_reference(f"{registry.host}/mirror/att/named{number}:1.0")
    copy_image(pusher, origin, copy, digest, suffix=".att")
    run = gates(["signature", "--config", str(_attestation_config(tmp_path, signers, copy, ""))])
    assert run.code == 0, run.out
