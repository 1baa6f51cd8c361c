"""Build the end-of-life data file from endoflife.date product pages (facts, not code).

The base-image gate ships this dated file so end-of-life checks work offline. Input: a folder of
endoflife.date `products/<name>.md` files (YAML front matter), e.g.
../shared/corpus/eol/endoflife.date-products, or the same pages fetched from endoflife.date's
repository by `gates data update` where the network allows. Output keeps, per OS product and cycle,
only dates and versions; nothing is computed here. `scripts/build_eol_data.py` is the same, as a script.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gates.atomic import write_atomic
from gates.distro.eol import parse_eol_data
from gates.errors import GatesError
from gates.wording import counted

OS_PRODUCTS = (
    "almalinux",
    "alpine-linux",
    "amazon-linux",
    "centos",
    "centos-stream",
    "debian",
    "devuan",
    "fedora",
    "opensuse",
    "oracle-linux",
    "rhel",
    "rocky-linux",
    "sles",
    "ubuntu",
    "vmware-photon",
)
"""Operating systems a container base can run; other endoflife.date products are ignored."""

CYCLE_FIELDS = {
    "releaseCycle": "cycle",
    "codename": "codename",
    "releaseDate": "release_date",
    "eoas": "end_of_active_support",
    "eol": "end_of_security_support",
    "eoes": "end_of_extended_support",
    "lts": "lts",
    "latest": "latest",
    "latestReleaseDate": "latest_release_date",
}
"""endoflife.date field -> our name. endoflife.date's `eol` is the end of security support."""

REPOSITORY = "https://github.com/endoflife-date/endoflife.date"
RAW_PRODUCT_URL = "https://raw.githubusercontent.com/endoflife-date/endoflife.date/{ref}/products/{name}.md"


class EolBuildError(GatesError):
    """The source pages cannot be read or fetched; the message names the page or the URL."""


def _front_matter(text: str, path: Path) -> dict[str, Any]:
    from gates.pyyaml import yaml

    match = re.match(r"^---\s*\n(.*?)\n---\s*(?:\n|$)", text, re.DOTALL)
    if match is None:
        raise EolBuildError(f"{path}: no YAML front matter")
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise EolBuildError(f"{path}: invalid YAML front matter ({exc})") from None
    if not isinstance(data, dict):
        raise EolBuildError(f"{path}: front matter is not a mapping")
    return data


def _value(raw: object) -> str | bool | None:
    if isinstance(raw, bool) or raw is None:
        return raw
    if isinstance(raw, (dt.date, dt.datetime)):
        return raw.isoformat()[:10]
    return str(raw)


def _cycle(raw: dict[str, Any]) -> dict[str, str | bool | None]:
    out: dict[str, str | bool | None] = {}
    for source, target in CYCLE_FIELDS.items():
        if source in raw:
            out[target] = _value(raw[source])
    return out


def _source_commit(source_dir: Path) -> str | None:
    provenance = source_dir.parent / "PROVENANCE.md"
    if not provenance.is_file():
        return None
    for line in provenance.read_text(encoding="utf-8").splitlines():
        if source_dir.name in line and "endoflife.date" in line:
            found = re.search(r"`([0-9a-f]{40})`", line)
            if found:
                return found.group(1)
    return None


def build(source_dir: Path, generated: dt.date, commit: str | None = None,
          warn: Callable[[str], None] | None = None, products_wanted: Sequence[str] = OS_PRODUCTS) -> dict[str, Any]:
    """The data file's content from a folder of endoflife.date product pages (the OS ones by default)."""
    products: dict[str, Any] = {}
    for name in products_wanted:
        path = source_dir / f"{name}.md"
        if not path.is_file():
            if warn is not None:
                warn(f"{path} missing, product skipped")
            continue
        front = _front_matter(path.read_text(encoding="utf-8"), path)
        releases = front.get("releases") or []
        products[name] = {
            "title": front.get("title", name),
            "cycles": [_cycle(r) for r in releases if isinstance(r, dict) and "releaseCycle" in r],
        }
    if not products:
        raise EolBuildError(f"{source_dir}: none of the endoflife.date product pages wanted is there"
                            f" ({', '.join(products_wanted)})")
    return {
        "schema": 1,
        "generated": generated.isoformat(),
        "source": {
            "name": "endoflife.date",
            "repository": REPOSITORY,
            "commit": commit or _source_commit(source_dir),
            "path": "products/<name>.md",
            "license": "MIT",
            "copyright": "Copyright (c) 2020 endoflife.date contributors",
        },
        "fields": {
            "end_of_security_support": "endoflife.date `eol`",
            "end_of_active_support": "endoflife.date `eoas`",
            "end_of_extended_support": "endoflife.date `eoes` (LTS / ESM / extended)",
            "values": "ISO date; false = no date announced; true = ended, date unknown",
        },
        "products": products,
    }


def write(data: dict[str, Any], output: Path) -> str:
    """Validate `data` as the gate will read it, write it atomically, and say what was written."""
    text = json.dumps(data, indent=1, sort_keys=False) + "\n"
    parse_eol_data(text, str(output))  # never leave a file the gate would refuse
    output.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(output, text.encode("utf-8"))  # mode from the umask (0644 usually): a data file, not a secret
    count = sum(len(p["cycles"]) for p in data["products"].values())
    return (f"wrote {output}: {counted(len(data['products']), 'product')}, {counted(count, 'cycle')},"
            f" generated {data['generated']}")


def fetch_pages(target: Path, ref: str = "master", timeout: float = 20.0,
                products_wanted: Sequence[str] = OS_PRODUCTS) -> None:
    """Download product pages (the OS ones by default) of endoflife.date's repository into `target`;
    `EolBuildError` offline."""
    import requests

    target.mkdir(parents=True, exist_ok=True)
    with requests.Session() as session:
        for name in products_wanted:
            url = RAW_PRODUCT_URL.format(ref=ref, name=name)
            try:
                resp = session.get(url, timeout=timeout)
            except requests.RequestException as exc:
                raise EolBuildError(f"cannot fetch {url} ({type(exc).__name__}); offline? pass --source DIR "
                                    "with endoflife.date's products/ pages instead") from None
            if resp.status_code != 200:
                raise EolBuildError(f"cannot fetch {url}: HTTP {resp.status_code}")
            (target / f"{name}.md").write_bytes(resp.content)


def update(output: Path, source: Path | None, generated: dt.date, ref: str = "master",
           warn: Callable[[str], None] | None = None, products_wanted: Sequence[str] = OS_PRODUCTS) -> str:
    """Rebuild the data file from `source`, or from pages fetched from the network when None."""
    if source is not None:
        if not source.is_dir():
            raise EolBuildError(f"{source}: not a directory of endoflife.date product pages")
        return write(build(source, generated, warn=warn, products_wanted=products_wanted), output)
    with tempfile.TemporaryDirectory(prefix="gates-eol-") as tmp:
        fetch_pages(Path(tmp), ref, products_wanted=products_wanted)
        return write(build(Path(tmp), generated, commit=None if ref == "master" else ref, warn=warn,
                           products_wanted=products_wanted), output)
