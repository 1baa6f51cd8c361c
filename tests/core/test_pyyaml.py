"""PyYAML imported through gates.pyyaml: the idle reader pattern waits, and still works when it is used."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from gates.pyyaml import NON_PRINTABLE, CompiledOnFirstUse

REPO = Path(__file__).resolve().parents[2]


def test_the_stand_in_compiles_on_first_use_and_matches_as_the_pattern_does() -> None:
    stand_in = CompiledOnFirstUse(NON_PRINTABLE)
    assert stand_in._compiled is None
    real = re.compile(NON_PRINTABLE)
    for text in ("plain text", "bell \x07", "\ufffe", "tab\tand newline\n", "\U0001f600", "\x85\xa0"):
        found, expected = stand_in.search(text), real.search(text)
        assert (found and found.span()) == (expected and expected.span()), repr(text)
    assert isinstance(stand_in._compiled, re.Pattern)


def test_pyyaml_s_own_reader_still_refuses_what_it_refused_and_re_s_cache_keeps_no_stand_in() -> None:
    code = (
        "import re\nfrom gates.pyyaml import yaml\n"
        "print('STAND-IN', type(yaml.reader.Reader.NON_PRINTABLE).__name__)\n"
        "caches = [c for c in (getattr(re, '_cache', {}), getattr(re, '_cache2', {})) if isinstance(c, dict)]\n"
        "print('CACHED', any(type(v).__name__ == 'CompiledOnFirstUse' for c in caches for v in c.values()))\n"
        "print('HANDED', type(re.compile(yaml.reader.Reader.NON_PRINTABLE.pattern)).__name__)\n"
        "try:\n    yaml.load('key: bell \\x07', Loader=yaml.SafeLoader)\n"
        "except yaml.reader.ReaderError as exc:\n    print('REFUSED', exc.character == 7)\n"
        "print('READ', yaml.load('key: caf\\u00e9', Loader=yaml.SafeLoader))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:5] == ["STAND-IN CompiledOnFirstUse", "CACHED False", "HANDED Pattern",
                                            "REFUSED True", "READ {'key': 'café'}"], proc.stdout



def test_the_stand_in_copies_and_pickles_as_the_compiled_pattern_and_survives_being_cached() -> None:
    import copy
    import pickle

    stand_in = CompiledOnFirstUse(NON_PRINTABLE)
    for copied in (copy.copy(stand_in), copy.deepcopy(stand_in), pickle.loads(pickle.dumps(stand_in))):  # noqa: S301
        assert isinstance(copied, re.Pattern) and copied.pattern == NON_PRINTABLE
    key = (str, NON_PRINTABLE, 0)
    re._cache[key] = stand_in  # type: ignore[attr-defined]  # as while PyYAML imports
    try:
        assert stand_in.search("bell \x07").span() == (5, 6)  # compiles for real, not from the cache
        assert re._cache.get(key) is not stand_in  # type: ignore[attr-defined]
    finally:
        re._cache.pop(key, None)  # type: ignore[attr-defined]
