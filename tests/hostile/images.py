"""Hostile images and signatures, built in memory and pushed to the real registry once per session.

Layers: `../` entries, absolute names that climb out, symlinks and hard links out of the root, symlink
loops, a gzip bomb, a truncated gzip stream, gzip garbage, zstd, not a tar at all, a tar header that
promises more than it holds. Configs: not JSON, JSON that is not an object, absurdly large. Signature
manifests: missing or malformed annotations, and keyless certificates that are expired, self-signed or
for another identity. Each comes with the fragment its one error or finding line must contain.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import os
import tarfile
import urllib.request
import zlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gates.cosign.layers import (
    ANNOTATION_BUNDLE,
    ANNOTATION_CERTIFICATE,
    ANNOTATION_CHAIN,
    ANNOTATION_SIGNATURE,
    SIMPLE_SIGNING_MEDIA_TYPE,
)
from gates.oci import mediatypes
from gates.oci.client import RegistryClient
from gates.oci.digest import Digest
from gates.oci.reference import Reference, parse_reference
from tests.checks_base_image.images import DEBIAN_13, push_raw_config
from tests.checks_signature.cosign import Layer, key_layer, keyless_layer, sign_legacy
from tests.cosign.factory import ISSUER, T0, WORKFLOW, FakeFulcio, FakeRekor, payload, pem, public_pem, sign
from tests.support import oci_images as oi

NOW = "2026-11-24"
CREATED = "2026-11-20T00:00:00Z"


@dataclass(frozen=True)
class HostileImage:
    """A pushed image and a fragment of the one-line error it must produce."""

    name: str
    ref: str
    expect: str


def _truncated_gzip() -> bytes:
    blob = oi.layer({"etc/os-release": os.urandom(200_000).hex()})
    return blob[: len(blob) // 2]


def _endless_skip() -> bytes:
    """An entry nobody wants whose base-256 size field says 2**80 bytes: skipping it must not spin for ever
    (found by fuzz/layer_reader.py: tarfile skips by reading block after block up to the stated size)."""
    info = tarfile.TarInfo("var/junk")
    info.size = 2**80
    return info.tobuf(tarfile.GNU_FORMAT) + b"\0" * 1024


def _lying_tar_header(size: int) -> bytes:
    """A tar whose one entry says it holds `size` bytes and then ends."""
    info = tarfile.TarInfo("etc/os-release")
    info.size = size
    return gzip.compress(info.tobuf(tarfile.USTAR_FORMAT) + b"ID=debian\n", mtime=0)


def _gzip_bomb() -> bytes:
    """64 MiB of zeros in one tar entry (about 64 KiB on the wire): past the 8 MiB cap the tests set."""
    size = 64 * 1024**2
    info = tarfile.TarInfo("var/cache/zeros")
    info.size = size
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    parts = [packer.compress(info.tobuf(tarfile.USTAR_FORMAT))]
    zeros = b"\0" * (1024 * 1024)
    parts += [packer.compress(zeros) for _ in range(size // len(zeros))]
    parts += [packer.compress(b"\0" * 1024), packer.flush()]  # end-of-archive blocks
    return b"".join(parts)


def hostile_layers() -> dict[str, tuple[bytes, str]]:
    """Each pushed as the top layer over a Debian 13 base layer, so the gate must read it to decide."""
    return {
        "dotdot-entry": (oi.layer([oi.file("../../etc/cron.d/evil", "* * * * * root sh\n")]),
                         "entry '../../etc/cron.d/evil' points outside the image root"),
        "absolute-dotdot-entry": (oi.layer([oi.file("/../../root/.ssh/authorized_keys", "ssh-ed25519 AAAA")]),
                                  "points outside the image root"),
        "hardlink-escape": (oi.layer([oi.hardlink("etc/os-release", "../../../etc/shadow")]),
                            "hard link target '../../../etc/shadow' points outside the image root"),
        "hardlink-to-nothing": (oi.layer([oi.hardlink("etc/os-release", "etc/missing")]),
                                "points to a file that does not exist"),
        "symlink-loop": (oi.layer([oi.symlink("etc/os-release", "os-release.2"), oi.symlink("etc/os-release.2",
                                                                                           "/etc/os-release")]),
                         "too many symbolic links"),
        # escapes that must land inside the root: the image's own file says ID=gatesos, an OS nobody supports,
        # and the run sets unknown-os = "error"; the machine's /etc/os-release would say a real distribution
        "symlink-escape-relative": (oi.layer([oi.file("host/etc/os-release", "ID=gatesos\nVERSION_ID=1\n"),
                                              oi.symlink("etc/os-release", "../../../../../../host/etc/os-release")]),
                                    "no end-of-life data for 'gatesos'"),
        "symlink-escape-absolute": (oi.layer([oi.file("etc/gatesos", "ID=gatesos\nVERSION_ID=2\n"),
                                              oi.symlink("etc/os-release", "/../../../../etc/gatesos")]),
                                    "no end-of-life data for 'gatesos'"),
        "absolute-entry-names": (oi.layer([oi.file("/etc/os-release", "ID=gatesos\nVERSION_ID=3\n")]),
                                 "no end-of-life data for 'gatesos'"),
        "gzip-bomb": (_gzip_bomb(), "inflates to more than 8388608 bytes"),
        "truncated-gzip": (_truncated_gzip(), "truncated"),
        "gzip-garbage": (b"\x1f\x8b\x08\x00" + os.urandom(4096), "corrupt gzip data"),
        "zstd": (b"\x28\xb5\x2f\xfd" + os.urandom(64), "zstd-compressed layers are not supported"),
        "not-a-tar": (os.urandom(4096), "not a tar archive"),
        "lying-tar-header": (_lying_tar_header(4 * 1024**2), "truncated"),
        "absurd-tar-header": (_lying_tar_header(1024**3), "claims 1073741824)"),
        "endless-skip": (_endless_skip(), f"(entry 'var/junk' claims {2**80})"),
    }

CONFIGS: dict[str, tuple[bytes, str]] = {
    "config-not-json": (b"{this is not json", "not JSON"),
    "config-binary": (os.urandom(2048), "not JSON"),
    "config-array": (b'["architecture", "amd64"]', "not a JSON object"),
    "config-deep": (b'{"config":' + b"[" * 200_000 + b"]" * 200_000 + b"}", "nested too deeply"),
    "config-huge": (b'{"architecture":"amd64","os":"linux","x":"' + b"A" * (9 * 1024 * 1024) + b'"}',
                    "over the cap"),
}


def push_hostile_images(client: RegistryClient, host: str) -> tuple[list[HostileImage], str]:
    """Every hostile image, and a sound image (same run, must still be judged) as the last value."""
    made: list[HostileImage] = []
    for name, (blob, expect) in hostile_layers().items():
        ref = f"{host}/hostile/layers:{name}"
        image_config = {"architecture": "amd64", "os": "linux", "created": CREATED, "config": {"User": "1000"},
                        "rootfs": {"type": "layers", "diff_ids": [str(Digest.of(b)) for b in (DEBIAN_13, blob)]}}
        oi.push_image(client, parse_reference(ref), oi.image([DEBIAN_13, blob], config=image_config))
        made.append(HostileImage(name, ref, expect))
    for name, (config, expect) in CONFIGS.items():
        ref = f"{host}/hostile/configs:{name}"
        push_raw_config(client, parse_reference(ref), config, [DEBIAN_13])
        made.append(HostileImage(name, ref, expect))
    good = f"{host}/hostile/good:1"
    oi.push_image(client, parse_reference(good), oi.image([DEBIAN_13], user="1000", created=CREATED))
    return made, good


# -- signatures ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HostileSignature:
    """A pushed image whose signature is broken in one way, and the fragment its result must contain."""

    name: str
    ref: Reference
    expect: str


def _self_signed(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    """A leaf that claims the expected identity but is signed by its own key (no Fulcio behind it)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sigstore-intermediate")])
    return (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(T0 - dt.timedelta(days=1)).not_valid_after(T0 + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(WORKFLOW)]), critical=True)
        .sign(key, hashes.SHA256())
    )


