"""The client against a real registry (distribution 2.8): push, pull, verify, referrers, cache, auth."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gates.oci import mediatypes
from gates.oci.cache import DigestCache
from gates.oci.client import RegistryClient
from gates.oci.credentials import Credentials, StaticCredentials
from gates.oci.digest import Digest
from gates.oci.errors import AuthError, NotFoundError
from gates.oci.layers import read_files
from gates.oci.manifest import ImageIndex, ImageManifest, Platform
from gates.oci.reference import Reference, parse_reference
from tests.oci.conftest import FAST_RETRY
from tests.support import oci_images as oi
from tests.support.registry import (
    BASIC_PASSWORD,
    BASIC_USER,
    TOKEN_PASSWORD,
    TOKEN_REFRESH,
    TOKEN_USER,
    RegistryServer,
)

_counter = iter(range(10**6))


def fresh(server: RegistryServer, repo: str = "test/img", tag: str = "v1") -> Reference:
    """A reference to a repository no other test uses."""
    return parse_reference(f"{server.host}/{repo}{next(_counter)}:{tag}")


def debian_like() -> oi.Image:
    return oi.image([
        oi.layer({"usr/lib/os-release": 'ID=debian\nVERSION_ID="12"\n', "etc/debian_version": "12.5\n"}),
        oi.layer([oi.symlink("etc/os-release", "../usr/lib/os-release")]),
    ], user="1000", annotations={"org.opencontainers.image.base.name": "docker.io/library/debian:12"})


def test_push_then_pull_round_trip(registry: RegistryServer, client: RegistryClient) -> None:
    ref = fresh(registry)
    img = debian_like()
    assert oi.push_image(client, ref, img) == img.digest
    fetched = client.get_manifest(ref)
    assert fetched.content == img.manifest
    assert fetched.digest == img.digest
    assert fetched.media_type == mediatypes.OCI_MANIFEST
    manifest = fetched.parse()
    assert isinstance(manifest, ImageManifest)
    assert manifest.annotations["org.opencontainers.image.base.name"] == "docker.io/library/debian:12"
    config = json.loads(client.get_blob(ref, manifest.config.digest))
    assert config["config"]["User"] == "1000"
    files = read_files([client.layer_opener(ref, d) for d in manifest.layers], ["etc/os-release"])
    assert files["etc/os-release"].data == b'ID=debian\nVERSION_ID="12"\n'
    assert client.list_tags(ref) == ["v1"]


def test_head_resolves_what_a_get_verifies(registry: RegistryServer, client: RegistryClient) -> None:
    ref = fresh(registry)
    img = debian_like()
    oi.push_image(client, ref, img)
    desc = client.resolve(ref)
    assert (desc.digest, desc.size, desc.media_type) == (img.digest, len(img.manifest), mediatypes.OCI_MANIFEST)
    by_digest = client.get_manifest(ref.with_digest(desc.digest))
    assert by_digest.content == img.manifest


def test_docker_media_types_and_tag_plus_digest(registry: RegistryServer, client: RegistryClient) -> None:
    ref = fresh(registry)
    img = oi.image([oi.layer({"etc/alpine-release": "3.20.1\n"})], docker_media_types=True)
    oi.push_image(client, ref, img)
    both = ref.with_digest(img.digest)  # tag and digest: the digest is what is fetched
    assert str(both).endswith(f":v1@{img.digest}")
    fetched = client.get_manifest(both)
    assert fetched.media_type == mediatypes.DOCKER_MANIFEST
    assert fetched.digest == img.digest


def test_multi_arch_index(registry: RegistryServer, client: RegistryClient) -> None:
    ref = fresh(registry)
    amd = oi.image([oi.layer({"etc/os-release": "ID=amd"})])
    arm = oi.image([oi.layer({"etc/os-release": "ID=arm"})], architecture="arm64")
    idx = oi.index([(amd, Platform("linux", "amd64")), (arm, Platform("linux", "arm64", "v8"))])
    assert oi.push_index(client, ref, idx) == idx.digest
    fetched = client.get_manifest(ref)
    assert fetched.media_type == mediatypes.OCI_INDEX
    parsed = fetched.parse()
    assert isinstance(parsed, ImageIndex)
    entry = parsed.for_platform("linux", "arm64")
    assert entry is not None and entry.digest == arm.digest
    assert parsed.for_platform("windows", "amd64") is None
    child = client.get_manifest(ref.with_digest(entry.digest)).parse()
    assert isinstance(child, ImageManifest)


def test_missing_things_are_not_found_with_the_reference_named(
    registry: RegistryServer, client: RegistryClient
) -> None:
    ref = fresh(registry)
    with pytest.raises(NotFoundError, match=rf"manifest {ref}: not found \(MANIFEST_UNKNOWN"):
        client.get_manifest(ref)
    oi.push_image(client, ref, debian_like())
    with pytest.raises(NotFoundError, match="MANIFEST_UNKNOWN"):
        client.get_manifest(ref.with_tag("nope"))
    with pytest.raises(NotFoundError, match="BLOB_UNKNOWN"):
        client.get_blob(ref, Digest.of(b"never pushed"))


def test_streamed_blob_is_verified_and_capped(registry: RegistryServer, client: RegistryClient) -> None:
    ref = fresh(registry)
    data = bytes(range(256)) * 4096
    digest = client.put_blob(ref, data)
    fresh_client = RegistryClient(StaticCredentials({}), retry=FAST_RETRY)
    with fresh_client.open_blob(ref, digest, size=len(data)) as stream:
        assert stream.read(-1) == data
    from gates.oci.errors import TooLargeError

    with pytest.raises(TooLargeError), fresh_client.open_blob(ref, digest, max_bytes=1000) as stream:
        stream.read(-1)
    with pytest.raises(TooLargeError, match="over the cap"):
        fresh_client.get_blob(ref, digest, max_bytes=1000)
    fresh_client.close()


def test_referrers_fall_back_to_the_tag_schema(registry: RegistryServer, client: RegistryClient) -> None:
    ref = fresh(registry)
    img = debian_like()
    oi.push_image(client, ref, img)
    assert client.referrers(ref, img.digest).descriptors == ()
    bundle_type = "application/vnd.dev.sigstore.bundle.v0.3+json"
    artifact = oi.image([b'{"bundle": true}'], config={}, config_media_type=mediatypes.OCI_EMPTY,
                        subject=img.descriptor, artifact_type=bundle_type, layer_media_type=bundle_type)
    sbom = oi.image([b'{"spdx": true}'], config={}, config_media_type=mediatypes.OCI_EMPTY,
                    subject=img.descriptor, artifact_type="application/spdx+json",
                    layer_media_type="application/spdx+json")
    for extra in (artifact, sbom):
        oi.push_image(client, ref.repo_only().with_digest(extra.digest), extra)
    found = client.referrers(ref, img.digest)
    assert found.source == "tag-schema"  # distribution 2.8 has no referrers API: it answered 404
    assert {d.digest for d in found.descriptors} == {artifact.digest, sbom.digest}
    only = client.referrers(ref, img.digest, artifact_type=bundle_type)
    assert [d.digest for d in only.descriptors] == [artifact.digest]
    assert sorted(client.list_tags(ref)) == sorted(["v1", img.digest.tag_form])
    # pushing the same referrer again does not duplicate it in the index
    oi.push_image(client, ref.repo_only().with_digest(artifact.digest), artifact)
    assert len(client.referrers(ref, img.digest).descriptors) == 2


def test_content_fetched_by_digest_is_fetched_once(registry: RegistryServer, client: RegistryClient) -> None:
    ref = fresh(registry)
    img = debian_like()
    oi.push_image(client, ref, img)
    reader = RegistryClient(StaticCredentials({}), retry=FAST_RETRY)
    by_digest = ref.with_digest(img.digest)
    manifest = reader.get_manifest(by_digest).parse()
    assert isinstance(manifest, ImageManifest)
    before = reader.request_count
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: reader.get_blob(ref, manifest.config.digest), range(16)))
        manifests = list(pool.map(lambda _: reader.get_manifest(by_digest).content, range(16)))
    assert set(results) == {img.config}
    assert set(manifests) == {img.manifest}
    assert reader.request_count - before == 1
    reader.close()


def test_disk_cache_serves_a_second_run(registry: RegistryServer, client: RegistryClient, tmp_path: Path) -> None:
    ref = fresh(registry)
    img = debian_like()
    oi.push_image(client, ref, img)
    manifest = ImageManifest

    def run() -> tuple[bytes, int]:
        with RegistryClient(StaticCredentials({}), cache=DigestCache(tmp_path)) as c:
            parsed = c.get_manifest(ref.with_digest(img.digest)).parse()
            assert isinstance(parsed, manifest)
            files = read_files([c.layer_opener(ref, d) for d in parsed.layers], ["etc/os-release"])
            return files["etc/os-release"].data, c.request_count

    first = run()
    second = run()
    assert first[0] == second[0] == b'ID=debian\nVERSION_ID="12"\n'
    assert first[1] >= 3
    assert second[1] == 0
    # a damaged cache file is a miss, not a wrong answer
    layer_digest = Digest.of(img.layers[0])
    (tmp_path / "sha256" / layer_digest.hex).write_bytes(b"garbage")
    assert run()[1] == 1


# -- auth -----------------------------------------------------------------------------------------


@pytest.fixture
def basic_client(registry_basic: RegistryServer) -> Iterator[RegistryClient]:
    creds = StaticCredentials({registry_basic.host: Credentials(BASIC_USER, BASIC_PASSWORD)})
    with RegistryClient(creds, retry=FAST_RETRY) as c:
        yield c


def test_basic_auth_with_htpasswd(registry_basic: RegistryServer, basic_client: RegistryClient) -> None:
    ref = fresh(registry_basic)
    img = debian_like()
    oi.push_image(basic_client, ref, img)
    assert basic_client.get_manifest(ref).digest == img.digest
    with RegistryClient(StaticCredentials({}), retry=FAST_RETRY) as anonymous, \
            pytest.raises(AuthError, match=rf"manifest {ref}: {registry_basic.host} requires a login \(hint"):
        anonymous.get_manifest(ref)
    wrong = StaticCredentials({registry_basic.host: Credentials(BASIC_USER, "not-the-password")})
    with RegistryClient(wrong, retry=FAST_RETRY) as c, pytest.raises(AuthError) as caught:
        c.get_manifest(ref)
    assert "not-the-password" not in str(caught.value)


def test_bearer_token_flow(registry_token: RegistryServer) -> None:
    tokens = registry_token.token_server
    assert tokens is not None
    robot = StaticCredentials({registry_token.host: Credentials(TOKEN_USER, TOKEN_PASSWORD)})
    public = parse_reference(f"{registry_token.host}/public/base:1")
    private = parse_reference(f"{registry_token.host}/private/app:1")
    img = debian_like()
    with RegistryClient(robot, retry=FAST_RETRY) as c:
        oi.push_image(c, public, img)
        oi.push_image(c, private, img)
        assert c.get_manifest(private).digest == img.digest
    assert any(r.get("user") == TOKEN_USER and "repository:public/base:pull,push" in r.get("scope", [])
               for r in tokens.requests)
    with RegistryClient(StaticCredentials({}), retry=FAST_RETRY) as anonymous:
        assert anonymous.get_manifest(public).digest == img.digest  # anonymous token, pull only
        with pytest.raises(AuthError, match="access denied"):
            anonymous.get_manifest(private)
        with pytest.raises(AuthError):
            anonymous.put_blob(public, b"anonymous cannot push")
    wrong = StaticCredentials({registry_token.host: Credentials(TOKEN_USER, "wrong-password")})
    with RegistryClient(wrong, retry=FAST_RETRY) as c, pytest.raises(AuthError, match="refused") as caught:
        c.get_manifest(private)
    assert "wrong-password" not in str(caught.value)


def test_token_is_reused_not_fetched_per_request(registry_token: RegistryServer) -> None:
    tokens = registry_token.token_server
    assert tokens is not None
    robot = StaticCredentials({registry_token.host: Credentials(TOKEN_USER, TOKEN_PASSWORD)})
    ref = parse_reference(f"{registry_token.host}/private/reuse:1")
    with RegistryClient(robot, retry=FAST_RETRY) as c:
        oi.push_image(c, ref, debian_like())
        before = len(tokens.requests)
        lock = threading.Lock()
        with lock:
            for _ in range(5):
                c.resolve(ref)
        assert len(tokens.requests) - before == 1  # one pull token for five requests


def test_identity_token_is_exchanged_as_a_refresh_token(registry_token: RegistryServer) -> None:
    tokens = registry_token.token_server
    assert tokens is not None
    ref = parse_reference(f"{registry_token.host}/private/identity:1")
    img = debian_like()
    with_token = StaticCredentials({registry_token.host: Credentials("", identity_token=TOKEN_REFRESH)})
    with RegistryClient(with_token, retry=FAST_RETRY) as c:
        oi.push_image(c, ref, img)
        assert c.get_manifest(ref).digest == img.digest
    assert any(r.get("grant") == "refresh_token" and not r.get("refused") for r in tokens.requests)
    revoked = StaticCredentials({registry_token.host: Credentials("", identity_token="revoked")})
    with RegistryClient(revoked, retry=FAST_RETRY) as c, pytest.raises(AuthError, match="refused") as caught:
        c.get_manifest(ref)
    assert "revoked" not in str(caught.value)
