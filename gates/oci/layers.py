"""Read a few files out of an image's layers without unpacking anything to disk.

Layers (gzip or plain tar) are streamed bottom to top into a merged view of paths, as overlayfs would
show them: the top layer wins, `.wh.<name>` deletes a path and `.wh..wh..opq` hides what lower layers
put in a directory. Symlinks are resolved against that merged view with chroot semantics (`..` stops at
the image root, absolute targets start there) and a bounded number of hops, so no path ever leaves the
image. Entry names that climb out of the root (`../x`) and hard links that point outside it are errors;
absolute names are read relative to the root, as Docker applies them. Inflated bytes, entries and the
size of each file read are capped, so a gzip bomb or a truncated stream is a clear `LayerError`.

Only the content of requested files is kept; when a request resolves (through symlinks) to a file
whose content was not kept on the first pass, the one layer holding it is read again.
"""

from __future__ import annotations

import contextlib
import tarfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from gates.oci.errors import LayerError
from gates.oci.streams import Readable

LayerOpener = Callable[[], "contextlib.AbstractContextManager[Readable]"]
"""Opens one layer's bytes (gzip or plain tar); called again if a second pass needs that layer."""

_CHUNK = 256 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_WHITEOUT = ".wh."
_OPAQUE = ".wh..wh..opq"


@dataclass(frozen=True)
class LayerLimits:
    """Caps that keep a hostile layer from exhausting memory, disk or time."""

    max_inflated_bytes: int = 8 * 1024**3
    """Uncompressed tar bytes per layer."""
    max_file_bytes: int = 64 * 1024**2
    """Size of any one file whose content is read."""
    max_entries: int = 1_000_000
    """Tar entries per layer."""
    max_symlink_hops: int = 40
    """Symlinks followed while resolving one path (Linux's limit)."""


@dataclass(frozen=True)
class ImageFile:
    """A file read from an image."""

    path: str
    """The path as requested, normalized (no leading `/`); for a directory request, the dir + name."""
    real_path: str
    """Where it actually lives once symlinks are followed."""
    data: bytes


@dataclass
class _Node:
    kind: str  # file | dir | symlink | other
    layer: int
    member: str
    size: int
    target: str = ""
    data: bytes | None = None
    source: tuple[int, str] | None = None
    """For a hard link: the layer and member holding the content (`layer`/`member` otherwise)."""

    @property
    def origin(self) -> tuple[int, str]:
        return self.source or (self.layer, self.member)


def read_files(
    layers: Sequence[LayerOpener], paths: Iterable[str], limits: LayerLimits | None = None
) -> dict[str, ImageFile]:
    """The requested files of the image whose layers (bottom first) are given; missing ones are absent.

    A path ending in `/` asks for every regular file directly inside that directory (e.g.
    `var/lib/dpkg/status.d/`). Raises `LayerError` for hostile or broken layers.
    """
    view = _MergedView(limits or LayerLimits())
    files: set[str] = set()
    dirs: set[str] = set()
    for raw in paths:
        norm = _normalize_request(raw)
        (dirs if raw.endswith("/") else files).add(norm)
    view.wanted_files, view.wanted_dirs = files, dirs
    for index, opener in enumerate(layers):
        with opener() as stream:
            view.apply_layer(index, stream)
    found: dict[str, ImageFile] = {}
    missing: dict[tuple[int, str], list[_Node]] = {}
    for request in sorted(files):
        view.collect(request, request, found, missing)
    for directory in sorted(dirs):
        real_dir = view.resolve(directory, follow_last=True)
        for name in sorted(view.children.get(real_dir, ())):
            view.collect(f"{directory}/{name}" if directory else name, _join(real_dir, name), found, missing)
    if missing:
        for index in sorted({layer for layer, _ in missing}):
            wanted = {member: nodes for (layer, member), nodes in missing.items() if layer == index}
            with layers[index]() as stream:
                view.reread_layer(index, stream, wanted)
        for key, item in list(found.items()):
            if not item.data and key in view.late:
                found[key] = ImageFile(item.path, item.real_path, view.late[key].data or b"")
    return found


