"""What the act workflow's signature and base-image steps check: images pushed to the test registry.

Signatures are made the way cosign makes them (the helpers of the signature gate's own tests): a
`cosign generate-key-pair` key (`cosign.key` + `cosign.pub`), legacy `.sig` manifests with a Rekor SET
from a private Sigstore whose `trusted_root.json` the workflow passes as an input, and one keyless
signature from that Sigstore's Fulcio. Base images are the base-image tests' layers (Debian 9, Debian 13,
Alpine 3.22), with apps built on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from gates.oci.client import RegistryClient
from gates.oci.credentials import StaticCredentials
from gates.oci.manifest import Platform
from gates.oci.reference import parse_reference
from tests.checks_base_image.images import ALPINE_322, APP, BASE_DIGEST, BASE_NAME, DEBIAN_9, DEBIAN_13
from tests.checks_signature.cosign import key_layer, keyless_layer, sign_legacy
from tests.checks_signature.cosign_keys import generate_key_pair, load_private_key
from tests.cosign.factory import ISSUER, WORKFLOW, FakeFulcio, FakeRekor, spki, trusted_root
from tests.support import oci_images as oi

NOW = "2026-11-26"
"""The `now` input of the base-image steps (not this machine's date, so the reports show it was used)."""
KEY_PASSWORD = b"act workflow signing key"


@dataclass(frozen=True)
class SignatureImages:
    signed: str
    unsigned: str
    other_key: str
    keyless: str


@dataclass(frozen=True)
class BaseImages:
    current: str
    """Debian 13 base, two platforms, annotated: passes."""
    old: str
    """Debian 9 base (end of life, unpatched openssl), annotated: fails."""
    alpine: str
    """Alpine 3.22 base (musl with a fixable advisory), no annotations: its base comes from the Dockerfile."""
    alpine_base: str


def push_signature_images(host: str, sigstore_dir: Path) -> SignatureImages:
    """Sign images in `host`; writes `cosign.pub` and `trusted_root.json` into `sigstore_dir`."""
    pair = generate_key_pair(sigstore_dir, KEY_PASSWORD)
    key = load_private_key(pair.private_key, KEY_PASSWORD)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    pair.private_key.unlink()  # a repository keeps only cosign.pub
    other = ec.generate_private_key(ec.SECP256R1())
    fulcio, rekor = FakeFulcio(), FakeRekor()
    trusted_root(sigstore_dir / "trusted_root.json", fulcio=fulcio, rekor_keys=[(rekor.log_id, spki(rekor.key))])
    names = SignatureImages(*(f"{host}/act-sig/app:{tag}" for tag in ("signed", "unsigned", "other-key", "keyless")))
    with RegistryClient(StaticCredentials({})) as client:
        for name in (names.signed, names.unsigned, names.other_key, names.keyless):
            ref = parse_reference(name)
            digest = oi.push_image(client, ref, oi.image([oi.layer({"etc/marker": name})]))
            if name == names.signed:
                sign_legacy(client, ref, digest, key_layer(key, digest, ref.name, rekor))
            elif name == names.other_key:
                sign_legacy(client, ref, digest, key_layer(other, digest, ref.name, rekor))
            elif name == names.keyless:
                sign_legacy(client, ref, digest, keyless_layer(fulcio, rekor, digest, ref.name, san=WORKFLOW,
                                                               issuer=ISSUER))
    return names


def _app(base: oi.Image, annotations: dict[str, str] | None, architecture: str = "amd64",
         user: str = "1000") -> oi.Image:
    return oi.image([*base.layers, APP], created="2026-11-20T00:00:00Z", user=user, annotations=annotations,
                    architecture=architecture)


def push_base_images(host: str) -> BaseImages:
    name = f"{host}/act-bi"
    with RegistryClient(StaticCredentials({})) as client:
        debian9 = oi.image([DEBIAN_9], created="2020-03-01T10:00:00Z")
        d9 = f"{name}/debian:9"
        d9_digest = oi.push_image(client, parse_reference(d9), debian9)
        old = f"{name}/app:old"
        oi.push_image(client, parse_reference(old), _app(debian9, {BASE_NAME: d9, BASE_DIGEST: str(d9_digest)}))

        amd = oi.image([DEBIAN_13], created="2026-11-10T08:00:00Z")
        arm = oi.image([DEBIAN_13], created="2026-11-10T08:00:00Z", architecture="arm64")
        d13 = f"{name}/debian:13"
        d13_digest = oi.push_index(client, parse_reference(d13),
                                   oi.index([(amd, Platform("linux", "amd64")), (arm, Platform("linux", "arm64"))]))
        current = f"{name}/app:current"
        base = {BASE_NAME: d13, BASE_DIGEST: str(d13_digest)}
        oi.push_index(client, parse_reference(current), oi.index([
            (_app(amd, base), Platform("linux", "amd64")), (_app(arm, base, "arm64"), Platform("linux", "arm64"))]))

        alpine = oi.image([ALPINE_322], created="2026-10-01T00:00:00Z")
        alpine_base = f"{name}/alpine:3.22"
        oi.push_image(client, parse_reference(alpine_base), alpine)
        app_alpine = f"{name}/app:alpine"
        oi.push_image(client, parse_reference(app_alpine), _app(alpine, None, user=""))
    return BaseImages(current, old, app_alpine, alpine_base)
