"""Who may reach what: RBAC, Services, Gateway API listeners and ingress-nginx annotations.

The object checks of these families, the kinds they judge, and the objects of their API groups that gates
does not read (said as skipped, never passed quietly). Network policies are read in `network_policy`, whose
unread kinds are said whether or not these checks run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from gates.checks.manifests import calico, cilium, gateway, rbac
from gates.checks.manifests.ingress import nginx_snippets
from gates.checks.manifests.pss import Violation
from gates.checks.manifests.services import exposure, external_ips
from gates.checks.manifests.workloads import Workload

ObjectCheck = Callable[[Workload], Iterator[Violation]]

OBJECT_KINDS = rbac.KINDS | gateway.KINDS | {"Service", "Ingress"}
"""Kinds without a pod template that these checks judge (each gets a result)."""
FAMILY_GROUPS = frozenset({rbac.GROUP, gateway.GROUP, gateway.EXPERIMENTAL_GROUP, calico.GROUP, cilium.GROUP})
FAMILY_KINDS = rbac.KINDS | gateway.KINDS
"""What an object must have (its API group, or an RBAC or Gateway API kind in any group) for `unread` to have a say."""


def object_checks(exposed_service_types: Sequence[str]) -> dict[str, ObjectCheck]:
    return {
        "k8s-rbac": rbac.role_rules,
        "k8s-rbac-bindings": rbac.bindings,
        "k8s-service-external-ips": external_ips,
        "k8s-service-exposed": exposure(exposed_service_types),
        "k8s-gateway-listeners": gateway.listener_checks,
        "k8s-ingress-nginx-snippet": nginx_snippets,
    }


def judged(kind: str, api_version: str) -> bool:
    """Objects these checks read: by kind and API group, so another group's `Service` or `Gateway` never passes
    unread (those are said by `unread`, or are no concern of these checks)."""
    if kind in rbac.KINDS:
        return rbac.is_rbac(api_version)
    if kind in gateway.KINDS:
        return gateway.unread(kind, api_version) is None and gateway.in_family(api_version)
    return (kind == "Service" and api_version == "v1") or kind == "Ingress"


def unread(kind: str, api_version: str) -> str | None:
    """Why an object of these families is set aside unjudged, or None when gates reads it (or it is not theirs)."""
    return rbac.unread(kind, api_version) or gateway.unread(kind, api_version)


def details(obj: Workload) -> tuple[str, ...]:
    """What a reader of the object's verdict must know that no finding says (aggregated ClusterRoles)."""
    return rbac.aggregation(obj)
