"""Build manifests in tests: a restricted-compliant workload that each test breaks in one place."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from gates.checks.manifests.gate import ManifestOptions, scan
from gates.model import Result

IMAGE = "registry.example/app:1.0@sha256:" + "ab" * 32
"""A digest-pinned image, so only the rule a test breaks fires."""


def compliant_pod_spec() -> dict[str, Any]:
    return {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": "app",
            "image": IMAGE,
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        }],
    }


def wrap(kind: str, pod_spec: dict[str, Any], name: str = "web", namespace: str | None = "shop",
         annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """A workload of `kind` carrying `pod_spec`; pod annotations go on the pod template."""
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    template: dict[str, Any] = {"metadata": {"annotations": annotations or {}}, "spec": pod_spec}
    if kind == "Pod":
        metadata["annotations"] = annotations or {}
        return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": pod_spec}
    if kind == "PodTemplate":
        return {"apiVersion": "v1", "kind": kind, "metadata": metadata, "template": template}
    if kind == "CronJob":
        return {"apiVersion": "batch/v1", "kind": kind, "metadata": metadata,
                "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}}
    api = {"Job": "batch/v1", "ReplicationController": "v1"}.get(kind, "apps/v1")
    return {"apiVersion": api, "kind": kind, "metadata": metadata, "spec": {"template": template}}


def write(tmp_path: Path, name: str, *documents: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump_all([copy.deepcopy(d) for d in documents], sort_keys=False))
    return path


def scan_file(path: Path, level: str = "restricted") -> list[Result]:
    return scan(ManifestOptions(paths=(str(path),), level=level))
