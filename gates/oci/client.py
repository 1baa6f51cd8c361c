"""`RegistryClient`: the OCI distribution API, with every manifest and blob checked against its digest.

Reads: manifests by tag or digest (full Accept list), HEAD to resolve, blobs whole or streamed with a
byte cap, tags, referrers (the API, else the `sha256-<hex>` tag schema). Writes, used by tests and
tooling to build images without Docker: monolithic blob upload, manifest PUT (keeping the referrers tag
schema up to date on registries without the referrers API). Content fetched by digest goes through a
`DigestCache`, so it is fetched at most once per run (and across runs with a cache directory).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

from gates.oci import mediatypes
from gates.oci.auth import repository_scope
from gates.oci.cache import CacheUnavailable, DigestCache
from gates.oci.credentials import CredentialProvider, DefaultCredentials
from gates.oci.deadlines import RunDeadline
from gates.oci.digest import Digest
from gates.oci.errors import (
    DigestMismatchError,
    ManifestError,
    NotFoundError,
    RegistryError,
    TooLargeError,
)
from gates.oci.manifest import Descriptor, ImageIndex, ImageManifest, parse_manifest
from gates.oci.reference import Reference
from gates.oci.streams import Readable
from gates.oci.transport import Response, RetryNotice, RetryPolicy, Timeouts, Transport, raise_for_status

if TYPE_CHECKING:
    import requests

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
"""Manifests larger than this are refused (the size registries must accept, and cosign's limit)."""
MAX_BLOB_BYTES = 512 * 1024 * 1024
"""Default cap for a blob read whole; streamed layers take their cap from the caller."""
_MAX_TAG_PAGES = 100

LayerOpener = Callable[[], "contextlib.AbstractContextManager[Readable]"]
"""Opens one layer's (compressed) bytes for reading; may be called more than once."""


@dataclass(frozen=True)
class FetchedManifest:
    """Manifest bytes as served, with the digest we computed over them and their media type."""

    digest: Digest
    media_type: str
    content: bytes

    def parse(self) -> ImageManifest | ImageIndex:
        """The manifest or index these bytes hold (`ManifestError` if they hold neither)."""
        return parse_manifest(self.content, self.media_type)

    @property
    def descriptor(self) -> Descriptor:
        """A descriptor pointing at these bytes, e.g. for an index or a referrer's subject."""
        return Descriptor(self.media_type, self.digest, len(self.content))


@dataclass(frozen=True)
class Referrers:
    """The manifests that refer to a digest, and which discovery path found them."""

    descriptors: tuple[Descriptor, ...]
    source: str
    """`api` (the referrers API answered) or `tag-schema` (the `sha256-<hex>` index, or nothing)."""


class RegistryClient:
    """A client for OCI registries; thread safe, meant to be shared by a pool of workers."""

    def __init__(
        self,
        credentials: CredentialProvider | None = None,
        *,
        insecure_hosts: Iterable[str] = (),
        cache: DigestCache | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        max_manifest_bytes: int = MAX_MANIFEST_BYTES,
        sleep: Callable[[float], None] = time.sleep,
        deadline: RunDeadline | None = None,
        on_retry: RetryNotice | None = None,
    ) -> None:
        self.cache = cache or DigestCache()
        self._transport = Transport(
            credentials if credentials is not None else DefaultCredentials(),
            insecure_hosts=insecure_hosts, timeouts=timeouts or Timeouts(), retry=retry or RetryPolicy(),
            sleep=sleep, deadline=deadline, on_retry=on_retry,
        )
        self._max_manifest = max_manifest_bytes

    def __repr__(self) -> str:
        return f"RegistryClient(cache={self.cache!r})"

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP sessions."""
        self._transport.close()

    @property
    def request_count(self) -> int:
        """HTTP requests sent to registries so far (for benchmarks and request budgets)."""
        return self._transport.request_count

    # -- manifests ---------------------------------------------------------------------------------

    def get_manifest(self, ref: Reference) -> FetchedManifest:
        """The manifest or index `ref` names: by digest if it has one, else by tag; always verified.

        By digest: the bytes must hash to it. By tag: the digest is computed from the bytes, and a
        `Docker-Content-Digest` header that disagrees is an error.
        """
        if ref.digest is not None:
            digest = ref.digest
            with self.cache.locked(digest):
                cached = self.cache.get(digest)
                if cached is not None:
                    return FetchedManifest(digest, _media_type_of(cached, None), cached)
                fetched = self._fetch_manifest(ref)
                self.cache.put(digest, fetched.content)
                return fetched
        fetched = self._fetch_manifest(ref)
        self.cache.put(fetched.digest, fetched.content)
        return fetched

    def _fetch_manifest(self, ref: Reference) -> FetchedManifest:
        what = f"manifest {ref}"
        resp = self._get(ref, f"/manifests/{ref.identifier}", what, {"Accept": mediatypes.MANIFEST_ACCEPT},
                         max_bytes=self._max_manifest)
        raise_for_status(resp, what)
        announced = _announced_digest(resp, what)
        if ref.digest is not None:
            digest = Digest.of(resp.body, ref.digest.algorithm)
            if digest != ref.digest:
                raise DigestMismatchError(f"{what}: the registry served content with digest {digest}")
        else:
            digest = Digest.of(resp.body, announced.algorithm if announced else "sha256")
            if announced is not None and announced != digest:
                raise DigestMismatchError(
                    f"{what}: the registry says {announced} but the bytes it served hash to {digest}"
                )
        return FetchedManifest(digest, _media_type_of(resp.body, resp.headers.get("Content-Type")), resp.body)

    def resolve(self, ref: Reference) -> Descriptor:
        """What `ref` points at now (media type, digest, size), with a HEAD request where possible.

        The digest is the registry's word until the content is fetched by it (and then verified).
        """
        if ref.digest is not None:
            cached = self.cache.get(ref.digest)
            if cached is not None:
                return Descriptor(_media_type_of(cached, None), ref.digest, len(cached))
        what = f"manifest {ref}"
        resp = self._transport.fetch(
            "HEAD", ref.registry, ref.api_host, f"/v2/{ref.repository}/manifests/{ref.identifier}",
            what=what, scope=repository_scope(ref.repository),
            headers={"Accept": mediatypes.MANIFEST_ACCEPT},
        )
        raise_for_status(resp, what)
        announced = _announced_digest(resp, what)
        length = resp.headers.get("Content-Length", "")
        media_type = _bare_type(resp.headers.get("Content-Type"))
        if announced is None or not length.isdigit() or media_type not in mediatypes.MANIFESTS:
            return self.get_manifest(ref).descriptor
        if ref.digest is not None and announced != ref.digest:
            raise DigestMismatchError(f"{what}: the registry says it is {announced}")
        return Descriptor(media_type, announced, int(length))

    def put_manifest(self, ref: Reference, content: bytes, media_type: str | None = None) -> Digest:
        """Upload a manifest under `ref`'s tag (or its digest); returns the digest of `content`.

        A manifest with a `subject` is also added to the `sha256-<hex>` referrers index when the
        registry does not say (with `OCI-Subject`) that it indexed it itself.
        """
        parsed = parse_manifest(content, media_type)
        media_type = media_type or parsed.media_type
        digest = Digest.of(content)
        if ref.digest is not None and ref.digest != digest:
            raise DigestMismatchError(f"manifest {ref}: the content to push hashes to {digest}")
        what = f"push of manifest {ref}"
        target = ref.tag if ref.digest is None and ref.tag else str(digest)
        resp = self._transport.fetch(
            "PUT", ref.registry, ref.api_host, f"/v2/{ref.repository}/manifests/{target}",
            what=what, scope=repository_scope(ref.repository, push=True),
            headers={"Content-Type": media_type}, data=content,
        )
        raise_for_status(resp, what, ok=(200, 201))
        announced = _announced_digest(resp, what)
        if announced is not None and announced != digest:
            raise DigestMismatchError(f"{what}: the registry stored it as {announced}, not {digest}")
        self.cache.put(digest, content)
        if parsed.subject is not None and "OCI-Subject" not in resp.headers:
            self._add_to_referrers_tag(ref, parsed, Descriptor(media_type, digest, len(content)))
        return digest

    def _add_to_referrers_tag(
        self, ref: Reference, manifest: ImageManifest | ImageIndex, desc: Descriptor
    ) -> None:
        assert manifest.subject is not None
        tag_ref = ref.with_tag(manifest.subject.digest.tag_form)
        try:
            index_doc: dict[str, Any] = json.loads(self.get_manifest(tag_ref).content)
        except NotFoundError:
            index_doc = {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": []}
        entries = index_doc.setdefault("manifests", [])
        if any(e.get("digest") == str(desc.digest) for e in entries if isinstance(e, dict)):
            return
        artifact_type = (
            manifest.artifact_type or manifest.config.media_type if isinstance(manifest, ImageManifest) else None
        )
        entry = Descriptor(desc.media_type, desc.digest, desc.size, dict(manifest.annotations), None,
                           artifact_type).to_json()
        entries.append(entry)
        body = json.dumps(index_doc, separators=(",", ":")).encode()
        self.put_manifest(tag_ref, body, mediatypes.OCI_INDEX)

    # -- blobs -------------------------------------------------------------------------------------

    def get_blob(self, ref: Reference, digest: Digest, max_bytes: int = MAX_BLOB_BYTES) -> bytes:
        """A whole blob of `ref`'s repository, verified against `digest`, from the cache if there."""
        with self.cache.locked(digest):
            cached = self.cache.get(digest)
            if cached is not None:
                return cached
            what = f"blob {digest} of {ref.name}"
            resp = self._get(ref, f"/blobs/{digest}", what, {}, max_bytes=max_bytes)
            raise_for_status(resp, what)
            if not digest.matches(resp.body):
                raise DigestMismatchError(
                    f"{what}: the registry served content with digest {Digest.of(resp.body, digest.algorithm)}"
                )
            self.cache.put(digest, resp.body)
            return resp.body

    @contextlib.contextmanager
    def open_blob(
        self, ref: Reference, digest: Digest, max_bytes: int = MAX_BLOB_BYTES, size: int | None = None
    ) -> Iterator[Readable]:
        """A blob as a stream. With a cache directory it is downloaded (once), verified, then read from
        disk; otherwise the stream verifies as it goes and raises `DigestMismatchError` at its end, so
        read it to the end before trusting what it said.
        """
        what = f"blob {digest} of {ref.name}"
        if size is not None and size > max_bytes:
            raise TooLargeError(f"{what}: {size} bytes, over the cap of {max_bytes}")
        cached = self.cache.get(digest) if size is None or size <= 4 * 1024 * 1024 else None
        if cached is not None:
            yield _BytesReader(cached)
            return
        on_disk = self._on_disk(ref, digest, what, max_bytes, size)
        if on_disk is not None:
            with on_disk:
                yield on_disk
            return
        with self._stream(ref, digest, what, max_bytes, size) as source:
            yield source

    def _on_disk(self, ref: Reference, digest: Digest, what: str, max_bytes: int, size: int | None
                 ) -> BinaryIO | None:
        """The blob's verified cache file, downloaded first if needed; None without a usable disk cache."""
        if self.cache.path(digest) is None:
            return None
        with self.cache.locked(digest):
            opened = self.cache.open_verified(digest)
            if opened is not None:
                return opened
            try:
                with self._stream(ref, digest, what, max_bytes, size) as source, self.cache.writer(digest) as out:
                    while chunk := source.read(1024 * 1024):
                        out.write(chunk)
            except CacheUnavailable:
                return None  # the disk gave out mid-way: the caller streams it again, verified as it goes
            return self.cache.open_verified(digest)

    def layer_opener(self, ref: Reference, layer: Descriptor, max_bytes: int = MAX_BLOB_BYTES) -> LayerOpener:
        """A callable that opens `layer` for `gates.oci.layers.read_files`."""

        def open_layer() -> contextlib.AbstractContextManager[Readable]:
            return self.open_blob(ref, layer.digest, max_bytes, layer.size)

        return open_layer

    @contextlib.contextmanager
    def _stream(
        self, ref: Reference, digest: Digest, what: str, max_bytes: int, size: int | None
    ) -> Iterator[_VerifyingReader]:
        resp, budget = self._transport.stream(
            ref.registry, ref.api_host, f"/v2/{ref.repository}/blobs/{digest}",
            what=what, scope=repository_scope(ref.repository), headers={},
        )

        def failed(exc: BaseException) -> str:
            return self._transport.stream_failed(ref.api_host, budget, exc)

        def done() -> None:
            self._transport.stream_done(ref.api_host)

        with resp:
            if resp.status_code != 200:
                try:
                    body = resp.raw.read(65536, decode_content=True) or b""
                except Exception as exc:  # urllib3 and socket errors alike end the stream
                    raise RegistryError(f"{what}: HTTP {resp.status_code}, then {failed(exc)}") from None
                raise_for_status(Response(resp.status_code, resp.headers, body), what)
            yield _VerifyingReader(resp, digest, what, max_bytes, size, failed, done)

    def blob_exists(self, ref: Reference, digest: Digest) -> bool:
        """Whether the repository has the blob (HEAD)."""
        what = f"blob {digest} of {ref.name}"
        resp = self._transport.fetch(
            "HEAD", ref.registry, ref.api_host, f"/v2/{ref.repository}/blobs/{digest}",
            what=what, scope=repository_scope(ref.repository, push=True),
        )
        if resp.status == 404:
            return False
        raise_for_status(resp, what)
        return True

    def put_blob(self, ref: Reference, data: bytes) -> Digest:
        """Upload a blob to `ref`'s repository in one request (POST, then PUT); skips existing blobs."""
        digest = Digest.of(data)
        if self.blob_exists(ref, digest):
            return digest
        what = f"upload of blob {digest} to {ref.name}"
        scope = repository_scope(ref.repository, push=True)
        started = self._transport.fetch(
            "POST", ref.registry, ref.api_host, f"/v2/{ref.repository}/blobs/uploads/", what=what, scope=scope
        )
        raise_for_status(started, what, ok=(202,))
        location = urlsplit(started.headers.get("Location", ""))
        if not location.path or (location.netloc and location.netloc.lower() != ref.api_host.lower()):
            raise RegistryError(f"{what}: the registry gave an unusable upload location")
        path = location.path + (f"?{location.query}" if location.query else "")
        done = self._transport.fetch(
            "PUT", ref.registry, ref.api_host, path, what=what, scope=scope,
            headers={"Content-Type": "application/octet-stream"}, params={"digest": str(digest)}, data=data,
        )
        raise_for_status(done, what, ok=(201, 204))
        self.cache.put(digest, data)
        return digest

    # -- tags and referrers ------------------------------------------------------------------------

    def list_tags(self, ref: Reference) -> list[str]:
        """Every tag of `ref`'s repository, following `Link` pagination."""
        what = f"tag list of {ref.name}"
        path = f"/v2/{ref.repository}/tags/list"
        params: dict[str, str] | None = {"n": "1000"}
        tags: list[str] = []
        for _ in range(_MAX_TAG_PAGES):
            resp = self._transport.fetch(
                "GET", ref.registry, ref.api_host, path, what=what,
                scope=repository_scope(ref.repository), params=params,
            )
            raise_for_status(resp, what)
            try:
                page = json.loads(resp.body).get("tags") or []
            except (ValueError, AttributeError, RecursionError):
                raise RegistryError(f"{what}: the registry answered with something that is not JSON") from None
            tags.extend(t for t in page if isinstance(t, str))
            next_path = _next_link(resp.headers.get("Link", ""))
            if next_path is None:
                return tags
            path, params = next_path, None
        raise RegistryError(f"{what}: more than {_MAX_TAG_PAGES} pages")

    def referrers(self, ref: Reference, digest: Digest, artifact_type: str | None = None) -> Referrers:
        """Manifests whose `subject` is `digest`: the referrers API, else the `<alg>-<hex>` tag index.

        `artifact_type` filters on the descriptors' `artifactType` (here if the registry did not).
        Entries of fallback indexes written by older tools may carry the config media type there, so
        callers looking for cosign bundles should not filter but inspect each manifest.
        """
        what = f"referrers of {ref.name}@{digest}"
        resp = self._transport.fetch(
            "GET", ref.registry, ref.api_host, f"/v2/{ref.repository}/referrers/{digest}", what=what,
            scope=repository_scope(ref.repository), headers={"Accept": mediatypes.OCI_INDEX},
            params={"artifactType": artifact_type} if artifact_type else None,
            max_bytes=self._max_manifest,
        )
        if resp.status == 200 and _bare_type(resp.headers.get("Content-Type")) == mediatypes.OCI_INDEX:
            index = parse_manifest(resp.body, mediatypes.OCI_INDEX)
            if not isinstance(index, ImageIndex):
                raise ManifestError(f"{what}: the registry answered with an image manifest")
            return Referrers(_filter(index.manifests, artifact_type), "api")
        if resp.status not in (200, 400, 404, 405):
            raise_for_status(resp, what)
        try:
            fetched = self.get_manifest(ref.with_tag(digest.tag_form))
        except NotFoundError:
            return Referrers((), "tag-schema")
        index = fetched.parse()
        if not isinstance(index, ImageIndex):
            raise ManifestError(f"{what}: the tag {digest.tag_form} holds an image manifest, not an index")
        return Referrers(_filter(index.manifests, artifact_type), "tag-schema")

    # -- helpers -----------------------------------------------------------------------------------

    def _get(self, ref: Reference, suffix: str, what: str, headers: dict[str, str], max_bytes: int) -> Response:
        return self._transport.fetch(
            "GET", ref.registry, ref.api_host, f"/v2/{ref.repository}{suffix}", what=what,
            scope=repository_scope(ref.repository), headers=headers, max_bytes=max_bytes,
        )


class _BytesReader:
    """A minimal binary reader over bytes (io.BytesIO without the writable surface)."""

    def __init__(self, data: bytes) -> None:
        import io

        self._io = io.BytesIO(data)

    def read(self, n: int = -1, /) -> bytes:
        return self._io.read(n)


class _VerifyingReader:
    """Reads a blob response, hashing as it goes; at the end, checks the digest, size and cap."""

    def __init__(self, resp: requests.Response, digest: Digest, what: str, cap: int, size: int | None,
                 failed: Callable[[BaseException], str], done: Callable[[], None]) -> None:
        self._resp = resp
        self._failed = failed
        self._done_reading = done
        self._digest = digest
        self._hasher = digest.hasher()
        self._what = what
        self._cap = cap
        self._size = size
        self._total = 0
        self._done = False

    def read(self, n: int = -1, /) -> bytes:
        if self._done:
            return b""
        want = 1024 * 1024 if n is None or n < 0 else n
        try:
            data: bytes = self._resp.raw.read(want, decode_content=True) or b""
        except Exception as exc:  # urllib3 and socket errors alike end the stream
            raise RegistryError(f"{self._what}: {self._failed(exc)}") from None
        if data:
            self._total += len(data)
            if self._total > self._cap:
                raise TooLargeError(f"{self._what}: more than the cap of {self._cap} bytes")
            self._hasher.update(data)
            if n is None or n < 0:
                return data + self.read(-1)
            return data
        self._done = True
        self._done_reading()
        got = Digest(self._digest.algorithm, self._hasher.hexdigest())
        if got != self._digest:
            raise DigestMismatchError(f"{self._what}: the registry served content with digest {got}")
        if self._size is not None and self._total != self._size:
            raise DigestMismatchError(f"{self._what}: {self._total} bytes served, {self._size} expected")
        return b""


def _filter(descriptors: tuple[Descriptor, ...], artifact_type: str | None) -> tuple[Descriptor, ...]:
    if artifact_type is None:
        return descriptors
    return tuple(d for d in descriptors if d.artifact_type == artifact_type)


def _announced_digest(resp: Response, what: str) -> Digest | None:
    value = resp.headers.get("Docker-Content-Digest")
    if not value:
        return None
    try:
        return Digest.parse(value.strip())
    except Exception:
        raise RegistryError(f"{what}: the registry sent an invalid Docker-Content-Digest") from None


def _bare_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip()


def _media_type_of(content: bytes, content_type: str | None) -> str:
    """The media type a manifest declares in its body, else the one the response gave."""
    try:
        doc = json.loads(content)
        declared = doc.get("mediaType") if isinstance(doc, dict) else None
    except (ValueError, RecursionError):
        declared = None
    if isinstance(declared, str) and declared:
        return declared
    bare = _bare_type(content_type)
    if bare in mediatypes.MANIFESTS:
        return bare
    if isinstance(doc, dict) and "manifests" in doc:
        return mediatypes.OCI_INDEX
    return mediatypes.OCI_MANIFEST


def _next_link(header: str) -> str | None:
    """The path of a `Link: <...>; rel="next"` header."""
    for part in header.split(","):
        target, _, rest = part.partition(";")
        if 'rel="next"' in rest.replace(" ", "") or "rel=next" in rest.replace(" ", ""):
            url = urlsplit(target.strip().strip("<>"))
            return url.path + (f"?{url.query}" if url.query else "")
    return None
