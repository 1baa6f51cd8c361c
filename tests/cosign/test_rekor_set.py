"""Key-based signatures with a Rekor SET, against a trusted root written here."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from gates.checks.signature import rules as r
from gates.cosign import Authority, TrustRootError, verify_image_signatures
from gates.cosign.layers import ANNOTATION_BUNDLE, ANNOTATION_SIGNATURE, parse_signature_manifest
from tests.cosign.factory import (
    DIGEST,
    REPOSITORY,
    FakeRekor,
    descriptor,
    manifest,
    payload,
    public_pem,
    sign,
    spki,
    trusted_root,
)

KEY = ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def rekor() -> FakeRekor:
    return FakeRekor()


@pytest.fixture
def root(tmp_path: Path, rekor: FakeRekor) -> Path:
    return trusted_root(tmp_path / "trusted_root.json", rekor_keys=[(rekor.log_id, spki(rekor.key))])


def _verify(
    root: Path, annotation: str, *, body: bytes | None = None, signature: bytes | None = None
) -> list[tuple[str | None, str]]:
    data = body if body is not None else payload()
    sig = signature if signature is not None else sign(KEY, data)
    layer = descriptor(data, {ANNOTATION_SIGNATURE: base64.b64encode(sig).decode(), ANNOTATION_BUNDLE: annotation})
    sigs = parse_signature_manifest(*manifest((layer, data)))
    verdict = verify_image_signatures(DIGEST, REPOSITORY, sigs, [], [Authority(key=public_pem(KEY), trusted_root=root)])
    return [(c.rule, c.message) for c in verdict.checks]


def test_valid_set_verifies(root: Path, rekor: FakeRekor) -> None:
    sig = sign(KEY, payload())
    annotation = rekor.annotation(rekor.body(payload(), sig, public_pem(KEY)))
    assert _verify(root, annotation, signature=sig) == [(None, "verified")]


def test_set_signed_by_another_key_is_invalid(root: Path, rekor: FakeRekor) -> None:
    sig = sign(KEY, payload())
    forged = rekor.annotation(
        rekor.body(payload(), sig, public_pem(KEY)), signer=ec.generate_private_key(ec.SECP256R1())
    )
    [(rule, message)] = _verify(root, forged, signature=sig)
    assert rule == r.INVALID and "SET" in message


def test_set_from_a_log_outside_the_trusted_root_is_tlog_missing(tmp_path: Path, rekor: FakeRekor) -> None:
    other_root = trusted_root(
        tmp_path / "other.json", rekor_keys=[(b"\x01" * 32, spki(ec.generate_private_key(ec.SECP256R1())))]
    )
    sig = sign(KEY, payload())
    [(rule, message)] = _verify(
        other_root, rekor.annotation(rekor.body(payload(), sig, public_pem(KEY))), signature=sig
    )
    assert rule == r.TLOG_MISSING and "not in trusted root" in message


@pytest.mark.parametrize("what", ["hash", "signature", "key", "kind"])
def test_entry_body_for_other_materials_is_invalid(root: Path, rekor: FakeRekor, what: str) -> None:
    """A genuine SET over an entry for something else must not vouch for this signature (CVE-2022-36056)."""
    sig = sign(KEY, payload())
    other_key = ec.generate_private_key(ec.SECP256R1())
    body = {
        "hash": rekor.body(payload(digest="sha256:" + "ef" * 32), sig, public_pem(KEY)),
        "signature": rekor.body(payload(), sign(KEY, b"other"), public_pem(KEY)),
        "key": rekor.body(payload(), sig, public_pem(other_key)),
        "kind": rekor.body(payload(), sig, public_pem(KEY), kind="rekord"),
    }[what]
    [(rule, message)] = _verify(root, rekor.annotation(body), signature=sig)
    assert rule == r.INVALID and "Rekor entry" in message


def test_integrated_time_outside_log_validity_is_invalid(root: Path, rekor: FakeRekor) -> None:
    sig = sign(KEY, payload())
    annotation = rekor.annotation(
        rekor.body(payload(), sig, public_pem(KEY)), when=dt.datetime(2019, 1, 1, tzinfo=dt.timezone.utc)
    )
    [(rule, message)] = _verify(root, annotation, signature=sig)
    assert rule == r.INVALID and "outside the validity" in message


def test_ignore_tlog_skips_a_broken_set(root: Path, rekor: FakeRekor) -> None:
    sig = sign(KEY, payload())
    forged = rekor.annotation(
        rekor.body(payload(), sig, public_pem(KEY)), signer=ec.generate_private_key(ec.SECP256R1())
    )
    layer = descriptor(payload(), {ANNOTATION_SIGNATURE: base64.b64encode(sig).decode(), ANNOTATION_BUNDLE: forged})
    sigs = parse_signature_manifest(*manifest((layer, payload())))
    authority = Authority(key=public_pem(KEY), trusted_root=root, ignore_tlog=True)
    assert verify_image_signatures(DIGEST, REPOSITORY, sigs, [], [authority]).verified


def test_unreadable_trusted_root_raises(tmp_path: Path, rekor: FakeRekor) -> None:
    sig = sign(KEY, payload())
    annotation = rekor.annotation(rekor.body(payload(), sig, public_pem(KEY)))
    bad = tmp_path / "bad.json"
    bad.write_text('{"mediaType": "application/vnd.dev.sigstore.trustedroot.v0.2+json"}')
    with pytest.raises(TrustRootError, match="unsupported mediaType"):
        _verify(bad, annotation, signature=sig)
    with pytest.raises(TrustRootError, match="cannot read"):
        _verify(tmp_path / "absent.json", annotation, signature=sig)
