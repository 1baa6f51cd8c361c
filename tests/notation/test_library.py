"""gates.notation without a registry: envelopes that break the specification, chains, stores, policies."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gates.notation.chain import anchored, validate_code_signing_chain
from gates.notation.envelope import parse_envelope
from gates.notation.errors import EnvelopeError, TrustPolicyError, TrustStoreError
from gates.notation.signature import verify_signature
from gates.notation.trustpolicy import parse_trust_policy, statement
from gates.notation.truststore import TrustStore
from gates.notation.verify import Subject, verify_envelope
from tests.notation import signing as ns

TARGET = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "a" * 64, "size": 7}
SUBJECT = Subject(TARGET["mediaType"], TARGET["digest"], TARGET["size"])  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def pki() -> dict[str, ns.Issued]:
    root = ns.root_ca()
    return {"root": root, "signer": ns.leaf(root), "ec": ns.leaf(root, "EC", kind="ec")}


def _jws_parts(envelope: bytes) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(envelope)
    return doc


def _protected(doc: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> bytes:
    """The envelope with its protected header changed (the signature no longer matters: parsing refuses first)."""
    header = json.loads(base64.urlsafe_b64decode(doc["protected"] + "=="))
    change(header)
    doc = dict(doc, protected=base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode())
    return json.dumps(doc).encode()


@pytest.mark.parametrize(("change", "words"), [
    (lambda h: h.update(alg="RS256"), "unsupported JWS alg 'RS256'"),
    (lambda h: h.update(cty="application/json"), "payload content type is 'application/json'"),
    (lambda h: h.update({"io.cncf.notary.signingScheme": "notary.other"}), "signing scheme 'notary.other'"),
    (lambda h: h.pop("io.cncf.notary.signingTime"), "needs io.cncf.notary.signingTime"),
    (lambda h: h.update({"io.cncf.notary.expiry": "2030-01-01T00:00:00Z"}), "present but crit does not list it"),
    (lambda h: h.update(crit=["io.cncf.notary.signingScheme", "io.cncf.notary.expiry"]),
     "crit names 'io.cncf.notary.expiry', which the protected header does not have"),
    (lambda h: h.pop("crit"), "no crit list"),
    (lambda h: h.update({"io.cncf.notary.signingTime": "yesterday"}), "is not an RFC 3339 time"),
    (lambda h: h.update(b64=False), "sets b64"),
])
def test_jws_header_rules(pki: dict[str, ns.Issued], change: Callable[[dict[str, Any]], None], words: str) -> None:
    doc = _jws_parts(ns.jws(TARGET, pki["signer"], [pki["signer"], pki["root"]]))
    with pytest.raises(EnvelopeError, match=words.replace("(", r"\(")):
        parse_envelope(_protected(doc, change), "application/jose+json")


@pytest.mark.parametrize(("change", "words"), [
    (lambda d: d.pop("signature"), "has no signature"),
    (lambda d: d.update(payload="a+b"), "payload is not unpadded base64url"),
    (lambda d: d.update(payload="YWJj="), "payload is not unpadded base64url"),
    (lambda d: d.update(extra=1), r"unexpected members \['extra'\]"),
    (lambda d: d["header"].pop("x5c"), "no x5c certificate chain"),
    (lambda d: d["header"].update(x5c=["bm90IGEgY2VydA=="]), "certificate 1 of the chain is not a well-formed DER"),
    (lambda d: d["header"].update(kid="k"), r"unexpected parameters \['kid'\]"),
])
def test_jws_structure_rules(pki: dict[str, ns.Issued], change: Callable[[dict[str, Any]], None], words: str) -> None:
    doc = _jws_parts(ns.jws(TARGET, pki["signer"], [pki["signer"], pki["root"]]))
    change(doc)
    with pytest.raises(EnvelopeError, match=words):
        parse_envelope(json.dumps(doc).encode(), "application/jose+json")


def test_a_strangers_long_header_name_is_cut_short(pki: dict[str, ns.Issued]) -> None:
    name = "x" * 5000
    envelope = ns.jws(TARGET, pki["signer"], [pki["signer"], pki["root"]], extra={name: 1},
                      crit=["io.cncf.notary.signingScheme", name])
    result = verify_envelope("s", envelope, "application/jose+json", SUBJECT,
                             statement(ns.statement(), "p: trustPolicies[0]"), TrustStore("/nonexistent"))
    assert result.failure is not None and "unknown critical header 'xxx" in str(result.failure.problem)
    assert len(str(result.failure.problem)) < 400


def test_not_json_and_other_media_types_are_refused() -> None:
    with pytest.raises(EnvelopeError, match="is not JSON"):
        parse_envelope(b"invalid signature\n", "application/jose+json")
    with pytest.raises(EnvelopeError, match="unsupported envelope media type"):
        parse_envelope(b"{}", "application/vnd.oci.image.layer.v1.tar")
    with pytest.raises(EnvelopeError, match="more than"):
        parse_envelope(b" " * (4 * 1024 * 1024 + 1), "application/jose+json")


def test_cose_structure_rules(pki: dict[str, ns.Issued]) -> None:
    import cbor2

    good = cbor2.loads(ns.cose(TARGET, pki["signer"], [pki["signer"], pki["root"]]))
    assert parse_envelope(cbor2.dumps(good), "application/cose").algorithm == "PS256"
    with pytest.raises(EnvelopeError, match="tag 18"):
        parse_envelope(cbor2.dumps(good.value), "application/cose")
    protected, unprotected, body, signature = good.value
    detached = cbor2.CBORTag(18, [protected, unprotected, None, signature])
    with pytest.raises(EnvelopeError, match="detached"):
        parse_envelope(cbor2.dumps(detached), "application/cose")
    header = cbor2.loads(protected)
    header[1] = -257  # RS256: not a Notary algorithm
    with pytest.raises(EnvelopeError, match="unsupported COSE alg -257"):
        parse_envelope(cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps(header), unprotected, body, signature])),
                       "application/cose")
    no_chain = cbor2.CBORTag(18, [protected, {}, body, signature])
    with pytest.raises(EnvelopeError, match="no x5chain"):
        parse_envelope(cbor2.dumps(no_chain), "application/cose")


def test_signature_must_cover_the_exact_header_and_match_the_key(pki: dict[str, ns.Issued]) -> None:
    doc = _jws_parts(ns.jws(TARGET, pki["signer"], [pki["signer"], pki["root"]]))
    tampered = _protected(doc, lambda h: h.update({"io.cncf.notary.signingTime": "2001-01-01T00:00:00Z"}))
    with pytest.raises(EnvelopeError, match="does not verify with the leaf"):
        verify_signature(parse_envelope(tampered, "application/jose+json"))
    ec_signed = _jws_parts(ns.jws(TARGET, pki["ec"], [pki["ec"], pki["root"]]))
    as_rsa = _protected(ec_signed, lambda h: h.update(alg="PS256"))
    with pytest.raises(EnvelopeError, match="needs an RSA signing key"):
        verify_signature(parse_envelope(as_rsa, "application/jose+json"))
    short = dict(ec_signed, signature=ec_signed["signature"][:40])
    with pytest.raises(EnvelopeError, match="not 64"):
        verify_signature(parse_envelope(json.dumps(short).encode(), "application/jose+json"))


def test_chain_rules(pki: dict[str, ns.Issued]) -> None:
    other = ns.root_ca("Other Root")
    validate_code_signing_chain([pki["signer"].cert, pki["root"].cert])
    with pytest.raises(EnvelopeError, match="not issued by the next one"):
        validate_code_signing_chain([pki["signer"].cert, other.cert])
    with pytest.raises(EnvelopeError, match="not a self-signed root"):
        validate_code_signing_chain([pki["signer"].cert])
    not_ca = ns.leaf(pki["root"], "Pretend CA")
    below = ns.leaf(not_ca, "Below")
    with pytest.raises(EnvelopeError, match="is not a CA certificate"):
        validate_code_signing_chain([below.cert, not_ca.cert, pki["root"].cert])
    timestamping = ns.leaf(pki["root"], "TSA", eku=(ExtendedKeyUsageOID.TIME_STAMPING,))
    with pytest.raises(EnvelopeError, match="not code signing"):
        validate_code_signing_chain([timestamping.cert, pki["root"].cert])
    for variant, words in (({"ca": True}, "is a CA certificate"), ({"usage_critical": False}, "lacks a critical"),
                           ({"key_encipherment": True}, "key usage key_encipherment"),
                           ({"key_bits": 1024}, "fewer than 2048")):
        odd = ns.leaf(pki["root"], "Odd", **variant)
        with pytest.raises(EnvelopeError, match=words):
            validate_code_signing_chain([odd.cert, pki["root"].cert])
    custom = ns.leaf(pki["root"], "Custom EKU", eku=(x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"),))
    validate_code_signing_chain([custom.cert, pki["root"].cert])  # the specification allows other purposes
    assert anchored([pki["signer"].cert, pki["root"].cert], [pki["root"].cert]) == pki["root"].cert
    assert anchored([pki["signer"].cert], [pki["root"].cert]) == pki["root"].cert  # issued by a store root
    assert anchored([pki["signer"].cert, pki["root"].cert], [other.cert]) is None


def test_trust_store_rules(tmp_path: Path, pki: dict[str, ns.Issued]) -> None:
    store = TrustStore(ns.trust_store(tmp_path, {"ca:good": [pki["root"]], "ca:leafy": [pki["signer"]],
                                                 "tsa:leafy": [pki["root"], pki["signer"]]}))
    assert store.certificates("ca", "good") == (pki["root"].cert,)
    with pytest.raises(TrustStoreError, match="neither a CA certificate nor a self-signed"):
        store.certificates("ca", "leafy")
    with pytest.raises(TrustStoreError, match="not a self-issued CA root"):
        store.certificates("tsa", "leafy")
    with pytest.raises(TrustStoreError, match="does not exist"):
        store.certificates("ca", "absent")
    (tmp_path / "x509" / "ca" / "junk").mkdir()
    (tmp_path / "x509" / "ca" / "junk" / "notes.txt").write_text("hello")
    with pytest.raises(TrustStoreError, match="not a PEM or DER"):
        store.certificates("ca", "junk")
    (tmp_path / "x509" / "ca" / "empty").mkdir()
    with pytest.raises(TrustStoreError, match="holds no certificates"):
        store.certificates("ca", "empty")
    linked = tmp_path / "x509" / "ca" / "linked"
    linked.mkdir()
    (linked / "root.pem").symlink_to(tmp_path / "x509" / "ca" / "good" / "cert0.pem")
    with pytest.raises(TrustStoreError, match="is a link or a folder"):
        store.certificates("ca", "linked")
    der = tmp_path / "x509" / "ca" / "der"
    der.mkdir()
    (der / "root.der").write_bytes(pki["root"].cert.public_bytes(serialization.Encoding.DER))
    assert store.certificates("ca", "der") == (pki["root"].cert,)


def _policy(**changes: Any) -> bytes:
    one = ns.statement()
    one.update(changes)
    return json.dumps({"version": "1.0", "trustPolicies": [one]}).encode()


@pytest.mark.parametrize(("document", "words"), [
    (b"[]", "not a JSON object"),
    (json.dumps({"version": "2.0", "trustPolicies": []}).encode(), "version '2.0'"),
    (json.dumps({"version": "1.0", "trustPolicies": [], "extra": 1}).encode(), "unknown key 'extra'"),
    (json.dumps({"version": "1.0", "trustPolicies": []}).encode(), "no trustPolicies"),
    (_policy(trustedIdentity=["*"]), "unknown key 'trustedIdentity'"),
    (_policy(signatureVerification={"level": "lenient"}), "invalid signatureVerification level 'lenient'"),
    (_policy(signatureVerification={"level": "strict", "override": {"timing": "log"}}),
     "unsupported signatureVerification override 'timing'"),
    (_policy(signatureVerification={"level": "strict", "override": {"expiry": "warn"}}),
     "unsupported signatureVerification action 'warn'"),
    (_policy(signatureVerification={"level": "skip"}), "skip signature verification but configured trust stores"),
    (_policy(signatureVerification={"level": "strict", "verifyTimestamp": "never"}), "invalid verifyTimestamp"),
    (_policy(trustStores=["ca:ok", "keys:ok"]), "unsupported trust store type 'keys'"),
    (_policy(trustedIdentities=["x509.san: C=US, ST=WA, O=Acme"]), "unsupported identity prefix 'x509.san'"),
    (_policy(trustedIdentities=["x509.subject: C=US, ST=WA, O=Acme, bogus"]), "malformed distinguished name"),
    (_policy(registryScopes=["https://ghcr.io/acme/app"]), "is not valid"),
    (_policy(registryScopes=["ghcr.io/acme/app:1.0"]), "is not valid"),
])
def test_trust_policy_rules(document: bytes, words: str) -> None:
    with pytest.raises(TrustPolicyError, match=words) as refused:
        parse_trust_policy(document, "trustpolicy.json")
    assert str(refused.value).startswith("trustpolicy.json: ")


def test_statement_for_a_repository_prefers_its_scope_over_the_wildcard() -> None:
    document = {"version": "1.0", "trustPolicies": [ns.statement("any"),
                                                    ns.statement("app", scopes=("ghcr.io/acme/app",))]}
    policy = parse_trust_policy(json.dumps(document).encode(), "p")
    assert policy.statement_for("ghcr.io/acme/app").name == "app"  # type: ignore[union-attr]
    assert policy.statement_for("ghcr.io/acme/other").name == "any"  # type: ignore[union-attr]
    only = parse_trust_policy(_policy(registryScopes=["ghcr.io/acme/app"]), "p")
    assert only.statement_for("ghcr.io/acme/other") is None


def test_signing_authority_needs_its_own_store_and_its_time(tmp_path: Path, pki: dict[str, ns.Issued]) -> None:
    envelope = ns.jws(TARGET, pki["signer"], [pki["signer"], pki["root"]], scheme="notary.x509.signingAuthority")
    store = TrustStore(ns.trust_store(tmp_path, {"ca:acme": [pki["root"]], "signingAuthority:acme": [pki["root"]]}))
    only_ca = statement(ns.statement(), "p: trustPolicies[0]")
    result = verify_envelope("s", envelope, "application/jose+json", SUBJECT, only_ca, store)
    assert result.failure is not None and "names no signingAuthority trust store" in str(result.failure.problem)
    both = statement(ns.statement(stores=("ca:acme", "signingAuthority:acme")), "p: trustPolicies[0]")
    assert verify_envelope("s", envelope, "application/jose+json", SUBJECT, both, store).verified


def test_found_by_fuzzing_malformed_certificates_and_cose_labels(pki: dict[str, ns.Issued]) -> None:
    """fuzz/notation_envelope.py: cryptography raises InvalidVersion, TypeError or ValueError lazily for a
    malformed certificate, and a COSE alg label can be any CBOR value; each must be an EnvelopeError."""
    import cbor2

    der = pki["signer"].cert.public_bytes(serialization.Encoding.DER)
    assert b"\xa0\x03\x02\x01\x02" in der
    bad_version = der.replace(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x12", 1)
    doc = _jws_parts(ns.jws(TARGET, pki["signer"], [pki["signer"], pki["root"]]))
    doc["header"]["x5c"] = [base64.b64encode(bad_version).decode()]
    with pytest.raises(EnvelopeError, match="not a well-formed DER X"):
        parse_envelope(json.dumps(doc).encode(), "application/jose+json")
    message = cbor2.loads(ns.cose(TARGET, pki["signer"], [pki["signer"], pki["root"]]))
    protected, unprotected, body, signature = message.value
    header = cbor2.loads(protected)
    header[1] = [-37]
    listed = cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps(header), unprotected, body, signature]))
    with pytest.raises(EnvelopeError, match="unsupported COSE alg"):
        parse_envelope(listed, "application/cose")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2048), flips=st.lists(st.integers(min_value=0), max_size=4))
def test_any_bytes_give_an_envelope_or_a_one_line_error(pki: dict[str, ns.Issued], data: bytes,
                                                        flips: list[int]) -> None:
    """Random bytes, and real envelopes with random bytes changed: an envelope or one EnvelopeError line."""
    real = [ns.jws(TARGET, pki["ec"], [pki["ec"], pki["root"]]), ns.cose(TARGET, pki["ec"], [pki["ec"], pki["root"]])]
    candidates = [data]
    for envelope in real:
        mutated = bytearray(envelope)
        for flip in flips:
            mutated[flip % len(mutated)] ^= 0x41
        candidates.append(bytes(mutated))
    for candidate in candidates:
        for media_type in ("application/jose+json", "application/cose"):
            problem = _problem(candidate, media_type)
            assert problem is None or "\n" not in problem


def _problem(data: bytes, media_type: str) -> str | None:
    try:
        envelope = parse_envelope(data, media_type)
        verify_signature(envelope)
        validate_code_signing_chain(envelope.chain)
    except EnvelopeError as exc:
        return str(exc)
    return None
