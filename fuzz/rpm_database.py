"""Atheris harness: the rpm database readers (header blob, BerkeleyDB Hash, NDB, manifest) on any bytes.

The first byte picks the reader. Anything but packages or a one-line `InputError` is a finding. Run
through `fuzz/run.py`, or alone: `python fuzz/rpm_database.py -max_total_time=30 fuzz/.work/corpus-rpm_database`.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["gates"]):
    from gates.distro.rpmdb import MANIFEST_PATH, parse_rpmdb
    from gates.distro.rpmheader import parse_header
    from gates.errors import InputError

PATHS = ("var/lib/rpm/Packages", "var/lib/rpm/Packages.db", MANIFEST_PATH)


def test_one_input(data: bytes) -> None:
    if not data:
        return
    choice, body = data[0] % 4, data[1:]
    try:
        if choice == 3:
            parse_header(body)
        else:
            parse_rpmdb(PATHS[choice], body)
    except InputError as exc:
        if "\n" in str(exc):
            raise AssertionError(f"multi-line error: {exc!r}") from None


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