def _keyless_with(fulcio: FakeFulcio, rekor: FakeRekor, digest: Digest, repository: str,
                  cert_for: str = "fulcio", when: dt.datetime = T0) -> Layer:
    key = ec.generate_private_key(ec.SECP256R1())
    if cert_for == "self-signed":
        cert = _self_signed(key)
        chain = pem(cert)
    else:  # expired: valid for ten minutes a day before the Rekor entry says it signed
        cert = fulcio.issue(key, san=WORKFLOW, issuer=ISSUER, issued=when - dt.timedelta(days=1))
        chain = pem(fulcio.intermediate) + pem(fulcio.root)
    body = payload(str(digest), repository)
    signature = sign(key, body)
    return Layer(body, {
        ANNOTATION_SIGNATURE: base64.b64encode(signature).decode(),
        ANNOTATION_CERTIFICATE: pem(cert),
        ANNOTATION_CHAIN: chain,
        ANNOTATION_BUNDLE: rekor.annotation(rekor.body(body, signature, pem(cert).encode()), when),
    })


def _annotated(layer: Layer, **changes: str | None) -> Layer:
    annotations = dict(layer.annotations)
    for key, value in changes.items():
        real = {"signature": ANNOTATION_SIGNATURE, "certificate": ANNOTATION_CERTIFICATE,
                "chain": ANNOTATION_CHAIN, "bundle": ANNOTATION_BUNDLE}[key]
        if value is None:
            annotations.pop(real, None)
        else:
            annotations[real] = value
    return Layer(layer.payload, annotations)