class _MergedView:
    """Paths of the merged layers so far, with the content of wanted files."""

    def __init__(self, limits: LayerLimits) -> None:
        self.limits = limits
        self.nodes: dict[str, _Node] = {}
        self.children: dict[str, set[str]] = {}
        self.wanted_files: set[str] = set()
        self.wanted_dirs: set[str] = set()
        self.late: dict[str, _Node] = {}

    # -- building the view ---------------------------------------------------------------------------

    def apply_layer(self, index: int, raw: Readable) -> None:
        what = f"layer {index}"
        with _digest_first(raw), _open_tar(raw, self.limits, what) as tar:
            for count, member in enumerate(_members(tar, what, self.limits), start=1):
                if count > self.limits.max_entries:
                    raise LayerError(f"{what}: more than {self.limits.max_entries} entries")
                assert tar is not None
                self._apply_member(index, tar, member, what)

    def _apply_member(self, index: int, tar: tarfile.TarFile, member: tarfile.TarInfo, what: str) -> None:
        name = _normalize_entry(member.name, what)
        if not name:
            return
        parent, _, base = name.rpartition("/")
        real_parent = self.resolve(parent, follow_last=True) if parent else ""
        if base == _OPAQUE:
            for child in list(self.children.get(real_parent, ())):
                self._remove(_join(real_parent, child), below=index)
            return
        if base.startswith(_WHITEOUT):
            self._remove(_join(real_parent, base[len(_WHITEOUT) :]), below=index)
            return
        path = _join(real_parent, base)
        if member.isdir():
            node = _Node("dir", index, member.name, 0)
        elif member.issym():
            node = _Node("symlink", index, member.name, 0, target=member.linkname)
        elif member.islnk():
            node = self._hard_link(index, member, what)
        elif member.isreg():
            node = _Node("file", index, member.name, member.size)
            if self._wanted(path):
                node.data = _read_member(tar, member, self.limits, f"{what}: {path}")
        else:
            node = _Node("other", index, member.name, 0)
        existing = self.nodes.get(path)
        if existing is not None and not (existing.kind == "dir" and node.kind == "dir"):
            self._remove(path, below=None)
        self.nodes[path] = node
        self.children.setdefault(real_parent, set()).add(base)

    def _hard_link(self, index: int, member: tarfile.TarInfo, what: str) -> _Node:
        target = _normalize_entry(member.linkname, what, link=True)
        parent, _, base = target.rpartition("/")
        real = _join(self.resolve(parent, follow_last=True) if parent else "", base)
        node = self.nodes.get(real)
        if node is None or node.kind != "file":
            raise LayerError(f"{what}: hard link {member.name!r} points to a file that does not exist")
        return _Node("file", index, member.name, node.size, data=node.data, source=node.origin)

    def _wanted(self, path: str) -> bool:
        if path in self.wanted_files:
            return True
        parent = path.rpartition("/")[0]
        return parent in self.wanted_dirs

    def _remove(self, path: str, below: int | None) -> None:
        """Remove `path` and what is under it; with `below`, only what layers under `below` put there."""
        for child in list(self.children.get(path, ())):
            self._remove(_join(path, child), below)
        node = self.nodes.get(path)
        if node is not None and (below is None or node.layer < below):
            del self.nodes[path]
        if path not in self.nodes and not self.children.get(path):
            self.children.pop(path, None)
            parent, _, base = path.rpartition("/")
            siblings = self.children.get(parent)
            if siblings is not None:
                siblings.discard(base)

    # -- reading the view ----------------------------------------------------------------------------

    def resolve(self, path: str, follow_last: bool) -> str:
        """The real path of `path` in the merged view; symlinks followed, never above the root."""
        pending = [p for p in path.split("/") if p]
        pending.reverse()
        done: list[str] = []
        hops = 0
        while pending:
            part = pending.pop()
            if part == ".":
                continue
            if part == "..":
                if done:
                    done.pop()
                continue
            candidate = "/".join([*done, part])
            node = self.nodes.get(candidate)
            if node is not None and node.kind == "symlink" and (pending or follow_last):
                hops += 1
                if hops > self.limits.max_symlink_hops:
                    raise LayerError(f"too many symbolic links while resolving {path!r}")
                if node.target.startswith("/"):
                    done = []
                pending.extend(reversed([p for p in node.target.split("/") if p]))
                continue
            done.append(part)
        return "/".join(done)

    def collect(
        self, key: str, path: str, found: dict[str, ImageFile], missing: dict[tuple[int, str], list[_Node]]
    ) -> None:
        real = self.resolve(path, follow_last=True)
        node = self.nodes.get(real)
        if node is None or node.kind != "file":
            return
        if node.size > self.limits.max_file_bytes:
            raise LayerError(f"{key}: {node.size} bytes, over the cap of {self.limits.max_file_bytes}")
        found[key] = ImageFile(key, real, node.data or b"")
        if node.data is None and node.size > 0:
            missing.setdefault(node.origin, []).append(node)
            self.late[key] = node

    def reread_layer(self, index: int, raw: Readable, wanted: dict[str, list[_Node]]) -> None:
        what = f"layer {index}"
        with _digest_first(raw), _open_tar(raw, self.limits, what) as tar:
            for member in _members(tar, what, self.limits):
                nodes = wanted.get(member.name)
                if nodes and member.isreg() and tar is not None:
                    data = _read_member(tar, member, self.limits, f"{what}: {member.name}")
                    for node in nodes:
                        node.data = data
        for member_name, nodes in wanted.items():
            if any(n.data is None for n in nodes):
                raise LayerError(f"{what}: {member_name!r} was not found when the layer was read again")


