"""Atheris harness: the layer reader on arbitrary bytes (gzip or plain tar, hostile or broken).

Anything but a result or a `LayerError` is a finding. Run through `fuzz/run.py`, or alone:
`python fuzz/layer_reader.py -max_total_time=30 fuzz/.work/corpus-layer_reader`.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator

import atheris

with atheris.instrument_imports(include=["gates", "tarfile"]):  # tarfile: so the fuzzer learns tar headers
    import tarfile  # noqa: F401 - imported here to be instrumented

    from gates.oci.errors import LayerError
    from gates.oci.layers import LayerLimits, read_files

LIMITS = LayerLimits(max_inflated_bytes=4 << 20, max_file_bytes=1 << 20, max_entries=10_000, max_symlink_hops=16)
WANTED = ["etc/os-release", "usr/lib/os-release", "etc/debian_version", "var/lib/dpkg/status",
          "var/lib/dpkg/status.d/", "lib/apk/db/installed", "etc/passwd"]


def _opener(blob: bytes):  # type: ignore[no-untyped-def]
    @contextlib.contextmanager
    def open_layer() -> Iterator[io.BytesIO]:
        yield io.BytesIO(blob)

    return open_layer


def test_one_input(data: bytes) -> None:
    # the first byte splits the input into two layers, so overlay rules (whiteouts, links) are reached too
    cut = data[0] * len(data) // 256 if data else 0
    layers = [data[1:cut], data[cut:]] if cut > 1 else [data]
    try:
        found = read_files([_opener(b) for b in layers], WANTED, LIMITS)
    except LayerError as exc:
        if "\n" in str(exc):
            raise AssertionError(f"multi-line error: {exc!r}") from None
        return
    for item in found.values():
        if item.real_path.startswith("/") or ".." in item.real_path.split("/"):
            raise AssertionError(f"read outside the root: {item.real_path!r}")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
