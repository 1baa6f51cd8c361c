"""Notary Project signature envelopes (JWS JSON serialization and COSE_Sign1) parsed into one shape.

Parsing is where the envelope's own rules are checked: the header fields the specification requires,
`crit` naming every critical header present, the payload content type and its `targetArtifact`
descriptor. Whatever breaks them raises `EnvelopeError`: an integrity failure, never a pass. A
critical header this verifier does not understand (a verification plugin's attribute, a signer's
private extension) is refused by `unsupported_critical`, since ignoring one is what `crit` forbids.

JWS is decoded by hand (base64url + JSON): PyJWT reads the compact form only, and jwcrypto would
bring a dependency for the two decodings while its `crit` registry and key objects would still need
as much glue; the signature itself is verified with `cryptography` (`gates.notation.signature`).
COSE is decoded with cbor2.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gates.notation import COSE_MEDIA_TYPE, JWS_MEDIA_TYPE
from gates.notation.errors import EnvelopeError, shown

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

PAYLOAD_CONTENT_TYPE = "application/vnd.cncf.notary.payload.v1+json"
SCHEME_X509 = "notary.x509"
SCHEME_SIGNING_AUTHORITY = "notary.x509.signingAuthority"
SCHEMES = (SCHEME_X509, SCHEME_SIGNING_AUTHORITY)

SIGNING_SCHEME = "io.cncf.notary.signingScheme"
SIGNING_TIME = "io.cncf.notary.signingTime"
AUTHENTIC_SIGNING_TIME = "io.cncf.notary.authenticSigningTime"
EXPIRY = "io.cncf.notary.expiry"
SIGNING_AGENT = "io.cncf.notary.signingAgent"
TIMESTAMP_SIGNATURE = "io.cncf.notary.timestampSignature"
VERIFICATION_PLUGIN = "io.cncf.notary.verificationPlugin"
VERIFICATION_PLUGIN_MIN_VERSION = "io.cncf.notary.verificationPluginMinVersion"

UNDERSTOOD_CRITICAL = frozenset({SIGNING_SCHEME, AUTHENTIC_SIGNING_TIME, EXPIRY})
"""The critical headers this verifier processes; any other in `crit` makes the envelope unacceptable."""
MUST_BE_CRITICAL = (SIGNING_SCHEME, AUTHENTIC_SIGNING_TIME, EXPIRY)
"""Headers that, when present, `crit` must list (the specification marks them critical)."""

MAX_ENVELOPE_BYTES = 4 * 1024 * 1024
MAX_CHAIN = 10
"""Certificates in an envelope's chain; real chains have two to four."""

