"""Gateway API TLS: listeners that serve plain HTTP, and TLS listeners that have no certificate.

A listener with `protocol: HTTP` is judged against the HTTPRoutes (and GRPCRoutes) of the scan that attach
to it, once every document is read: it passes when routes attach and every one of them redirects to https,
so nothing is served in clear text. A listener's own check (certificates) needs only its object.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Sequence

from gates.checks.manifests.pss import Violation
from gates.checks.manifests.workloads import Path, Workload, get, typed
from gates.record import record
from gates.typecheck import TYPE_CHECKING
from gates.wording import counted

if TYPE_CHECKING:
    from typing import Any

GROUP = "gateway.networking.k8s.io"
EXPERIMENTAL_GROUP = "gateway.networking.x-k8s.io"
LISTENER_KINDS = {"Gateway": GROUP, "ListenerSet": GROUP, "XListenerSet": EXPERIMENTAL_GROUP}
ROUTE_KINDS = frozenset({"HTTPRoute", "GRPCRoute"})
"""Routes that carry HTTP (gRPC runs over HTTP/2): what a plain-HTTP listener serves."""
INERT_KINDS = frozenset({"GatewayClass", "ReferenceGrant", "TLSRoute", "TCPRoute", "UDPRoute", "BackendTLSPolicy",
                         "BackendLBPolicy", "XBackendTrafficPolicy", "XMesh"})
"""Kinds of the group that hold nothing the TLS rules judge (TLS, TCP and UDP routes carry no HTTP)."""
KINDS = frozenset(LISTENER_KINDS) | ROUTE_KINDS


@record
class Listener:
    """A `protocol: HTTP` listener, as routes attach to it."""

    parent: str
    """`Kind/namespace/name` of the Gateway or ListenerSet that holds it."""
    kind: str
    namespace: str | None
    name: str
    """The Gateway's or ListenerSet's name."""
    section: str
    port: int | None
    hostname: str | None


@record
class ParentRef:
    kind: str
    namespace: str | None
    name: str
    section: str | None
    port: int | None


@record
class Route:
    """An HTTPRoute or GRPCRoute: where it attaches, for which hostnames, and whether it only redirects to https."""

    resource: str
    parents: tuple[ParentRef, ...]
    hostnames: tuple[str, ...]
    redirects_to_https: bool


def _group(api_version: str) -> str:
    return api_version.partition("/")[0]


def in_family(api_version: str) -> bool:
    return _group(api_version) in (GROUP, EXPERIMENTAL_GROUP)


def unread(kind: str, api_version: str) -> str | None:
    """Why an object of the Gateway API groups is not judged (a kind gates does not know there), or an object of
    another group that has a Gateway API kind's name (Istio's Gateway): not read, said."""
    if not in_family(api_version):
        if kind in KINDS:
            return f"{api_version} {kind} is not a Gateway API object ({GROUP}): not read"
        return None
    if kind in INERT_KINDS:
        return None
    if LISTENER_KINDS.get(kind) == _group(api_version) or (kind in ROUTE_KINDS and _group(api_version) == GROUP):
        return None
    return (f"{api_version} {kind} is not a Gateway API kind gates judges (Gateway, ListenerSet, HTTPRoute,"
            " GRPCRoute): not read")


def _listeners(obj: Workload) -> Iterator[tuple[dict[str, Any], Path]]:
    spec = get(obj.object, "spec", dict, obj.base) or {}
    spec_path = (*obj.base, "spec")
    for index, entry in enumerate(get(spec, "listeners", list, spec_path) or ()):
        path = (*spec_path, "listeners", index)
        yield typed(entry, dict, path) or {}, path


def is_listener_holder(obj: Workload) -> bool:
    return LISTENER_KINDS.get(obj.kind) == _group(obj.api_version) and bool(obj.api_version)


def listener_checks(obj: Workload) -> Iterator[Violation]:
    """Each HTTP listener (provisional: routes may redirect it, settled at the end), each TLS one lacking a cert."""
    if not is_listener_holder(obj):
        return
    for listener, path in _listeners(obj):
        name = get(listener, "name", str, path) or "(unnamed)"
        protocol = get(listener, "protocol", str, path) or ""
        tls = get(listener, "tls", dict, path) or {}
        tls_path = (*path, "tls")
        mode = get(tls, "mode", str, tls_path) or "Terminate"
        refs = get(tls, "certificateRefs", list, tls_path) or []
        if protocol == "HTTP":
            yield Violation("k8s-gateway-plain-http", f"{obj.kind} {obj.name} listener {name} serves plain HTTP",
                            (*path, "protocol"))
        elif protocol in ("HTTPS", "TLS") and mode == "Terminate" and not refs:
            yield Violation("k8s-gateway-tls-certificate", f"{obj.kind} {obj.name} listener {name} terminates TLS"
                            f" ({protocol}) but names no tls.certificateRefs: it has no certificate to serve",
                            tls_path if "tls" in listener else (*path, "protocol"))


def http_listeners(obj: Workload) -> tuple[Listener, ...]:
    """The HTTP listeners of a Gateway or ListenerSet, in document order (as `listener_checks` reports them)."""
    if not is_listener_holder(obj):
        return ()
    found = []
    for listener, path in _listeners(obj):
        if get(listener, "protocol", str, path) == "HTTP":
            found.append(Listener(parent=obj.resource, kind=obj.kind, namespace=obj.namespace, name=obj.name,
                                  section=get(listener, "name", str, path) or "",
                                  port=get(listener, "port", int, path), hostname=get(listener, "hostname", str, path)))
    return tuple(found)


def route_of(obj: Workload) -> Route | None:
    """An HTTPRoute's or GRPCRoute's attachments; None for any other object."""
    if obj.kind not in ROUTE_KINDS or _group(obj.api_version) != GROUP:
        return None
    spec = get(obj.object, "spec", dict, obj.base) or {}
    spec_path = (*obj.base, "spec")
    parents = []
    for index, entry in enumerate(get(spec, "parentRefs", list, spec_path) or ()):
        path = (*spec_path, "parentRefs", index)
        ref = typed(entry, dict, path) or {}
        parents.append(ParentRef(kind=get(ref, "kind", str, path) or "Gateway",
                                 namespace=get(ref, "namespace", str, path) or obj.namespace,
                                 name=get(ref, "name", str, path) or "", section=get(ref, "sectionName", str, path),
                                 port=get(ref, "port", int, path)))
    hostnames = tuple(typed(v, str, (*spec_path, "hostnames", i)) or "" for i, v in
                      enumerate(get(spec, "hostnames", list, spec_path) or ()))
    rules = [typed(r, dict, (*spec_path, "rules", i)) or {}
             for i, r in enumerate(get(spec, "rules", list, spec_path) or ())]
    redirects = obj.kind == "HTTPRoute" and bool(rules) and all(
        _redirects_to_https(rule, (*spec_path, "rules", i)) for i, rule in enumerate(rules))
    return Route(resource=obj.resource, parents=tuple(parents), hostnames=hostnames, redirects_to_https=redirects)


def _redirects_to_https(rule: dict[str, Any], path: Path) -> bool:
    for index, entry in enumerate(get(rule, "filters", list, path) or ()):
        at = (*path, "filters", index)
        filt = typed(entry, dict, at) or {}
        if get(filt, "type", str, at) == "RequestRedirect":
            redirect = get(filt, "requestRedirect", dict, at) or {}
            if get(redirect, "scheme", str, (*at, "requestRedirect")) == "https":
                return True
    return False


def _attaches(route: Route, listener: Listener) -> bool:
    for ref in route.parents:
        if (ref.kind == listener.kind and ref.name == listener.name and ref.namespace == listener.namespace
                and ref.section in (None, listener.section) and ref.port in (None, listener.port)):
            return _overlap(listener.hostname, route.hostnames)
    return False


def _overlap(listener: str | None, hostnames: Sequence[str]) -> bool:
    """A route attaches only where its hostnames meet the listener's (no hostname on either side: every one)."""
    if listener is None or not hostnames:
        return True
    return any(fnmatch.fnmatchcase(h, listener) or fnmatch.fnmatchcase(listener, h) or h == listener for h in hostnames)


def judge_listener(listener: Listener, routes: Sequence[Route]) -> tuple[str | None, str | None]:
    """(the finding's message, or None when every attached route redirects to https; a note for the result)."""
    attached = [r for r in routes if _attaches(r, listener)]
    plain = list(dict.fromkeys(r.resource for r in attached if not r.redirects_to_https))  # one name per resource
    where = f"{listener.kind} {listener.name} listener {listener.section}"
    if plain:
        shown = ", ".join(plain[:3]) + (", ..." if len(plain) > 3 else "")
        return (f"{where} serves {counted(len(plain), 'route')} in plain HTTP ({shown}): credentials and session"
                " data cross the network in clear text; redirect it to https (a RequestRedirect filter with"
                " scheme: https) and serve the routes from an HTTPS listener"), None
    if not attached:
        return (f"{where} serves plain HTTP and no HTTPRoute in this scan redirects it to https (a"
                " RequestRedirect filter with scheme: https)"), None
    hosts = sorted({h for r in attached for h in r.hostnames})
    covered = "every hostname" if any(not r.hostnames for r in attached) else ", ".join(hosts)
    by = ", ".join(dict.fromkeys(r.resource for r in attached))
    return None, f"{where}: plain HTTP only redirects to https ({covered}), by {by}"
