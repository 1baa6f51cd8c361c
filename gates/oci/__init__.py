"""Registry client: references, credentials and auth, manifests and blobs verified against their
digests, referrers, a digest-keyed cache, and a safe reader of files in image layers.

Nothing here is imported by `gates --version`; `requests` is imported only when a client is used.
The public names are re-exported lazily so `import gates.oci` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gates.oci.cache import DigestCache
    from gates.oci.client import FetchedManifest, Referrers, RegistryClient
    from gates.oci.credentials import Credentials, DefaultCredentials, StaticCredentials
    from gates.oci.digest import Digest
    from gates.oci.errors import (
        AuthError,
        DigestMismatchError,
        InvalidReferenceError,
        LayerError,
        ManifestError,
        NotFoundError,
        RegistryError,
        TooLargeError,
    )
    from gates.oci.layers import ImageFile, LayerLimits, read_files
    from gates.oci.manifest import Descriptor, ImageIndex, ImageManifest, Platform, parse_manifest
    from gates.oci.reference import Reference, parse_reference
    from gates.oci.transport import RetryPolicy, Timeouts

_EXPORTS = {
    "DigestCache": "cache",
    "FetchedManifest": "client", "Referrers": "client", "RegistryClient": "client",
    "Credentials": "credentials", "DefaultCredentials": "credentials", "StaticCredentials": "credentials",
    "Digest": "digest",
    "AuthError": "errors", "DigestMismatchError": "errors", "InvalidReferenceError": "errors",
    "LayerError": "errors", "ManifestError": "errors", "NotFoundError": "errors", "RegistryError": "errors",
    "TooLargeError": "errors",
    "ImageFile": "layers", "LayerLimits": "layers", "read_files": "layers",
    "Descriptor": "manifest", "ImageIndex": "manifest", "ImageManifest": "manifest", "Platform": "manifest",
    "parse_manifest": "manifest",
    "Reference": "reference", "parse_reference": "reference",
    "RetryPolicy": "transport", "Timeouts": "transport",
}

__all__ = [
    "AuthError",
    "Credentials",
    "DefaultCredentials",
    "Descriptor",
    "Digest",
    "DigestCache",
    "DigestMismatchError",
    "FetchedManifest",
    "ImageFile",
    "ImageIndex",
    "ImageManifest",
    "InvalidReferenceError",
    "LayerError",
    "LayerLimits",
    "ManifestError",
    "NotFoundError",
    "Platform",
    "Reference",
    "Referrers",
    "RegistryClient",
    "RegistryError",
    "RetryPolicy",
    "StaticCredentials",
    "Timeouts",
    "TooLargeError",
    "parse_manifest",
    "parse_reference",
    "read_files",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gates.oci' has no attribute {name!r}")
    return getattr(importlib.import_module(f"gates.oci.{module}"), name)
