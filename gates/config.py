"""Configuration: `gates.toml` or `[tool.gates]` in pyproject.toml, then `GATES_*`, then flags.

The file is found from the working directory upward to the repository root. Every key is checked
against a schema: an unknown key or a wrong type is a `ConfigError` naming the key and the file,
because a typo in a security policy must never silently fall back to a default.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from gates.errors import ConfigError
from gates.model import Severity
from gates.paths import display_path
from gates.record import field, record, replace
from gates.typecheck import TYPE_CHECKING
from gates.validators import (
    ConfigValueError,
    Schema,
    Validator,
    boolean,
    choice,
    integer,
    seconds,
    severity,
    str_list,
    string,
    switch,
)
from gates.waivers import WaiverRule, rule_glob, unknown_rule

if TYPE_CHECKING:
    from typing import Any

    from gates.baseline import Baseline
    from gates.shard import Shard

CONFIG_NAME = "gates.toml"
FORMATS = ("console", "json", "junit", "sarif", "gitlab-codequality", "github", "openmetrics")
"""Formats the core ships; later reporters extend this tuple through `register_formats`."""
TEXT_FORMATS = ("console", "github")
"""Formats for people and the CI log, which can share a stream; every other format is a document."""


def stdout_clash(formats: tuple[str, ...], remedy: str) -> str | None:
    """Why `formats` cannot all go to stdout (two documents there are one invalid file), or None.

    With one document on stdout, the text formats go to stderr instead (see `gates.runner.emit`)."""
    documents = [fmt for fmt in formats if fmt not in TEXT_FORMATS]
    if len(documents) < 2:
        return None
    later = documents[1]
    return (f"{' and '.join(documents)} cannot share stdout (each is a document of its own): keep one there and"
            f" write the others to files with {remedy.format(fmt=later)}")


def unknown_format(fmt: str) -> str:
    from gates.suggest import did_you_mean

    return f"unknown format {fmt!r}" + did_you_mean(fmt, FORMATS, f" (known: {', '.join(FORMATS)})")


def _path(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TypeError("a non-empty path")
    return value


def unique(items: tuple[str, ...]) -> tuple[str, ...]:
    """`items` in their order, each once: a format asked for twice is still printed once."""
    return tuple(dict.fromkeys(items))


REGISTRY_TABLE: Schema = {
    "insecure": (str_list, ()),
    "cache-dir": (string, ""),
    "timeout": (integer(1, 3600), 60),
    "request-timeout": (seconds(1, 3600), 300),
    "deadline": (seconds(1, 86400), 600),
    "concurrency": (integer(1, 64), 8),
}
"""`[registry]`: the registry client every image gate shares (the only table no gate owns)."""


@record
class ConfigSchema:
    """What a configuration may hold beyond the general keys: every table and gate name, from the gate registry.

    Passed in by the caller (`gates.checks.load_config`), so the loader knows no gate."""

    tables: Mapping[str, Schema]
    gates: tuple[str, ...]
    """Names `gates = [...]` may use."""
    default_gates: tuple[str, ...]
    """What `gates run` runs when the file names no gates."""
    environment: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """Environment variable -> (table, key) it overrides, validated by that key's validator."""
    trusted_files: Callable[[Config], Mapping[str, Path]] = lambda config: {}
    """Files a loaded configuration names and trusts (keys, roots, data), by dotted key: with `--config-ref`
    they must be as the trusted ref has them."""
    rules: tuple[str, ...] | None = None
    """Every rule ID, so a `[[waivers]] rule` glob matching none is an error (None: not checked)."""


