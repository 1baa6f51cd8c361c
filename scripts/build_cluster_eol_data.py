#!/usr/bin/env python3
"""Build gates/data/cluster-eol.json (kubernetes, etcd, containerd) from endoflife.date product pages.

The cluster gate ships this dated file so its version checks work offline; a newer file of the same
shape at $XDG_DATA_HOME/gates/cluster-eol.json is preferred. The pages may sit in several folders
(the corpus keeps kubernetes.md in eol/ and the others in cluster-config/):

    python scripts/build_cluster_eol_data.py ../shared/corpus/eol/endoflife.date-products \\
        ../shared/corpus/cluster-config/endoflife.date-products --generated 2026-08-22 \\
        --commit a70eca337600e7d721dc48112c271f98661d208b
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gates.checks.cluster.versions import PRODUCTS
from gates.distro.eol_build import build, write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("sources", type=Path, nargs="+", help="folders of endoflife.date products/*.md")
    parser.add_argument("-o", "--output", type=Path, default=Path("gates/data/cluster-eol.json"))
    parser.add_argument("--generated", type=dt.date.fromisoformat, default=dt.date.today())
    parser.add_argument("--commit", help="the endoflife.date commit the pages come from")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gates-cluster-eol-") as folder:
        for name in PRODUCTS:
            found = next((s / f"{name}.md" for s in args.sources if (s / f"{name}.md").is_file()), None)
            if found is not None:
                shutil.copyfile(found, Path(folder) / f"{name}.md")
        data = build(Path(folder), args.generated, commit=args.commit, products_wanted=PRODUCTS,
                     warn=lambda m: print(f"warning: {m}", file=sys.stderr))
    print(write(data, args.output))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
