"""Validators of configuration values, shared by the loader and by every gate's table schema.

A module of its own so that a gate can declare its `[table]` without importing the loader, and the
loader can validate every table without importing a gate: neither depends on the other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from gates.model import Severity
from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any
else:  # aliases and bases below name it at run time too, where nothing reads their arguments
    Any = object

Validator = Callable[[Any, str], Any]
"""(value, dotted key) -> the parsed value. Raise `TypeError("a string")` to say what the value must be,
or `ConfigValueError("...")` for any other problem; either becomes a `ConfigError` naming file and key."""

Schema = Mapping[str, tuple[Validator, Any]]
"""One TOML table: key -> (validator, default)."""

INT_BOUND = 2**31 - 1
"""No integer key goes beyond this unless its table says so with `integer`: a number that large is a typo
or an attempt to switch a check off (`max-file-size = 2**63-1`)."""


class ConfigValueError(ValueError):
    """A validator's complaint about a value, in its own words (e.g. about an item of a nested table)."""


def string(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise TypeError("a string")
    return value


def non_negative_int(value: Any, key: str) -> int:
    return int(_NON_NEGATIVE(value, key))


def positive_int(value: Any, key: str) -> int:
    return int(_POSITIVE(value, key))


def boolean(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError("true or false")
    return value


SWITCH_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
"""What an on/off environment variable may say, in any case; anything else is a mistake to report."""


def switch(value: Any, key: str) -> bool:
    """An on/off environment value (`GATES_GITHUB=No`): a word of `SWITCH_WORDS`, in any case."""
    if not isinstance(value, str) or value.strip().lower() not in SWITCH_WORDS:
        raise TypeError("one of true, false, 1, 0, yes, no (any case)")
    return SWITCH_WORDS[value.strip().lower()]


def str_list(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError("a list of strings")
    return tuple(value)


def choice(*choices: str) -> Validator:
    def check(value: Any, key: str) -> str:
        if value not in choices:
            raise TypeError("one of " + ", ".join(repr(c) for c in choices))
        return str(value)
    return check


def severity(value: Any, key: str) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        raise TypeError("one of " + ", ".join(s.value for s in Severity)) from None


def integer(minimum: int, maximum: int) -> Validator:
    """An integer in [minimum, maximum]: a bound beyond what makes sense is a typo or a check switched off."""
    what = "a positive integer" if minimum == 1 else "a non-negative integer" if minimum == 0 else "an integer"

    def check(value: Any, key: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise TypeError(what)
        if value > maximum:
            raise ConfigValueError(f"must be at most {maximum}, found {value}")
        return value
    return check


def seconds(low: int, high: int) -> Validator:
    """A whole number of seconds within [low, high]: a bound on time that cannot be switched off."""
    def check(value: Any, key: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise TypeError(f"a whole number of seconds from {low} to {high}")
        return value
    return check


def image_globs(value: Any, key: str) -> tuple[str, ...]:
    """Globs over image repositories, spelled as references are (`gates.oci.reference.canonical_glob`)."""
    from gates.oci.errors import InvalidReferenceError
    from gates.oci.reference import canonical_glob

    try:
        return tuple(canonical_glob(glob) for glob in str_list(value, key))
    except InvalidReferenceError as exc:
        raise ConfigValueError(str(exc)) from None


_NON_NEGATIVE = integer(0, INT_BOUND)
_POSITIVE = integer(1, INT_BOUND)
