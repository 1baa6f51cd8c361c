"""Network isolation: every pod should be selected by a NetworkPolicy of its namespace.

This needs the whole scanned set at once (policies and workloads live in different files), so the
gate collects both while scanning and judges coverage at the end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gates.checks.manifests.workloads import Path, Workload, get, typed
from gates.errors import InputError
from gates.record import record
from gates.targets.yaml_docs import render_path


@record
class Selector:
    """A label selector (matchLabels and matchExpressions), as NetworkPolicy.spec.podSelector holds."""

    labels: Mapping[str, str]
    expressions: tuple[tuple[str, str, tuple[str, ...]], ...]

    def selects(self, pod_labels: Mapping[str, str]) -> bool:
        if any(pod_labels.get(k) != v for k, v in self.labels.items()):
            return False
        for key, operator, values in self.expressions:
            present = key in pod_labels
            if operator == "In" and not (present and pod_labels[key] in values):
                return False
            if operator == "NotIn" and present and pod_labels[key] in values:
                return False
            if operator == "Exists" and not present:
                return False
            if operator == "DoesNotExist" and present:
                return False
        return True


@record
class Policy:
    namespace: str | None
    selector: Selector


KUBERNETES_POLICY = "networking.k8s.io/v1"


def is_network_policy(obj: Workload) -> bool:
    """A Kubernetes NetworkPolicy: only `networking.k8s.io/v1` has the semantics this module reads."""
    return obj.kind == "NetworkPolicy" and obj.api_version == KUBERNETES_POLICY


def is_foreign_policy(kind: str, api_version: str) -> bool:
    """A network policy of another API group (Calico, Cilium, admin policies): never read as coverage.

    Calico's `projectcalico.org/v3` NetworkPolicy selects with `spec.selector`, so reading it as
    Kubernetes' would see an empty podSelector: every pod of the namespace.
    """
    return kind.endswith("NetworkPolicy") and not (kind == "NetworkPolicy" and api_version == KUBERNETES_POLICY)


def policy_of(obj: Workload) -> Policy | None:
    """The scope of a Kubernetes NetworkPolicy object, or None for any other object."""
    if not is_network_policy(obj):
        return None
    spec = get(obj.object, "spec", dict, obj.base) or {}
    spec_path = (*obj.base, "spec")
    selector = get(spec, "podSelector", dict, spec_path) or {}
    return Policy(obj.namespace, _selector(selector, (*spec_path, "podSelector")))


def _selector(raw: dict[str, Any], path: Path) -> Selector:
    labels = {k: typed(v, str, (*path, "matchLabels", k)) or "" for k, v in
              (get(raw, "matchLabels", dict, path) or {}).items()}
    expressions = []
    for index, entry in enumerate(get(raw, "matchExpressions", list, path) or ()):
        entry_path = (*path, "matchExpressions", index)
        expr = typed(entry, dict, entry_path) or {}
        values = tuple(typed(v, str, (*entry_path, "values", i)) or "" for i, v in
                       enumerate(get(expr, "values", list, entry_path) or ()))
        operator = get(expr, "operator", str, entry_path) or ""
        _check_expression(operator, values, entry_path)
        expressions.append((get(expr, "key", str, entry_path) or "", operator, values))
    return Selector(labels, tuple(expressions))


_OPERATORS_WITH_VALUES = frozenset({"In", "NotIn"})
_OPERATORS_WITHOUT_VALUES = frozenset({"Exists", "DoesNotExist"})


def _check_expression(operator: str, values: tuple[str, ...], path: Path) -> None:
    """The API server rejects a selector it cannot evaluate; such a policy must not count as coverage."""
    where = render_path((*path, "operator"))
    if operator in _OPERATORS_WITH_VALUES and not values:
        raise InputError(f"{where}: {operator} needs at least one value")
    if operator in _OPERATORS_WITHOUT_VALUES and values:
        raise InputError(f"{where}: {operator} takes no values")
    if operator not in _OPERATORS_WITH_VALUES | _OPERATORS_WITHOUT_VALUES:
        raise InputError(f"{where}: unknown selector operator {operator!r} (In, NotIn, Exists, DoesNotExist)")


def pod_labels(obj: Workload) -> tuple[dict[str, str], ...]:
    """The labels the pods of a workload will carry, per pod template (its templates', or a Pod's own)."""
    assert obj.carries_pod, "only objects that carry a pod template have pod labels"
    found: list[dict[str, str]] = []
    for _, meta_rel in obj.pod_paths:
        current: Any = obj.object if meta_rel is not None else None
        for step in meta_rel or ():
            current = current.get(step) if isinstance(current, dict) else None
        labels = current.get("labels") if isinstance(current, dict) else None
        found.append({str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {})
    return tuple(found)


def covered(namespace: str | None, labels: Mapping[str, str], policies: Sequence[Policy]) -> bool:
    return any(p.namespace == namespace and p.selector.selects(labels) for p in policies)
