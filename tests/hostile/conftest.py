"""Fixtures of the hostile-input tests: the real registry and the hostile images and signatures pushed once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from gates.oci.client import RegistryClient
from gates.oci.credentials import StaticCredentials
from gates.oci.reference import Reference
from tests.checks_signature.conftest import Signers, signers  # noqa: F401 - fixture
from tests.hostile.images import (
    HostileImage,
    HostileSignature,
    push_hostile_images,
    push_key_signature_cases,
    push_keyless_cases,
)
from tests.oci.conftest import FAST_RETRY
from tests.support.registry import RegistryServer, registry  # noqa: F401 - fixture


@dataclass(frozen=True)
class HostileWorld:
    """What the session pushed: hostile images and signatures, each family with one sound target."""

    images: list[HostileImage]
    good_image: str
    key_cases: list[HostileSignature]
    key_good: Reference
    keyless_cases: list[HostileSignature]
    keyless_good: Reference


@pytest.fixture(scope="session")
def hostile(registry: RegistryServer, signers: Signers) -> Iterator[HostileWorld]:  # noqa: F811
    with RegistryClient(StaticCredentials({}), retry=FAST_RETRY) as client:
        images, good_image = push_hostile_images(client, registry.host)
        key_cases, key_good = push_key_signature_cases(client, registry.host, signers.key, signers.rekor)
        keyless_cases, keyless_good = push_keyless_cases(client, registry.host, signers.fulcio, signers.rekor)
        yield HostileWorld(images, good_image, key_cases, key_good, keyless_cases, keyless_good)
