"""Makers of real cosign-format material for tests: keys, payloads, layers, Rekor SETs, a Fulcio-like CA.

Everything is signed for real with `cryptography`, so each test exercises the same verification code
that real signatures go through.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import shutil
import struct
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from gates.cosign.layers import (
    ANNOTATION_SIGNATURE,
    SIMPLE_SIGNING_MEDIA_TYPE,
    LegacySignature,
    parse_signature_manifest,
)

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
DIGEST = "sha256:" + "ab" * 32
OTHER_DIGEST = "sha256:" + "cd" * 32
REPOSITORY = "registry.example.com/acme/app"
ISSUER = "https://token.actions.githubusercontent.com"
WORKFLOW = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.4"
T0 = dt.datetime(2025, 6, 1, 12, 0, 0, tzinfo=dt.timezone.utc)


def payload(digest: str = DIGEST, reference: str = REPOSITORY, kind: str = "cosign container image signature") -> bytes:
    """A simple-signing payload exactly as cosign writes it (compact JSON, sorted keys, optional null)."""
    doc = {
        "critical": {
            "identity": {"docker-reference": reference},
            "image": {"docker-manifest-digest": digest},
            "type": kind,
        },
        "optional": None,
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def sign(key: PrivateKey, data: bytes, *, pss: bool = False, hash_: hashes.HashAlgorithm | None = None) -> bytes:
    """Sign as cosign does: ECDSA with the curve's hash, RSA PKCS#1 v1.5 (or PSS) SHA-256, pure Ed25519."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        default = {"secp256r1": hashes.SHA256(), "secp384r1": hashes.SHA384(), "secp521r1": hashes.SHA512()}
        return key.sign(data, ec.ECDSA(hash_ or default[key.curve.name]))
    if isinstance(key, rsa.RSAPrivateKey):
        pad: padding.AsymmetricPadding = (
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
            if pss
            else padding.PKCS1v15()
        )
        return key.sign(data, pad, hash_ or hashes.SHA256())
    return key.sign(data)


