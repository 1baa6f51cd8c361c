#!/usr/bin/env python3
"""Build gates/data/distro-eol.json from endoflife.date product pages (facts, not code).

The base-image gate ships this dated file so end-of-life checks work offline. Input: a folder of
endoflife.date `products/<name>.md` files (YAML front matter),
e.g. ../shared/corpus/eol/endoflife.date-products. The logic lives in `gates.distro.eol_build`,
shared with `gates data update`.

    python scripts/build_eol_data.py SOURCE_DIR [-o gates/data/distro-eol.json] [--generated YYYY-MM-DD]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gates.distro.eol_build import OS_PRODUCTS, build, write

__all__ = ["OS_PRODUCTS", "build", "main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("source", type=Path, help="folder of endoflife.date products/*.md")
    parser.add_argument("-o", "--output", type=Path, default=Path("gates/data/distro-eol.json"))
    parser.add_argument("--generated", type=dt.date.fromisoformat, default=dt.date.today())
    args = parser.parse_args(argv)
    data = build(args.source, args.generated, warn=lambda m: print(f"warning: {m}", file=sys.stderr))
    print(write(data, args.output))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