JWS_ALGORITHMS = ("PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
COSE_ALGORITHMS = {-37: "PS256", -38: "PS384", -39: "PS512", -7: "ES256", -35: "ES384", -36: "ES512"}
_COSE_X5CHAIN = 33
_NOTARY_PROTECTED = frozenset({SIGNING_SCHEME, SIGNING_TIME, AUTHENTIC_SIGNING_TIME, EXPIRY})


@dataclass(frozen=True)
class TargetArtifact:
    """The descriptor of what was signed, from the payload."""

    media_type: str
    digest: str
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        return f"{self.digest} ({self.media_type}, {self.size} bytes)"


@dataclass(frozen=True)
class Envelope:
    """A parsed envelope: what is signed, how, by which chain, and the bytes the signature covers."""

    media_type: str
    algorithm: str
    """`PS256` ... `ES512` (COSE labels mapped to these names)."""
    signing_scheme: str
    signing_time: dt.datetime | None
    """`notary.x509`: the signer's claim, not trusted."""
    authentic_signing_time: dt.datetime | None
    """`notary.x509.signingAuthority`: the signing authority's time, trusted."""
    expiry: dt.datetime | None
    critical: tuple[str, ...]
    extended: Mapping[str, Any]
    """Protected headers beyond the ones the specification defines (signer's attributes)."""
    target: TargetArtifact
    signed_bytes: bytes
    """Exactly what the signature covers: JWS `protected.payload`, COSE's Sig_structure."""
    signature: bytes
    chain: tuple[Certificate, ...]
    """Leaf first."""
    signing_agent: str
    timestamp_token: bytes | None
    """The RFC 3161 TimeStampToken (DER) countersigning `signature`, if any."""

    @property
    def leaf(self) -> Certificate:
        return self.chain[0]


def parse_envelope(data: bytes, media_type: str) -> Envelope:
    """The envelope of `media_type` in `data`; raises `EnvelopeError` saying what is wrong."""
    if len(data) > MAX_ENVELOPE_BYTES:
        raise EnvelopeError(f"the envelope is {len(data)} bytes, more than the {MAX_ENVELOPE_BYTES} accepted")
    if media_type == JWS_MEDIA_TYPE:
        return _parse_jws(data)
    if media_type == COSE_MEDIA_TYPE:
        return _parse_cose(data)
    raise EnvelopeError(f"unsupported envelope media type {shown(media_type)} (expected {JWS_MEDIA_TYPE} or"
                        f" {COSE_MEDIA_TYPE})")


# -- JWS ---------------------------------------------------------------------------------------------

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_JWS_MEMBERS = frozenset({"payload", "protected", "header", "signature"})
_JWS_UNPROTECTED = frozenset({"x5c", SIGNING_AGENT, TIMESTAMP_SIGNATURE})


def _b64url(value: Any, what: str) -> bytes:
    """Unpadded base64url, strictly: a stray character is an error, not something to skip."""
    if not isinstance(value, str) or not _B64URL.fullmatch(value) or len(value) % 4 == 1:
        raise EnvelopeError(f"JWS {what} is not unpadded base64url")
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _b64(value: Any, what: str) -> bytes:
    try:
        if not isinstance(value, str):
            raise ValueError
        return base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        raise EnvelopeError(f"JWS {what} is not base64") from None


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise EnvelopeError(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise EnvelopeError(f"{what} is not a JSON object")
    return value


def _parse_jws(data: bytes) -> Envelope:
    doc = _json_object(data, "the JWS envelope")
    missing = sorted(_JWS_MEMBERS - {"header"} - set(doc))
    if missing:
        raise EnvelopeError(f"the JWS envelope has no {', '.join(missing)} (JSON serialization expected)")
    unknown = sorted(set(doc) - _JWS_MEMBERS)
    if unknown:
        raise EnvelopeError(f"the JWS envelope has unexpected members {shown(unknown)}")
    protected_b64, payload_b64 = doc["protected"], doc["payload"]
    protected_raw = _b64url(protected_b64, "protected header")
    payload = _b64url(payload_b64, "payload")
    signature = _b64url(doc["signature"], "signature")
    protected = _json_object(protected_raw, "the JWS protected header")
    header = doc.get("header", {})
    if not isinstance(header, dict):
        raise EnvelopeError("the JWS unprotected header is not a JSON object")
    extra = sorted(k for k in header if k not in _JWS_UNPROTECTED and k.lower() != SIGNING_AGENT.lower())
    if extra:
        raise EnvelopeError(f"the JWS unprotected header has unexpected parameters {shown(extra)}")
    if "b64" in protected:
        raise EnvelopeError("the JWS protected header sets b64, which the Notary Project does not allow")
    algorithm = protected.get("alg")
    if algorithm not in JWS_ALGORITHMS:
        raise EnvelopeError(f"unsupported JWS alg {shown(algorithm)} (supported: {', '.join(JWS_ALGORITHMS)})")
    critical = protected.get("crit")
    if not isinstance(critical, list) or not all(isinstance(c, str) for c in critical):
        raise EnvelopeError("the JWS protected header has no crit list of header names")
    x5c = header.get("x5c")
    if not isinstance(x5c, list) or not x5c:
        raise EnvelopeError("the JWS unprotected header has no x5c certificate chain")
    chain = [_b64(c, f"x5c[{i}]") for i, c in enumerate(x5c)]
    stamp = header.get(TIMESTAMP_SIGNATURE)
    agent = next((v for k, v in header.items() if k.lower() == SIGNING_AGENT.lower()), "")
    return _build(
        JWS_MEDIA_TYPE, algorithm, protected.get("cty"), protected, critical,
        times={name: _rfc3339(protected[name], name) for name in _NOTARY_PROTECTED - {SIGNING_SCHEME}
               if name in protected},
        extended={k: v for k, v in protected.items() if k not in _NOTARY_PROTECTED | {"alg", "cty", "crit"}},
        payload=payload, signed=f"{protected_b64}.{payload_b64}".encode("ascii"), signature=signature,
        chain=chain, agent=agent, stamp=_b64(stamp, TIMESTAMP_SIGNATURE) if stamp is not None else None,
    )


def _rfc3339(value: Any, name: str) -> dt.datetime:
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    raise EnvelopeError(f"{name} {shown(value)} is not an RFC 3339 time with a zone")


# -- COSE --------------------------------------------------------------------------------------------


def _parse_cose(data: bytes) -> Envelope:
    import cbor2

    try:
        message = cbor2.loads(data)
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError, OverflowError):
        raise EnvelopeError("the COSE envelope is not CBOR") from None
    if not isinstance(message, cbor2.CBORTag) or message.tag != 18:
        raise EnvelopeError("the COSE envelope is not a tagged COSE_Sign1 message (tag 18)")
    parts = message.value
    if not isinstance(parts, (list, tuple)) or len(parts) != 4:
        raise EnvelopeError("the COSE_Sign1 message is not an array of four")
    protected_raw, unprotected, payload, signature = parts
    if not isinstance(protected_raw, bytes) or not isinstance(signature, bytes):
        raise EnvelopeError("the COSE_Sign1 protected header or signature is not a byte string")
    if not isinstance(payload, bytes):
        raise EnvelopeError("the COSE_Sign1 payload is detached or not a byte string")
    if not isinstance(unprotected, Mapping):
        raise EnvelopeError("the COSE_Sign1 unprotected header is not a map")
    try:
        protected = cbor2.loads(protected_raw)
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError, OverflowError):
        raise EnvelopeError("the COSE protected header is not CBOR") from None
    if not isinstance(protected, Mapping):
        raise EnvelopeError("the COSE protected header is not a map")
    label = protected.get(1)
    if type(label) is not int or label not in COSE_ALGORITHMS:
        raise EnvelopeError(f"unsupported COSE alg {shown(label)} (supported: {', '.join(map(str, COSE_ALGORITHMS))})")
    critical = protected.get(2)
    if not isinstance(critical, (list, tuple)) or not all(isinstance(c, (str, int)) for c in critical):
        raise EnvelopeError("the COSE protected header has no crit list (label 2)")
    x5chain = unprotected.get(_COSE_X5CHAIN)
    chain = [x5chain] if isinstance(x5chain, bytes) else list(x5chain or ()) \
        if isinstance(x5chain, (list, tuple)) else []
    if not chain or not all(isinstance(c, bytes) for c in chain):
        raise EnvelopeError("the COSE unprotected header has no x5chain (label 33) of certificates")
    stamp = unprotected.get(TIMESTAMP_SIGNATURE)
    if stamp is not None and not isinstance(stamp, bytes):
        raise EnvelopeError(f"the COSE {TIMESTAMP_SIGNATURE} is not a byte string")
    agent = unprotected.get(SIGNING_AGENT, "")
    times = {}
    for name in _NOTARY_PROTECTED - {SIGNING_SCHEME}:
        if name in protected:
            value = protected[name]
            if not isinstance(value, dt.datetime) or value.tzinfo is None:
                raise EnvelopeError(f"{name} is not a CBOR epoch time (tag 1)")
            times[name] = value
    signed = cbor2.dumps(["Signature1", protected_raw, b"", payload])
    return _build(
        COSE_MEDIA_TYPE, COSE_ALGORITHMS[label], protected.get(3), protected,
        [c if isinstance(c, str) else f"label {c}" for c in critical], times=times,
        extended={str(k): v for k, v in protected.items() if k not in _NOTARY_PROTECTED | {1, 2, 3}},
        payload=payload, signed=signed, signature=signature, chain=chain,
        agent=agent if isinstance(agent, str) else "", stamp=stamp,
    )


