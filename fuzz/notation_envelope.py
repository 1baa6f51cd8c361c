"""Atheris harness: Notary Project envelopes (JWS and COSE) and RFC 3161 tokens on arbitrary bytes.

Parsing, the signature check, the chain rules and the timestamp reader answer an envelope or their
own error with a one-line message; anything else (another exception, a multi-line message) is a finding.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["gates"]):
    from gates.notation.chain import validate_code_signing_chain
    from gates.notation.envelope import parse_envelope, unsupported_critical
    from gates.notation.errors import NotationError
    from gates.notation.signature import verify_signature
    from gates.notation.timestamp import read_timestamp, verify_timestamp

ROOT = None


def _root() -> object:
    """A self-signed root to verify tokens against (none of them will chain to it: the paths before count)."""
    global ROOT
    if ROOT is None:
        import datetime as dt

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fuzz TSA root")])
        now = dt.datetime.now(dt.timezone.utc)
        ROOT = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256()))
    return ROOT


def _one_line(exc: NotationError) -> None:
    if "\n" in str(exc):
        raise AssertionError(f"multi-line message: {exc!r}") from None


def test_one_input(data: bytes) -> None:
    for media_type in ("application/jose+json", "application/cose"):
        try:
            envelope = parse_envelope(data, media_type)
            verify_signature(envelope)
            unsupported_critical(envelope)
            validate_code_signing_chain(envelope.chain)
        except NotationError as exc:
            _one_line(exc)
    try:
        read_timestamp(data)
        verify_timestamp(data, b"signature", [_root(), _root()])  # type: ignore[list-item]
    except NotationError as exc:
        _one_line(exc)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
