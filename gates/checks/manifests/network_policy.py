"""Network isolation: every pod should be in default deny, for ingress and for egress, by a policy that
allows less than everything.

This needs the whole scanned set at once (policies and workloads live in different files), so the
gate collects both while scanning and judges coverage at the end. Kubernetes NetworkPolicies, Calico's
`projectcalico.org/v3` policies and Cilium's `cilium.io/v2` policies are read (`calico`, `cilium`); a
policy whose selector gates cannot judge, or another group's policy, is said and never counted.
"""

from __future__ import annotations

from collections.abc import Sequence

from gates.checks.manifests import calico, cilium
from gates.checks.manifests.policy_model import (
    ALLOW_ALL,
    DENY,
    DIRECTIONS,
    EGRESS,
    INGRESS,
    RESTRICTED,
    UNJUDGED,
    Part,
    Policy,
    Selector,
    label_selector,
)
from gates.checks.manifests.workloads import Path, Workload, get, typed
from gates.errors import InputError
from gates.record import record
from gates.targets.yaml_docs import render_path
from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

__all__ = ["KUBERNETES_POLICY", "Policy", "Selector", "coverage", "is_foreign_policy", "is_network_policy",
           "pod_labels", "policy_of", "unread"]

KUBERNETES_POLICY = "networking.k8s.io/v1"
_EVERYWHERE = frozenset({"0.0.0.0/0", "::/0"})


def is_network_policy(obj: Workload) -> bool:
    """A policy gates reads: Kubernetes' (`networking.k8s.io/v1`), Calico's or Cilium's policy kinds."""
    if not obj.kind.endswith("NetworkPolicy"):
        return False  # every kind read here ends so: the common case costs one test
    if obj.kind == "NetworkPolicy" and obj.api_version == KUBERNETES_POLICY:
        return True
    return ((calico.is_calico(obj.api_version) and obj.kind in calico.POLICY_KINDS)
            or (cilium.is_cilium(obj.api_version) and obj.kind in cilium.POLICY_KINDS))


def is_foreign_policy(kind: str, api_version: str) -> bool:
    """A network policy of a group gates does not read (admin policies, Antrea...): never counted as coverage."""
    if not kind.endswith("NetworkPolicy") or (kind == "NetworkPolicy" and api_version == KUBERNETES_POLICY):
        return False
    return not ((calico.is_calico(api_version) and kind in calico.POLICY_KINDS)
                or (cilium.is_cilium(api_version) and kind in cilium.POLICY_KINDS))


def unread(kind: str, api_version: str) -> str | None:
    """Why an object of Calico's or Cilium's groups is not judged: a kind that is not a policy gates reads."""
    if calico.is_calico(api_version) and kind not in calico.POLICY_KINDS:
        return (f"{api_version} {kind} is not a Calico policy gates reads (NetworkPolicy, GlobalNetworkPolicy):"
                " not judged")
    if cilium.is_cilium(api_version) and kind not in cilium.POLICY_KINDS:
        return (f"{api_version} {kind} is not a Cilium policy gates reads (CiliumNetworkPolicy,"
                " CiliumClusterwideNetworkPolicy): not judged")
    return None


def policy_of(obj: Workload) -> Policy | None:
    """What a network policy object selects and allows, or None for any other object."""
    if not is_network_policy(obj):
        return None
    if calico.is_calico(obj.api_version):
        return calico.read_policy(obj)
    if cilium.is_cilium(obj.api_version):
        return cilium.read_policy(obj)
    spec = get(obj.object, "spec", dict, obj.base) or {}
    spec_path = (*obj.base, "spec")
    selector = label_selector(get(spec, "podSelector", dict, spec_path) or {}, (*spec_path, "podSelector"))
    stances = tuple((d, _stance(spec, d, spec_path)) for d in _policy_types(spec, spec_path))
    return Policy(obj.resource, obj.namespace, False, (Part(selector, stances),))


def _policy_types(spec: dict[str, Any], path: Path) -> tuple[str, ...]:
    """`spec.policyTypes`, or the API server's default: Ingress, and Egress when egress rules are given."""
    listed = get(spec, "policyTypes", list, path)
    if not listed:
        return (INGRESS, EGRESS) if get(spec, "egress", list, path) else (INGRESS,)
    found = []
    for index, value in enumerate(listed):
        name = typed(value, str, (*path, "policyTypes", index))
        if name not in ("Ingress", "Egress"):
            raise InputError(f"{render_path((*path, 'policyTypes', index))}: {name!r} is not Ingress or Egress")
        found.append(name.lower())
    return tuple(found)


def _stance(spec: dict[str, Any], direction: str, path: Path) -> str:
    """No rules: deny; a rule without ports whose peers are absent or everywhere: allow-all; else restricted."""
    peers_key = "from" if direction == INGRESS else "to"
    rules = get(spec, direction, list, path) or []
    for index, entry in enumerate(rules):
        rule_path = (*path, direction, index)
        rule = typed(entry, dict, rule_path) or {}
        if get(rule, "ports", list, rule_path):
            continue
        peers = [typed(p, dict, (*rule_path, peers_key, i)) or {} for i, p in
                 enumerate(get(rule, peers_key, list, rule_path) or ())]
        if not peers or any(_everywhere(peer) for peer in peers):
            return ALLOW_ALL
    return RESTRICTED if rules else DENY


def _everywhere(peer: dict[str, Any]) -> bool:
    block = peer.get("ipBlock")
    return isinstance(block, dict) and block.get("cidr") in _EVERYWHERE and not block.get("except")


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


@record
class Gap:
    """A direction a pod is not isolated in, and why."""

    direction: str
    opened_by: str | None = None
    """The policy that allows all of that direction (allow-all is not coverage)."""
    unjudged_by: str | None = None
    """The policy whose stance gates could not judge."""

    def said(self) -> str:
        if self.opened_by:
            return f"{self.direction} allowed from anywhere by {self.opened_by} (an allow-all policy is not coverage)" \
                if self.direction == INGRESS else \
                f"{self.direction} allowed to anywhere by {self.opened_by} (an allow-all policy is not coverage)"
        if self.unjudged_by:
            return f"{self.direction} isolation not judged ({self.unjudged_by} has a rule gates cannot judge)"
        return f"{self.direction} not isolated (no policy puts them in default deny for {self.direction})"


def coverage(namespace: str | None, labels: dict[str, str], policies: Sequence[Policy]) -> tuple[Gap, ...]:
    """The directions in which a pod of `namespace` with `labels` is not isolated by the `policies`."""
    stances: dict[str, list[tuple[str, str]]] = {d: [] for d in DIRECTIONS}
    for policy in policies:
        for direction, stance in policy.stances(namespace, labels).items():
            stances[direction].append((stance, policy.resource))
    gaps = []
    for direction in (INGRESS, EGRESS):
        found = stances[direction]
        opened = [name for stance, name in found if stance == ALLOW_ALL]
        unjudged = [name for stance, name in found if stance == UNJUDGED]
        if opened:
            gaps.append(Gap(direction, opened_by=opened[0]))
        elif unjudged:
            gaps.append(Gap(direction, unjudged_by=unjudged[0]))
        elif not found:
            gaps.append(Gap(direction))
    return tuple(gaps)
