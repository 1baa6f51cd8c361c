"""The `[cluster]` table: which files the cluster gate reads."""

from __future__ import annotations

from gates.validators import Schema, non_negative_int, str_list

TABLE: Schema = {
    "paths": (str_list, (".",)),
    "exclude": (str_list, ()),
    "skip-rules": (str_list, ()),
    "max-file-size": (non_negative_int, 10 * 1024 * 1024),
}
