"""The layer comparison that decides whether a named base is believed, and when two namings disagree."""

from __future__ import annotations

import pytest

from gates.checks.base_image.base import BaseImage, LayerCheck, Layers, check_layers, claims_disagree
from gates.oci.digest import Digest
from gates.oci.reference import parse_reference

A, B, C = ("sha256:" + c * 64 for c in "abc")


def _check(base: Layers, image: Layers, inflates_to: tuple[str, ...] = ()) -> LayerCheck:
    return check_layers(base, image, "linux/amd64 at sha256:x", lambda count: inflates_to[:count])


@pytest.mark.parametrize(
    ("base", "image", "verified", "says"),
    [
        (Layers((A,), None), Layers((A, B), None), True, "are the first 1 of this image's 2"),  # the same blobs
        (Layers((A, B), None), Layers((A, B), None), True, "are the first 2 of this image's 2"),  # config change only
        (Layers((B,), (B,)), Layers((A, B), (A, B)), False, "layer 1 differs"),  # there, but not at the bottom
        (Layers((A, C), (A, C)), Layers((A, B), (A, B)), False, "layer 2 differs"),
        (Layers((A, B), None), Layers((A,), None), False, "outnumber this image's 1"),
        (Layers((), ()), Layers((A,), (A,)), False, "has no layers"),  # an empty base would be under every image
        (Layers((A,), None), Layers((B,), (A,)), False, "layer 1 differs"),  # other blobs, no diff_ids to compare
    ],
)
def test_check_layers(base: Layers, image: Layers, verified: bool, says: str) -> None:
    check = _check(base, image)
    assert check.verified is verified and says in check.reason


def test_recompressed_layers_are_believed_only_when_their_content_inflates_to_the_base_s() -> None:
    """Other blobs with the base's diff_ids: recompressed, or a config written to claim the base."""
    base, image = Layers((A,), (C,)), Layers((B, A), (C, A))
    assert _check(base, image, inflates_to=(C,)).verified
    assert "recompressed" in _check(base, image, inflates_to=(C,)).reason
    forged = _check(base, image, inflates_to=(B,))
    assert not forged.verified and "its layer 1 holds other content" in forged.reason


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
