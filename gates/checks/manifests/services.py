"""Services that reach past the cluster network: `externalIPs` and node or load-balancer exposure."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from gates.checks.manifests.pss import Violation
from gates.checks.manifests.workloads import Workload, get, typed


def is_service(obj: Workload) -> bool:
    return obj.kind == "Service" and obj.api_version == "v1"


def external_ips(obj: Workload) -> Iterator[Violation]:
    """CVE-2020-8554: whoever may set `externalIPs` can take over traffic the cluster sends to those addresses."""
    if not is_service(obj):
        return
    spec = get(obj.object, "spec", dict, obj.base) or {}
    spec_path = (*obj.base, "spec")
    addresses = [typed(v, str, (*spec_path, "externalIPs", i)) or "" for i, v in
                 enumerate(get(spec, "externalIPs", list, spec_path) or ())]
    if addresses:
        shown = ", ".join(addresses[:3]) + (", ..." if len(addresses) > 3 else "")
        yield Violation("k8s-service-external-ips", f"Service {obj.name} sets externalIPs ({shown}): traffic from"
                        " every pod and node to those addresses is sent to its endpoints (CVE-2020-8554)",
                        (*spec_path, "externalIPs"))


def exposure(types: Sequence[str]) -> Callable[[Workload], Iterator[Violation]]:
    """Services of the `types` (`exposed-service-types`) open a port on every node or on a load balancer."""
    chosen = frozenset(types)

    def check(obj: Workload) -> Iterator[Violation]:
        if not chosen or not is_service(obj):
            return
        spec = get(obj.object, "spec", dict, obj.base) or {}
        spec_path = (*obj.base, "spec")
        kind = get(spec, "type", str, spec_path) or "ClusterIP"
        if kind in chosen:
            where = "on a port of every node" if kind == "NodePort" else "through an external load balancer"
            yield Violation("k8s-service-exposed", f"Service {obj.name} is of type {kind}: reachable {where},"
                            " from outside the cluster network", (*spec_path, "type"))
    return check
