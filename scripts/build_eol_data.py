#!/usr/bin/env python3
"""Build gates/data/distro-eol.json from endoflife.date product pages (facts, not code).

The base-image gate ships this dated file so end-of-life checks work offline. Input: a folder of
endoflife.date `products/<name>.md` files (YAML front matter),
e.g. ../shared/corpus/eol/endoflife.date-products.
Output keeps, per OS product and cycle, only dates and versions; nothing is computed here.

    python scripts/build_eol_data.py SOURCE_DIR [-o gates/data/distro-eol.json] [--generated YYYY-MM-DD]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

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


def _front_matter(text: str, path: Path) -> dict[str, Any]:
    match = re.match(r"^---\s*\n(.*?)\n---\s*(?:\n|$)", text, re.DOTALL)
    if match is None:
        raise SystemExit(f"{path}: no YAML front matter")
    data = yaml.safe_load(match.group(1))
    if not isinstance(data, dict):
        raise SystemExit(f"{path}: front matter is not a mapping")
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


def build(source_dir: Path, generated: dt.date) -> dict[str, Any]:
    """The data file's content from a folder of endoflife.date product pages."""
    products: dict[str, Any] = {}
    for name in OS_PRODUCTS:
        path = source_dir / f"{name}.md"
        if not path.is_file():
            print(f"warning: {path} missing, product skipped", file=sys.stderr)
            continue
        front = _front_matter(path.read_text(encoding="utf-8"), path)
        releases = front.get("releases") or []
        products[name] = {
            "title": front.get("title", name),
            "cycles": [_cycle(r) for r in releases if isinstance(r, dict) and "releaseCycle" in r],
        }
    return {
        "schema": 1,
        "generated": generated.isoformat(),
        "source": {
            "name": "endoflife.date",
            "repository": REPOSITORY,
            "commit": _source_commit(source_dir),
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder of endoflife.date products/*.md")
    parser.add_argument("-o", "--output", type=Path, default=Path("gates/data/distro-eol.json"))
    parser.add_argument("--generated", type=dt.date.fromisoformat, default=dt.date.today())
    args = parser.parse_args(argv)
    data = build(args.source, args.generated)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    count = sum(len(p["cycles"]) for p in data["products"].values())
    print(f"wrote {args.output}: {len(data['products'])} products, {count} cycles")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
