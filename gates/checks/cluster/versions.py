"""The versions a cluster config declares (kubeadm's kubernetesVersion, kind node images, control-plane
image tags) against endoflife.date's support dates, as the base-image gate judges OS releases.

The data (`gates/data/cluster-eol.json`: kubernetes, etcd, containerd) ships dated; a file of the same
shape at `$XDG_DATA_HOME/gates/cluster-eol.json` is preferred when it is newer. A version whose cycle the
data does not list is said, never passed as supported, unless it is older than every listed cycle.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from gates.checks.cluster.flags import YamlPath, shown
from gates.checks.cluster.objects import ClusterObject, Violation
from gates.distro.eol import EolDatabase, EolStatus, parse_eol_data
from gates.wording import counted

DATA_FILE = "cluster-eol.json"
PRODUCTS = ("kubernetes", "etcd", "containerd")
"""The endoflife.date products the cluster gate reads."""
_VERSION = re.compile(r"v?(\d+\.\d+\.\d+)(?:[-+][0-9A-Za-z.+-]*)?")


@functools.cache
def _load(path: Path | None) -> EolDatabase:
    if path is not None:
        return parse_eol_data(path.read_bytes(), str(path))
    data = resources.files("gates").joinpath("data").joinpath(DATA_FILE).read_bytes()
    return parse_eol_data(data, f"gates/data/{DATA_FILE}")


def user_data_file() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "gates" / DATA_FILE


def database() -> EolDatabase:
    """The shipped data, or the refreshed user file when it is at least as new."""
    shipped = _load(None)
    refreshed = user_data_file()
    if refreshed.is_file():
        newer = _load(refreshed)
        if newer.generated is not None and (shipped.generated is None or newer.generated >= shipped.generated):
            return newer
    return shipped


def version_of(text: str) -> str | None:
    """`v1.31.2`, `1.31.2-0`, `v1.30.0+k3s1` -> the X.Y.Z; anything else (a label, `latest`) -> None."""
    match = _VERSION.fullmatch(text.strip())
    return match.group(1) if match else None


def image_tag(image: str) -> str | None:
    reference = image.split("@", 1)[0]
    _, colon, tag = reference.rpartition(":")
    return tag if colon and "/" not in tag else None


def check_versions(obj: ClusterObject, db: EolDatabase, today: dt.date) -> Iterator[Violation | str]:
    """Findings for declared versions past end of life or behind their cycle; a detail (str) for what
    cannot be judged."""
    for product, text, path in obj.versions:
        version = version_of(text)
        if version is None:
            yield f"{product} version {shown(text)} is not a release number: its support was not judged"
            continue
        yield from _judge(product, version, path, db, today)


def _judge(product: str, version: str, path: YamlPath, db: EolDatabase, today: dt.date) -> Iterator[Violation | str]:
    answer = db.status(product, version, today)
    cycles = db.products.get(product, ())
    if answer.status is EolStatus.UNKNOWN:
        oldest = min(cycles, key=lambda c: _key(c.cycle), default=None)
        if oldest is not None and _key(version) < _key(oldest.cycle):
            yield Violation("cluster-version-eol", f"{product} {version} is older than every cycle the end-of-life"
                            f" data lists (the oldest, {oldest.cycle}, is past support)", path)
        else:
            yield (f"{product} {version}: not in the end-of-life data (generated {db.generated}): refresh it;"
                   " its support was not judged")
        return
    if answer.status is EolStatus.END_OF_LIFE:
        ended = f" on {answer.ends.isoformat()}" if answer.ends else ""
        cycle = answer.cycle.cycle if answer.cycle else version
        yield Violation("cluster-version-eol", f"{product} {version}: support for {product} {cycle} ended{ended}",
                        path)
        return
    lag = db.point_release_lag(product, version)
    if lag is not None and lag.behind > 0:
        yield Violation("cluster-version-patch", f"{product} {version} is {counted(lag.behind, 'patch release')} behind"
                        f" {lag.latest}, the newest of its cycle", path)


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())
