"""The few files the gate needs from an image's layers: OS identity, package databases, `etc/passwd`;
and, to check what a config says its layers are, their uncompressed digests.

Layers are streamed through `gates.oci.layers.read_files` (whiteouts, symlinks kept inside the root,
inflation caps), straight from the registry or the digest cache; nothing is unpacked to disk.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gates.distro.os_release import IDENTITY_PATHS, OSRelease, identify_release
from gates.distro.pkgdb import (
    APK_INSTALLED,
    DPKG_STATUS,
    DPKG_STATUS_DIR,
    PackageDB,
    is_package_db_path,
    read_package_db,
)
from gates.distro.rpmdb import RPMDB_FILES
from gates.oci.client import RegistryClient
from gates.oci.errors import LayerError
from gates.oci.layers import LayerLimits, read_files
from gates.oci.manifest import Descriptor, ImageManifest
from gates.oci.reference import Reference
from gates.oci.streams import Readable

PASSWD_PATH = "etc/passwd"  # noqa: S105 - a path, not a password


@dataclass(frozen=True)
class ImageContents:
    """What the layers say about the image."""

    release: OSRelease | None
    packages: PackageDB | None
    """None when the image has no dpkg, apk or rpm database (or they were not asked to be parsed)."""
    passwd: bytes | None
    db_files: Mapping[str, bytes] = field(default_factory=dict)
    """The package database files as read, for checks that parse them only when they need them."""

    def package_db(self) -> PackageDB | None:
        """The parsed package database (`PackageDBError` when it cannot be read), None when there is none."""
        return self.packages if self.packages is not None else read_package_db(self.db_files)


def read_contents(
    client: RegistryClient, ref: Reference, manifest: ImageManifest, max_layer_bytes: int,
    *, packages: bool, passwd: bool, package_files: bool = False,
) -> ImageContents:
    """Read identity files (and, as asked, package databases and passwd) from every layer, bottom first.

    `packages` parses the databases now; `package_files` only keeps them for `package_db()`.
    Raises `LayerError` for hostile or broken layers, `PackageDBError` for unreadable databases and
    `RegistryError` when a layer cannot be fetched.
    """
    paths = list(IDENTITY_PATHS)
    if packages or package_files:
        paths += [DPKG_STATUS, f"{DPKG_STATUS_DIR}/", APK_INSTALLED, *RPMDB_FILES]
    if passwd:
        paths.append(PASSWD_PATH)
    limits = LayerLimits(max_inflated_bytes=max_layer_bytes)
    openers = [client.layer_opener(ref, layer, max_layer_bytes) for layer in manifest.layers]
    files = {path: item.data for path, item in read_files(openers, paths, limits).items()}
    release = identify_release(files.get)
    db_files = {p: d for p, d in files.items() if is_package_db_path(p)}
    db = read_package_db(db_files) if packages else None
    return ImageContents(release, db, files.get(PASSWD_PATH), db_files)


_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1024 * 1024


def inflated_digests(client: RegistryClient, ref: Reference, layers: Sequence[Descriptor],
                     max_layer_bytes: int) -> tuple[str, ...]:
    """The sha256 of each layer uncompressed (what `rootfs.diff_ids` must list), streamed and capped.

    Raises `LayerError` for a layer that is corrupt, zstd-compressed or inflates past the cap.
    """
    return tuple(_inflated_sha256(client, ref, layer, max_layer_bytes) for layer in layers)


def _inflated_sha256(client: RegistryClient, ref: Reference, layer: Descriptor, cap: int) -> str:
    what = f"layer {layer.digest} of {ref.name}"
    digest = hashlib.sha256()
    total = 0
    with client.open_blob(ref, layer.digest, cap, layer.size) as raw:
        head = b""
        while len(head) < 2 and (more := raw.read(2 - len(head))):
            head += more
        source = _Prepended(head, raw)
        try:
            stream: Readable = gzip.GzipFile(fileobj=source, mode="rb") if head == _GZIP_MAGIC else source
            while chunk := stream.read(_CHUNK):
                total += len(chunk)
                if total > cap:
                    raise LayerError(f"{what}: inflates to more than {cap} bytes (a compression bomb?)")
                digest.update(chunk)
        except (OSError, EOFError, zlib.error) as exc:
            raise LayerError(f"{what}: not a readable tar or gzip stream ({exc.__class__.__name__})") from None
        while raw.read(_CHUNK):  # to the end, so a verifying stream checks the blob's digest
            pass
    return f"sha256:{digest.hexdigest()}"


class _Prepended:
    """A stream that first gives back the bytes already read from it."""

    def __init__(self, head: bytes, rest: Readable) -> None:
        self._head = head
        self._rest = rest

    def seek(self, offset: int, /) -> int:
        raise io.UnsupportedOperation("a layer stream is read forward only")

    def read(self, n: int = -1, /) -> bytes:
        if not self._head:
            return self._rest.read(n)
        if n < 0:
            data, self._head = self._head + self._rest.read(), b""
            return data
        data, self._head = self._head[:n], self._head[n:]
        return data
