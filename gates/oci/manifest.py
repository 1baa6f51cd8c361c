"""Manifests and indexes parsed into small frozen objects, from bytes whose digest was already checked.

Only the fields the gates read are modelled; the exact bytes stay available for signatures.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gates.oci import mediatypes
from gates.oci.digest import Digest
from gates.oci.errors import InvalidReferenceError, ManifestError


@dataclass(frozen=True)
class Platform:
    """The platform an index entry is for."""

    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        base = f"{self.os}/{self.architecture}"
        return f"{base}/{self.variant}" if self.variant else base


@dataclass(frozen=True)
class Descriptor:
    """A pointer to content: its media type, digest and size, and what the pointer says about it."""

    media_type: str
    digest: Digest
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)
    platform: Platform | None = None
    """Set on index entries that name their platform."""
    artifact_type: str | None = None
    """Set on referrers entries (OCI 1.1)."""

    def to_json(self) -> dict[str, Any]:
        """The descriptor as OCI JSON, e.g. to build an index or a subject."""
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": str(self.digest), "size": self.size}
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        if self.platform is not None:
            plat = {"os": self.platform.os, "architecture": self.platform.architecture}
            if self.platform.variant:
                plat["variant"] = self.platform.variant
            out["platform"] = plat
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out


@dataclass(frozen=True)
class ImageManifest:
    """An OCI or Docker v2 image manifest (also the shape of cosign signature and referrer artifacts)."""

    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    annotations: Mapping[str, str] = field(default_factory=dict)
    subject: Descriptor | None = None
    artifact_type: str | None = None


@dataclass(frozen=True)
class ImageIndex:
    """An OCI index or Docker manifest list: one manifest per platform (or the referrers of a digest)."""

    media_type: str
    manifests: tuple[Descriptor, ...]
    annotations: Mapping[str, str] = field(default_factory=dict)
    subject: Descriptor | None = None

    def for_platform(self, os: str, architecture: str, variant: str | None = None) -> Descriptor | None:
        """The entry for a platform; without `variant`, the first entry whatever its variant."""
        for desc in self.manifests:
            plat = desc.platform
            if plat is None or plat.os != os or plat.architecture != architecture:
                continue
            if variant is None or plat.variant == variant:
                return desc
        return None


def parse_manifest(content: bytes, media_type: str | None = None) -> ImageManifest | ImageIndex:
    """Parse manifest or index bytes; the media type comes from the body, else from the response.

    Raises `ManifestError` for anything that is not a well-formed manifest of a known type.
    """
    try:
        doc = json.loads(content)
    except RecursionError:
        raise ManifestError("manifest is not valid JSON (nested too deeply)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ManifestError(f"manifest is not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ManifestError("manifest is not a JSON object")
    body_type = doc.get("mediaType")
    if body_type is not None and not isinstance(body_type, str):
        raise ManifestError("manifest mediaType is not a string")
    kind = body_type or media_type
    if kind is None:  # OCI allows omitting mediaType; guess from the shape like containerd does
        kind = mediatypes.OCI_INDEX if "manifests" in doc else mediatypes.OCI_MANIFEST
    if doc.get("schemaVersion") != 2:
        raise ManifestError(f"unsupported manifest schemaVersion {doc.get('schemaVersion')!r}")
    try:
        if kind in mediatypes.INDEXES:
            return ImageIndex(
                media_type=kind,
                manifests=tuple(_descriptor(d) for d in _list(doc, "manifests")),
                annotations=_annotations(doc),
                subject=_descriptor(doc["subject"]) if "subject" in doc else None,
            )
        if kind in mediatypes.IMAGE_MANIFESTS:
            return ImageManifest(
                media_type=kind,
                config=_descriptor(doc.get("config")),
                layers=tuple(_descriptor(d) for d in _list(doc, "layers")),
                annotations=_annotations(doc),
                subject=_descriptor(doc["subject"]) if "subject" in doc else None,
                artifact_type=_opt_str(doc, "artifactType"),
            )
    except InvalidReferenceError as exc:
        raise ManifestError(f"manifest has an invalid descriptor: {exc}") from None
    raise ManifestError(f"unsupported manifest media type {kind!r}")


def _list(doc: Mapping[str, Any], key: str) -> list[Any]:
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise ManifestError(f"manifest field {key!r} is not a list")
    return value


def _opt_str(doc: Mapping[str, Any], key: str) -> str | None:
    value = doc.get(key)
    if value is not None and not isinstance(value, str):
        raise ManifestError(f"manifest field {key!r} is not a string")
    return value


def _annotations(doc: Mapping[str, Any]) -> dict[str, str]:
    value = doc.get("annotations") or {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ManifestError("manifest annotations are not a map of strings")
    return value


def _descriptor(raw: object) -> Descriptor:
    if not isinstance(raw, dict):
        raise ManifestError("manifest descriptor is not a JSON object")
    media_type, digest, size = raw.get("mediaType"), raw.get("digest"), raw.get("size")
    if not isinstance(media_type, str) or not isinstance(digest, str):
        raise ManifestError("manifest descriptor lacks mediaType or digest")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestError(f"manifest descriptor {digest[:80]} has an invalid size")
    platform = None
    plat = raw.get("platform")
    if isinstance(plat, dict):
        os_, arch, variant = plat.get("os"), plat.get("architecture"), plat.get("variant")
        if not isinstance(os_, str) or not isinstance(arch, str):
            raise ManifestError("manifest platform lacks os or architecture")
        platform = Platform(os_, arch, variant if isinstance(variant, str) else None)
    return Descriptor(
        media_type=media_type,
        digest=Digest.parse(digest),
        size=size,
        annotations=_annotations(raw),
        platform=platform,
        artifact_type=_opt_str(raw, "artifactType"),
    )