# -- streams --------------------------------------------------------------------------------------


class _Inflater:
    """Gzip (one or more members) or plain bytes, with a cap on what comes out."""

    def __init__(self, raw: Readable, limits: LayerLimits, what: str) -> None:
        self._raw = raw
        self._cap = limits.max_inflated_bytes
        self._what = what
        self._total = 0
        self._pending = b""
        head = b""
        while len(head) < 4:
            more = raw.read(4 - len(head))
            if not more:
                break
            head += more
        if head.startswith(_ZSTD_MAGIC):
            raise LayerError(f"{what}: zstd-compressed layers are not supported")
        self._gzip = head.startswith(_GZIP_MAGIC)
        self._pending = head
        self._decompressor: zlib._Decompress | None = zlib.decompressobj(31) if self._gzip else None
        self._ended = False

    def read(self, n: int = -1, /) -> bytes:
        if n is None or n < 0:
            parts = []
            while chunk := self.read(_CHUNK):
                parts.append(chunk)
            return b"".join(parts)
        out = self._read_gzip(n) if self._gzip else self._read_plain(n)
        self._total += len(out)
        if self._total > self._cap:
            raise LayerError(f"{self._what}: inflates to more than {self._cap} bytes (a compression bomb?)")
        return out

    def _read_plain(self, n: int) -> bytes:
        if self._pending:
            out, self._pending = self._pending[:n], self._pending[n:]
            return out
        return self._raw.read(n)

    def _read_gzip(self, n: int) -> bytes:
        out = bytearray()
        try:
            while len(out) < n and not self._ended:
                d = self._decompressor
                if d is not None and d.eof:  # a member ended: what follows it is read from `_pending` on
                    self._pending = d.unused_data + self._pending
                    d = self._decompressor = None
                if d is None:  # between members: NUL padding is consumed, anything else starts a member
                    rest = self._pending or self._raw.read(_CHUNK)
                    self._pending = b""
                    if not rest:
                        self._ended = True
                    elif rest.strip(b"\0"):
                        self._decompressor = zlib.decompressobj(31)
                        self._pending = rest
                    continue
                data = d.unconsumed_tail or self._pending or self._raw.read(_CHUNK)
                self._pending = b""
                chunk = d.decompress(data, n - len(out))
                if not data and not chunk and not d.eof:
                    raise LayerError(f"{self._what}: the gzip stream is truncated")
                out += chunk
        except zlib.error as exc:
            raise LayerError(f"{self._what}: corrupt gzip data ({exc})") from None
        return bytes(out)


