"""One error base with a message for people; subclasses say where the failure came from.

The CLI maps `ConfigError`/`UsageError` to exit 2 and anything unexpected to exit 3; errors about a
single target never escape a gate: they become that target's `error` result.
"""

from __future__ import annotations


class GatesError(Exception):
    """Base of every error gates raises on purpose; `str()` is one line a user can act on."""


class UsageError(GatesError):
    """The command line asked for something impossible (exit 2)."""


class ConfigError(GatesError):
    """The configuration file or environment is invalid (exit 2). Names the file and key."""


class InputError(GatesError):
    """A target could not be read or parsed: becomes that target's `error` result."""


def first_line(exc: BaseException, limit: int = 200) -> str:
    """A library's exception as one short line of a gates message: its first line, whitespace collapsed, or
    its class name when it says nothing (library messages run to several lines, some with data in them)."""
    text = str(exc).strip()
    return " ".join(text.splitlines()[0].split())[:limit] if text else type(exc).__name__
