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
    """A compiled pattern that is compiled only when one of its methods is first asked for; copied or
    pickled, it becomes the compiled pattern itself."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._compiled: re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # protocols (copy, pickle) ask the class, never the pattern to compile
            raise AttributeError(name)
        state = self.__dict__
        compiled = state.get("_compiled")
        if compiled is None:
            handed: object = re.compile(state["pattern"])
            if handed is self:  # asked while PyYAML still imports, the stand-in still in the cache
                _leave_caches(self)
                handed = re.compile(state["pattern"])
            compiled = state["_compiled"] = handed
        return getattr(compiled, name)

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return re.compile, (self.pattern,)


_KEY = (str, NON_PRINTABLE, 0)
"""How `re` caches `re.compile(NON_PRINTABLE)` (3.10 to 3.13: by type, pattern and flags)."""


def _caches() -> list[dict[Any, Any]]:
    return [cache for cache in (getattr(re, "_cache", None), getattr(re, "_cache2", None)) if isinstance(cache, dict)]


def _leave_caches(stand_in: CompiledOnFirstUse) -> None:
    for cache in _caches():
        if cache.get(_KEY) is stand_in:
            del cache[_KEY]


def _import_pyyaml() -> Any:
    caches = _caches()
    stand_in = CompiledOnFirstUse(NON_PRINTABLE)
    if caches and all(_KEY not in cache for cache in caches):
        caches[0][_KEY] = stand_in
    try:
        import yaml as imported
    finally:
        _leave_caches(stand_in)
    return imported


if TYPE_CHECKING:
    from typing import Any

    import yaml as yaml
else:
    yaml = _import_pyyaml()
