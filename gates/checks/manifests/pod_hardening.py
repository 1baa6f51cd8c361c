"""Pod hardening every peer scanner has, beyond the Pod Security Standards: a read-only root filesystem,
no service account token unless needed, resource limits, no container-runtime socket, no root group,
and no workload in the `default` namespace.

Some are on by default, others only when `enable-rules` names them (`OPT_IN`): a read-only root, limits and
an unmounted token each need the workload's own cooperation, so switching them on is the user's decision.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator

from gates.checks.manifests.pss import Violation
from gates.checks.manifests.workloads import Pod, Workload, get, typed
from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

RUNTIME_SOCKETS = (
    "/var/run/docker.sock", "/run/docker.sock",
    "/var/run/cri-dockerd.sock", "/run/cri-dockerd.sock",
    "/var/run/containerd/containerd.sock", "/run/containerd/containerd.sock",
    "/var/run/docker/containerd/containerd.sock", "/run/docker/containerd/containerd.sock",
    "/run/k3s/containerd/containerd.sock", "/var/run/k3s/containerd/containerd.sock",
    "/var/run/crio/crio.sock", "/run/crio/crio.sock",
    "/var/run/podman/podman.sock", "/run/podman/podman.sock",
)
"""Sockets of the container runtimes (Docker, cri-dockerd, containerd, k3s's containerd, CRI-O, Podman):
whoever holds one starts privileged containers on the node. Their parent folders expose them as well."""



def exposes_runtime_socket(host_path: str) -> str | None:
    """The runtime socket a hostPath `host_path` gives access to (the socket itself or a folder above it)."""
    if not host_path.startswith("/"):
        return None
    normal = posixpath.normpath(host_path)
    normal = "/" + normal.lstrip("/")  # normpath keeps a leading `//`
    for socket in RUNTIME_SOCKETS:
        if normal == socket or socket.startswith(normal.rstrip("/") + "/"):
            return socket
    return None


def runtime_socket(pod: Pod) -> Iterator[Violation]:
    for index, entry in enumerate(get(pod.spec, "volumes", list, pod.spec_path) or ()):
        path = (*pod.spec_path, "volumes", index)
        volume = typed(entry, dict, path) or {}
        host = get(volume, "hostPath", dict, path)
        if host is None:
            continue
        where = (*path, "hostPath", "path")
        host_path = get(host, "path", str, (*path, "hostPath")) or ""
        socket = exposes_runtime_socket(host_path)
        if socket is not None:
            name = get(volume, "name", str, path) or f"volumes[{index}]"
            reach = "is" if posixpath.normpath(host_path) == socket else "holds"
            yield Violation("k8s-runtime-socket", f'volume "{name}" mounts the node\'s {host_path}, which {reach}'
                            f" the container runtime's socket {socket}: control of every container on the node",
                            where)


def _sets(spec: dict[str, Any], key: str) -> bool:
    """Whether `spec`'s securityContext may set `key` (a securityContext of the wrong type is read, typed)."""
    context = spec.get("securityContext")
    return not isinstance(context, dict) or key in context


def run_as_group_root(pod: Pod) -> Iterator[Violation]:
    # the key is looked for before the typed read: most pods never set it, and this runs on every pod
    if _sets(pod.spec, "runAsGroup") and get(pod.security_context, "runAsGroup", int, pod.security_context_path) == 0:
        yield Violation("k8s-run-as-group-root", "pod sets runAsGroup=0 (the root group)",
                        (*pod.security_context_path, "runAsGroup"))
    for container in pod.containers:
        if not _sets(container.spec, "runAsGroup"):
            continue
        sc, sc_path = container.security_context, container.security_context_path
        if get(sc, "runAsGroup", int, sc_path) == 0:
            yield Violation("k8s-run-as-group-root", f"{container.described} sets runAsGroup=0 (the root group)",
                            (*sc_path, "runAsGroup"), container.name)


def read_only_root(pod: Pod) -> Iterator[Violation]:
    for container in pod.containers:
        sc, sc_path = container.security_context, container.security_context_path
        if get(sc, "readOnlyRootFilesystem", bool, sc_path) is not True:
            where = (*sc_path, "readOnlyRootFilesystem") if "readOnlyRootFilesystem" in sc else \
                sc_path if "securityContext" in container.spec else container.path
            yield Violation("k8s-read-only-root", f"{container.described} can write to its root filesystem"
                            " (securityContext.readOnlyRootFilesystem is not true)", where, container.name)


def token_automount(pod: Pod) -> Iterator[Violation]:
    value = get(pod.spec, "automountServiceAccountToken", bool, pod.spec_path)
    if value is not False:
        said = "true" if value else "unset"
        where = (*pod.spec_path, "automountServiceAccountToken") if value else pod.spec_path
        yield Violation("k8s-service-account-token", f"the pod mounts a service account token"
                        f" (automountServiceAccountToken is {said})", where)


def resource_limits(pod: Pod) -> Iterator[Violation]:
    for container in pod.containers:
        if container.kind == "ephemeralContainers":
            continue  # the API forbids resources on ephemeral containers
        resources = get(container.spec, "resources", dict, container.path) or {}
        resources_path = (*container.path, "resources")
        limits = get(resources, "limits", dict, resources_path) or {}
        missing = [name for name in ("cpu", "memory") if limits.get(name) in (None, "")]
        if missing:
            where = (*resources_path, "limits") if "limits" in resources else \
                resources_path if "resources" in container.spec else container.path
            yield Violation("k8s-resource-limits", f"{container.described} sets no {' or '.join(missing)} limit",
                            where, container.name)


def default_namespace(obj: Workload) -> Iterator[Violation]:
    """Only an explicit `default`: a workload with no namespace lands where it is applied (kustomize's or
    Helm's namespace, `kubectl -n`), which the manifest does not say."""
    if obj.namespace == "default":
        yield Violation("k8s-default-namespace", f"{obj.kind} {obj.name} is deployed in the default namespace",
                        (*obj.base, "metadata", "namespace"))


POD_CHECKS: dict[str, Callable[[Pod], Iterator[Violation]]] = {
    "k8s-runtime-socket": runtime_socket,
    "k8s-run-as-group-root": run_as_group_root,
}
"""On whenever hardening is."""

CARRIER_CHECKS: dict[str, Callable[[Workload], Iterator[Violation]]] = {
    "k8s-default-namespace": default_namespace,
}
"""Checks of the object that carries pods (its metadata), on whenever hardening is."""

OPT_IN: dict[str, Callable[[Pod], Iterator[Violation]]] = {
    "k8s-read-only-root": read_only_root,
    "k8s-service-account-token": token_automount,
    "k8s-resource-limits": resource_limits,
}
"""Run only when `enable-rules` names them."""
