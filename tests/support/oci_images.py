"""Small container images built in memory, no Docker: tar layers, a config, manifests, indexes.

`push_image`/`push_index` upload them with the project's own `RegistryClient`. Layers are
deterministic (fixed mtimes, gzip without timestamps) so digests are stable across runs. The tar
helpers can also write hostile entries (`../`, absolute names, links out of the root) on purpose.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gates.oci import mediatypes
from gates.oci.client import RegistryClient
from gates.oci.digest import Digest
from gates.oci.manifest import Descriptor, Platform
from gates.oci.reference import Reference

EPOCH_CREATED = "1970-01-01T00:00:00Z"


@dataclass(frozen=True)
class Entry:
    """One tar entry: a file, directory, symlink, hard link or fifo, with any name at all."""

    name: str
    kind: str = "file"
    data: bytes = b""
    target: str = ""
    mode: int = 0o644


def file(name: str, data: bytes | str) -> Entry:
    return Entry(name, "file", data.encode() if isinstance(data, str) else data)


def directory(name: str) -> Entry:
    return Entry(name, "dir", mode=0o755)


def symlink(name: str, target: str) -> Entry:
    return Entry(name, "symlink", target=target, mode=0o777)


def hardlink(name: str, target: str) -> Entry:
    return Entry(name, "hardlink", target=target)


def whiteout(path: str) -> Entry:
    """The AUFS/OCI whiteout that deletes `path` from lower layers."""
    parent, _, base = path.rstrip("/").rpartition("/")
    return Entry(f"{parent}/.wh.{base}" if parent else f".wh.{base}")


def opaque(directory_path: str) -> Entry:
    """The marker that hides everything lower layers put in `directory_path`."""
    return Entry(f"{directory_path.rstrip('/')}/.wh..wh..opq")


def tar_bytes(entries: Iterable[Entry] | Mapping[str, bytes | str]) -> bytes:
    """An uncompressed tar of `entries` (a mapping means regular files), names written verbatim."""
    items = [file(k, v) for k, v in entries.items()] if isinstance(entries, Mapping) else list(entries)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in items:
            info = tarfile.TarInfo(entry.name)
            info.mtime = 0
            info.mode = entry.mode
            data = None
            if entry.kind == "file":
                info.size = len(entry.data)
                data = io.BytesIO(entry.data)
            elif entry.kind == "dir":
                info.type = tarfile.DIRTYPE
            elif entry.kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, entry.target
            elif entry.kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, entry.target
            elif entry.kind == "fifo":
                info.type = tarfile.FIFOTYPE
            else:
                raise ValueError(f"unknown entry kind {entry.kind}")
            tar.addfile(info, data)
    return out.getvalue()


def layer(entries: Iterable[Entry] | Mapping[str, bytes | str], compress: bool = True) -> bytes:
    """A layer blob: the tar, gzip-compressed (deterministically) unless `compress` is false."""
    raw = tar_bytes(entries)
    return gzip.compress(raw, mtime=0) if compress else raw


@dataclass(frozen=True)
class Image:
    """An image ready to push: manifest bytes plus every blob it points at."""

    manifest: bytes
    config: bytes
    layers: tuple[bytes, ...]
    media_type: str = mediatypes.OCI_MANIFEST

    @property
    def digest(self) -> Digest:
        return Digest.of(self.manifest)

    @property
    def descriptor(self) -> Descriptor:
        return Descriptor(self.media_type, self.digest, len(self.manifest))


@dataclass(frozen=True)
class Index:
    """A multi-platform index and the images it lists."""

    manifest: bytes
    images: tuple[Image, ...] = field(default=())
    media_type: str = mediatypes.OCI_INDEX

    @property
    def digest(self) -> Digest:
        return Digest.of(self.manifest)


def _json(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def image(
    layers: Sequence[bytes] = (),
    *,
    created: str = "2024-01-01T00:00:00Z",
    user: str = "",
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    os: str = "linux",
    architecture: str = "amd64",
    docker_media_types: bool = False,
    config: Mapping[str, Any] | None = None,
    config_media_type: str | None = None,
    subject: Descriptor | None = None,
    artifact_type: str | None = None,
    layer_media_type: str | None = None,
) -> Image:
    """An image (or OCI artifact) manifest over `layers`, with a config built from the arguments."""
    if config is None:
        diff_ids = [str(Digest.of(_uncompressed(b))) for b in layers]
        config = {
            "architecture": architecture, "os": os, "created": created,
            "config": {"User": user, "Labels": dict(labels or {})},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
    config_bytes = _json(config)
    if docker_media_types:
        media_type, cfg_type = mediatypes.DOCKER_MANIFEST, mediatypes.DOCKER_CONFIG
        default_layer_type = mediatypes.DOCKER_LAYER_GZIP
    else:
        media_type, cfg_type = mediatypes.OCI_MANIFEST, mediatypes.OCI_CONFIG
        default_layer_type = mediatypes.OCI_LAYER_GZIP
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": Descriptor(config_media_type or cfg_type, Digest.of(config_bytes), len(config_bytes)).to_json(),
        "layers": [
            Descriptor(layer_media_type or _layer_type(b, default_layer_type), Digest.of(b), len(b)).to_json()
            for b in layers
        ],
    }
    if annotations:
        doc["annotations"] = dict(annotations)
    if subject is not None:
        doc["subject"] = subject.to_json()
    if artifact_type:
        doc["artifactType"] = artifact_type
    return Image(_json(doc), config_bytes, tuple(layers), media_type)


def index(entries: Sequence[tuple[Image, Platform]], annotations: Mapping[str, str] | None = None) -> Index:
    """An OCI index listing `entries` with their platforms."""
    manifests = [
        Descriptor(img.media_type, img.digest, len(img.manifest), platform=plat).to_json()
        for img, plat in entries
    ]
    doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": manifests}
    if annotations:
        doc["annotations"] = dict(annotations)
    return Index(_json(doc), tuple(img for img, _ in entries))


def push_image(client: RegistryClient, ref: Reference, img: Image) -> Digest:
    """Upload every blob of `img`, then its manifest under `ref` (its tag, else by digest)."""
    client.put_blob(ref, img.config)
    for blob in img.layers:
        client.put_blob(ref, blob)
    return client.put_manifest(ref, img.manifest, img.media_type)


def push_index(client: RegistryClient, ref: Reference, idx: Index) -> Digest:
    """Upload the images of `idx` by digest, then the index under `ref`."""
    for img in idx.images:
        push_image(client, ref.repo_only().with_digest(img.digest), img)
    return client.put_manifest(ref, idx.manifest, idx.media_type)


def _uncompressed(blob: bytes) -> bytes:
    return gzip.decompress(blob) if blob[:2] == b"\x1f\x8b" else blob


def _layer_type(blob: bytes, default: str) -> str:
    return default if blob[:2] == b"\x1f\x8b" else mediatypes.OCI_LAYER
