"""Configuration: `gates.toml` or `[tool.gates]` in pyproject.toml, then `GATES_*`, then flags.

The file is found from the working directory upward to the repository root. Every key is checked
against a schema: an unknown key or a wrong type is a `ConfigError` naming the key and the file,
because a typo in a security policy must never silently fall back to a default.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gates.checks.base_image.options import base_image_schema, patch_level_schema
from gates.errors import ConfigError
from gates.model import Severity
from gates.paths import display_path
from gates.waivers import WaiverRule

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

CONFIG_NAME = "gates.toml"
FORMATS = ("console", "json", "junit", "sarif", "gitlab-codequality", "github")
"""Formats the core ships; later reporters extend this tuple through `register_formats`."""

Validator = Callable[[Any, str], Any]
"""(value, dotted key) -> the parsed value. Raise `TypeError("a string")` to say what the value must be,
or `ConfigValueError("...")` for any other problem; either becomes a `ConfigError` naming file and key."""


class ConfigValueError(ValueError):
    """A validator's complaint about a value, in its own words (e.g. about an item of a nested table)."""


def _str(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise TypeError("a string")
    return value


def _int(value: Any, key: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError("a non-negative integer")
    return value


def _positive_int(value: Any, key: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise TypeError("a positive integer")
    return value


def _seconds(low: int, high: int) -> Validator:
    """A whole number of seconds within [low, high]: a bound on time that cannot be switched off."""
    def check(value: Any, key: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise TypeError(f"a whole number of seconds from {low} to {high}")
        return value
    return check


def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError("true or false")
    return value


def _str_list(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError("a list of strings")
    return tuple(value)


def _choice(*choices: str) -> Validator:
    def check(value: Any, key: str) -> str:
        if value not in choices:
            raise TypeError("one of " + ", ".join(repr(c) for c in choices))
        return str(value)
    return check


def _severity(value: Any, key: str) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        raise TypeError("one of " + ", ".join(s.value for s in Severity)) from None


def _signature_policies(value: Any, key: str) -> Any:
    """`[[signature.policies]]`, validated by the gate's own (light) policy module."""
    from gates.checks.signature.policy import parse_policies

    return parse_policies(value, key)


SECTIONS: dict[str, dict[str, tuple[Validator, Any]]] = {
    "registry": {
        "insecure": (_str_list, ()),
        "cache-dir": (_str, ""),
        "timeout": (_positive_int, 60),
        "request-timeout": (_seconds(1, 3600), 300),
        "deadline": (_seconds(1, 86400), 600),
        "concurrency": (_positive_int, 8),
    },
    "manifests": {
        "paths": (_str_list, (".",)),
        "level": (_choice("baseline", "restricted"), "restricted"),
        "exclude": (_str_list, ()),
        "skip-rules": (_str_list, ()),
        "max-file-size": (_int, 10 * 1024 * 1024),
        "hardening": (_bool, True),
        "allowed-registries": (_str_list, ()),
        "require-network-policy": (_bool, False),
    },
    "base-image": base_image_schema(_str, _int, _bool, _str_list),
    "patch-level": patch_level_schema(_str, _bool, _severity),
    "signature": {
        "images": (_str_list, ()),
        "allow-unmatched": (_bool, False),
        "trusted-root": (_str, ""),
        "policies": (_signature_policies, ()),
    },
}
"""Tables: key -> (validator, default). `registry` configures the registry client every image gate
shares; every other table belongs to the gate of its name. A gate that lands adds its table here, and
its name to GATE_NAMES once `gates run` can run it."""

GATE_NAMES: tuple[str, ...] = ("manifests", "base-image", "signature")
"""Gates that `gates = [...]` may name."""


@dataclass(frozen=True)
class Config:
    """The validated configuration of one run."""

    source: Path | None
    """The file it came from, or None for defaults only."""
    gates: tuple[str, ...] = ("manifests",)
    """Gates `gates run` runs."""
    fail_on: Severity = Severity.LOW
    formats: tuple[str, ...] = ("console",)
    outputs: tuple[tuple[str, Path], ...] = ()
    waivers: tuple[WaiverRule, ...] = ()
    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    now: dt.date | None = None
    """Injected "today" (GATES_NOW), for deterministic expiry checks."""

    def section(self, name: str) -> Mapping[str, Any]:
        defaults = {k: default for k, (_, default) in SECTIONS[name].items()}
        return {**defaults, **self.sections.get(name, {})}

    @property
    def today(self) -> dt.date:
        return self.now or dt.date.today()


def find_config(start: Path) -> Path | None:
    """The nearest gates.toml, or pyproject.toml with [tool.gates], up to the repository root."""
    for directory in (start, *start.parents):
        candidate = directory / CONFIG_NAME
        if candidate.is_file():
            return candidate
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and _has_tool_gates(pyproject):
            return pyproject
        if (directory / ".git").exists():
            return None
    return None


def _has_tool_gates(pyproject: Path) -> bool:
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return False  # not ours to judge: only a file that configures gates is validated
    return isinstance(data.get("tool"), dict) and "gates" in data["tool"]


def load(path: Path | None = None, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Config:
    """Build the Config from file (explicit, or found from `cwd`) and environment."""
    environ = os.environ if env is None else env
    explicit = path or (Path(environ["GATES_CONFIG"]) if environ.get("GATES_CONFIG") else None)
    source = explicit or find_config(cwd or Path.cwd())
    data: dict[str, Any] = {}
    if source is not None:
        data = _read(source, explicit is not None)
    config = _validate(data, source)
    return _apply_env(config, environ)


def _read(source: Path, explicit: bool) -> dict[str, Any]:
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{source}: configuration file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read configuration: {exc}") from None
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{source}: invalid TOML: arrays or tables nested too deeply") from None
    if source.name == "pyproject.toml":
        tool = data.get("tool", {})
        gates = tool.get("gates") if isinstance(tool, dict) else None
        if gates is None:
            if explicit:
                raise ConfigError(f"{source}: no [tool.gates] table")
            return {}
        if not isinstance(gates, dict):
            raise ConfigError(f"{source}: [tool.gates] must be a table")
        return dict(gates)
    return data


_GENERAL_KEYS = ("gates", "fail-on", "format", "output", "waivers")


def _validate(data: dict[str, Any], source: Path | None) -> Config:
    where = display_path(source) if source else "configuration"
    prefix = "tool.gates." if source is not None and source.name == "pyproject.toml" else ""

    def fail(key: str, problem: str) -> ConfigError:
        return ConfigError(f"{where}: {prefix}{key}: {problem}")

    def check(validator: Validator, value: Any, key: str) -> Any:
        try:
            return validator(value, key)
        except TypeError as exc:
            raise fail(key, f"must be {exc}, found {value!r}") from None
        except ConfigValueError as exc:
            raise fail(key, str(exc)) from None

    known = {*_GENERAL_KEYS, *SECTIONS}
    unknown = sorted(set(data) - known)
    if unknown:
        raise fail(unknown[0], "unknown key (known: " + ", ".join(sorted(known)) + ")")
    kwargs: dict[str, Any] = {"source": source}
    if "gates" in data:
        names = check(_str_list, data["gates"], "gates")
        for name in names:
            if name not in GATE_NAMES:
                raise fail("gates", f"unknown gate {name!r} (known: {', '.join(GATE_NAMES)})")
        kwargs["gates"] = names
    if "fail-on" in data:
        kwargs["fail_on"] = check(_severity, data["fail-on"], "fail-on")
    if "format" in data:
        kwargs["formats"] = tuple(check(_choice(*FORMATS), f, "format") for f in check(_str_list, data["format"],
                                                                                         "format"))
    if "output" in data:
        if not isinstance(data["output"], dict):
            raise fail("output", "must be a table of format = path")
        base = source.parent if source else Path.cwd()
        kwargs["outputs"] = tuple(
            (check(_choice(*FORMATS), fmt, f"output.{fmt}") if fmt in FORMATS else _unknown_format(fail, fmt),
             base / check(_str, target, f"output.{fmt}"))
            for fmt, target in data["output"].items()
        )
    if "waivers" in data:
        kwargs["waivers"] = tuple(_waivers(data["waivers"], where, prefix, fail))
    sections: dict[str, dict[str, Any]] = {}
    for name, schema in SECTIONS.items():
        if name not in data:
            continue
        table = data[name]
        if not isinstance(table, dict):
            raise fail(name, "must be a table")
        parsed: dict[str, Any] = {}
        for key, value in table.items():
            if key not in schema:
                raise fail(f"{name}.{key}", "unknown key (known: " + ", ".join(schema) + ")")
            parsed[key] = check(schema[key][0], value, f"{name}.{key}")
        sections[name] = parsed
    kwargs["sections"] = sections
    return Config(**kwargs)


def _unknown_format(fail: Callable[[str, str], ConfigError], fmt: str) -> str:
    raise fail(f"output.{fmt}", "unknown format (known: " + ", ".join(FORMATS) + ")")


_WAIVER_KEYS = {"rule", "path", "resource", "reason", "expires"}


def _waivers(
    value: Any, where: str, prefix: str, fail: Callable[[str, str], ConfigError]
) -> list[WaiverRule]:
    if not isinstance(value, list):
        raise fail("waivers", "must be an array of tables ([[waivers]])")
    waivers: list[WaiverRule] = []
    for index, entry in enumerate(value, start=1):
        key = f"waivers[{index}]"
        if not isinstance(entry, dict):
            raise fail(key, "must be a table")
        unknown = sorted(set(entry) - _WAIVER_KEYS)
        if unknown:
            raise fail(f"{key}.{unknown[0]}", "unknown key (known: " + ", ".join(sorted(_WAIVER_KEYS)) + ")")
        for text_key in ("rule", "path", "resource", "reason"):
            if text_key in entry and not isinstance(entry[text_key], str):
                raise fail(f"{key}.{text_key}", f"must be a string, found {entry[text_key]!r}")
        reason = str(entry.get("reason", "")).strip()
        if not reason:
            raise fail(f"{key}.reason", "a waiver needs a reason")
        if "rule" not in entry:
            raise fail(f"{key}.rule", "a waiver must name the rule (a glob such as 'pss-*' is allowed)")
        expires_key = f"{key}.expires"
        expires = _date(entry.get("expires"), lambda problem, k=expires_key: fail(k, problem))  # type: ignore[misc]
        waivers.append(WaiverRule(
            rule=entry["rule"], reason=reason, source=f"{where} {prefix}{key}", path=entry.get("path"),
            resource=entry.get("resource"), expires=expires,
        ))
    return waivers


def _date(value: Any, fail: Callable[[str], ConfigError]) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise fail(f"must be a date (YYYY-MM-DD), found {value!r}")


def _apply_env(config: Config, env: Mapping[str, str]) -> Config:
    """`GATES_FAIL_ON`, `GATES_FORMAT`, `GATES_LEVEL`, `GATES_NOW` override the file."""
    changes: dict[str, Any] = {}

    def fail(name: str, problem: str) -> ConfigError:
        return ConfigError(f"environment variable {name}: {problem}")

    if env.get("GATES_FAIL_ON"):
        try:
            changes["fail_on"] = Severity(env["GATES_FAIL_ON"])
        except ValueError:
            raise fail("GATES_FAIL_ON", "must be one of " + ", ".join(s.value for s in Severity)) from None
    if env.get("GATES_FORMAT"):
        formats = tuple(f.strip() for f in env["GATES_FORMAT"].split(",") if f.strip())
        for fmt in formats:
            if fmt not in FORMATS:
                raise fail("GATES_FORMAT", f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
        changes["formats"] = formats
    if env.get("GATES_LEVEL"):
        if env["GATES_LEVEL"] not in ("baseline", "restricted"):
            raise fail("GATES_LEVEL", "must be baseline or restricted")
        sections = {k: dict(v) for k, v in config.sections.items()}
        sections.setdefault("manifests", {})["level"] = env["GATES_LEVEL"]
        changes["sections"] = sections
    if env.get("GATES_NOW"):
        changes["now"] = _date(env["GATES_NOW"], lambda p: fail("GATES_NOW", p))
    if not changes:
        return config
    from dataclasses import replace

    return replace(config, **changes)
