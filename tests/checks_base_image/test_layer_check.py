"""The layer comparison that decides whether a named base is believed, and when two namings disagree."""

from __future__ import annotations

import pytest

from gates.checks.base_image.base import BaseImage, check_layers, claims_disagree
from gates.oci.digest import Digest
from gates.oci.reference import parse_reference

A, B, C = ("sha256:" + c * 64 for c in "abc")


@pytest.mark.parametrize(
    ("base", "image", "verified", "says"),
    [
        ((A,), (A, B), True, "are the first 1 of this image's 2"),
        ((A, B), (A, B), True, "are the first 2 of this image's 2"),  # only config changed on top
        ((B,), (A, B), False, "layer 1 differs"),  # the base's layer is there, but not at the bottom
        ((A, C), (A, B), False, "layer 2 differs"),
        ((A, B), (A,), False, "this image has only 1"),
        ((), (A,), False, "has no layers"),  # an empty base would be "under" every image
        (None, (A,), False, "the base's config"),
        ((A,), None, False, "this image's config"),
    ],
)
def test_check_layers(base: tuple[str, ...] | None, image: tuple[str, ...] | None, verified: bool,
                      says: str) -> None:
    check = check_layers(base, image, "linux/amd64 at sha256:x")
    assert check.verified is verified and says in check.reason


def _base(text: str | None, built_on: str | None = None) -> BaseImage:
    return BaseImage(parse_reference(text) if text else None, Digest.parse(built_on) if built_on else None, "x")


@pytest.mark.parametrize(
    ("claimed", "declared", "disagree"),
    [
        (_base("debian:12", A), _base("docker.io/library/debian:12"), False),  # one image, spelled twice
        (_base("debian:12", A), _base(f"debian:12@{A}", A), False),
        (_base("debian:12"), _base("debian:13"), True),
        (_base("debian:12", A), _base(f"debian:12@{B}", B), True),
        (_base("debian:12"), _base("ubuntu:12"), True),
        (_base("debian:12"), _base(None), True),  # FROM scratch, but the image claims a base
        (_base(None), _base(None), False),
    ],
)
def test_claims_disagree(claimed: BaseImage, declared: BaseImage, disagree: bool) -> None:
    assert claims_disagree(claimed, declared) is disagree