# -- both --------------------------------------------------------------------------------------------


def _build(
    media_type: str, algorithm: str, content_type: Any, protected: Mapping[Any, Any], critical: list[str], *,
    times: Mapping[str, dt.datetime], extended: Mapping[str, Any], payload: bytes, signed: bytes,
    signature: bytes, chain: list[bytes], agent: str, stamp: bytes | None,
) -> Envelope:
    if content_type != PAYLOAD_CONTENT_TYPE:
        raise EnvelopeError(f"payload content type is {shown(content_type)}, expected {PAYLOAD_CONTENT_TYPE}")
    scheme = protected.get(SIGNING_SCHEME)
    if scheme not in SCHEMES:
        raise EnvelopeError(f"signing scheme {shown(scheme)} is not one of {', '.join(SCHEMES)}")
    _check_critical(protected, critical)
    if scheme == SCHEME_X509 and SIGNING_TIME not in times:
        raise EnvelopeError(f"signing scheme {scheme} needs {SIGNING_TIME}")
    if scheme == SCHEME_SIGNING_AUTHORITY and AUTHENTIC_SIGNING_TIME not in times:
        raise EnvelopeError(f"signing scheme {scheme} needs {AUTHENTIC_SIGNING_TIME}")
    if scheme == SCHEME_X509 and AUTHENTIC_SIGNING_TIME in times:
        raise EnvelopeError(f"{AUTHENTIC_SIGNING_TIME} is only valid under {SCHEME_SIGNING_AUTHORITY}")
    if len(chain) > MAX_CHAIN:
        raise EnvelopeError(f"the certificate chain has {len(chain)} certificates, more than {MAX_CHAIN}")
    return Envelope(
        media_type=media_type, algorithm=algorithm, signing_scheme=scheme,
        signing_time=times.get(SIGNING_TIME), authentic_signing_time=times.get(AUTHENTIC_SIGNING_TIME),
        expiry=times.get(EXPIRY), critical=tuple(critical), extended=dict(extended),
        target=_target(payload), signed_bytes=signed, signature=signature,
        chain=tuple(_certificate(der, n) for n, der in enumerate(chain)), signing_agent=agent,
        timestamp_token=stamp,
    )