def public_pem(key: PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def spki(key: PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def descriptor(data: bytes, annotations: dict[str, str], media_type: str = SIMPLE_SIGNING_MEDIA_TYPE) -> dict[str, Any]:
    return {
        "mediaType": media_type,
        "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "annotations": annotations,
    }


def manifest(*layers: tuple[dict[str, Any], bytes]) -> tuple[dict[str, Any], dict[str, bytes]]:
    """A cosign `.sig` manifest from (descriptor, blob) pairs, and the blob map a caller would fetch."""
    doc = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": DIGEST, "size": 233},
        "layers": [d for d, _ in layers],
    }
    return doc, {d["digest"]: blob for d, blob in layers}


def key_signed(key: PrivateKey, data: bytes | None = None, **extra: str) -> list[LegacySignature]:
    """Parsed layers of one key-signed signature (optionally with more annotations)."""
    body = data if data is not None else payload()
    annotations = {ANNOTATION_SIGNATURE: base64.b64encode(sign(key, body)).decode(), **extra}
    doc, blobs = manifest((descriptor(body, annotations), body))
    return list(parse_signature_manifest(doc, blobs))


# -- Rekor ------------------------------------------------------------------------------------------------


@dataclass
class FakeRekor:
    """A Rekor log key that signs SETs over hashedrekord bodies, as rekor.sigstore.dev does."""

    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    index: int = 1000

    @property
    def log_id(self) -> bytes:
        return hashlib.sha256(spki(self.key)).digest()

    def body(self, data: bytes, signature: bytes, signer_pem: bytes, *, kind: str = "hashedrekord") -> str:
        doc = {
            "apiVersion": "0.0.1",
            "kind": kind,
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": hashlib.sha256(data).hexdigest()}},
                "signature": {
                    "content": base64.b64encode(signature).decode(),
                    "publicKey": {"content": base64.b64encode(signer_pem).decode()},
                },
            },
        }
        return base64.b64encode(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).decode()

    def annotation(
        self,
        body: str,
        when: dt.datetime = T0,
        *,
        signer: ec.EllipticCurvePrivateKey | None = None,
        log_id: bytes | None = None,
    ) -> str:
        """The `dev.sigstore.cosign/bundle` annotation: SET over canonical {body, integratedTime, logID, logIndex}."""
        log_id_hex = (log_id or self.log_id).hex()
        integrated = int(when.timestamp())
        canonical = json.dumps(
            {"body": body, "integratedTime": integrated, "logID": log_id_hex, "logIndex": self.index},
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
        set_ = (signer or self.key).sign(canonical, ec.ECDSA(hashes.SHA256()))
        return json.dumps(
            {
                "SignedEntryTimestamp": base64.b64encode(set_).decode(),
                "Payload": {"body": body, "integratedTime": integrated, "logIndex": self.index, "logID": log_id_hex},
            }
        )


# -- a Fulcio-like CA with a CT log ------------------------------------------------------------------------

_SCT_OID = ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
_FULCIO = "1.3.6.1.4.1.57264.1."


def _der_utf8(text: str) -> bytes:
    raw = text.encode()
    assert len(raw) < 128
    return bytes([0x0C, len(raw)]) + raw


@dataclass
class FakeFulcio:
    """A root and intermediate CA issuing short-lived code-signing certificates with an embedded SCT."""

    root_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP384R1()))
    intermediate_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP384R1())
    )
    ct_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    def __post_init__(self) -> None:
        start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
        self.root = self._ca("test-fulcio-root", self.root_key, self.root_key, None, start)
        self.intermediate = self._ca("test-fulcio-intermediate", self.intermediate_key, self.root_key, self.root, start)

    @staticmethod
    def _ca(
        name: str,
        key: ec.EllipticCurvePrivateKey,
        signer: ec.EllipticCurvePrivateKey,
        issuer: x509.Certificate | None,
        start: dt.datetime,
    ) -> x509.Certificate:
        subject = x509.Name(
            [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "test"), x509.NameAttribute(NameOID.COMMON_NAME, name)]
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer.subject if issuer else subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        )
        if issuer is not None:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False
            )
        return builder.sign(signer, hashes.SHA384())

    def issue(
        self,
        key: ec.EllipticCurvePrivateKey,
        *,
        san: str = WORKFLOW,
        issuer: str | None = ISSUER,
        issued: dt.datetime = T0 - dt.timedelta(minutes=1),
        lifetime: dt.timedelta = dt.timedelta(minutes=10),
        github: dict[str, str] | None = None,
        sct: bool = True,
        sct_signer: ec.EllipticCurvePrivateKey | None = None,
        issuer_v1: str | None = None,
        code_signing: bool = True,
    ) -> x509.Certificate:
        """A leaf as Fulcio issues it: empty subject, critical SAN, issuer extensions, codeSigning EKU, SCT."""
        general_name: x509.GeneralName = (
            x509.RFC822Name(san) if "@" in san and "://" not in san else x509.UniformResourceIdentifier(san)
        )
        eku = [ExtendedKeyUsageOID.CODE_SIGNING if code_signing else ExtendedKeyUsageOID.CLIENT_AUTH]
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(self.intermediate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(issued)
            .not_valid_after(issued + lifetime)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage(eku), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.intermediate_key.public_key()), critical=False
            )
            .add_extension(x509.SubjectAlternativeName([general_name]), critical=True)
        )
        if issuer_v1 is not None:
            builder = builder.add_extension(
                x509.UnrecognizedExtension(ObjectIdentifier(_FULCIO + "1"), issuer_v1.encode()), critical=False
            )
        if issuer is not None:
            builder = builder.add_extension(
                x509.UnrecognizedExtension(ObjectIdentifier(_FULCIO + "8"), _der_utf8(issuer)), critical=False
            )
        for oid_suffix, value in (github or {}).items():
            builder = builder.add_extension(
                x509.UnrecognizedExtension(ObjectIdentifier(_FULCIO + oid_suffix), value.encode()), critical=False
            )
        if not sct:
            return builder.sign(self.intermediate_key, hashes.SHA384())
        precert = builder.sign(self.intermediate_key, hashes.SHA384())
        sct_list = self._sct(precert.tbs_certificate_bytes, issued, sct_signer or self.ct_key)
        final = builder.add_extension(x509.UnrecognizedExtension(_SCT_OID, sct_list), critical=False)
        return final.sign(self.intermediate_key, hashes.SHA384())

    def _sct(self, tbs: bytes, when: dt.datetime, signer: ec.EllipticCurvePrivateKey) -> bytes:
        """A TLS-encoded SignedCertificateTimestampList with one v1 precert SCT (RFC 6962 §3.2)."""
        issuer_key_hash = hashlib.sha256(
            self.intermediate_key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        ).digest()
        millis = int(when.timestamp() * 1000)
        signed = (
            struct.pack("!BBQH", 0, 0, millis, 1)
            + issuer_key_hash
            + len(tbs).to_bytes(3, "big")
            + tbs
            + struct.pack("!H", 0)
        )
        signature = signer.sign(signed, ec.ECDSA(hashes.SHA256()))
        log_id = hashlib.sha256(spki(self.ct_key)).digest()
        sct = (
            struct.pack("!B", 0)
            + log_id
            + struct.pack("!QH", millis, 0)
            + struct.pack("!BBH", 4, 3, len(signature))
            + signature
        )
        sct_list = struct.pack("!H", len(sct)) + sct
        body = struct.pack("!H", len(sct_list)) + sct_list
        return bytes([0x04, len(body)]) + body if len(body) < 128 else bytes([0x04, 0x81, len(body)]) + body


