"""Finding pod templates in Kubernetes documents, with strict types.

Every workload kind that carries a pod template is unwrapped to the same `Pod` view, and `List`
objects are flattened. A field of the wrong type (`privileged: "true"`) is not guessed at: the API
server would reject it, so the gate reports it as undecidable rather than silently passing it.
"""

from __future__ import annotations

from collections.abc import Iterator

from gates.errors import InputError
from gates.record import computed_once, record
from gates.targets.yaml_docs import render_path
from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any
else:  # aliases and bases below name it at run time too, where nothing reads their arguments
    Any = object

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

PodAt = tuple[Path, Path | None]
"""Where a pod spec sits in an object, and its pod metadata (None when it has none beside it)."""

KNOWN_SHAPES: frozenset[Path] = frozenset({POD_SPEC_PATHS["Deployment"][0], POD_SPEC_PATHS["CronJob"][0]})
"""Where a kind gates does not know carries a pod template most often (Knative Service, KEDA ScaledJob...):
a `containers` key there makes it a pod spec, strictly typed, since a controller will make pods of it."""

SHAPE_DEPTH = 32
"""Levels under `spec` searched for pod specs by shape; a kind nested deeper is not understood (an error)."""

POLICY_GROUPS = ("kyverno.io", "gatekeeper.sh", "kubewarden.io", "jspolicy.com", "wgpolicyk8s.io")
"""API groups (and their subgroups) of admission-policy engines: their `containers` lists are patterns that
match pods, not pods, so their objects are never searched by shape."""

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
    if value is None or (isinstance(value, expected) and (expected is not int or value.__class__ is not bool)):
        return value
    raise FieldTypeError(path, expected, value)


def get(obj: dict[str, Any], key: str, expected: type, path: Path) -> Any:
    """`obj[key]` checked against `expected`; None when absent or null.

    The test is `typed`'s, written out: this runs for every field a check reads, and the field's path is
    built only for the error (a bool is never an int: a YAML `true` where a port belongs is refused).
    """
    value = obj.get(key)
    if value is None or (isinstance(value, expected) and (expected is not int or value.__class__ is not bool)):
        return value
    raise FieldTypeError((*path, key), expected, value)


_CONTAINER_LABELS = {"containers": "container", "initContainers": "init container",
                     "ephemeralContainers": "ephemeral container"}


@record
class Container:
    """One container of a pod, with where it sits."""

    name: str
    spec: dict[str, Any]
    path: Path
    kind: str
    """`containers`, `initContainers` or `ephemeralContainers`."""

    @property
    def described(self) -> str:
        """How a finding names it: `container "web"`, `init container "setup"`, `ephemeral container "debug"`."""
        return f'{_CONTAINER_LABELS[self.kind]} "{self.name}"'

    @computed_once
    def security_context(self) -> dict[str, Any]:
        """Its `securityContext` ({} where unset), read once for the many checks that read it."""
        sc = get(self.spec, "securityContext", dict, self.path)
        return sc if sc is not None else {}

    @computed_once
    def security_context_path(self) -> Path:
        return (*self.path, "securityContext")


@record
class Pod:
    """The pod-level view every check reads, whatever workload kind carried it."""

    spec: dict[str, Any]
    spec_path: Path
    annotations: dict[str, str]
    """The pod's own annotations (for Pod Security checks that read them, e.g. AppArmor)."""
    annotation_paths: dict[str, Path]
    containers: tuple[Container, ...]

    # Computed once per pod: each of these is read by several checks (`security_context` by most).
    @computed_once
    def security_context(self) -> dict[str, Any]:
        sc = get(self.spec, "securityContext", dict, self.spec_path)
        return sc if sc is not None else {}

    @computed_once
    def security_context_path(self) -> Path:
        return (*self.spec_path, "securityContext")

    @computed_once
    def is_windows(self) -> bool:
        os_spec = get(self.spec, "os", dict, self.spec_path)
        return os_spec is not None and get(os_spec, "name", str, (*self.spec_path, "os")) == "windows"

    @computed_once
    def in_user_namespace(self) -> bool:
        """`hostUsers: false`: the pod has its own user namespace, which relaxes some controls."""
        return get(self.spec, "hostUsers", bool, self.spec_path) is False


@record
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
    pod_paths: tuple[PodAt, ...] = ()
    """Where its pod specs and pod metadata sit: one for a known kind, any number found by shape."""
    by_shape: bool = False
    """A kind gates does not know, whose pod templates were found by their shape."""
    not_understood: tuple[tuple[Path, str], ...] = ()
    """Places under the `spec` of an unknown kind that may make pods but do not read as pod specs."""

    @property
    def carries_pod(self) -> bool:
        return bool(self.pod_paths)

    @computed_once
    def resource(self) -> str:
        """`Kind/namespace/name`: a result's target, and every one of its findings' resource."""
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

    def pods(self) -> tuple[Pod, ...]:
        """Every pod spec the object carries, in document order."""
        return tuple(self._pod(spec_rel, meta_rel) for spec_rel, meta_rel in self.pod_paths)

    def _pod(self, spec_rel: Path, meta_rel: Path | None) -> Pod:
        spec = _walk(self.object, spec_rel, self.base)
        spec_path = (*self.base, *spec_rel)
        if spec is None:
            raise FieldTypeError(spec_path, dict, None)
        meta = _walk(self.object, meta_rel, self.base) if meta_rel is not None else None
        annotations, annotation_paths = _annotations(meta, (*self.base, *(meta_rel or ())))
        return Pod(
            spec=spec, spec_path=spec_path, annotations=annotations, annotation_paths=annotation_paths,
            containers=tuple(_containers(spec, spec_path)),
        )


