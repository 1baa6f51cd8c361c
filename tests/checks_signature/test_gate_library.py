"""The gate as a library: request budgets, concurrency, discovery corner cases, auth, progress."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gates.checks.signature import rules as r
from gates.checks.signature.gate import SignatureOptions, check_images
from gates.checks.signature.policy import Policy
from gates.cosign import Authority
from gates.model import Outcome, Result
from gates.oci import mediatypes
from gates.oci.cache import DigestCache
from gates.oci.client import RegistryClient
from gates.oci.credentials import Credentials, StaticCredentials
from gates.oci.digest import Digest
from gates.oci.reference import Reference, parse_reference
from tests.checks_signature.conftest import Signers, fresh, push, small_image
from tests.checks_signature.cosign import attach_bundle, key_bundle, key_layer, sign_legacy
from tests.cosign.factory import public_pem
from tests.oci.conftest import FAST_RETRY
from tests.support import oci_images as oi
from tests.support.registry import (
    BASIC_PASSWORD,
    BASIC_USER,
    TOKEN_PASSWORD,
    TOKEN_USER,
    RegistryServer,
    registry_basic,  # noqa: F401 - fixture
    registry_token,  # noqa: F401 - fixture
)


def key_policy(signers: Signers, ignore_tlog: bool = False) -> Policy:
    authority = Authority(key=public_pem(signers.key), trusted_root=signers.trusted_root, ignore_tlog=ignore_tlog)
    return Policy("test", ("*",), (authority,))


def run_one(client: RegistryClient, image: str, policy: Policy) -> tuple[Result, int]:
    """Check one image; returns its result and the registry requests it cost."""
    before = client.request_count
    [result] = check_images(SignatureOptions((image,), (policy,), concurrency=1), client)
    return result, client.request_count - before


@pytest.fixture
def reader(tmp_path: Path) -> Iterator[RegistryClient]:
    with RegistryClient(StaticCredentials({}), retry=FAST_RETRY, cache=DigestCache(tmp_path / "cache")) as c:
        yield c


def test_key_signed_image_costs_three_requests_cold_and_two_warm(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, reader: RegistryClient, tmp_path: Path
) -> None:
    ref = fresh(registry)
    digest = push(pusher, ref)
    sign_legacy(pusher, ref, digest, key_layer(signers.key, digest, ref.name, signers.rekor))
    cold, cold_requests = run_one(reader, str(ref), key_policy(signers))
    assert cold.outcome is Outcome.PASSED
    assert cold_requests == 3  # HEAD the tag, GET the .sig manifest, GET the payload blob
    warm, warm_requests = run_one(reader, str(ref), key_policy(signers))
    assert warm.outcome is Outcome.PASSED and warm_requests == 2  # the payload comes from the digest cache
    with RegistryClient(StaticCredentials({}), cache=DigestCache(tmp_path / "cache")) as next_run:
        _, disk_requests = run_one(next_run, str(ref), key_policy(signers))
    assert disk_requests == 2
    pinned, pinned_requests = run_one(reader, f"{ref.name}@{digest}", key_policy(signers))
    assert pinned.outcome is Outcome.PASSED and pinned_requests <= 2


def test_bundle_signed_image_request_count(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, reader: RegistryClient
) -> None:
    ref = fresh(registry, "bundled")
    img = small_image(str(ref))
    oi.push_image(pusher, ref, img)
    attach_bundle(pusher, ref, img.descriptor, key_bundle(signers.key, img.digest))
    result, requests = run_one(reader, str(ref), key_policy(signers, ignore_tlog=True))
    assert result.outcome is Outcome.PASSED, result
    # HEAD, .sig (404), referrers API (404 on distribution 2.8), tag-schema index, referrer manifest, bundle
    assert requests == 6
    _, warm = run_one(reader, str(ref), key_policy(signers, ignore_tlog=True))
    assert warm == 4  # the referrer manifest and the bundle are cached by digest


def test_token_registry_budget_and_anonymous_pull(
    registry_token: RegistryServer, signers: Signers  # noqa: F811
) -> None:
    creds = StaticCredentials({registry_token.host: Credentials(TOKEN_USER, TOKEN_PASSWORD)})
    with RegistryClient(creds, retry=FAST_RETRY) as owner:
        ref = parse_reference(f"{registry_token.host}/public/signed:1")
        digest = push(owner, ref)
        sign_legacy(owner, ref, digest, key_layer(signers.key, digest, ref.name, signers.rekor))
    with RegistryClient(StaticCredentials({}), retry=FAST_RETRY) as anonymous:
        result, requests = run_one(anonymous, str(ref), key_policy(signers))
    assert result.outcome is Outcome.PASSED, result
    assert requests == 4  # the 401 challenge, then the same three as without auth


def test_denied_registry_is_an_error_with_no_secret_in_it(
    registry_basic: RegistryServer, signers: Signers  # noqa: F811
) -> None:
    creds = StaticCredentials({registry_basic.host: Credentials(BASIC_USER, BASIC_PASSWORD)})
    with RegistryClient(creds, retry=FAST_RETRY) as owner:
        ref = parse_reference(f"{registry_basic.host}/sig/private:1")
        digest = push(owner, ref)
        sign_legacy(owner, ref, digest, key_layer(signers.key, digest, ref.name, signers.rekor))
        ok, _ = run_one(owner, str(ref), key_policy(signers))
        assert ok.outcome is Outcome.PASSED
        assert BASIC_PASSWORD not in json.dumps([ok.details, ok.error])
    with RegistryClient(StaticCredentials({}), retry=FAST_RETRY) as stranger:
        denied, _ = run_one(stranger, str(ref), key_policy(signers))
    assert denied.outcome is Outcome.ERROR
    assert denied.error is not None and denied.error.startswith(f"{ref}: ")
    assert "requires a login (hint: `docker login" in denied.error
    with RegistryClient(StaticCredentials({registry_basic.host: Credentials(BASIC_USER, "wrong-password")}),
                        retry=FAST_RETRY) as wrong:
        refused, _ = run_one(wrong, str(ref), key_policy(signers))
    assert refused.outcome is Outcome.ERROR and "wrong-password" not in str(refused.error)


def test_unloadable_trusted_root_is_an_error_naming_the_image(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, reader: RegistryClient, tmp_path: Path
) -> None:
    ref = fresh(registry)
    digest = push(pusher, ref)
    sign_legacy(pusher, ref, digest, key_layer(signers.key, digest, ref.name, signers.rekor))
    broken = tmp_path / "root.json"
    broken.write_text("{not json")
    policy = Policy("test", ("*",), (Authority(key=public_pem(signers.key), trusted_root=broken),))
    result, _ = run_one(reader, str(ref), policy)
    assert result.outcome is Outcome.ERROR
    assert result.error == f"{ref}: trusted root {broken} is not JSON"


def test_missing_payload_blob_is_that_signature_s_reason(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, reader: RegistryClient
) -> None:
    ref = fresh(registry)
    digest = push(pusher, ref)
    layer = key_layer(signers.key, digest, ref.name, signers.rekor)
    sign_legacy(pusher, ref, digest, layer)
    gone = urllib.request.Request(f"{registry.url}/v2/{ref.repository}/blobs/{Digest.of(layer.payload)}",
                                  method="DELETE")
    with urllib.request.urlopen(gone, timeout=5) as answer:
        assert answer.status == 202
    result, _ = run_one(reader, str(ref), key_policy(signers))
    assert result.outcome is Outcome.FAILED
    [finding] = result.findings
    assert finding.rule == r.INVALID and "missing from the registry" in finding.message


def _attach_raw(client: RegistryClient, ref: Reference, manifest: dict[str, object]) -> None:
    body = json.dumps(manifest).encode()
    client.put_manifest(ref.repo_only().with_digest(Digest.of(body)), body, mediatypes.OCI_MANIFEST)


def test_referrers_of_other_kinds_are_not_fetched_and_a_lying_subject_is_ignored(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, reader: RegistryClient
) -> None:
    ref = fresh(registry, "refs")
    img = small_image(str(ref))
    oi.push_image(pusher, ref, img)
    empty = b"{}"
    pusher.put_blob(ref, empty)
    sbom = b'{"spdxVersion": "SPDX-2.3"}'
    pusher.put_blob(ref, sbom)
    _attach_raw(pusher, ref, {
        "schemaVersion": 2, "mediaType": mediatypes.OCI_MANIFEST, "artifactType": "application/spdx+json",
        "config": {"mediaType": mediatypes.OCI_EMPTY, "size": 2, "digest": str(Digest.of(empty))},
        "layers": [{"mediaType": "application/spdx+json", "size": len(sbom), "digest": str(Digest.of(sbom))}],
        "subject": img.descriptor.to_json(),
    })
    before = reader.request_count
    result, requests = run_one(reader, str(ref), key_policy(signers, ignore_tlog=True))
    assert result.outcome is Outcome.FAILED and [f.rule for f in result.findings] == [r.MISSING]
    assert requests == 4 and reader.request_count - before == 4  # the SBOM referrer was never fetched

    # an index entry whose manifest names another subject (a registry mixing things up) never counts
    other = small_image("other")
    oi.push_image(pusher, ref.with_tag("other"), other)
    bundle = key_bundle(signers.key, img.digest)
    attached = attach_bundle(pusher, ref.with_tag("other"), other.descriptor, bundle)
    index_ref = ref.with_tag(img.digest.tag_form)
    index = json.loads(pusher.get_manifest(index_ref).content)
    index["manifests"].append({"mediaType": mediatypes.OCI_MANIFEST, "digest": str(attached),
                               "size": len(pusher.get_manifest(ref.with_digest(attached)).content),
                               "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json"})
    pusher.put_manifest(index_ref, json.dumps(index).encode(), mediatypes.OCI_INDEX)
    lied, _ = run_one(reader, str(ref), key_policy(signers, ignore_tlog=True))
    assert lied.outcome is Outcome.FAILED
    [finding] = lied.findings
    assert finding.rule == r.PAYLOAD_MISMATCH and f"its subject is {other.digest}" in finding.message


def test_concurrent_checks_share_one_client(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, reader: RegistryClient
) -> None:
    refs = [fresh(registry, "pool") for _ in range(8)]
    for ref in refs:
        digest = push(pusher, ref)
        sign_legacy(pusher, ref, digest, key_layer(signers.key, digest, ref.name, signers.rekor))
    done: list[str] = []

    def watch(image: str, work: Callable[[], Result]) -> Result:
        result = work()
        done.append(image)
        return result

    options = SignatureOptions((*map(str, refs), str(refs[0])), (key_policy(signers),), concurrency=4)
    found = check_images(options, reader, watch)
    assert [res.target for res in found] == [str(ref) for ref in refs]  # duplicates checked once, order kept
    assert all(res.outcome is Outcome.PASSED for res in found)
    assert sorted(done) == sorted(map(str, refs))
    assert reader.request_count <= 3 * len(refs)
