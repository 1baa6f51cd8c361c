"""`TYPE_CHECKING`, false at run time, without importing `typing` (a tenth of a one-file scan's start-up).

Type checkers treat any `if TYPE_CHECKING:` as taken, whatever module the name comes from, so the modules
on a scan's path import `typing`'s names (`Any`, `TypeVar`, `Protocol`, ...) under it, where annotations
alone use them (`from __future__ import annotations` keeps annotations unevaluated).
`tests/core/test_startup_imports.py` holds a plain scan to not importing `typing`.
"""

TYPE_CHECKING = False
