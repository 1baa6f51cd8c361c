"""Keyless legacy signatures from a Fulcio-like CA made here: chain, time, SCT, SET and identity."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gates.checks.signature import rules as r
from gates.cosign import Authority, AuthorityError, KeylessIdentity, verify_image_signatures
from gates.cosign.layers import (
    ANNOTATION_BUNDLE,
    ANNOTATION_CERTIFICATE,
    ANNOTATION_CHAIN,
    ANNOTATION_SIGNATURE,
    parse_signature_manifest,
)
from tests.cosign.factory import (
    DIGEST,
    ISSUER,
    REPOSITORY,
    T0,
    WORKFLOW,
    FakeFulcio,
    FakeRekor,
    descriptor,
    manifest,
    payload,
    pem,
    sign,
    spki,
    trusted_root,
)

FULCIO = FakeFulcio()
REKOR = FakeRekor()
POLICY = KeylessIdentity(identity=WORKFLOW, issuer=ISSUER)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("root") / "trusted_root.json"
    return trusted_root(path, fulcio=FULCIO, rekor_keys=[(REKOR.log_id, spki(REKOR.key))])


def layer(
    cert: x509.Certificate,
    key: ec.EllipticCurvePrivateKey,
    *,
    when: dt.datetime = T0,
    with_set: bool = True,
    chain: bool = True,
    body: bytes | None = None,
) -> Any:
    data = body if body is not None else payload()
    sig = sign(key, data)
    annotations = {ANNOTATION_SIGNATURE: base64.b64encode(sig).decode(), ANNOTATION_CERTIFICATE: pem(cert)}
    if chain:
        annotations[ANNOTATION_CHAIN] = pem(FULCIO.intermediate) + pem(FULCIO.root)
    if with_set:
        annotations[ANNOTATION_BUNDLE] = REKOR.annotation(REKOR.body(data, sig, pem(cert).encode()), when=when)
    return parse_signature_manifest(*manifest((descriptor(data, annotations), data)))


def rejections(sigs: Any, root: Path, policy: KeylessIdentity = POLICY, **kw: Any) -> list[tuple[str | None, str]]:
    verdict = verify_image_signatures(
        DIGEST, REPOSITORY, sigs, [], [Authority(keyless=policy, trusted_root=root, **kw)]
    )
    return [(c.rule, c.message) for c in verdict.reasons]


def test_valid_keyless_signature_verifies(root: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    assert rejections(layer(FULCIO.issue(key), key), root) == []


def test_chain_annotation_is_not_needed_when_the_root_holds_the_intermediate(root: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    assert rejections(layer(FULCIO.issue(key), key, chain=False), root) == []


@pytest.mark.parametrize(
    ("policy", "expected", "found"),
    [
        (
            KeylessIdentity(
                identity="https://github.com/evil/app/.github/workflows/x.yml@refs/heads/main", issuer=ISSUER
            ),
            "expected https://github.com/evil/app",
            WORKFLOW,
        ),
        (
            KeylessIdentity(identity=WORKFLOW, issuer="https://accounts.google.com"),
            "expected https://accounts.google.com",
            ISSUER,
        ),
        (
            KeylessIdentity(identity_regexp=r"https://github\.com/acme/app/.*@refs/heads/main", issuer=ISSUER),
            "expected a match of",
            WORKFLOW,
        ),
        (KeylessIdentity(identity_regexp=r"github\.com/acme/app", issuer=ISSUER), "expected a match of", WORKFLOW),
        (
            KeylessIdentity(identity=WORKFLOW, issuer_regexp=r"https://accounts\.google\.com"),
            "expected a match",
            ISSUER,
        ),
    ],
    ids=["other-san", "other-issuer", "regexp-other-ref", "regexp-must-match-whole", "issuer-regexp"],
)
def test_identity_mismatch_says_expected_and_found(
    root: Path, policy: KeylessIdentity, expected: str, found: str
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    [(rule, message)] = rejections(layer(FULCIO.issue(key), key), root, policy)
    assert rule == r.IDENTITY_MISMATCH
    assert expected in message and found in message


def test_identity_and_issuer_regexps_accept_matching_values(root: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    policy = KeylessIdentity(
        identity_regexp=r"https://github\.com/acme/app/.*@refs/tags/v.*",
        issuer_regexp=r"https://token\.actions\.githubusercontent\.com",
    )
    assert rejections(layer(FULCIO.issue(key), key), root, policy) == []


def test_email_identity_with_deprecated_issuer_extension(root: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = FULCIO.issue(key, san="dev@acme.example", issuer=None, issuer_v1="https://github.com/login/oauth")
    policy = KeylessIdentity(identity="dev@acme.example", issuer="https://github.com/login/oauth")
    assert rejections(layer(cert, key), root, policy) == []


def test_conflicting_issuer_extensions_are_rejected(root: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = FULCIO.issue(key, issuer_v1="https://evil.example")
    [(rule, message)] = rejections(layer(cert, key), root)
    assert rule == r.IDENTITY_MISMATCH and "two different OIDC issuers" in message


def test_github_workflow_claims(root: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = FULCIO.issue(key, github={"2": "push", "5": "acme/app", "6": "refs/tags/v1.4"})
    sigs = layer(cert, key)
    good = KeylessIdentity(
        identity=WORKFLOW,
        issuer=ISSUER,
        github_repository="acme/app",
        github_ref="refs/tags/v1.4",
        github_trigger="push",
    )
    assert rejections(sigs, root, good) == []
    for field, value in (
        ("github_repository", "evil/app"),
        ("github_ref", "refs/heads/main"),
        ("github_trigger", "pull_request_target"),
    ):
        policy = KeylessIdentity(identity=WORKFLOW, issuer=ISSUER, **{field: value})
        [(rule, message)] = rejections(sigs, root, policy)
        assert rule == r.IDENTITY_MISMATCH and f"expected {value}" in message


def test_certificate_expired_at_integrated_time(root: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    sigs = layer(FULCIO.issue(key), key, when=T0 + dt.timedelta(minutes=30))
    [(rule, message)] = rejections(sigs, root)
    assert rule == r.INVALID and "not valid at" in message


def test_self_signed_certificate_does_not_chain(root: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    rogue = FakeFulcio(ct_key=FULCIO.ct_key)  # same CT log, different CA: only the chain can fail
    [(rule, message)] = rejections(layer(rogue.issue(key), key), root)
    assert rule == r.INVALID and "does not chain" in message


def test_truly_self_signed_leaf_is_rejected(root: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "me")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(T0 - dt.timedelta(hours=1))
        .not_valid_after(T0 + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(WORKFLOW)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    [(rule, _)] = rejections(layer(cert, key), root)
    assert rule == r.INVALID


def test_sct_is_required_and_must_verify(root: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    [(rule, message)] = rejections(layer(FULCIO.issue(key, sct=False), key), root)
    assert rule == r.INVALID and "SCT" in message
    forged = FULCIO.issue(key, sct_signer=ec.generate_private_key(ec.SECP256R1()))
    [(rule, message)] = rejections(layer(forged, key), root)
    assert rule == r.INVALID and "SCT does not verify" in message


def test_leaf_without_code_signing_is_rejected(root: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    [(rule, message)] = rejections(layer(FULCIO.issue(key, code_signing=False), key), root)
    assert rule == r.INVALID and "code signing" in message


def test_signature_by_another_key_than_the_certificate(root: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = FULCIO.issue(ec.generate_private_key(ec.SECP256R1()))
    [(rule, message)] = rejections(layer(cert, key), root)
    assert rule == r.INVALID and "certificate's key" in message


def test_set_is_required_for_keyless_and_ignore_tlog_cannot_rescue_expired_certs(root: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    sigs = layer(FULCIO.issue(key), key, with_set=False)
    [(rule, _)] = rejections(sigs, root)
    assert rule == r.TLOG_MISSING
    # Without a SET the only time left is "now", long after the 10-minute certificate expired.
    [(rule, message)] = rejections(sigs, root, ignore_tlog=True)
    assert rule == r.INVALID and "not valid at" in message


def test_payload_is_checked_after_the_signer(root: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    sigs = layer(FULCIO.issue(key), key, body=payload(reference="registry.example.com/evil/app"))
    [(rule, _)] = rejections(sigs, root)
    assert rule == r.PAYLOAD_MISMATCH


def test_key_authority_does_not_accept_keyless_signature(root: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    other = ec.generate_private_key(ec.SECP256R1())
    from tests.cosign.factory import public_pem

    verdict = verify_image_signatures(
        DIGEST, REPOSITORY, layer(FULCIO.issue(key), key), [], [Authority(key=public_pem(other), trusted_root=root)]
    )
    [reason] = verdict.reasons
    assert reason.rule == r.INVALID and WORKFLOW in reason.message  # says whose certificate it carried


def test_keyless_authority_needs_identity_and_issuer() -> None:
    with pytest.raises(AuthorityError):
        KeylessIdentity(issuer=ISSUER)
    with pytest.raises(AuthorityError):
        KeylessIdentity(identity="a", identity_regexp="a", issuer=ISSUER)
    with pytest.raises(AuthorityError, match="regular expression"):
        KeylessIdentity(identity_regexp="(", issuer=ISSUER)
    with pytest.raises(AuthorityError, match="OIDC issuer"):
        Authority(keyless=KeylessIdentity(identity="a@b.c"))


def test_a_timestamp_alone_stands_for_no_log_entry_where_the_root_names_logs(tmp_path: Path) -> None:
    """GitHub's own instance logs nothing and timestamps instead; an instance whose trusted root names
    transparency logs logs every signature, so a keyless bundle there without a log entry is unlogged."""
    import json

    from gates.cosign import reasons
    from gates.cosign.bundles import verify_bundle
    from gates.cosign.errors import Rejected
    from tests.cosign.factory import timestamp_authority, tsa_entry

    stamp, chain = timestamp_authority(tmp_path)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = FULCIO.issue(key, issued=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1))
    statement = json.dumps({"_type": "https://in-toto.io/Statement/v1", "predicateType": "https://slsa.dev/provenance/v1",
                            "subject": [{"name": "x", "digest": {"sha256": DIGEST.split(":")[1]}}],
                            "predicate": {}}).encode()
    kind = b"application/vnd.in-toto+json"
    signature = sign(key, b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(statement), statement))
    bundle = json.dumps({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {
            "certificate": {"rawBytes": base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()},
            "tlogEntries": [],
            "timestampVerificationData": {"rfc3161Timestamps": [{"signedTimestamp": stamp(signature)}]}},
        "dsseEnvelope": {"payload": base64.b64encode(statement).decode(), "payloadType": kind.decode(),
                         "signatures": [{"sig": base64.b64encode(signature).decode(), "keyid": ""}]},
    }).encode()

    def authority(rekor_keys: list[tuple[bytes, bytes]], name: str) -> Authority:
        path = trusted_root(tmp_path / name, fulcio=FULCIO, rekor_keys=rekor_keys)
        doc = json.loads(path.read_text())
        doc["timestampAuthorities"] = [tsa_entry(chain)]
        path.write_text(json.dumps(doc))
        return Authority(keyless=POLICY, trusted_root=path)

    no_logs = authority([], "github-like.json")  # as GitHub's own instance: no tlogs, a TSA
    assert verify_bundle(bundle, no_logs, DIGEST, predicate_types=None) is not None
    with pytest.raises(Rejected) as caught:
        verify_bundle(bundle, authority([(REKOR.log_id, spki(REKOR.key))], "logged.json"), DIGEST,
                      predicate_types=None)
    assert caught.value.rule == reasons.TLOG_MISSING
