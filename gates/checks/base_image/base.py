"""Which base an image was built on, and what that base is now in its registry.

The base comes from the image's own annotations (`org.opencontainers.image.base.name` / `.digest`),
else from the final stage of the Dockerfile given, else it is unknown. Lookups of a base are shared by
every image and platform of a run (`Lookups`), so a base used by ten images is fetched once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from gates.baseimage.dockerfile import Dockerfile
from gates.baseimage.image_config import ImageConfig, ManifestAnnotations, parse_image_config
from gates.errors import InputError
from gates.oci.client import RegistryClient
from gates.oci.digest import Digest
from gates.oci.errors import ManifestError
from gates.oci.manifest import Descriptor, ImageIndex, ImageManifest, Platform
from gates.oci.reference import Reference, parse_reference

MAX_CONFIG_BYTES = 8 * 1024 * 1024
"""Image config blobs are a few kilobytes; anything near this is not a real one."""

_T = TypeVar("_T")


@dataclass(frozen=True)
class BaseImage:
    """The image another was built on."""

    ref: Reference | None
    """The base as named (tag and/or digest); None for `scratch`."""
    built_on: Digest | None
    """The digest the image was built on, when recorded (annotation or a pinned FROM)."""
    source: str
    """Where we learned it: `annotation` or `Dockerfile:LINE`."""
    platform: Platform | None = None
    """A literal `FROM --platform=` of the final base, which wins over the image's platform."""

    @property
    def scratch(self) -> bool:
        return self.ref is None

    def __str__(self) -> str:
        return "scratch" if self.ref is None else str(self.ref)


def base_from_annotations(annotations: ManifestAnnotations) -> BaseImage | None:
    """The base the annotations name, or None when they name none."""
    if annotations.base_name is None:
        return None
    try:
        ref = parse_reference(annotations.base_name)
    except InputError as exc:
        raise InputError(f"annotation org.opencontainers.image.base.name: {exc}") from None
    built_on = Digest.parse(annotations.base_digest) if annotations.base_digest else ref.digest
    return BaseImage(ref, built_on, "annotation")


def base_from_dockerfile(dockerfile: Dockerfile) -> BaseImage:
    """The external base of the Dockerfile's final stage (`scratch` included)."""
    stage = dockerfile.final_base
    where = f"{dockerfile.path}:{stage.line}"
    platform = _platform(stage.platform)
    if stage.reference is None:
        return BaseImage(None, None, where, platform)
    ref = parse_reference(str(stage.reference))
    return BaseImage(ref, ref.digest, where, platform)


def _platform(text: str | None) -> Platform | None:
    """A literal `os/arch[/variant]`; build-time variables (`$BUILDPLATFORM`) mean the image's own."""
    if not text or "$" in text:
        return None
    parts = text.split("/")
    if len(parts) < 2 or not all(parts):
        return None
    return Platform(parts[0], parts[1], parts[2] if len(parts) > 2 else None)


class Lookups:
    """Registry answers shared by the workers of one run: each asked once, errors included."""

    def __init__(self, client: RegistryClient) -> None:
        self.client = client
        self._lock = threading.Lock()
        self._locks: dict[object, threading.Lock] = {}
        self._done: dict[object, tuple[bool, object]] = {}

    def once(self, key: object, compute: Callable[[], _T]) -> _T:
        """`compute()` the first time `key` is asked for; later callers get its value (or its error)."""
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._done:
                try:
                    self._done[key] = (True, compute())
                except Exception as exc:
                    self._done[key] = (False, exc)
            ok, value = self._done[key]
        if not ok:
            assert isinstance(value, Exception)
            raise value
        return value  # type: ignore[return-value]

    def config_of(self, ref: Reference, manifest: ImageManifest) -> ImageConfig:
        """The parsed config blob of a manifest (`ImageConfigError` when it is not a JSON object)."""
        digest = manifest.config.digest

        def fetch() -> ImageConfig:
            data = self.client.get_blob(ref, digest, MAX_CONFIG_BYTES)
            return parse_image_config(data, f"config blob {digest} of {ref.name}")

        return self.once(("config", ref.name, digest), fetch)  # an error is the source's, not the digest's

    def base_config(self, base: BaseImage, platform: Platform | None) -> tuple[Digest, ImageConfig]:
        """The base's manifest digest (for its platform) and config, at the digest built on if known."""
        assert base.ref is not None
        ref = base.ref.with_digest(base.built_on) if base.built_on else base.ref
        wanted = base.platform or platform

        def fetch() -> tuple[Digest, ImageConfig]:
            fetched = self.client.get_manifest(ref)
            parsed = fetched.parse()
            digest = fetched.digest
            if isinstance(parsed, ImageIndex):
                entry = _entry_for(parsed, wanted)
                if entry is None:
                    raise ManifestError(f"base {ref}: no manifest for platform {wanted or 'linux/amd64'}")
                digest = entry.digest
                parsed = self.client.get_manifest(ref.with_digest(digest)).parse()
            if not isinstance(parsed, ImageManifest):
                raise ManifestError(f"base {ref}: the platform entry is an index, not an image")
            return digest, self.config_of(ref, parsed)

        return self.once(("base", str(ref), str(wanted)), fetch)

    def drift(self, base: BaseImage) -> Digest | None:
        """The digest the base's tag points at now, when it is neither the digest built on nor its index
        entry; None when the base has not moved."""
        assert base.ref is not None
        assert base.built_on is not None
        tag_ref = base.ref.repo_only().with_tag(base.ref.tag or "latest")
        built_on = base.built_on

        def fetch() -> Digest | None:
            current = self.client.resolve(tag_ref)
            if current.digest == built_on:
                return None
            fetched = self.client.get_manifest(tag_ref.with_digest(current.digest))
            parsed = fetched.parse()
            if isinstance(parsed, ImageIndex) and any(d.digest == built_on for d in parsed.manifests):
                return None  # built on the platform manifest of the index the tag still names
            return current.digest

        return self.once(("drift", str(tag_ref), str(built_on)), fetch)


def _entry_for(index: ImageIndex, platform: Platform | None) -> Descriptor | None:
    want = platform or Platform("linux", "amd64")
    return index.for_platform(want.os, want.architecture, want.variant) or (
        index.for_platform(want.os, want.architecture) if want.variant else None
    )
