"""What a network policy of any API group means for a pod: whether it selects it, and its stance per direction.

Kubernetes, Calico and Cilium policies are all read into this one shape, so coverage is judged once
(`network_policy.coverage`). Everything here is small and picklable: worker processes send it back.
"""

from __future__ import annotations

from collections.abc import Mapping

from gates.checks.manifests.workloads import Path, get, typed
from gates.errors import InputError
from gates.record import record
from gates.targets.yaml_docs import render_path
from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, Protocol
else:  # only type checkers need the protocol: to the interpreter it is a plain class
    Protocol = object

INGRESS = "ingress"
EGRESS = "egress"
DIRECTIONS = (INGRESS, EGRESS)

DENY = "denies all"
RESTRICTED = "restricted"
ALLOW_ALL = "allows all"
UNJUDGED = "not judged"
"""Stances of a policy towards the pods it selects, for one direction."""


class Matcher(Protocol):
    def selects(self, labels: Mapping[str, str]) -> bool: ...


@record
class Selector:
    """A label selector (matchLabels and matchExpressions), as NetworkPolicy.spec.podSelector holds."""

    labels: Mapping[str, str]
    expressions: tuple[tuple[str, str, tuple[str, ...]], ...]

    def selects(self, labels: Mapping[str, str]) -> bool:
        if any(labels.get(k) != v for k, v in self.labels.items()):
            return False
        for key, operator, values in self.expressions:
            present = key in labels
            if operator == "In" and not (present and labels[key] in values):
                return False
            if operator == "NotIn" and present and labels[key] in values:
                return False
            if operator == "Exists" and not present:
                return False
            if operator == "DoesNotExist" and present:
                return False
        return True

    def label_keys(self) -> frozenset[str]:
        return frozenset(self.labels) | {key for key, _, _ in self.expressions}


class _Nothing:
    """Selects no pod (a Cilium host policy selects nodes; Calico's doNotTrack policies, host endpoints)."""

    def selects(self, labels: Mapping[str, str]) -> bool:
        return False


NOTHING = _Nothing()


@record
class Part:
    """One selector of a policy and its stance per direction (a Cilium `specs` list has several)."""

    selector: Matcher
    stances: tuple[tuple[str, str], ...]
    """(direction, stance) for each direction the part isolates."""
    namespace_selector: Matcher | None = None
    """Calico's namespaceSelector of a GlobalNetworkPolicy, over the namespace's implicit labels."""


@record
class Policy:
    """A network policy as coverage reads it."""

    resource: str
    """How findings name it (`NetworkPolicy/shop/deny`, or with its apiVersion for other groups)."""
    namespace: str | None
    cluster_wide: bool
    parts: tuple[Part, ...]
    implicit: str = ""
    """Labels the network plugin adds to every pod: `calico`, `cilium`, or none."""
    unjudged: str | None = None
    """Why gates cannot judge what it selects or allows: the policy is then said, and never counted."""

    def stances(self, namespace: str | None, labels: Mapping[str, str]) -> dict[str, str]:
        """The stance per direction this policy takes towards a pod of `namespace` with `labels`."""
        if self.unjudged is not None or (not self.cluster_wide and self.namespace != namespace):
            return {}
        full = implicit_labels(labels, namespace, self.implicit)
        found: dict[str, str] = {}
        for part in self.parts:
            if part.namespace_selector is not None and (
                    namespace is None or not part.namespace_selector.selects(namespace_labels(namespace))):
                continue
            if not part.selector.selects(full):
                continue
            for direction, stance in part.stances:
                found[direction] = _stronger(found.get(direction), stance)
        return found


_ORDER = {DENY: 0, RESTRICTED: 1, UNJUDGED: 2, ALLOW_ALL: 3}


def _stronger(old: str | None, new: str) -> str:
    """Parts of one policy add up: the most open stance wins (allows are a union)."""
    return new if old is None or _ORDER[new] > _ORDER[old] else old


def implicit_labels(labels: Mapping[str, str], namespace: str | None, plugin: str) -> Mapping[str, str]:
    if not plugin or namespace is None:
        return labels
    if plugin == "calico":
        return {**labels, "projectcalico.org/namespace": namespace, "projectcalico.org/orchestrator": "k8s"}
    return {**labels, "io.kubernetes.pod.namespace": namespace,
            "io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name": namespace}


def namespace_labels(namespace: str) -> dict[str, str]:
    """The labels every namespace carries whatever its manifest says (the only ones known without the cluster)."""
    return {"kubernetes.io/metadata.name": namespace, "projectcalico.org/name": namespace}


def label_selector(raw: dict[str, Any], path: Path) -> Selector:
    """A Kubernetes label selector, typed strictly; one the API server would reject is an `InputError`."""
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
