"""The `[manifests]` table: which files the manifest gate reads and how strictly it judges them."""

from __future__ import annotations

from gates.model import Severity
from gates.typecheck import TYPE_CHECKING
from gates.validators import Schema, boolean, choice, image_globs, integer, severity, str_list

if TYPE_CHECKING:
    from typing import Any

SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")


def service_types(value: Any, key: str) -> tuple[str, ...]:
    """Kubernetes Service types, as `spec.type` spells them."""
    found = str_list(value, key)
    if any(v not in SERVICE_TYPES for v in found):
        raise TypeError("a list of " + ", ".join(SERVICE_TYPES))
    return found

LEVELS = ("baseline", "restricted")
"""Pod Security Standards levels, loosest first."""

def _helm_values(value: Any, key: str) -> dict[str, tuple[str, ...]]:
    """`{"chart folder" = ["values file", ...]}`: the values files `helm template` reads for each chart."""
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise TypeError("a table mapping each chart's folder to a list of its values files")
    return {chart: str_list(files, f"{key}.{chart}") for chart, files in value.items()}


TABLE: Schema = {
    "paths": (str_list, (".",)),
    "level": (choice(*LEVELS), "restricted"),
    "exclude": (str_list, ()),
    "skip-rules": (str_list, ()),
    "max-file-size": (integer(0, 1024**3), 10 * 1024 * 1024),
    "hardening": (boolean, True),
    "allowed-registries": (image_globs, ()),
    "credential-name-allowlist": (str_list, ()),
    "require-network-policy": (boolean, False),
    "enable-rules": (str_list, ()),
    "resource-limits-severity": (severity, Severity.MEDIUM),
    "render": (boolean, True),
    "render-timeout": (integer(1, 3600), 60),
    "helm-values": (_helm_values, {}),
    "exposed-service-types": (service_types, ("NodePort", "LoadBalancer")),
}
