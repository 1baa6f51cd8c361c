"""Finding pod templates in Kubernetes documents, with strict types.

Every workload kind that carries a pod template is unwrapped to the same `Pod` view, and `List`
objects are flattened. A field of the wrong type (`privileged: "true"`) is not guessed at: the API
server would reject it, so the gate reports it as undecidable rather than silently passing it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from gates.errors import InputError
from gates.targets.yaml_docs import render_path

Path = tuple[str | int, ...]

POD_SPEC_PATHS: dict[str, tuple[Path, Path]] = {
    "Pod": (("spec",), ("metadata",)),
    "PodTemplate": (("template", "spec"), ("template", "metadata")),
    "Deployment": (("spec", "template", "spec"), ("spec", "template", "metadata")),
    "ReplicaSet": (("spec", "template", "spec"), ("spec", "template", "metadata")),
    "StatefulSet": (("spec", "template", "spec"), ("spec", "template", "metadata")),
    "DaemonSet": (("spec", "template", "spec"), ("spec", "template", "metadata")),
    "Job": (("spec", "template", "spec"), ("spec", "template", "metadata")),
    "ReplicationController": (("spec", "template", "spec"), ("spec", "template", "metadata")),
    "CronJob": (
        ("spec", "jobTemplate", "spec", "template", "spec"),
        ("spec", "jobTemplate", "spec", "template", "metadata"),
    ),
    "DeploymentConfig": (("spec", "template", "spec"), ("spec", "template", "metadata")),  # OpenShift
    "Rollout": (("spec", "template", "spec"), ("spec", "template", "metadata")),  # Argo Rollouts
}
"""Kind -> (path to the pod spec, path to the pod metadata) inside the object."""

POD_SHAPES: tuple[tuple[Path, Path], ...] = (POD_SPEC_PATHS["Deployment"], POD_SPEC_PATHS["CronJob"])
"""Where a kind gates does not know may still carry a pod template (Knative Service, KEDA ScaledJob...):
read by shape when a `containers` list sits there, since a controller will make pods of it."""

PODLESS_KINDS = frozenset({
    "ConfigMap", "Namespace", "ServiceAccount", "PersistentVolume", "PersistentVolumeClaim", "StorageClass",
    "PriorityClass", "LimitRange", "ResourceQuota", "PodDisruptionBudget", "HorizontalPodAutoscaler",
    "Endpoints", "EndpointSlice", "CustomResourceDefinition", "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration", "APIService", "IngressClass", "RuntimeClass", "Lease", "Event",
})
"""Built-in kinds that never carry a pod template, so their documents are not even converted (speed)."""

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")

_TYPE_NAMES: dict[type, str] = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
                                int: "an integer"}


class FieldTypeError(InputError):
    """A field holds the wrong type; carries its path so the gate can point at the line."""

    def __init__(self, path: Path, expected: type, found: Any) -> None:
        self.path = path
        found_name = "null" if found is None else type(found).__name__
        super().__init__(f"{render_path(path)} must be {_TYPE_NAMES[expected]}, found {found_name}")


def typed(value: Any, expected: type, path: Path) -> Any:
    """`value` if it has the expected JSON type (None passes as absent), else `FieldTypeError`."""
    if value is None:
        return None
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if not ok:
        raise FieldTypeError(path, expected, value)
    return value


def get(obj: dict[str, Any], key: str, expected: type, path: Path) -> Any:
    """`obj[key]` checked against `expected`; None when absent or null."""
    return typed(obj.get(key), expected, (*path, key))


@dataclass(frozen=True)
class Container:
    """One container of a pod, with where it sits."""

    name: str
    spec: dict[str, Any]
    path: Path
    kind: str
    """`containers`, `initContainers` or `ephemeralContainers`."""


@dataclass(frozen=True)
class Pod:
    """The pod-level view every check reads, whatever workload kind carried it."""

    spec: dict[str, Any]
    spec_path: Path
    annotations: dict[str, str]
    """The pod's own annotations (for Pod Security checks that read them, e.g. AppArmor)."""
    annotation_paths: dict[str, Path]
    containers: tuple[Container, ...]

    @property
    def security_context(self) -> dict[str, Any]:
        sc = get(self.spec, "securityContext", dict, self.spec_path)
        return sc if sc is not None else {}

    @property
    def security_context_path(self) -> Path:
        return (*self.spec_path, "securityContext")

    @property
    def is_windows(self) -> bool:
        os_spec = get(self.spec, "os", dict, self.spec_path)
        return os_spec is not None and get(os_spec, "name", str, (*self.spec_path, "os")) == "windows"

    @property
    def in_user_namespace(self) -> bool:
        """`hostUsers: false`: the pod has its own user namespace, which relaxes some controls."""
        return get(self.spec, "hostUsers", bool, self.spec_path) is False


