"""The console-script entry point, kept tiny so `gates --version` never imports the CLI framework."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        from gates import __version__

        print(f"gates {__version__}")
        return 0
    from gates.cli import main as cli_main

    return cli_main(args)


def run() -> None:
    """Console script target: exit with the code `main` returns."""
    sys.exit(main())