def trusted_root(
    path: Path,
    *,
    fulcio: FakeFulcio | None = None,
    ca_certs: list[x509.Certificate] | None = None,
    rekor_keys: list[tuple[bytes, bytes]] = (),  # type: ignore[assignment]
    ct_keys: list[tuple[bytes, bytes]] | None = None,
) -> Path:
    """Write a `trusted_root.json` (media type 0.1): CAs, Rekor (log id, SPKI) and CT (log id, SPKI) keys."""
    start = "2020-01-01T00:00:00Z"
    cas = []
    chain = ca_certs if ca_certs is not None else ([fulcio.intermediate, fulcio.root] if fulcio else [])
    if chain:
        cas.append(
            {
                "subject": {"organization": "test", "commonName": "test"},
                "uri": "https://fulcio.test",
                "certChain": {
                    "certificates": [
                        {"rawBytes": base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()}
                        for c in chain
                    ]
                },
                "validFor": {"start": start},
            }
        )
    if ct_keys is None:
        ct_keys = [(hashlib.sha256(spki(fulcio.ct_key)).digest(), spki(fulcio.ct_key))] if fulcio else []

    def log(log_id: bytes, der: bytes, url: str) -> dict[str, Any]:
        return {
            "baseUrl": url,
            "hashAlgorithm": "SHA2_256",
            "publicKey": {
                "rawBytes": base64.b64encode(der).decode(),
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                "validFor": {"start": start},
            },
            "logId": {"keyId": base64.b64encode(log_id).decode()},
        }

    doc = {
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [log(i, k, "https://rekor.test") for i, k in rekor_keys],
        "certificateAuthorities": cas,
        "ctlogs": [log(i, k, "https://ctfe.test") for i, k in ct_keys],
        "timestampAuthorities": [],
    }
    path.write_text(json.dumps(doc, indent=1))
    return path


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def timestamp_authority(folder: Path) -> tuple[Callable[[bytes], str], list[x509.Certificate]]:
    """A timestamp authority run by the real `openssl ts`: (sign(signature) -> base64 token, [leaf, root])."""
    import pytest

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    now = dt.datetime.now(dt.timezone.utc)

    def cert(name: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[str, ec.EllipticCurvePrivateKey] | None,
             ca: bool) -> x509.Certificate:
        signer_name, signer_key = issuer or (name, key)
        builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, signer_name)]))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        return builder.sign(signer_key, hashes.SHA256())

    root_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = cert("test tsa root", root_key, None, True)
    leaf = cert("test tsa", leaf_key, ("test tsa root", root_key), False)
    (folder / "tsa.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (folder / "tsa.key").write_bytes(leaf_key.private_bytes(serialization.Encoding.PEM,
                                                           serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))
    (folder / "serial").write_text("01\n")
    (folder / "ts.cnf").write_text("[tsa]\ndefault_tsa = t\n[t]\nserial = serial\nsigner_digest = sha256\n"
                                   "default_policy = 1.2.3.4\ndigests = sha256\ness_cert_id_alg = sha256\n")

    def stamp(signature: bytes) -> str:
        (folder / "signature").write_bytes(signature)
        for args in (["-query", "-data", "signature", "-sha256", "-cert", "-out", "q.tsq"],
                     ["-reply", "-config", "ts.cnf", "-queryfile", "q.tsq", "-signer", "tsa.pem", "-inkey",
                      "tsa.key", "-out", "r.tsr"]):
            subprocess.run(["openssl", "ts", *args], cwd=folder, check=True, capture_output=True)
        return base64.b64encode((folder / "r.tsr").read_bytes()).decode()

    return stamp, [leaf, root]



def tsa_entry(chain: list[x509.Certificate]) -> dict[str, Any]:
    """The `timestampAuthorities[]` item of a trusted root for a TSA's chain (leaf first)."""
    return {"subject": {"organization": "test", "commonName": "test tsa"}, "uri": "https://tsa.test",
            "certChain": {"certificates": [{"rawBytes": base64.b64encode(c.public_bytes(serialization.Encoding.DER))
                                            .decode()} for c in chain]},
            "validFor": {"start": "2020-01-01T00:00:00Z"}}
