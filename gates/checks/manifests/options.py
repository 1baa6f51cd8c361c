"""The `[manifests]` table: which files the manifest gate reads and how strictly it judges them."""

from __future__ import annotations

from gates.model import Severity
from gates.validators import Schema, boolean, choice, image_globs, integer, severity, str_list

LEVELS = ("baseline", "restricted")
"""Pod Security Standards levels, loosest first."""

TABLE: Schema = {
    "paths": (str_list, (".",)),
    "level": (choice(*LEVELS), "restricted"),
    "exclude": (str_list, ()),
    "skip-rules": (str_list, ()),
    "max-file-size": (integer(0, 1024**3), 10 * 1024 * 1024),
    "hardening": (boolean, True),
    "allowed-registries": (image_globs, ()),
    "require-network-policy": (boolean, False),
    "enable-rules": (str_list, ()),
    "resource-limits-severity": (severity, Severity.MEDIUM),
}