@contextlib.contextmanager
def _digest_first(raw: Readable) -> Iterator[None]:
    """On a broken layer, read the source to its end first: if it is a verifying stream whose digest
    does not match, that (tampering or corruption in transit) is the error to report."""
    try:
        yield
    except LayerError:
        while raw.read(_CHUNK):
            pass
        raise


@contextlib.contextmanager
def _open_tar(raw: Readable, limits: LayerLimits, what: str) -> Iterator[tarfile.TarFile | None]:
    """The layer as a streaming tar (None for an empty layer); drains the source afterwards."""
    inflated = _Inflater(raw, limits, what)
    tar: tarfile.TarFile | None
    first = _read_exactly(inflated, tarfile.BLOCKSIZE)
    # An archive of end-of-archive blocks only is empty; Python 3.10's streaming reader fails on it
    # ("seeking backwards is not allowed"), so it never gets to see one.
    empty = not first.strip(b"\0")
    try:
        tar = None if empty else tarfile.open(  # type: ignore[call-overload]  # noqa: SIM115
            fileobj=_Prepended(first, inflated), mode="r|")
    except tarfile.ReadError as exc:
        if "empty file" not in str(exc):
            raise LayerError(f"{what}: not a tar archive ({_tar_reason(exc)})") from None
        tar = None
    except EOFError:
        raise LayerError(f"{what}: broken tar stream (truncated)") from None
    yield tar
    # read to the end, so gzip's CRC is checked and a verifying source checks the digest
    while inflated.read(_CHUNK):
        pass
    while raw.read(_CHUNK):
        pass


def _read_exactly(source: Readable, size: int) -> bytes:
    """Up to `size` bytes (fewer only at the end of the stream)."""
    data = b""
    while len(data) < size:
        more = source.read(size - len(data))
        if not more:
            break
        data += more
    return data


class _Prepended:
    """A stream that first gives back bytes already read from it (tarfile cannot be handed a peek)."""

    def __init__(self, head: bytes, rest: Readable) -> None:
        self._head = head
        self._rest = rest

    def read(self, n: int = -1, /) -> bytes:
        if self._head:
            if n < 0:
                data, self._head = self._head + self._rest.read(), b""
                return data
            data, self._head = self._head[:n], self._head[n:]
            return data
        return self._rest.read(n)


def _members(tar: tarfile.TarFile | None, what: str, limits: LayerLimits) -> Iterator[tarfile.TarInfo]:
    if tar is None:
        return
    try:
        while True:
            member = tar.next()
            if member is None:
                return
            # tarfile skips an entry by reading block after block up to its stated size, even past the end
            # of the stream: a header claiming 2**80 bytes (base-256 or PAX) would spin for ever
            if member.size > limits.max_inflated_bytes:
                raise LayerError(f"{what}: inflates to more than {limits.max_inflated_bytes} bytes "
                                 f"(entry {member.name[:200]!r} claims {member.size})")
            yield member
    except (tarfile.TarError, EOFError) as exc:
        raise LayerError(f"{what}: broken tar stream ({_tar_reason(exc)})") from None


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo, limits: LayerLimits, what: str) -> bytes:
    if member.size > limits.max_file_bytes:
        raise LayerError(f"{what}: {member.size} bytes, over the cap of {limits.max_file_bytes}")
    handle = tar.extractfile(member)
    if handle is None:
        return b""
    try:
        data = handle.read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise LayerError(f"{what}: broken tar stream ({_tar_reason(exc)})") from None
    if len(data) != member.size:
        raise LayerError(f"{what}: the layer is truncated")
    return data


def _tar_reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return "truncated" if "unexpected end" in text or isinstance(exc, EOFError) else text


# -- paths ----------------------------------------------------------------------------------------


def _normalize_entry(name: str, what: str, link: bool = False) -> str:
    """A tar entry name relative to the image root; `LayerError` if it climbs out of it."""
    parts: list[str] = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                kind = "hard link target" if link else "entry"
                raise LayerError(f"{what}: {kind} {name[:200]!r} points outside the image root")
            parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def _normalize_request(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def _join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name
