"""The `[manifests]` table: which files the manifest gate reads and how strictly it judges them."""

from __future__ import annotations

from typing import Any

from gates.validators import Schema, boolean, choice, image_globs, integer, str_list

SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")


def service_types(value: Any, key: str) -> tuple[str, ...]:
    """Kubernetes Service types, as `spec.type` spells them."""
    found = str_list(value, key)
    if any(v not in SERVICE_TYPES for v in found):
        raise TypeError("a list of " + ", ".join(SERVICE_TYPES))
    return found

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
    "exposed-service-types": (service_types, ("NodePort", "LoadBalancer")),
}
