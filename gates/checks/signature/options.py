"""The `[signature]` table: which images, and the policies naming whose signature each needs."""

from __future__ import annotations

from typing import Any

from gates.validators import Schema, boolean, str_list, string


def _policies(value: Any, key: str) -> Any:
    """`[[signature.policies]]`, validated by the (light) policy module, imported only when a file has them."""
    from gates.checks.signature.policy import parse_policies

    return parse_policies(value, key)


TABLE: Schema = {
    "images": (str_list, ()),
    "allow-unmatched": (boolean, False),
    "trusted-root": (string, ""),
    "policies": (_policies, ()),
}
