"""The policy a verification summary names: the configuration in effect, as one digest.

The digest covers what decides a verdict (the gates, fail-on, waivers, every table with defaults filled
in) as gates validated it, not the file's bytes, so it is the same for `--config-ref`, a reformatted
file and the equivalent `GATES_*` overrides, and it changes with any value that could change a verdict.
Files the configuration names and trusts (keys, trusted roots, data) count by their content.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from gates.config import Config
from gates.paths import display_path

DEFAULTS_URI = "gates:defaults"
"""The policy's URI when no configuration file was found: gates' defaults (and the flags)."""


@dataclasses.dataclass(frozen=True)
class PolicyRef:
    """A VSA `policy` ResourceDescriptor."""

    uri: str
    sha256: str


def policy_of(config: Config, trusted_files: Mapping[str, PurePath | str] | None = None) -> PolicyRef:
    """The policy of a run; `trusted_files` (dotted key -> path) are hashed by content (unreadable: named so)."""
    document = {
        "gates": list(config.gates),
        "fail-on": config.fail_on.value,
        "inline-waivers": config.inline_waivers,
        "waivers": [_plain(w) for w in config.waivers],
        "tables": {name: _plain(config.section(name)) for name in sorted(config.tables)},
        "files": {key: _file_digest(path) for key, path in sorted((trusted_files or {}).items())},
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    uri = display_path(config.source) if config.source is not None else DEFAULTS_URI
    return PolicyRef(uri, hashlib.sha256(text.encode("ascii")).hexdigest())


def _file_digest(path: PurePath | str) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"
    return "sha256:" + digest.hexdigest()


def _plain(value: Any) -> Any:
    """`value` as JSON data, deterministically: dataclasses by field, sets sorted, paths and patterns as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, re.Pattern):
        return value.pattern
    raise TypeError(f"no stable form for a {type(value).__name__} in the configuration")
