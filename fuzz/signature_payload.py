"""Atheris harness: cosign's simple-signing payload parser, its binding check, and the Rekor bundle
annotation parser, on arbitrary bytes. Anything but a payload or a `Rejected` is a finding."""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["gates"]):
    from gates.cosign.errors import Rejected
    from gates.cosign.payload import check_payload, parse_payload
    from gates.cosign.rekor import parse_cosign_bundle_annotation

DIGEST = "sha256:" + "ab" * 32


def test_one_input(data: bytes) -> None:
    try:
        payload = parse_payload(data)
        check_payload(payload, DIGEST, "registry.example.com/acme/app")
    except Rejected as exc:
        if "\n" in exc.message:
            raise AssertionError(f"multi-line rejection: {exc.message!r}") from None
    try:
        parse_cosign_bundle_annotation(data.decode("utf-8", "replace"))
    except Rejected as exc:
        if "\n" in exc.message:
            raise AssertionError(f"multi-line rejection: {exc.message!r}") from None


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