@dataclass(frozen=True)
class Workload:
    """A Kubernetes object of a document (or List item); `carries_pod` says if it has a pod template."""

    kind: str
    api_version: str
    namespace: str | None
    name: str
    base: Path
    """Path of the object inside its document: () or ('items', i) for List items."""
    object: dict[str, Any]
    annotations: dict[str, str]
    """The object's own annotations merged with its pod template's (where waivers may live)."""
    annotation_paths: dict[str, Path]
    pod_paths: tuple[Path, Path] | None = None
    """Where its pod spec and pod metadata sit, when it carries a pod template."""
    by_shape: bool = False
    """A kind gates does not know, whose pod template was found by its shape."""

    @property
    def carries_pod(self) -> bool:
        return self.pod_paths is not None

    @property
    def resource(self) -> str:
        if self.namespace:
            return f"{self.kind}/{self.namespace}/{self.name}"
        return f"{self.kind}/{self.name}"

    def workload_ref(self) -> str | None:
        """The resource an Argo Rollout takes its pod template from (`spec.workloadRef`), if it has no own."""
        if self.kind != "Rollout":
            return None
        spec = get(self.object, "spec", dict, self.base) or {}
        spec_path = (*self.base, "spec")
        ref = get(spec, "workloadRef", dict, spec_path)
        if ref is None or spec.get("template") is not None:
            return None
        ref_path = (*spec_path, "workloadRef")
        name = get(ref, "name", str, ref_path)
        if not name:
            raise FieldTypeError((*ref_path, "name"), str, None)
        kind = get(ref, "kind", str, ref_path) or "Deployment"
        return f"{kind}/{self.namespace}/{name}" if self.namespace else f"{kind}/{name}"

    def pod(self) -> Pod:
        assert self.pod_paths is not None, "only objects that carry a pod template have a pod"
        spec_rel, meta_rel = self.pod_paths
        spec = _walk(self.object, spec_rel, self.base)
        spec_path = (*self.base, *spec_rel)
        if spec is None:
            raise FieldTypeError(spec_path, dict, None)
        annotations, annotation_paths = _annotations(
            _walk(self.object, meta_rel, self.base), (*self.base, *meta_rel)
        )
        return Pod(
            spec=spec, spec_path=spec_path, annotations=annotations, annotation_paths=annotation_paths,
            containers=tuple(_containers(spec, spec_path)),
        )


def _walk(obj: dict[str, Any], rel: Path, base: Path) -> Any:
    current: Any = obj
    done: Path = base
    for step in rel:
        assert isinstance(step, str)
        current = get(current, step, dict, done)
        done = (*done, step)
        if current is None:
            return None
    return current


def _containers(spec: dict[str, Any], spec_path: Path) -> Iterator[Container]:
    for kind in CONTAINER_LISTS:
        items = get(spec, kind, list, spec_path)
        for index, item in enumerate(items or ()):
            path = (*spec_path, kind, index)
            container = typed(item, dict, path)
            if container is None:
                raise FieldTypeError(path, dict, None)
            name = get(container, "name", str, path) or f"{kind}[{index}]"
            yield Container(name=name, spec=container, path=path, kind=kind)


def _annotations(meta: dict[str, Any] | None, meta_path: Path) -> tuple[dict[str, str], dict[str, Path]]:
    if not meta:
        return {}, {}
    raw = get(meta, "annotations", dict, meta_path) or {}
    values: dict[str, str] = {}
    paths: dict[str, Path] = {}
    for key, value in raw.items():
        path = (*meta_path, "annotations", key)
        values[key] = typed(value, str, path) or ""
        paths[key] = path
    return values, paths


def workloads(document: Any) -> Iterator[Workload]:
    """Every Kubernetes object in a document (List items flattened); `InputError` on bad types.

    Documents without both `apiVersion` and `kind` are not Kubernetes objects and yield nothing.
    """
    yield from _objects(document, ())


def _objects(obj: Any, base: Path) -> Iterator[Workload]:
    if not isinstance(obj, dict) or "apiVersion" not in obj or "kind" not in obj:
        return
    kind = typed(obj["kind"], str, (*base, "kind"))
    typed(obj["apiVersion"], str, (*base, "apiVersion"))
    if kind == "List" or (kind.endswith("List") and "items" in obj):
        for index, item in enumerate(get(obj, "items", list, base) or ()):
            yield from _objects(item, (*base, "items", index))
        return
    meta_path = (*base, "metadata")
    meta = get(obj, "metadata", dict, base) or {}
    name = get(meta, "name", str, meta_path) or get(meta, "generateName", str, meta_path) or "<unnamed>"
    namespace = get(meta, "namespace", str, meta_path)
    annotations, annotation_paths = _annotations(meta, meta_path)
    pod_paths = POD_SPEC_PATHS.get(kind)
    by_shape = False
    if pod_paths is None and kind not in PODLESS_KINDS:  # as at the top level, where they are not converted
        pod_paths = _pod_shape(obj)
        by_shape = pod_paths is not None
    if pod_paths is not None and kind != "Pod":
        _, template_meta_rel = pod_paths
        template_meta = _walk(obj, template_meta_rel, base)
        inner, inner_paths = _annotations(template_meta, (*base, *template_meta_rel))
        annotations = {**inner, **annotations}
        annotation_paths = {**inner_paths, **annotation_paths}
    yield Workload(
        kind=kind, api_version=obj["apiVersion"], namespace=namespace, name=name, base=base, object=obj,
        annotations=annotations, annotation_paths=annotation_paths, pod_paths=pod_paths, by_shape=by_shape,
    )


def _pod_shape(obj: dict[str, Any]) -> tuple[Path, Path] | None:
    """The pod-template paths of an unknown kind, if a `containers` key sits where a pod spec's would."""
    for spec_rel, meta_rel in POD_SHAPES:
        current: Any = obj
        for step in spec_rel:
            current = current.get(step) if isinstance(current, dict) else None
        if isinstance(current, dict) and "containers" in current:
            return spec_rel, meta_rel
    return None
