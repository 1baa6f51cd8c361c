"""Every bundle of corpus/sigstore/expected.json through the bundle path of the gate.

These are blob bundles (`cosign verify-blob`), so they are verified with `blob=True`: message-signature
bundles must sign the artifact's sha256, DSSE bundles must name it as the in-toto subject (any
predicate). As image signatures, the message-signature ones must all be refused, valid or not.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from gates.cosign import (
    Authority,
    KeylessIdentity,
    Rejected,
    SignatureError,
    verify_bundle,
    verify_image_signatures,
)
from tests.cosign.corpus import corpus, corpus_root

# sigstore-python 4.5.1 (which the keyless path delegates to) disagrees with upstream on these; the
# corpus PROVENANCE.md records the same two disagreements for sigstore-python itself.
_CONFORMANCE = "conformance/bundle-verify/"
KNOWN_DISAGREEMENTS = {
    _CONFORMANCE + "trust-root-tsa-validity-end-inclusive/bundle.sigstore.json": (
        "sigstore-python 4.5.1 treats the end of a TSA's validity as exclusive"
    ),
}
PYTHON_3_12_5_SHA256 = "38dc4e2c261d49c661196066edbfb70fdb16be4a79cc8220c224dfeb5636d405"


def _records() -> list[dict[str, Any]]:
    path = corpus_root() / "sigstore" / "expected.json"
    if not path.exists():
        return [{"bundle": "corpus absent"}]
    records: list[dict[str, Any]] = json.loads(path.read_text())
    return records


def _trusted_root(record: dict[str, Any], tmp_path: Path) -> Path:
    base = corpus("sigstore")
    text = str(record["trusted_root"])
    if text.startswith("sigstore-python/tsa/") or text == "as above":
        config = json.loads((base / "sigstore-python/tsa/trust_config.json").read_text())
        path = tmp_path / "tsa_trusted_root.json"
        path.write_text(json.dumps(config["trustedRoot"]))
        return path
    return base / text


def _verify(record: dict[str, Any], tmp_path: Path) -> str | None:
    """None if the bundle verifies; else the rule (or error class) that rejected it."""
    base = corpus("sigstore")
    data = (base / record["bundle"]).read_bytes()
    if record["artifact"]:
        digest = "sha256:" + hashlib.sha256((base / record["artifact"]).read_bytes()).hexdigest()
    else:
        digest = "sha256:" + PYTHON_3_12_5_SHA256
    root = _trusted_root(record, tmp_path)
    # A record without identity (bundle_no_cert_v1) is judged with one no certificate could match,
    # so only the bundle itself can make it fail for another reason than the identity.
    identity = record["identity"] or "nobody@example.invalid"
    issuer = record["issuer"] or "https://issuer.example.invalid"
    try:
        if record.get("key"):
            authority = Authority(key=base / record["key"], trusted_root=root)
        else:
            authority = Authority(keyless=KeylessIdentity(identity=identity, issuer=issuer), trusted_root=root)
        verify_bundle(data, authority, digest, predicate_types=None, blob=True)
    except Rejected as exc:
        return exc.rule
    except SignatureError as exc:  # a key or trusted root that does not load: an error, never a pass
        return type(exc).__name__
    return None


@pytest.mark.parametrize("record", _records(), ids=lambda rec: rec["bundle"].replace("/bundle.sigstore.json", ""))
def test_sigstore_corpus_case(record: dict[str, Any], tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if record["bundle"] in KNOWN_DISAGREEMENTS:
        request.applymarker(pytest.mark.xfail(reason=KNOWN_DISAGREEMENTS[record["bundle"]], strict=True))
    outcome = _verify(record, tmp_path)
    if record["expect"] == "valid":
        assert outcome is None
    else:
        assert record["expect"].startswith("invalid")
        assert outcome is not None
        if record["identity"] is None and record.get("key") is None:
            assert outcome != "signature-identity-mismatch"


def test_identity_is_enforced_on_a_valid_corpus_bundle() -> None:
    base = corpus("sigstore")
    data = (base / "sigstore-python/bundle_v3_github.whl.sigstore").read_bytes()
    digest = "sha256:" + hashlib.sha256((base / "sigstore-python/bundle_v3_github.whl").read_bytes()).hexdigest()
    root = base / "trust-roots/production/trusted_root.json"
    workflow = "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
    issuer = "https://token.actions.githubusercontent.com"
    good = KeylessIdentity(
        identity=workflow,
        issuer=issuer,
        github_repository="trailofbits/rfc8785.py",
        github_ref="refs/tags/v0.1.2",
        github_trigger="release",
    )
    verify_bundle(data, Authority(keyless=good, trusted_root=root), digest, blob=True)
    verify_bundle(data, Authority(keyless=good), digest, blob=True)  # the embedded production root
    for bad in (
        KeylessIdentity(identity=workflow, issuer=issuer, github_ref="refs/heads/main"),
        KeylessIdentity(identity_regexp=r"https://github\.com/trailofbits/.*@refs/heads/.*", issuer=issuer),
    ):
        with pytest.raises(Rejected) as caught:
            verify_bundle(data, Authority(keyless=bad, trusted_root=root), digest, blob=True)
        assert caught.value.rule == "signature-identity-mismatch"
    with pytest.raises(Rejected) as caught:
        verify_bundle(data, Authority(keyless=good, trusted_root=root), "sha256:" + "0" * 64, blob=True)
    assert caught.value.rule == "signature-invalid"


def test_key_based_conformance_bundle_needs_its_key_and_artifact() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    from tests.cosign.factory import public_pem

    base = corpus("sigstore/conformance/bundle-verify")
    data = (base / "managed-key-happy-path/bundle.sigstore.json").read_bytes()
    digest = "sha256:" + hashlib.sha256((base / "a.txt").read_bytes()).hexdigest()
    key = base / "managed-key-happy-path/key.pub"
    verify_bundle(data, Authority(key=key), digest, blob=True)  # embedded production root
    with pytest.raises(Rejected) as caught:
        verify_bundle(data, Authority(key=public_pem(ec.generate_private_key(ec.SECP256R1()))), digest, blob=True)
    assert caught.value.rule == "signature-invalid"
    with pytest.raises(Rejected) as caught:
        verify_bundle(data, Authority(key=key), "sha256:" + "1" * 64, blob=True)
    assert caught.value.rule == "signature-payload-mismatch"


def _valid_message_signature_records() -> list[dict[str, Any]]:
    base = corpus_root() / "sigstore"
    return [
        record
        for record in _records()
        if record.get("expect") == "valid"
        and record["artifact"]
        and record["bundle"] not in KNOWN_DISAGREEMENTS
        and "messageSignature" in json.loads((base / record["bundle"]).read_bytes())
    ] or [{"bundle": "corpus absent"}]


@pytest.mark.parametrize(
    "record", _valid_message_signature_records(), ids=lambda rec: rec["bundle"].replace("/bundle.sigstore.json", "")
)
def test_valid_blob_signature_is_no_image_signature(record: dict[str, Any], tmp_path: Path) -> None:
    """A bundle that verifies for its blob, offered for an image whose digest is the blob's: refused.

    This is `cosign sign-blob` over bytes that happen to be a manifest; `cosign verify` refuses it too.
    """
    base = corpus("sigstore")
    digest = "sha256:" + hashlib.sha256((base / record["artifact"]).read_bytes()).hexdigest()
    root = _trusted_root(record, tmp_path)
    if record.get("key"):
        authority = Authority(key=base / record["key"], trusted_root=root)
    else:
        authority = Authority(keyless=KeylessIdentity(identity=record["identity"], issuer=record["issuer"]),
                              trusted_root=root)
    assert _verify(record, tmp_path) is None  # genuinely valid for the blob
    data = (base / record["bundle"]).read_bytes()
    verdict = verify_image_signatures(digest, "registry.example.com/acme/app", [], [data], [authority])
    assert not verdict.verified
    [reason] = verdict.reasons
    assert reason.rule == "signature-payload-mismatch" and "message signature" in reason.message