def _push_raw_sig(client: RegistryClient, ref: Reference, digest: Digest, descriptor_changes: dict[str, object],
                  layer: Layer) -> None:
    """A `.sig` manifest whose one layer descriptor is altered beyond what `sign_legacy` writes."""
    config = b"{}"
    client.put_blob(ref, config)
    client.put_blob(ref, layer.payload)
    descriptor: dict[str, object] = {"mediaType": SIMPLE_SIGNING_MEDIA_TYPE, "size": len(layer.payload),
                                     "digest": str(Digest.of(layer.payload)), "annotations": layer.annotations}
    descriptor.update(descriptor_changes)
    descriptor = {k: v for k, v in descriptor.items() if v is not None}  # None: leave the field out
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": mediatypes.OCI_MANIFEST,
        "config": {"mediaType": mediatypes.OCI_CONFIG, "size": len(config), "digest": str(Digest.of(config))},
        "layers": [descriptor],
    }).encode()
    request = urllib.request.Request(  # raw: the project's client refuses to write such a manifest
        f"http://{ref.registry}/v2/{ref.repository}/manifests/{digest.tag_form}.sig", data=manifest, method="PUT",
        headers={"Content-Type": mediatypes.OCI_MANIFEST})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 201


def push_key_signature_cases(client: RegistryClient, host: str, key: ec.EllipticCurvePrivateKey,
                             rekor: FakeRekor) -> tuple[list[HostileSignature], Reference]:
    """Images key-signed with broken annotations or payloads, and one signed soundly (last value)."""
    made: list[HostileSignature] = []

    def image(name: str) -> tuple[Reference, Digest]:
        ref = parse_reference(f"{host}/hostile-sig/{name}:1")
        return ref, oi.push_image(client, ref, oi.image([oi.layer({"etc/marker": name})]))

    def good_layer(ref: Reference, digest: Digest) -> Layer:
        return key_layer(key, digest, ref.name, rekor)

    broken_annotations: dict[str, tuple[dict[str, str | None], str]] = {
        "no-signature-annotation": ({"signature": None}, "has no dev.cosignproject.cosign/signature annotation"),
        "empty-signature-annotation": ({"signature": ""}, "has no dev.cosignproject.cosign/signature annotation"),
        "signature-not-base64": ({"signature": "***not base64***"}, "is not valid base64"),
        "signature-of-other-bytes": ({"signature": base64.b64encode(b"\0" * 64).decode()}, "does not verify"),
        "certificate-not-pem": ({"certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"},
                                "is not a PEM certificate"),
        "bundle-not-json": ({"bundle": "{not json"}, "bundle"),
        "bundle-wrong-shape": ({"bundle": json.dumps({"Payload": 5})}, "bundle"),
    }
    for name, (changes, expect) in broken_annotations.items():
        ref, digest = image(name)
        sign_legacy(client, ref, digest, _annotated(good_layer(ref, digest), **changes))
        made.append(HostileSignature(name, ref, expect))

    descriptor_cases: dict[str, tuple[dict[str, object], str]] = {
        "annotations-missing": ({"annotations": None}, "has no annotations"),
        "wrong-layer-media-type": ({"mediaType": "application/octet-stream"}, "not a cosign simple-signing"),
        "size-lies": ({"size": 3}, "the layer descriptor says 3"),
    }
    for name, (descriptor_change, expect) in descriptor_cases.items():
        ref, digest = image(name)
        _push_raw_sig(client, ref, digest, descriptor_change, good_layer(ref, digest))
        made.append(HostileSignature(name, ref, expect))

    payloads: dict[str, tuple[bytes, str]] = {
        "payload-not-json": (b"\xff\xfe not json", "payload is not JSON"),
        "payload-array": (b"[]", "payload is not a JSON object"),
        "payload-extra-critical-key": (
            b'{"critical":{"identity":{"docker-reference":"x"},"image":{"docker-manifest-digest":"x"},'
            b'"type":"cosign container image signature","extra":1},"optional":null}', "unexpected extra"),
        "payload-deep": (b'{"critical":' + b"[" * 100_000 + b"]" * 100_000 + b"}", "payload is not JSON"),
    }
    for name, (body, expect) in payloads.items():
        ref, digest = image(name)
        signature = sign(key, body)
        signer_pem = public_pem(key)
        layer = Layer(body, {ANNOTATION_SIGNATURE: base64.b64encode(signature).decode(),
                             ANNOTATION_BUNDLE: rekor.annotation(rekor.body(body, signature, signer_pem))})
        sign_legacy(client, ref, digest, layer)
        made.append(HostileSignature(name, ref, expect))

    good, digest = image("good")
    sign_legacy(client, good, digest, good_layer(good, digest))
    return made, good