@record
class Config:
    """The validated configuration of one run."""

    source: Path | None
    """The file it came from, or None for defaults only."""
    gates: tuple[str, ...] = ()
    """Gates `gates run` runs (the schema's defaults unless the file names them)."""
    fail_on: Severity = Severity.LOW
    formats: tuple[str, ...] = ("console",)
    outputs: tuple[tuple[str, Path], ...] = ()
    waivers: tuple[WaiverRule, ...] = ()
    inline_waivers: bool = True
    """Whether `gates.dev/waive.*` annotations waive; when false they only become notes on the finding,
    so a pull request cannot waive its own findings."""
    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    now: dt.date | None = None
    """Injected "today" (GATES_NOW), for deterministic expiry checks."""
    tables: Mapping[str, Schema] = field(default_factory=dict)
    """The schema it was validated against: the defaults of `section`."""
    shard: Shard | None = None
    """`--shard K/N` (or GitLab's parallel job): the part of the targets this run judges (`gates.shard`)."""
    baseline: Baseline | None = None
    """`--baseline PATH` or `[baseline] path`, loaded: findings it holds do not block (`gates.baseline`)."""

    def section(self, name: str) -> Mapping[str, Any]:
        """Table `name` as configured, every key present (defaults filled in)."""
        defaults = {k: default for k, (_, default) in self.tables[name].items()}
        return {**defaults, **self.sections.get(name, {})}

    @property
    def today(self) -> dt.date:
        return self.now or dt.date.today()


def find_config(start: Path) -> Path | None:
    """The nearest gates.toml, or pyproject.toml with [tool.gates], up to the repository root.

    A name that exists at all (`lexists`: also a dangling link, a folder, a FIFO) stops the search: a
    configuration that cannot be read must fail the run, never let the defaults or a parent's file apply.
    A pyproject.toml that cannot be read or parsed stops it too, since nobody can tell whether it
    configures gates.
    """
    for directory in (start, *start.parents):
        candidate = directory / CONFIG_NAME
        if os.path.lexists(candidate):
            return candidate
        pyproject = directory / "pyproject.toml"
        if os.path.lexists(pyproject) and _has_tool_gates(pyproject):
            return pyproject
        if (directory / ".git").exists():
            return None
    return None


def _as_found(path: Path) -> str:
    """A file found by the upward search, relative to the working directory when under it; links not
    resolved, so a dangling `gates.toml` is named `gates.toml`, not its target."""
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def _has_tool_gates(pyproject: Path) -> bool:
    shown = _as_found(pyproject)
    return _configures_gates(parse_toml(read_config_bytes(pyproject, shown), shown))


def _configures_gates(pyproject: dict[str, Any]) -> bool:
    """Whether a parsed pyproject.toml holds a `[tool.gates]` table (else it is not gates' to judge)."""
    tool = pyproject.get("tool")
    return isinstance(tool, dict) and "gates" in tool


MAX_CONFIG_BYTES = 1024 * 1024
"""A configuration file larger than this is refused (read at most this much, never unbounded)."""


def read_config_bytes(source: Path, shown: str | None = None) -> bytes:
    """The bytes of a regular file, opened non-blocking (a FIFO never hangs the run) and size-capped.

    Errors name it as `shown` (the path as the user wrote it), else as `source`."""
    from gates.targets.files import NotRegularFile, read_regular

    label = shown or str(source)
    try:
        data = read_regular(source, MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        problem = "dangling symbolic link" if os.path.lexists(source) else "configuration file not found"
        raise ConfigError(f"{label}: {problem}") from None
    except NotRegularFile as exc:
        raise ConfigError(f"{label}: not a regular file ({_file_kind(exc.mode)}), cannot be a configuration") from None
    except OSError as exc:
        raise ConfigError(f"{label}: cannot read configuration: {exc.strerror or exc}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{label}: larger than {MAX_CONFIG_BYTES} bytes, not a configuration file")
    return data


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "not a file")