def _walk(obj: dict[str, Any], rel: Path, base: Path) -> Any:
    """The value at `rel`, each step typed as the next one needs (a mapping, or a list where the path indexes)."""
    current: Any = obj
    last = len(rel) - 1
    for index, step in enumerate(rel):
        expected = list if index < last and isinstance(rel[index + 1], int) else dict
        if not isinstance(step, int):
            current = current.get(step)
        elif step < len(current):
            current = current[step]
        else:
            return None
        if current is None:
            return None
        if not isinstance(current, expected):  # the path is spelled out only for the error
            raise FieldTypeError((*base, *rel[:index + 1]), expected, current)
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
    known = POD_SPEC_PATHS.get(kind)
    pod_paths: tuple[PodAt, ...] = (known,) if known is not None else ()
    not_understood: tuple[tuple[Path, str], ...] = ()
    if known is None and kind not in PODLESS_KINDS and not is_policy_group(obj["apiVersion"]):
        pod_paths, not_understood = _pod_shapes(obj)  # as at the top level, where PODLESS are not converted
    if kind != "Pod":
        for _, template_meta_rel in pod_paths:
            if template_meta_rel is None or template_meta_rel == ("metadata",):
                continue
            template_meta = _walk(obj, template_meta_rel, base)
            inner, inner_paths = _annotations(template_meta, (*base, *template_meta_rel))
            annotations = {**inner, **annotations}
            annotation_paths = {**inner_paths, **annotation_paths}
    yield Workload(
        kind=kind, api_version=obj["apiVersion"], namespace=namespace, name=name, base=base, object=obj,
        annotations=annotations, annotation_paths=annotation_paths, pod_paths=pod_paths,
        by_shape=known is None and bool(pod_paths), not_understood=not_understood,
    )


def is_policy_group(api_version: str) -> bool:
    """An admission-policy engine's object (Kyverno, Gatekeeper...): its pod-like parts are patterns."""
    group = api_version.rpartition("/")[0].lower()
    return any(group == g or group.endswith(f".{g}") for g in POLICY_GROUPS)


def _pod_shapes(obj: dict[str, Any]) -> tuple[tuple[PodAt, ...], tuple[tuple[Path, str], ...]]:
    """The pod specs of an unknown kind, found by shape anywhere under its `spec`, and what is not understood.

    A pod spec is a mapping whose `containers` is a list of mappings with an `image` (or any `containers`
    at a known template place, strictly typed). A `containers` key of another shape, or nesting deeper
    than `SHAPE_DEPTH`, may still make pods: it is reported, never passed. Iterative, so any depth is safe;
    paths are kept as links to the parent's and spelled out only for what is found (every node is visited).
    """
    spec = obj.get("spec")
    found: list[PodAt] = []
    odd: list[tuple[Path, str]] = []
    stack: list[tuple[_Link, int, Any]] = [((None, "spec"), 1, spec)] if isinstance(spec, (dict, list)) else []
    while stack:
        link, depth, node = stack.pop()
        if isinstance(node, dict):
            if "containers" in node:
                path = _spelled(link)
                if path in KNOWN_SHAPES or _is_pod_spec(node):
                    found.append((path, (*path[:-1], "metadata") if path[-1] == "spec" else None))
                else:
                    odd.append(((*path, "containers"), "is not a list of containers with an image"))
                continue  # a pod spec is judged whole; nothing under it is searched again
            children: Iterator[tuple[Any, Any]] = reversed(node.items())
        else:
            children = reversed(list(enumerate(node)))
        for key, value in children:
            if isinstance(value, (dict, list)):
                if depth > SHAPE_DEPTH:
                    odd.append((_spelled(link), f"nests more than {SHAPE_DEPTH} levels under spec, deeper than"
                                                " gates searches"))
                    break
                stack.append(((link, key if isinstance(key, (str, int)) else str(key)), depth + 1, value))
    return tuple(found), tuple(odd)


_Link = tuple[Any, str | int]
"""A path as (parent link, last step), from (None, "spec"): cheap to extend, spelled out on demand."""


def _spelled(link: _Link) -> Path:
    steps: list[str | int] = []
    current: Any = link
    while current is not None:
        current, step = current
        steps.append(step)
    return tuple(reversed(steps))


def _is_pod_spec(node: dict[str, Any]) -> bool:
    containers = node["containers"]
    return (isinstance(containers, list) and all(isinstance(c, dict) for c in containers)
            and any("image" in c for c in containers))
