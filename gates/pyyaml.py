"""PyYAML, imported without compiling the one regular expression of it that libyaml makes idle.

`yaml.reader.Reader` compiles, as PyYAML is imported, a character class over all of Unicode
(`NON_PRINTABLE`) for its pure-Python reader. With libyaml that reader never runs, yet the compile is
~58 M instructions: a fifth of a whole one-file scan, more than everything gates itself imports. While
PyYAML imports, a stand-in waits in `re`'s cache under that exact pattern and compiles it on first use;
it is taken out of the cache at once, so nothing else can be handed it. Should PyYAML change the pattern,
or `re` its cache, the stand-in is simply never asked for and PyYAML compiles as it always did.

Every module of gates that reads YAML imports it from here (`from gates.pyyaml import yaml`).
"""

from __future__ import annotations

import re

from gates.typecheck import TYPE_CHECKING

NON_PRINTABLE = "[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010ffff]"
"""`yaml.reader.Reader.NON_PRINTABLE`'s pattern, character for character (PyYAML 6)."""


class CompiledOnFirstUse:
    """A compiled pattern that is compiled only when one of its methods is first asked for."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._compiled: re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> Any:
        if self._compiled is None:
            self._compiled = re.compile(self.pattern)  # the stand-in has left the cache: a real compile
        return getattr(self._compiled, name)


def _import_pyyaml() -> Any:
    caches = [cache for cache in (getattr(re, "_cache", None), getattr(re, "_cache2", None))
              if isinstance(cache, dict)]
    key = (str, NON_PRINTABLE, 0)
    stand_in = CompiledOnFirstUse(NON_PRINTABLE)
    if caches and all(key not in cache for cache in caches):
        caches[0][key] = stand_in
    try:
        import yaml as imported
    finally:
        for cache in caches:
            if cache.get(key) is stand_in:
                del cache[key]
    return imported


if TYPE_CHECKING:
    from typing import Any

    import yaml as yaml
else:
    yaml = _import_pyyaml()
