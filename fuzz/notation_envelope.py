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
    from gates.notation.timestamp import read_timestamp


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
    except NotationError as exc:
        _one_line(exc)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