def parse_toml(data: bytes, where: str) -> dict[str, Any]:
    """TOML from bytes; any problem is a `ConfigError` naming `where`."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: cannot read configuration: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    if sys.version_info >= (3, 11):  # imported here: a run without a configuration file never parses TOML
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        parsed: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{where}: invalid TOML: arrays or tables nested too deeply") from None
    return parsed


def load(
    path: Path | None = None, env: Mapping[str, str] | None = None, cwd: Path | None = None,
    ref: str | None = None, *, schema: ConfigSchema,
) -> Config:
    """Build the Config from file (explicit, or found from `cwd`) and environment, validated against `schema`.

    With `ref` (or `GATES_CONFIG_REF`) the file is read from that git ref instead of the working tree,
    see `gates.config_ref`.
    """
    environ = os.environ if env is None else env
    explicit = path or (Path(environ["GATES_CONFIG"]) if environ.get("GATES_CONFIG") else None)
    if ref is None:  # an empty GATES_CONFIG_REF is unset (CI templates default to ""); an empty flag is an error
        ref = environ.get("GATES_CONFIG_REF") or None
    if ref is not None:
        return _apply_env(_load_at_ref(ref, explicit, cwd or Path.cwd(), schema), environ, schema)
    source = explicit or find_config(cwd or Path.cwd())
    data: dict[str, Any] = {}
    shown: str | None = None  # errors name the file as the user wrote it, or as found from the cwd
    if source is not None:
        shown = str(explicit) if explicit is not None else _as_found(source)
        data = config_table(parse_toml(read_config_bytes(source, shown), shown), source, explicit is not None, shown)
    config = _validate(data, source, schema, where=shown)
    return _apply_env(config, environ, schema)


def _load_at_ref(ref: str, explicit: Path | None, cwd: Path, schema: ConfigSchema) -> Config:
    from gates.config_ref import check_unchanged, read_at_ref

    def configures_gates(label: str, data: bytes) -> bool:
        return _configures_gates(parse_toml(data, label))

    found = read_at_ref(ref, explicit, cwd, (CONFIG_NAME, "pyproject.toml"), MAX_CONFIG_BYTES, configures_gates)
    if found is None:
        return _validate({}, None, schema)
    table = config_table(parse_toml(found.data, found.label), found.path, explicit is not None, found.label)
    config = _validate(table, found.path, schema, where=found.label)
    check_unchanged(found, dict(schema.trusted_files(config)))
    return config


def config_table(data: dict[str, Any], source: Path, explicit: bool, where: str | None = None) -> dict[str, Any]:
    """The gates table of a parsed file: all of gates.toml, or `[tool.gates]` of a pyproject.toml."""
    where = where or str(source)
    if source.name == "pyproject.toml":
        tool = data.get("tool", {})
        gates = tool.get("gates") if isinstance(tool, dict) else None
        if gates is None:
            if explicit:
                raise ConfigError(f"{where}: no [tool.gates] table")
            return {}
        if not isinstance(gates, dict):
            raise ConfigError(f"{where}: [tool.gates] must be a table")
        return dict(gates)
    return data


_GENERAL_KEYS = ("gates", "fail-on", "format", "output", "waivers", "inline-waivers")


def _validate(data: dict[str, Any], source: Path | None, schema: ConfigSchema, where: str | None = None) -> Config:
    where = where or (display_path(source) if source else "configuration")
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

    unknown = sorted(key for key in data if key not in _GENERAL_KEYS and key not in schema.tables)
    if unknown:
        known = {*_GENERAL_KEYS, *schema.tables}
        raise fail(unknown[0], "unknown key (known: " + ", ".join(sorted(known)) + ")")
    kwargs: dict[str, Any] = {"source": source, "tables": schema.tables, "gates": schema.default_gates}
    if "gates" in data:
        names = check(str_list, data["gates"], "gates")
        for name in names:
            if name not in schema.gates:
                raise fail("gates", f"unknown gate {name!r} (known: {', '.join(schema.gates)})")
        kwargs["gates"] = names
    if "fail-on" in data:
        kwargs["fail_on"] = check(severity, data["fail-on"], "fail-on")
    if "format" in data:
        formats = tuple(check(choice(*FORMATS), f, "format") for f in check(str_list, data["format"], "format"))
        if not formats:
            raise fail("format", "lists no format (known: " + ", ".join(FORMATS) + ")")
        clash = stdout_clash(unique(formats), '[output] ({fmt} = "gates-report.{fmt}")')
        if clash:
            raise fail("format", clash)
        kwargs["formats"] = unique(formats)
    if "output" in data:
        if not isinstance(data["output"], dict):
            raise fail("output", "must be a table of format = path")
        base = source.parent if source else Path.cwd()
        kwargs["outputs"] = tuple(
            (check(choice(*FORMATS), fmt, f"output.{fmt}") if fmt in FORMATS else _unknown_format(fail, fmt),
             base / check(_path, target, f"output.{fmt}"))
            for fmt, target in data["output"].items()
        )
    if "inline-waivers" in data:
        kwargs["inline_waivers"] = check(boolean, data["inline-waivers"], "inline-waivers")
    if "waivers" in data:
        kwargs["waivers"] = tuple(_waivers(data["waivers"], where, prefix, fail, schema.rules))
    sections: dict[str, dict[str, Any]] = {}
    tables = {key for key in data if key not in _GENERAL_KEYS}
    for name, table_schema in schema.tables.items():
        if not tables:
            break  # the schema's later tables (and the options of the gates declaring them) are not needed
        if name not in tables:
            continue
        tables.discard(name)
        table = data[name]
        if not isinstance(table, dict):
            raise fail(name, "must be a table")
        parsed: dict[str, Any] = {}
        for key, value in table.items():
            if key not in table_schema:
                raise fail(f"{name}.{key}", "unknown key (known: " + ", ".join(table_schema) + ")")
            parsed[key] = check(table_schema[key][0], value, f"{name}.{key}")
        sections[name] = parsed
    kwargs["sections"] = sections
    return Config(**kwargs)


def _unknown_format(fail: Callable[[str, str], ConfigError], fmt: str) -> str:
    raise fail(f"output.{fmt}", "unknown format (known: " + ", ".join(FORMATS) + ")")


_WAIVER_KEYS = {"rule", "path", "resource", "reason", "expires"}


def _waivers(
    value: Any, where: str, prefix: str, fail: Callable[[str, str], ConfigError], rules: tuple[str, ...] | None,
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
        if "rule" not in entry or not entry["rule"].strip():
            raise fail(f"{key}.rule", "a waiver must name the rule (a glob such as 'pss-*' is allowed)")
        expires_key = f"{key}.expires"
        expires = _date(entry.get("expires"), lambda problem, k=expires_key: fail(k, problem))  # type: ignore[misc]
        rule = rule_glob(entry["rule"])
        no_match = unknown_rule(rule, rules) if rules is not None else None
        if no_match is not None:
            raise fail(f"{key}.rule", no_match)
        waivers.append(WaiverRule(
            rule=rule, reason=reason, source=f"{where} {prefix}{key}", path=entry.get("path"),
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


def _apply_env(config: Config, env: Mapping[str, str], schema: ConfigSchema) -> Config:
    """`GATES_FAIL_ON`, `GATES_FORMAT`, `GATES_NOW` and the gates' own variables (`GATES_LEVEL`) override the file."""
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
        if not formats:
            raise fail("GATES_FORMAT", f"lists no format (known: {', '.join(FORMATS)})")
        for fmt in formats:
            if fmt not in FORMATS:
                raise fail("GATES_FORMAT", unknown_format(fmt))
        clash = stdout_clash(unique(formats), "--output {fmt}=PATH")
        if clash:
            raise fail("GATES_FORMAT", clash)
        changes["formats"] = unique(formats)
    sections = {k: dict(v) for k, v in config.sections.items()}
    for variable, (table, key) in schema.environment.items():
        if env.get(variable):
            try:
                sections.setdefault(table, {})[key] = schema.tables[table][key][0](env[variable], key)
            except TypeError as exc:
                raise fail(variable, f"must be {exc}, found {env[variable]!r}") from None
            except ConfigValueError as exc:
                raise fail(variable, str(exc)) from None
            changes["sections"] = sections
    if env.get("GATES_GITHUB"):  # read by the GitHub reporter; checked here, before anything runs
        try:
            switch(env["GATES_GITHUB"], "GATES_GITHUB")
        except TypeError as exc:
            raise fail("GATES_GITHUB", f"must be {exc}, found {env['GATES_GITHUB']!r}") from None
    if env.get("GATES_NOW"):
        changes["now"] = _date(env["GATES_NOW"], lambda p: fail("GATES_NOW", p))
    if not changes:
        return config
    return replace(config, **changes)
