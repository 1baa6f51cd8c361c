"""The `[compose] table: which compose files the gate reads and which capabilities count as safe."""

from __future__ import annotations

from typing import Any

from gates.checks.compose.rules import SAFE_CAPABILITIES
from gates.validators import ConfigValueError, Schema, non_negative_int, str_list


def capabilities(value: Any, key: str) -> tuple[str, ...]:
    """Capability names, `CAP_` prefix optional; `ALL` is never safe."""
    names = tuple(name.upper().removeprefix("CAP_") for name in str_list(value, key))
    if "ALL" in names:
        raise ConfigValueError("ALL is every capability: it cannot be allowed (waive a finding instead)")
    return names


TABLE: Schema = {
    "paths": (str_list, (".",)),
    "exclude": (str_list, ()),
    "skip-rules": (str_list, ()),
    "max-file-size": (non_negative_int, 10 * 1024 * 1024),
    "allowed-capabilities": (capabilities, SAFE_CAPABILITIES),
}
