"""The `[manifests]` table: which files the manifest gate reads and how strictly it judges them."""

from __future__ import annotations

from gates.validators import Schema, boolean, choice, non_negative_int, str_list

LEVELS = ("baseline", "restricted")
"""Pod Security Standards levels, loosest first."""

TABLE: Schema = {
    "paths": (str_list, (".",)),
    "level": (choice(*LEVELS), "restricted"),
    "exclude": (str_list, ()),
    "skip-rules": (str_list, ()),
    "max-file-size": (non_negative_int, 10 * 1024 * 1024),
    "hardening": (boolean, True),
    "allowed-registries": (str_list, ()),
    "require-network-policy": (boolean, False),
}
