"""Cilium's `cilium.io/v2` CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy, read for coverage.

Cilium puts a pod in default deny for a direction as soon as a rule that selects it has a section for
that direction (`ingress`, `ingressDeny`, `egress`, `egressDeny`), unless `enableDefaultDeny` turns that
off. Selector keys carry a source prefix (`k8s:`, `any:`); the namespace is the label
`io.kubernetes.pod.namespace`. Keys gates cannot know from manifests (service accounts, namespace labels
other than the name, reserved identities) make the policy not judged.
"""

from __future__ import annotations

from gates.checks.manifests.policy_model import (
    ALLOW_ALL,
    DENY,
    DIRECTIONS,
    EGRESS,
    NOTHING,
    RESTRICTED,
    UNJUDGED,
    Part,
    Policy,
    Selector,
    label_selector,
)
from gates.checks.manifests.workloads import Path, Workload, get, typed
from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

GROUP = "cilium.io"
POLICY_KINDS = frozenset({"CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"})
_SOURCES = ("k8s:", "any:")
_KNOWN_KEYS = ("io.kubernetes.pod.namespace", "io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name")
_PEERS = {"ingress": ("fromEndpoints", "fromEntities", "fromCIDR", "fromCIDRSet", "fromGroups", "fromNodes",
                      "fromRequires", "toPorts", "icmps"),
          "egress": ("toEndpoints", "toEntities", "toCIDR", "toCIDRSet", "toFQDNs", "toServices", "toGroups",
                     "toNodes", "toRequires", "toPorts", "icmps")}
_EVERYWHERE = frozenset({"0.0.0.0/0", "::/0"})


class _Unjudged(Exception):
    pass


def is_cilium(api_version: str) -> bool:
    return api_version.partition("/")[0] == GROUP


def read_policy(obj: Workload) -> Policy:
    """The policy's parts (its `spec`, and each of `specs`), or a policy marked not judged, with why."""
    resource = f"{obj.api_version} {obj.resource}"
    cluster_wide = obj.kind == "CiliumClusterwideNetworkPolicy"
    namespace = None if cluster_wide else obj.namespace
    if obj.api_version != f"{GROUP}/v2":
        return Policy(resource, namespace, cluster_wide, (), "cilium", f"{obj.api_version} is not the version"
                      f" gates reads ({GROUP}/v2)")
    specs: list[tuple[dict[str, Any], Path]] = []
    spec = get(obj.object, "spec", dict, obj.base)
    if spec is not None:
        specs.append((spec, (*obj.base, "spec")))
    for index, entry in enumerate(get(obj.object, "specs", list, obj.base) or ()):
        path = (*obj.base, "specs", index)
        specs.append((typed(entry, dict, path) or {}, path))
    try:
        parts = tuple(_part(raw, path) for raw, path in specs)
    except _Unjudged as exc:
        return Policy(resource, namespace, cluster_wide, (), "cilium", str(exc))
    return Policy(resource, namespace, cluster_wide, parts, "cilium")


def _part(spec: dict[str, Any], path: Path) -> Part:
    if get(spec, "nodeSelector", dict, path) is not None:
        return Part(NOTHING, ())  # a host policy: it selects nodes, never a pod
    raw = get(spec, "endpointSelector", dict, path)
    if raw is None:
        raise _Unjudged("a rule has neither endpointSelector nor nodeSelector")
    selector = _endpoint_selector(label_selector(raw, (*path, "endpointSelector")))
    defaults = get(spec, "enableDefaultDeny", dict, path) or {}
    stances = []
    for direction in DIRECTIONS:
        if direction not in spec and f"{direction}Deny" not in spec:
            continue
        if get(defaults, direction, bool, (*path, "enableDefaultDeny")) is False:
            continue  # its rules only add to what other policies allow
        stances.append((direction, _stance(spec, direction, path)))
    return Part(selector, tuple(stances))


def _endpoint_selector(selector: Selector) -> Selector:
    """The selector with source prefixes dropped; a key gates cannot know is not judged."""
    def key_of(key: str) -> str:
        for prefix in _SOURCES:
            if key.startswith(prefix):
                key = key[len(prefix):]
                break
        if ":" in key.partition("/")[0] or (key.startswith("io.cilium.") and key not in _KNOWN_KEYS):
            raise _Unjudged(f"its endpointSelector reads {key!r}, which the manifests do not give a pod")
        return key

    return Selector({key_of(k): v for k, v in selector.labels.items()},
                    tuple((key_of(k), op, values) for k, op, values in selector.expressions))


def _stance(spec: dict[str, Any], direction: str, path: Path) -> str:
    denied = [_rule(e, (*path, f"{direction}Deny", i), direction) for i, e in
              enumerate(get(spec, f"{direction}Deny", list, path) or ())]
    if ALLOW_ALL in denied:
        return DENY  # a deny of everything wins over every allow
    allowed = [_rule(e, (*path, direction, i), direction) for i, e in enumerate(get(spec, direction, list, path) or ())]
    for stance in (ALLOW_ALL, UNJUDGED, RESTRICTED):
        if stance in allowed:
            return stance
    return DENY


def _rule(entry: Any, path: Path, direction: str) -> str:
    """What one rule lets through: everything, something, nothing (requirements only), or not judged (empty)."""
    rule = typed(entry, dict, path) or {}
    present = [key for key in _PEERS[direction] if rule.get(key)]
    if not present:
        return UNJUDGED  # an empty rule: read as allow-all by some Cilium versions, as nothing by others
    if set(present) <= {"fromRequires", "toRequires"}:
        return DENY  # a requirement narrows other rules, it allows nothing itself
    if "toPorts" in present or "icmps" in present:
        return RESTRICTED
    entities = set(_strings(rule, "fromEntities" if direction != EGRESS else "toEntities", path))
    cidrs = set(_strings(rule, "fromCIDR" if direction != EGRESS else "toCIDR", path))
    for index, item in enumerate(get(rule, "fromCIDRSet" if direction != EGRESS else "toCIDRSet", list, path) or ()):
        cidr_set = typed(item, dict, (*path, "cidrSet", index)) or {}
        if not cidr_set.get("except"):
            cidrs.add(str(cidr_set.get("cidr", "")))
    if entities & {"all", "world"} or cidrs & _EVERYWHERE:  # world: every address outside the cluster
        return ALLOW_ALL
    return RESTRICTED


def _strings(rule: dict[str, Any], key: str, path: Path) -> list[str]:
    return [typed(v, str, (*path, key, i)) or "" for i, v in enumerate(get(rule, key, list, path) or ())]
