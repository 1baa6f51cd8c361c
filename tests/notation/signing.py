"""Notary Project signatures as `notation sign` makes them, from a test CA and TSA generated here.

Certificates and keys come from `cryptography`; envelopes are written per the specification (JWS JSON
serialization, COSE_Sign1 with cbor2); RFC 3161 countersignatures come from `openssl ts`, a real TSA
implementation, over the signature bytes as notation requests them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gates.notation import SIGNATURE_ARTIFACT_TYPE
from gates.notation.envelope import PAYLOAD_CONTENT_TYPE
from gates.oci import mediatypes
from gates.oci.client import RegistryClient
from gates.oci.digest import Digest
from gates.oci.manifest import Descriptor
from gates.oci.reference import Reference

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: PrivateKey

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def name(cn: str, org: str = "Acme Rockets") -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"), x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "WA"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "Seattle"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])


def _key(kind: str) -> PrivateKey:
    return rsa.generate_private_key(65537, 2048) if kind == "rsa" else ec.generate_private_key(ec.SECP256R1())


def root_ca(cn: str = "Acme Test Root", kind: str = "rsa") -> Issued:
    key = _key(kind)
    cert = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name(cn)).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(NOW - 30 * DAY)
            .not_valid_after(NOW + 3650 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(_usage(cert_sign=True), critical=True)
            .sign(key, hashes.SHA256()))
    return Issued(cert, key)


def leaf(issuer: Issued, cn: str = "Acme Signer", *, kind: str = "rsa", org: str = "Acme Rockets",
         eku: Sequence[x509.ObjectIdentifier] | None = (ExtendedKeyUsageOID.CODE_SIGNING,),
         not_before: dt.datetime | None = None, not_after: dt.datetime | None = None,
         crl: str | None = None, critical_eku: bool = False, ca: bool = False, usage_critical: bool = True,
         key_encipherment: bool = False, key_bits: int = 2048) -> Issued:
    """A signing (or, with the timeStamping EKU, TSA) certificate issued by `issuer`."""
    key = rsa.generate_private_key(65537, key_bits) if kind == "rsa" and key_bits != 2048 else _key(kind)
    builder = (x509.CertificateBuilder().subject_name(name(cn, org)).issuer_name(issuer.cert.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before or NOW - DAY).not_valid_after(not_after or NOW + 365 * DAY)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(_usage(key_encipherment=key_encipherment), critical=usage_critical))
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=critical_eku)
    if crl is not None:
        point = x509.DistributionPoint([x509.UniformResourceIdentifier(crl)], None, None, None)
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    return Issued(builder.sign(issuer.key, hashes.SHA256()), key)


def _usage(cert_sign: bool = False, key_encipherment: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=not cert_sign, content_commitment=False, key_encipherment=key_encipherment,
                         data_encipherment=False, key_agreement=False, key_cert_sign=cert_sign, crl_sign=cert_sign,
                         encipher_only=False, decipher_only=False)


# -- trust stores and policies ----------------------------------------------------------------------------


def trust_store(folder: Path, stores: Mapping[str, Sequence[Issued]]) -> Path:
    """notation's layout: `x509/TYPE/NAME/N.pem` for each `TYPE:NAME`."""
    for store, certs in stores.items():
        kind, store_name = store.split(":")
        target = folder / "x509" / kind / store_name
        target.mkdir(parents=True, exist_ok=True)
        for n, issued in enumerate(certs):
            (target / f"cert{n}.pem").write_bytes(issued.pem())
    return folder


def trust_policy(path: Path, *statements: Mapping[str, Any]) -> Path:
    path.write_text(json.dumps({"version": "1.0", "trustPolicies": list(statements)}, indent=2))
    return path


def statement(name: str = "acme", scopes: Sequence[str] = ("*",), level: str = "strict",
              stores: Sequence[str] = ("ca:acme",), identities: Sequence[str] = ("*",),
              **verification: Any) -> dict[str, Any]:
    return {"name": name, "registryScopes": list(scopes),
            "signatureVerification": {"level": level, **verification},
            "trustStores": list(stores), "trustedIdentities": list(identities)}


# -- envelopes --------------------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign(key: PrivateKey, data: bytes) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _alg(key: PrivateKey) -> str:
    return "PS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"


def payload(target: Descriptor | Mapping[str, Any]) -> bytes:
    descriptor = target if isinstance(target, Mapping) else {
        "mediaType": target.media_type, "digest": str(target.digest), "size": target.size}
    return json.dumps({"targetArtifact": dict(descriptor)}, separators=(",", ":")).encode()


def jws(target: Descriptor | Mapping[str, Any], signer: Issued, chain: Sequence[Issued], *,
        expiry: dt.datetime | None = None, extra: Mapping[str, Any] | None = None,
        crit: Sequence[str] | None = None, tsa: Tsa | None = None, scheme: str = "notary.x509") -> bytes:
    """A JWS envelope (JSON serialization), as notation writes it."""
    time_key = "io.cncf.notary.signingTime" if scheme == "notary.x509" else "io.cncf.notary.authenticSigningTime"
    header: dict[str, Any] = {"alg": _alg(signer.key), "cty": PAYLOAD_CONTENT_TYPE,
                              "io.cncf.notary.signingScheme": scheme, time_key: NOW.isoformat()}
    critical = ["io.cncf.notary.signingScheme"] + ([time_key] if scheme != "notary.x509" else [])
    if expiry is not None:
        header["io.cncf.notary.expiry"] = expiry.isoformat()
        critical.append("io.cncf.notary.expiry")
    header.update(extra or {})
    header["crit"] = list(crit) if crit is not None else critical
    protected = _b64url(json.dumps(header, separators=(",", ":")).encode())
    body = _b64url(payload(target))
    signature = _sign(signer.key, f"{protected}.{body}".encode())
    unprotected: dict[str, Any] = {
        "x5c": [base64.b64encode(c.cert.public_bytes(serialization.Encoding.DER)).decode() for c in chain],
        "io.cncf.notary.signingAgent": "gates-tests/1.0"}
    if tsa is not None:
        unprotected["io.cncf.notary.timestampSignature"] = base64.b64encode(tsa.stamp(signature)).decode()
    return json.dumps({"payload": body, "protected": protected, "header": unprotected,
                       "signature": _b64url(signature)}).encode()