def push_keyless_cases(client: RegistryClient, host: str, fulcio: FakeFulcio,
                       rekor: FakeRekor) -> tuple[list[HostileSignature], Reference]:
    """Keyless signatures with expired, self-signed and other-identity certificates; one sound (last)."""
    made: list[HostileSignature] = []

    def image(name: str) -> tuple[Reference, Digest]:
        ref = parse_reference(f"{host}/hostile-keyless/{name}:1")
        return ref, oi.push_image(client, ref, oi.image([oi.layer({"etc/marker": name})]))

    ref, digest = image("expired-certificate")
    sign_legacy(client, ref, digest, _keyless_with(fulcio, rekor, digest, ref.name))
    made.append(HostileSignature("expired-certificate", ref, "certificate was not valid at"))
    ref, digest = image("self-signed-certificate")
    sign_legacy(client, ref, digest, _keyless_with(fulcio, rekor, digest, ref.name, cert_for="self-signed"))
    made.append(HostileSignature("self-signed-certificate", ref, "does not chain to the Fulcio CAs"))
    ref, digest = image("another-identity")
    sign_legacy(client, ref, digest, keyless_layer(fulcio, rekor, digest, ref.name,
                                                   san="https://github.com/evil/app/.github/workflows/x.yml@refs/"
                                                       "heads/main", issuer=ISSUER))
    made.append(HostileSignature("another-identity", ref, "certificate identity (SAN) is https://github.com/evil"))
    ref, digest = image("another-issuer")
    sign_legacy(client, ref, digest, keyless_layer(fulcio, rekor, digest, ref.name, san=WORKFLOW,
                                                   issuer="https://accounts.example.com"))
    made.append(HostileSignature("another-issuer", ref, "OIDC issuer is https://accounts.example.com"))
    ref, digest = image("another-fulcio")
    sign_legacy(client, ref, digest, keyless_layer(FakeFulcio(), rekor, digest, ref.name, san=WORKFLOW,
                                                   issuer=ISSUER))
    made.append(HostileSignature("another-fulcio", ref, "does not chain to the Fulcio CAs"))

    good, digest = image("good")
    sign_legacy(client, good, digest, keyless_layer(fulcio, rekor, digest, good.name, san=WORKFLOW, issuer=ISSUER))
    return made, good