def _check_critical(protected: Mapping[Any, Any], critical: list[str]) -> None:
    for name in critical:
        if name not in protected:
            raise EnvelopeError(f"crit names {shown(name)}, which the protected header does not have")
    for name in MUST_BE_CRITICAL:
        if name in protected and name not in critical:
            raise EnvelopeError(f"{name} is present but crit does not list it")
def unsupported_critical(envelope: Envelope) -> str | None:
    """Why a critical header makes the envelope unacceptable here, or None when every one is understood.

    Asked after the signature verified, so a refusal says the signature is genuine but cannot be accepted.
    """
    for name in envelope.critical:
        if name in (VERIFICATION_PLUGIN, VERIFICATION_PLUGIN_MIN_VERSION):
            plugin = envelope.extended.get(VERIFICATION_PLUGIN)
            return (f"critical header {name}: the signature needs the verification plugin {shown(plugin)}, and"
                    " gates runs no plugins, so it cannot be accepted")
        if name not in UNDERSTOOD_CRITICAL:
            return (f"unknown critical header {shown(name)}: a verifier must understand every header crit lists, so"
                    " the signature cannot be accepted")
    return None


def _target(payload: bytes) -> TargetArtifact:
    doc = _json_object(payload, "the signed payload")
    target = doc.get("targetArtifact")
    if not isinstance(target, dict):
        raise EnvelopeError("the signed payload has no targetArtifact descriptor")
    media_type, digest, size = target.get("mediaType"), target.get("digest"), target.get("size")
    if not isinstance(media_type, str) or not isinstance(digest, str) or type(size) is not int or size < 0:
        raise EnvelopeError("the signed payload's targetArtifact lacks mediaType, digest or size")
    annotations = target.get("annotations", {})
    if not isinstance(annotations, dict) or not all(isinstance(v, str) for v in annotations.values()):
        raise EnvelopeError("the signed payload's targetArtifact annotations are not strings")
    return TargetArtifact(media_type, digest, size, annotations)


def _certificate(der: bytes, position: int) -> Certificate:
    """A certificate with every field verification reads parsed now (cryptography parses some lazily)."""
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        cert = x509.load_der_x509_certificate(der)
        cert.subject.rfc4514_string()
        cert.issuer.rfc4514_string()
        _ = cert.not_valid_before_utc, cert.not_valid_after_utc
        list(cert.extensions)
        cert.public_key()
    except (ValueError, TypeError, UnsupportedAlgorithm, x509.InvalidVersion, x509.DuplicateExtension):
        raise EnvelopeError(f"certificate {position + 1} of the chain is not a well-formed DER X.509 certificate"
                            " with a usable key") from None
    return cert
