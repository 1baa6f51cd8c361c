"""OSV advisory data downloaded per ecosystem (`gates data update --osv Debian`), and read back verified.

OSV publishes every ecosystem as one `ECOSYSTEM/all.zip` of JSON records. The zip is kept as downloaded
and read in place (the records are never extracted, so no member name can decide where a file goes);
beside it an integrity record says where it came from, when, its size and SHA-256, and how many records
it held. A download is checked whole before it replaces the old zip: the size limit, a complete body, a
readable zip whose members are all OSV records within the inflation limits (zip bombs), member names
that stay inside the archive. Any failure leaves the old data as it was.

The standard library's `urllib` is enough here (imported on first download): one GET, streamed, with a
read timeout and an overall deadline; `requests` would be a heavier import for the same.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from gates.distro.advisories import MAX_RECORD_BYTES, AdvisoryDBError, AdvisoryIndex, iter_records, parse_record

DEFAULT_BASE_URL = "https://osv-vulnerabilities.storage.googleapis.com"
DEFAULT_MAX_BYTES = 2 * 1024**3
"""Compressed bytes one download may take (the largest OSV ecosystems are a few hundred MB)."""
INFLATION_LIMIT = 20
"""The records of a zip may inflate to at most this many times the size limit, all members together."""
DEFAULT_TIMEOUT = 60.0
"""Seconds a connection or a read may stall; the whole download gets `DEADLINE_FACTOR` times that."""
DEADLINE_FACTOR = 30
ZIP_NAME = "all.zip"
RECORD_NAME = "all.zip.integrity.json"
_CHUNK = 1024 * 1024
_ECOSYSTEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:_ +-]{0,99}$")


class OsvDataError(AdvisoryDBError):
    """A download or a downloaded file that cannot be used; the old data is kept."""


@dataclass(frozen=True)
class Integrity:
    """The record kept beside a downloaded `all.zip`."""

    ecosystem: str
    url: str
    sha256: str
    size: int
    downloaded: str
    """When, in UTC (ISO 8601), or the date `--now` stamped."""
    records: int
    last_modified: str | None = None
    """The server's `Last-Modified`, when it sent one."""

    def describe(self, path: Path) -> str:
        """`OSV data PATH (Debian, downloaded DATE, 1234 records, sha256 ab12...)`, for results."""
        return (f"OSV data {path} ({self.ecosystem}, downloaded {self.downloaded}, {self.records} records, "
                f"sha256 {self.sha256[:12]})")


def check_ecosystem(name: str) -> str:
    """An OSV ecosystem name as a folder name: letters, digits and `.:_ +-`, no path separators."""
    if not _ECOSYSTEM.match(name) or ".." in name:
        raise OsvDataError(f"--osv {name[:60]!r}: not an OSV ecosystem name (e.g. Debian, Alpine, Ubuntu)")
    return name


def default_folder() -> Path:
    """Where `gates data update --osv` keeps its zips: `$XDG_DATA_HOME/gates/osv`."""
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "gates" / "osv"


def zip_path(folder: Path, ecosystem: str) -> Path:
    return folder / check_ecosystem(ecosystem) / ZIP_NAME


def download(ecosystem: str, folder: Path, *, base_url: str = DEFAULT_BASE_URL,
             max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = DEFAULT_TIMEOUT,
             stamp: str | None = None) -> tuple[Path, Integrity]:
    """Fetch `base_url/ECOSYSTEM/all.zip` into `folder/ECOSYSTEM/`, checked, replacing the old zip only
    when the new one is whole; `stamp` is the date to record (default: now, UTC)."""
    target = zip_path(folder, ecosystem)
    url = source_url(base_url, ecosystem)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OsvDataError(f"{target.parent}: cannot create ({exc.strerror or exc})") from None
    from gates.atomic import staged

    try:
        with staged(target) as (temporary, stream):
            size, digest, modified = _fetch(url, stream, max_bytes, timeout)
            stream.flush()
            count = verify_zip(temporary, max_bytes * INFLATION_LIMIT, url)
            integrity = Integrity(ecosystem, url, digest, size,
                                  stamp or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                                  count, modified)
            _write_record(target, integrity)
    except OSError as exc:
        raise OsvDataError(f"{target}: cannot write ({exc.strerror or exc}); the old data is kept") from None
    return target, integrity


