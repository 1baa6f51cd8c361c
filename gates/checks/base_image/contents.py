"""The few files the gate needs from an image's layers: OS identity, package databases, `etc/passwd`.

Layers are streamed through `gates.oci.layers.read_files` (whiteouts, symlinks kept inside the root,
inflation caps), straight from the registry or the digest cache; nothing is unpacked to disk.
"""

from __future__ import annotations

from dataclasses import dataclass

from gates.distro.os_release import IDENTITY_PATHS, OSRelease, identify_release
from gates.distro.pkgdb import (
    APK_INSTALLED,
    DPKG_STATUS,
    DPKG_STATUS_DIR,
    PackageDB,
    is_package_db_path,
    read_package_db,
)
from gates.oci.client import RegistryClient
from gates.oci.layers import LayerLimits, read_files
from gates.oci.manifest import ImageManifest
from gates.oci.reference import Reference

PASSWD_PATH = "etc/passwd"  # noqa: S105 - a path, not a password


@dataclass(frozen=True)
class ImageContents:
    """What the layers say about the image."""

    release: OSRelease | None
    packages: PackageDB | None
    """None when the image has no dpkg or apk database."""
    passwd: bytes | None


def read_contents(
    client: RegistryClient, ref: Reference, manifest: ImageManifest, max_layer_bytes: int,
    *, packages: bool, passwd: bool,
) -> ImageContents:
    """Read identity files (and, as asked, package databases and passwd) from every layer, bottom first.

    Raises `LayerError` for hostile or broken layers, `PackageDBError` for unreadable databases and
    `RegistryError` when a layer cannot be fetched.
    """
    paths = list(IDENTITY_PATHS)
    if packages:
        paths += [DPKG_STATUS, f"{DPKG_STATUS_DIR}/", APK_INSTALLED]
    if passwd:
        paths.append(PASSWD_PATH)
    limits = LayerLimits(max_inflated_bytes=max_layer_bytes)
    openers = [client.layer_opener(ref, layer, max_layer_bytes) for layer in manifest.layers]
    files = {path: item.data for path, item in read_files(openers, paths, limits).items()}
    release = identify_release(files.get)
    db = read_package_db({p: d for p, d in files.items() if is_package_db_path(p)}) if packages else None
    return ImageContents(release, db, files.get(PASSWD_PATH))
