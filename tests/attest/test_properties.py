"""Hostile bytes as attestations: every outcome is a one-line reason, never an exception or a pass."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from gates.attest.layers import DSSE_MEDIA_TYPE, parse_attestation_layer
from gates.attest.verify import AttestationBundle, Candidate, Requirement, verify_attestations
from gates.cosign.authority import Authority
from gates.cosign.identity import KeylessIdentity
from tests.cosign.factory import public_pem

DIGEST = "sha256:" + "ab" * 32
AUTHORITY = Authority(key=public_pem(ec.generate_private_key(ec.SECP256R1())), ignore_tlog=True)
KEYLESS = Authority(keyless=KeylessIdentity(identity_regexp=".*", issuer_regexp=".*"))
REQUIREMENT = Requirement("https://slsa.dev/provenance/v1", (AUTHORITY, KEYLESS))

_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner,
                                                                                  max_size=3), max_leaves=12)


def _statement(predicate: object) -> str:
    return base64.b64encode(json.dumps({"_type": "https://in-toto.io/Statement/v1", "predicateType":
                                        "https://slsa.dev/provenance/v1", "subject": predicate,
                                        "predicate": predicate}).encode()).decode()


def _check(candidates: Sequence[Candidate]) -> None:
    verdict = verify_attestations(DIGEST, candidates, REQUIREMENT)
    assert verdict.accepted_by is None
    for reason in verdict.reasons:
        assert reason.rule is not None and "\n" not in reason.message and reason.message


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300) | _json.map(lambda doc: json.dumps(doc).encode()))
def test_arbitrary_bundles_and_envelopes_are_reasons(data: bytes) -> None:
    _check([AttestationBundle(data, "bundle")])
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    layer = parse_attestation_layer(1, {"mediaType": DSSE_MEDIA_TYPE, "digest": digest}, data)
    _check([layer])


@settings(max_examples=100, deadline=None)
@given(_json, st.sampled_from(["publicKey", "certificate", "x509CertificateChain"]))
def test_shaped_bundles_with_hostile_fields_are_reasons(value: object, material: str) -> None:
    doc = {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
           "verificationMaterial": {material: value, "tlogEntries": value},
           "dsseEnvelope": {"payloadType": "application/vnd.in-toto+json", "payload": _statement(value),
                            "signatures": [{"sig": "AAAA", "keyid": value}]}}
    _check([AttestationBundle(json.dumps(doc).encode(), "bundle")])


SIGNER = ec.generate_private_key(ec.SECP256R1())
SIGNED_BY = Authority(key=public_pem(SIGNER))  # transparency required: the evidence fields are parsed


@settings(max_examples=150, deadline=None)
@given(_json, _json, st.sampled_from(["tlogEntries", "timestampVerificationData"]))
def test_hostile_evidence_next_to_a_valid_signature_is_a_reason(entries: object, item: object, field: str) -> None:
    from tests.checks_signature.attest import envelope, statement

    payload = statement("ab" * 32, "https://slsa.dev/provenance/v1", {})
    hostile: object = entries if field == "timestampVerificationData" else [item, entries] if item else entries
    doc = {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
           "verificationMaterial": {"publicKey": {"hint": ""}, field: hostile},
           "dsseEnvelope": envelope(payload, [SIGNER])}
    verdict = verify_attestations(DIGEST, [AttestationBundle(json.dumps(doc).encode(), "b")],
                                  Requirement("https://slsa.dev/provenance/v1", (SIGNED_BY,)))
    for reason in verdict.reasons:
        assert "\n" not in reason.message
    assert verdict.accepted_by is None, f"passed with {field} = {hostile!r}"


@given(st.sampled_from([
    {"certificate": {"rawBytes": 5}},
    {"certificate": {"rawBytes": "AAAA"}, "tlogEntries": [{"kindVersion": "x", "inclusionProof": 1}]},
    {"certificate": {"rawBytes": "AAAA"}, "tlogEntries": [5]},
    {"x509CertificateChain": {"certificates": []}},
    {"publicKey": {}, "tlogEntries": [{"kindVersion": 5, "canonicalizedBody": "eyJ9", "inclusionProof": {}}]},
    {"publicKey": {}, "timestampVerificationData": {"rfc3161Timestamps": [5]}},
    "material",
]))
def test_hostile_verification_material_is_a_reason(material: object) -> None:
    doc = {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "verificationMaterial": material,
           "dsseEnvelope": {"payloadType": "application/vnd.in-toto+json", "payload": _statement([]),
                            "signatures": [{"sig": "AAAA"}]}}
    _check([AttestationBundle(json.dumps(doc).encode(), "bundle")])