def source_url(base_url: str, ecosystem: str) -> str:
    """Where `ecosystem`'s zip lies under `base_url`; an address that is not http(s) is refused."""
    import urllib.parse

    parsed = urllib.parse.urlsplit(base_url)
    if parsed.scheme not in ("https", "http") or not parsed.netloc:
        raise OsvDataError(f"--osv-url {base_url[:100]!r}: not an http(s) URL")
    return f"{base_url.rstrip('/')}/{urllib.parse.quote(ecosystem, safe='')}/{ZIP_NAME}"


def _fetch(url: str, stream: BinaryIO, max_bytes: int, timeout: float) -> tuple[int, str, str | None]:
    """Stream the body into `stream`: (size, sha256, Last-Modified). Every way it can go wrong is an error."""
    import http.client
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout * DEADLINE_FACTOR
    digest = hashlib.sha256()
    size = 0
    request = urllib.request.Request(url, headers={"User-Agent": "gates", "Accept-Encoding": "identity"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked
            declared = response.headers.get("Content-Length")
            expected = int(declared) if declared is not None and declared.isdigit() else None
            if expected is not None and expected > max_bytes:
                raise OsvDataError(f"{url}: {expected} bytes, over the {max_bytes} byte limit (--osv-max-bytes)")
            while chunk := response.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise OsvDataError(f"{url}: more than the {max_bytes} byte limit (--osv-max-bytes)")
                if time.monotonic() > deadline:
                    raise OsvDataError(f"{url}: still downloading after {timeout * DEADLINE_FACTOR:g} s")
                digest.update(chunk)
                stream.write(chunk)
            modified = response.headers.get("Last-Modified")
    except urllib.error.HTTPError as exc:
        raise OsvDataError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except http.client.IncompleteRead as exc:
        raise OsvDataError(f"{url}: truncated download ({size + len(exc.partial)} bytes, the server announced "
                           f"more)") from None
    except (TimeoutError, urllib.error.URLError, http.client.HTTPException, ConnectionError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if isinstance(reason, TimeoutError) or isinstance(exc, TimeoutError):
            raise OsvDataError(f"{url}: no answer within {timeout:g} s") from None
        raise OsvDataError(f"{url}: {reason}") from None
    if expected is not None and size != expected:
        raise OsvDataError(f"{url}: truncated download ({size} of {expected} bytes)")
    return size, digest.hexdigest(), modified if isinstance(modified, str) else None


def _member_name_problem(name: str) -> str | None:
    if not name or "\x00" in name or "\\" in name:
        return "is not a plain path"
    path = PurePosixPath(name)
    if path.is_absolute() or re.match(r"^[A-Za-z]:", name):
        return "is absolute"
    if ".." in path.parts:
        return "escapes the data folder"
    return None


def verify_zip(path: Path, max_inflated: int, origin: str) -> int:
    """Read every member of the zip at `path` as an OSV record within the limits: the number of records."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise OsvDataError(f"{origin}: not a zip archive, or a truncated one ({exc})") from None
    total = 0
    count = 0
    with archive:
        for info in archive.infolist():
            shown = info.filename[:120]
            problem = _member_name_problem(info.filename)
            if problem is not None:
                raise OsvDataError(f"{origin}: member {shown!r} {problem}")
            if info.is_dir():
                continue
            if not info.filename.endswith(".json"):
                raise OsvDataError(f"{origin}: member {shown!r} is not an OSV JSON record")
            if info.file_size > MAX_RECORD_BYTES:
                raise OsvDataError(f"{origin}: member {shown!r} inflates to {info.file_size} bytes, over the "
                                   f"{MAX_RECORD_BYTES} byte limit of a record (a zip bomb?)")
            try:
                with archive.open(info) as member:
                    data = member.read(MAX_RECORD_BYTES + 1)
            except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, zlib.error, EOFError,
                    ValueError) as exc:
                raise OsvDataError(f"{origin}: member {shown!r} cannot be read ({exc})") from None
            total += len(data)
            if len(data) > MAX_RECORD_BYTES or total > max_inflated:
                raise OsvDataError(f"{origin}: inflates past {max_inflated} bytes (a zip bomb?)")
            try:
                parse_record(data, f"{origin}!{shown}")
            except AdvisoryDBError as exc:
                raise OsvDataError(str(exc)) from None
            count += 1
    if count == 0:
        raise OsvDataError(f"{origin}: holds no OSV records")
    return count


def _record_path(zip_file: Path) -> Path:
    return zip_file.with_name(RECORD_NAME)


def _write_record(zip_file: Path, integrity: Integrity) -> None:
    from gates.atomic import write_atomic

    text = json.dumps(dataclasses.asdict(integrity), indent=2, sort_keys=True) + "\n"
    write_atomic(_record_path(zip_file), text.encode())


def read_integrity(zip_file: Path) -> Integrity:
    """The record beside `zip_file`, checked against the zip (size and SHA-256) before it is believed."""
    record = _record_path(zip_file)
    try:
        raw = json.loads(record.read_bytes())
    except FileNotFoundError:
        raise OsvDataError(f"{zip_file}: no integrity record beside it ({RECORD_NAME}): download it again "
                           "with gates data update --osv") from None
    except (OSError, ValueError) as exc:
        raise OsvDataError(f"{record}: unreadable ({exc})") from None
    fields = {f.name: f.type for f in dataclasses.fields(Integrity)}
    if not isinstance(raw, dict) or set(raw) - set(fields):
        raise OsvDataError(f"{record}: not an integrity record")
    try:
        integrity = Integrity(**raw)
    except TypeError:
        raise OsvDataError(f"{record}: not an integrity record (fields missing)") from None
    if not (isinstance(integrity.sha256, str) and isinstance(integrity.size, int)
            and isinstance(integrity.records, int) and isinstance(integrity.downloaded, str)):
        raise OsvDataError(f"{record}: not an integrity record (a field of the wrong type)")
    size, digest = _hash(zip_file)
    if size != integrity.size or digest != integrity.sha256:
        raise OsvDataError(f"{zip_file}: does not match its integrity record ({size} bytes, sha256 {digest[:12]};"
                           f" recorded {integrity.size} bytes, sha256 {integrity.sha256[:12]}): download it again")
    return integrity


def _hash(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                digest.update(chunk)
    except OSError as exc:
        raise OsvDataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return size, digest.hexdigest()


def downloaded(folder: Path) -> Iterator[tuple[Path, Integrity]]:
    """Every downloaded ecosystem under `folder`, each zip checked against its integrity record."""
    if not folder.is_dir():
        return
    for zip_file in sorted(folder.glob(f"*/{ZIP_NAME}")):
        integrity = read_integrity(zip_file)
        if integrity.ecosystem != zip_file.parent.name:
            raise OsvDataError(f"{zip_file}: its integrity record is for {integrity.ecosystem[:60]!r}")
        yield zip_file, integrity


def load_advisories(path: Path | None, use_downloaded: bool,
                    folder: Path | None = None) -> tuple[AdvisoryIndex, dict[str, str]]:
    """The index of the database at `path` and, with `use_downloaded`, of every downloaded zip (each
    checked against its integrity record); and, per downloaded ecosystem (lower case), the line naming
    its file and date. Downloading nothing and naming no path is an error, never an empty pass."""
    index = AdvisoryIndex()
    origins: dict[str, str] = {}
    if path is not None:
        for record in iter_records(path):
            index.add(record)
    if use_downloaded:
        folder = folder or default_folder()
        found = list(downloaded(folder))
        if not found and path is None:
            raise OsvDataError(f"{folder}: no OSV data downloaded (gates data update --osv ECOSYSTEM)")
        for zip_file, integrity in found:
            for record in iter_records(zip_file):
                index.add(record)
            origins[integrity.ecosystem.split(":")[0].lower()] = integrity.describe(zip_file)
    return index, origins
