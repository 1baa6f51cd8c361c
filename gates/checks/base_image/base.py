"""Which base an image was built on, and what that base is now in its registry.

The base is named by the image's own annotations (`org.opencontainers.image.base.name` / `.digest`),
else its config labels, and by the final stage of the Dockerfile given. Every one of these is a claim
written by whoever built the image, so a base is believed only when its layers (`rootfs.diff_ids` of
the digest built on, same platform) are the first layers of the image (`check_layers`). Lookups of a
base are shared by every image and platform of a run (`Lookups`), so a base used by ten images is
fetched once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from gates.errors import InputError
from gates.oci.client import RegistryClient
from gates.oci.digest import Digest
from gates.oci.errors import ManifestError
from gates.oci.image_config import ImageConfig, ManifestAnnotations, parse_image_config
from gates.oci.manifest import Descriptor, ImageIndex, ImageManifest, Platform
from gates.oci.reference import Reference, parse_reference
from gates.targets.dockerfile import Dockerfile

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
    """Who named it: `annotation`, `label` or `Dockerfile:LINE`."""
    platform: Platform | None = None
    """A literal `FROM --platform=` of the final base, which wins over the image's platform."""

    @property
    def scratch(self) -> bool:
        return self.ref is None

    def __str__(self) -> str:
        return "scratch" if self.ref is None else str(self.ref)


def base_from_annotations(annotations: ManifestAnnotations) -> BaseImage | None:
    """The base the annotations (or, failing them, the labels) name, or None when they name none."""
    if annotations.base_name is None:
        return None
    source = annotations.base_source or "annotation"
    try:
        ref = parse_reference(annotations.base_name)
    except InputError as exc:
        raise InputError(f"{source} org.opencontainers.image.base.name: {exc}") from None
    built_on = Digest.parse(annotations.base_digest) if annotations.base_digest else ref.digest
    return BaseImage(ref, built_on, source)


def claims_disagree(claimed: BaseImage, declared: BaseImage) -> bool:
    """Whether two namings of a base cannot be the same image: another repository, tag or digest."""
    if claimed.ref is None or declared.ref is None:
        return claimed.ref is not declared.ref
    if claimed.ref.repo_only().name != declared.ref.repo_only().name:
        return True
    if claimed.ref.tag and declared.ref.tag and claimed.ref.tag != declared.ref.tag:
        return True
    return bool(claimed.built_on and declared.built_on and claimed.built_on != declared.built_on)


@dataclass(frozen=True)
class LayerCheck:
    """Whether a named base is really under the image, and a sentence saying why (or why not)."""

    verified: bool
    reason: str


@dataclass(frozen=True)
class Layers:
    """An image's layers as its manifest lists them (blob digests) and as its config states them."""

    blobs: tuple[str, ...]
    diff_ids: tuple[str, ...] | None
    """`rootfs.diff_ids`: the digests of the uncompressed layers, as the config claims them."""


def check_layers(base: Layers, image: Layers, where: str,
                 inflated_digests: Callable[[int], tuple[str, ...]]) -> LayerCheck:
    """A base is verified when its layers are the image's first layers (and it has at least one).

    The same blobs settle it: content addressing cannot be faked. Recompressed layers have other blobs;
    then the configs' diff_ids must agree, and the image's own first layers must really inflate to them
    (`inflated_digests(n)`), since the image's config is as much the builder's word as its annotations.
    This also settles labels inherited from an intermediate image: they are believed only when the
    image they name really lies at the bottom of this one; the intermediate's own layers then count as
    build steps on top of that base.
    """
    count = len(base.blobs)
    if count == 0:
        return LayerCheck(False, f"the base ({where}) has no layers, so no layer shows the image was built on it")
    if image.blobs[:count] == base.blobs:
        return LayerCheck(True, f"its layers ({count}, {where}) are the first {count} of this image's "
                                f"{len(image.blobs)}")
    if len(image.blobs) < count:
        return LayerCheck(False, f"its layers ({count}, {where}) outnumber this image's {len(image.blobs)}")
    if base.diff_ids is None or image.diff_ids is None or len(base.diff_ids) != count:
        return LayerCheck(False, f"its layers ({count}, {where}) are not the first of this image's "
                                 f"({_first_difference(base.blobs, image.blobs)} differs)")
    if image.diff_ids[:count] != base.diff_ids:
        return LayerCheck(False, f"its layers ({count}, {where}) are not the first of this image's "
                                 f"({_first_difference(base.diff_ids, image.diff_ids)} differs)")
    actual = inflated_digests(count)
    if actual != base.diff_ids:
        return LayerCheck(False, f"this image's config lists the base's layers ({count}, {where}), but its "
                                 f"{_first_difference(base.diff_ids, actual)} holds other content")
    return LayerCheck(True, f"its layers ({count}, {where}) are the first {count} of this image's "
                            f"{len(image.blobs)}, recompressed (their content matches)")


def _first_difference(expected: tuple[str, ...], found: tuple[str, ...]) -> str:
    pairs = zip(expected, found, strict=False)  # `found` may be shorter: the difference is past its end
    position = next((i for i, (a, b) in enumerate(pairs, 1) if a != b), len(found) + 1)
    return f"layer {position}"


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

        # Keyed by where it is read from too: content is the same everywhere, but an error (a proxy that
        # tampers, a registry that is down) belongs to one source and must not fail another image's read;
        # the client's digest cache still serves the bytes once.
        return self.once(("config", ref.name, digest), fetch)

    def base_config(self, base: BaseImage, platform: Platform | None) -> tuple[Digest, ImageConfig]:
        """The base's manifest digest (for its platform) and config, at the digest built on if known."""
        digest, _, config = self.base_image(base, platform)
        return digest, config

    def base_image(self, base: BaseImage, platform: Platform | None) -> tuple[Digest, ImageManifest, ImageConfig]:
        """The base's manifest (for its platform), its digest and its config, at the digest built on if known."""
        assert base.ref is not None
        ref = base.ref.with_digest(base.built_on) if base.built_on else base.ref
        wanted = base.platform or platform

        def fetch() -> tuple[Digest, ImageManifest, ImageConfig]:
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
            return digest, parsed, self.config_of(ref, parsed)

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
