"""`${VAR}` interpolation as the Compose specification defines it, without ever guessing.

`$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`,
`${VAR:+replacement}`, `${VAR+replacement}`, nested defaults (`${A:-${B}}`) and `$$` for a literal `$`.
Where `docker compose` would put an empty string for an unset variable (with a warning), the value
here is `Unresolved`: the deploy environment decides it, so the field cannot be judged from the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")
MAX_NESTING = 32
"""`${A:-${B:-...}}` levels one value may nest; real files use two or three, a deeper one is refused."""


class TemplateError(ValueError):
    """Text that is not a valid template: `docker compose` refuses the file."""


@dataclass(frozen=True)
class Unresolved:
    """A value that depends on variables unset where gates runs."""

    variables: tuple[str, ...]
    required: bool = False
    """A `${VAR:?message}` / `${VAR?message}`: compose itself refuses to run without it."""


@dataclass(frozen=True)
class _Variable:
    name: str
    operator: str | None
    alternative: tuple[str | _Variable, ...]


_Template = tuple[str | _Variable, ...]


def has_variables(text: str) -> bool:
    return "$" in text


def interpolate(text: str, environment: Mapping[str, str]) -> str | Unresolved:
    """`text` with its variables substituted from `environment`; raises `TemplateError` on bad syntax."""
    if "$" not in text:
        return text
    template, end = _parse(text, 0, inside=False, depth=0)
    assert end == len(text)
    missing: list[str] = []
    required: list[bool] = []
    value = _evaluate(template, environment, missing, required)
    if missing:
        return Unresolved(tuple(dict.fromkeys(missing)), any(required))
    return value


def _parse(text: str, start: int, *, inside: bool, depth: int) -> tuple[_Template, int]:
    """Parse from `start` to the end (or, `inside` a `${...}`, to its closing brace)."""
    parts: list[str | _Variable] = []
    literal: list[str] = []
    i = start
    while i < len(text):
        char = text[i]
        if inside and char == "}":
            break
        if char != "$":
            literal.append(char)
            i += 1
            continue
        following = text[i + 1:i + 2]
        if following == "$":
            literal.append("$")
            i += 2
            continue
        if literal:
            parts.append("".join(literal))
            literal = []
        if following == "{":
            if depth >= MAX_NESTING:
                raise TemplateError(f"'${{' nested more than {MAX_NESTING} levels deep at character {i + 1}")
            variable, i = _braced(text, i + 2, depth + 1)
            parts.append(variable)
            continue
        name = _NAME.match(text, i + 1)
        if name is None:
            raise TemplateError(f"a lone '$' at character {i + 1} (write '$$' for a literal dollar sign)")
        parts.append(_Variable(name.group(), None, ()))
        i = name.end()
    if literal:
        parts.append("".join(literal))
    return tuple(parts), i


def _braced(text: str, start: int, depth: int) -> tuple[_Variable, int]:
    """`NAME}` or `NAME<operator>TEXT}` after a `${`; returns the variable and the index after `}`."""
    name = _NAME.match(text, start)
    if name is None:
        raise TemplateError(f"'${{' at character {start - 1} is not followed by a variable name")
    i = name.end()
    if text[i:i + 1] == "}":
        return _Variable(name.group(), None, ()), i + 1
    operator = next((op for op in _OPERATORS if text.startswith(op, i)), None)
    if operator is None:
        raise TemplateError(f"'${{{name.group()}' is followed by neither '}}' nor one of"
                            f" {', '.join(_OPERATORS)}")
    alternative, i = _parse(text, i + len(operator), inside=True, depth=depth)
    if text[i:i + 1] != "}":
        raise TemplateError(f"'${{{name.group()}{operator}' is never closed by '}}'")
    return _Variable(name.group(), operator, alternative), i + 1


def _evaluate(template: _Template, environment: Mapping[str, str], missing: list[str],
              required: list[bool]) -> str:
    out: list[str] = []
    for part in template:
        if isinstance(part, str):
            out.append(part)
            continue
        value = environment.get(part.name)
        is_set, non_empty = value is not None, bool(value)
        operator = part.operator
        if operator is None or operator in (":?", "?"):
            if (non_empty if operator == ":?" else is_set) and value is not None:
                out.append(value)
            else:
                missing.append(part.name)
                required.append(operator is not None)
        elif operator in (":-", "-"):
            if (non_empty if operator == ":-" else is_set) and value is not None:
                out.append(value)
            else:
                out.append(_evaluate(part.alternative, environment, missing, required))
        elif non_empty if operator == ":+" else is_set:  # :+ and +
            out.append(_evaluate(part.alternative, environment, missing, required))
    return "".join(out)