def cose(target: Descriptor | Mapping[str, Any], signer: Issued, chain: Sequence[Issued], *,
         expiry: dt.datetime | None = None, tsa: Tsa | None = None) -> bytes:
    """A COSE_Sign1 envelope, as notation writes it."""
    import cbor2

    header: dict[Any, Any] = {1: -37 if isinstance(signer.key, rsa.RSAPrivateKey) else -7,
                              2: ["io.cncf.notary.signingScheme"], 3: PAYLOAD_CONTENT_TYPE,
                              "io.cncf.notary.signingScheme": "notary.x509",
                              "io.cncf.notary.signingTime": cbor2.CBORTag(1, int(NOW.timestamp()))}
    if expiry is not None:
        header[2].append("io.cncf.notary.expiry")
        header["io.cncf.notary.expiry"] = cbor2.CBORTag(1, int(expiry.timestamp()))
    protected = cbor2.dumps(header)
    body = payload(target)
    signature = _sign(signer.key, cbor2.dumps(["Signature1", protected, b"", body]))
    unprotected: dict[Any, Any] = {33: [c.cert.public_bytes(serialization.Encoding.DER) for c in chain],
                                   "io.cncf.notary.signingAgent": "gates-tests/1.0"}
    if tsa is not None:
        unprotected["io.cncf.notary.timestampSignature"] = tsa.stamp(signature)
    return cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, body, signature]))


# -- a TSA ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tsa:
    """A time-stamping authority: a root, its TSA certificate, and `openssl ts` answering requests."""

    root: Issued
    unit: Issued
    folder: Path

    @classmethod
    def make(cls, folder: Path) -> Tsa:
        if shutil.which("openssl") is None:
            pytest.skip("needs the openssl command line (openssl ts is the test TSA)")
        folder.mkdir(parents=True, exist_ok=True)
        root = root_ca("Acme Test TSA Root")
        unit = leaf(root, "Acme Test TSA", eku=(ExtendedKeyUsageOID.TIME_STAMPING,), critical_eku=True)
        (folder / "tsa.pem").write_bytes(unit.pem())
        (folder / "tsa.key").write_bytes(unit.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        (folder / "serial").write_text("01\n")
        (folder / "ts.cnf").write_text(
            "[ tsa ]\ndefault_tsa = tsa_config\n[ tsa_config ]\n"
            f"serial = {folder / 'serial'}\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\n"
            "digests = sha256, sha384, sha512\naccuracy = secs:1\nordering = no\ntsa_name = no\n"
            "ess_cert_id_chain = no\ness_cert_id_alg = sha256\n")
        return cls(root, unit, folder)

    def stamp(self, signature: bytes) -> bytes:
        """A DER TimeStampToken over `signature` (its SHA-256 as the message imprint)."""
        digest = hashlib.sha256(signature).hexdigest()
        request, token = self.folder / "req.tsq", self.folder / "token.der"
        openssl = ["openssl", "ts"]
        subprocess.run([*openssl, "-query", "-digest", digest, "-sha256", "-cert", "-no_nonce", "-out",
                        str(request)], check=True, capture_output=True)
        subprocess.run([*openssl, "-reply", "-config", str(self.folder / "ts.cnf"), "-queryfile", str(request),
                        "-signer", str(self.folder / "tsa.pem"), "-inkey", str(self.folder / "tsa.key"),
                        "-token_out", "-out", str(token)], check=True, capture_output=True)
        return token.read_bytes()


# -- the registry ------------------------------------------------------------------------------------------


def attach(client: RegistryClient, ref: Reference, subject: Descriptor, envelope: bytes,
           media_type: str = "application/jose+json") -> Digest:
    """Push `envelope` as a Notary signature manifest whose subject is `subject` (as `notation sign` does)."""
    empty = b"{}"
    client.put_blob(ref, empty)
    layer = client.put_blob(ref, envelope)
    manifest = {
        "schemaVersion": 2, "mediaType": mediatypes.OCI_MANIFEST, "artifactType": SIGNATURE_ARTIFACT_TYPE,
        "config": {"mediaType": mediatypes.OCI_EMPTY, "digest": str(Digest.of(empty)), "size": len(empty)},
        "layers": [{"mediaType": media_type, "digest": str(layer), "size": len(envelope)}],
        "subject": {"mediaType": subject.media_type, "digest": str(subject.digest), "size": subject.size},
        "annotations": {"org.opencontainers.image.created": NOW.strftime("%Y-%m-%dT%H:%M:%SZ")},
    }
    body = json.dumps(manifest, separators=(",", ":")).encode()
    return client.put_manifest(ref.with_digest(Digest.of(body)), body, mediatypes.OCI_MANIFEST)
