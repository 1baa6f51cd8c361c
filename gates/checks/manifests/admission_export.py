"""`gates export admission`: the manifest gate's checks as ValidatingAdmissionPolicies or a Kyverno policy.

The documents are built from `admission.admission_checks` and nothing else, so the text a cluster runs is
the text the tests evaluate. Rules the cluster cannot enforce are listed in the output's header, never
dropped unsaid.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gates import __version__
from gates.checks.manifests.admission import AdmissionCheck, NotExported, Resource, admission_checks
from gates.checks.manifests.rules import GATE
from gates.config import Config
from gates.errors import UsageError
from gates.pyyaml import yaml

FORMATS = ("vap", "kyverno")
MANAGED_BY = {"app.kubernetes.io/managed-by": "gates"}


def checks_of(config: Config) -> tuple[list[AdmissionCheck], list[NotExported]]:
    """The checks the `[manifests]` table enables (level, skip-rules, hardening, allow-lists)."""
    section = config.section(GATE)
    return admission_checks(
        level=section["level"], skip_rules=tuple(section["skip-rules"]),
        allowed_registries=tuple(section["allowed-registries"]),
        credential_name_allowlist=tuple(section["credential-name-allowlist"]), hardening=section["hardening"],
        exposed_service_types=tuple(section["exposed-service-types"]), enabled_rules=tuple(section["enable-rules"]),
    )


def render(config: Config, fmt: str) -> str:
    """The admission documents as one multi-document YAML text, with the rules left out in its header."""
    if fmt not in FORMATS:
        raise UsageError(f"--format: unknown admission format {fmt!r} (choose {' or '.join(FORMATS)})")
    checks, left_out = checks_of(config)
    documents = _vap(checks) if fmt == "vap" else [_kyverno(checks)]
    header = [f"# The manifest policy gates {__version__} enforces in CI, for admission ({fmt}).",
              f"# {len(checks)} checks exported; rules not enforceable at admission:"]
    header += [f"#   {item.rule}: {item.reason}" for item in left_out] or ["#   none"]
    body = yaml.safe_dump_all(documents, sort_keys=False, width=100_000)
    return "\n".join(header) + "\n" + body


def _names(checks: Sequence[AdmissionCheck]) -> list[str]:
    """One policy name per check: the rule, and its kinds' plural when one rule has several checks."""
    counts: dict[str, int] = {}
    for check in checks:
        counts[check.rule] = counts.get(check.rule, 0) + 1
    return [f"gates-{c.rule}" if counts[c.rule] == 1 else f"gates-{c.rule}-{c.resources[0].plural}" for c in checks]


def _resource_rules(resources: Sequence[Resource]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[str]] = {}
    for resource in resources:
        groups.setdefault((resource.group, resource.version), []).append(resource.plural)
    return [{"apiGroups": [group], "apiVersions": [version], "operations": ["CREATE", "UPDATE"],
             "resources": plurals} for (group, version), plurals in groups.items()]


def _vap(checks: Sequence[AdmissionCheck]) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    for name, check in zip(_names(checks), checks, strict=True):
        spec: dict[str, Any] = {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": _resource_rules(check.resources)},
        }
        if check.variables:
            spec["variables"] = [{"name": n, "expression": e} for n, e in check.variables]
        spec["validations"] = [{"expression": check.expression, "message": check.message}]
        metadata = {"name": name, "labels": dict(MANAGED_BY), "annotations": {"gates.dev/rule": check.rule}}
        documents.append({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
                          "metadata": metadata, "spec": spec})
        documents.append({"apiVersion": "admissionregistration.k8s.io/v1",
                          "kind": "ValidatingAdmissionPolicyBinding",
                          "metadata": {"name": name, "labels": dict(MANAGED_BY)},
                          "spec": {"policyName": name, "validationActions": ["Deny"]}})
    return documents


def _kyverno(checks: Sequence[AdmissionCheck]) -> dict[str, Any]:
    rules = []
    for name, check in zip(_names(checks), checks, strict=True):
        cel: dict[str, Any] = {}
        if check.variables:
            cel["variables"] = [{"name": n, "expression": e} for n, e in check.variables]
        cel["expressions"] = [{"expression": check.expression, "message": check.message}]
        kinds = [r.kind if not r.group else f"{r.group}/{r.version}/{r.kind}" for r in check.resources]
        rules.append({"name": name.removeprefix("gates-"), "match": {"any": [{"resources": {"kinds": kinds}}]},
                      "validate": {"cel": cel}})
    return {
        "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
        "metadata": {"name": "gates-manifests", "labels": dict(MANAGED_BY), "annotations": {
            "policies.kyverno.io/title": "The manifest policy gates enforces in CI",
            "pod-policies.kyverno.io/autogen-controllers": "none",  # every controller kind is matched itself
        }},
        "spec": {"validationFailureAction": "Enforce", "background": True, "rules": rules},
    }
