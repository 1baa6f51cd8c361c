"""Find the cluster's configuration among a file's YAML documents.

Static pod manifests are found by their container's command (or, with no command, the image), kubeadm
configs, KubeletConfiguration, audit Policy and EncryptionConfiguration by apiVersion and kind, kind
Cluster configs by kind and their kubeadmConfigPatches, k3s configs by their keys. Anything else is not
the cluster gate's: the manifest gate judges pods as pods.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
from collections.abc import Iterator, Sequence
from typing import Any

from gates.checks.cluster import kubeadm
from gates.checks.cluster.flags import Flag, FlagSet, Problem, YamlPath, extra_args, parse_command_line, shown
from gates.checks.cluster.objects import (
    AUDIT_POLICY,
    AUTHZ_CONFIG,
    COMPONENT,
    ENCRYPTION_CONFIG,
    KIND_CONFIG,
    KUBELET_CONFIG,
    ClusterObject,
    Locator,
)
from gates.checks.cluster.versions import image_tag
from gates.errors import InputError
from gates.targets.yaml_docs import Document, PosDict, Position, load_documents, locate

COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd", "kubelet")
_HYPERKUBE = {"apiserver": "kube-apiserver", "controller-manager": "kube-controller-manager",
              "scheduler": "kube-scheduler", "kubelet": "kubelet", **{c: c for c in COMPONENTS}}
_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "busybox"})
_ARCH = re.compile(r"-(amd64|arm64|arm|ppc64le|s390x)$")

POD_SPEC_PATHS: dict[str, YamlPath] = {
    "Pod": ("spec",), "Deployment": ("spec", "template", "spec"), "DaemonSet": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"), "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"), "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
K3S_KEYS = frozenset({
    "kube-apiserver-arg", "kube-controller-manager-arg", "kube-scheduler-arg", "kubelet-arg", "etcd-arg",
    "secrets-encryption", "cluster-init", "write-kubeconfig-mode", "protect-kernel-defaults",
})
_K3S_ARGS = {"kube-apiserver-arg": "kube-apiserver", "kube-controller-manager-arg": "kube-controller-manager",
             "kube-scheduler-arg": "kube-scheduler", "kubelet-arg": "kubelet", "etcd-arg": "etcd"}


def api_group(content: PosDict) -> str:
    api_version = content.get("apiVersion")
    return api_version.rpartition("/")[0] if isinstance(api_version, str) else ""


def _at(root: Any, fallback: Position) -> Locator:
    return lambda path: locate(root, path) or fallback


def find_objects(documents: Sequence[Document], lines: Sequence[str]) -> Iterator[ClusterObject]:
    """Every cluster object among a file's documents (mappings only; the gate says what else it saw)."""
    kubeadm_file = any(isinstance(d.content, PosDict) and api_group(d.content) == "kubeadm.k8s.io"
                       for d in documents)
    for document in documents:
        content = document.content
        if not isinstance(content, PosDict):
            continue
        yield from objects_of(content, _at(content, document.pos), kubeadm_file, lines)


def objects_of(content: PosDict, where: Locator, kubeadm_file: bool, lines: Sequence[str]) -> Iterator[ClusterObject]:
    kind, group = content.get("kind"), api_group(content)
    if "apiVersion" not in content and "kind" not in content:
        if K3S_KEYS & content.keys():
            yield from _k3s(content, where)
        return
    if not isinstance(kind, str):
        return
    if kind in POD_SPEC_PATHS and group in ("", "apps", "batch"):
        yield from _static_pod(content, kind, where)
    elif group == "kubeadm.k8s.io" and kind == "ClusterConfiguration":
        version = content.get("kubernetesVersion")
        declared = [("kubernetes", version, ("kubernetesVersion",))] if isinstance(version, str) else []
        yield from cluster_components([content], where, "ClusterConfiguration", versions=declared)
    elif group == "kubeadm.k8s.io" and kind in ("InitConfiguration", "JoinConfiguration"):
        yield from _kubelet_extra_args(content, kind, where)
    elif group == "kubelet.config.k8s.io" and kind == "KubeletConfiguration":
        yield ClusterObject(KUBELET_CONFIG, f"KubeletConfiguration/{_name(content, 'kubelet')}", (), where,
                            body=content, defaults_by="kubeadm" if kubeadm_file else None)
    elif group == "audit.k8s.io" and kind == "Policy":
        yield ClusterObject(AUDIT_POLICY, f"Policy/{_name(content, 'audit-policy')}", (), where, body=content)
    elif group == "apiserver.config.k8s.io" and kind == "AuthorizationConfiguration":
        yield ClusterObject(AUTHZ_CONFIG, f"AuthorizationConfiguration/{_name(content, 'authorization')}", (), where,
                            body=content)
    elif (group == "apiserver.config.k8s.io" and kind == "EncryptionConfiguration") or (
            content.get("apiVersion") == "v1" and kind == "EncryptionConfig"):
        yield ClusterObject(ENCRYPTION_CONFIG, f"{kind}/{_name(content, 'encryption')}", (), where, body=content)
    elif group == "kind.x-k8s.io" and kind == "Cluster":
        yield from _kind_cluster(content, where, lines)
    elif group == "kind.x-k8s.io":
        problem = Problem(f"kind {shown(kind)} is not a kind config kind (Cluster): kind refuses the file", ("kind",))
        yield ClusterObject(KIND_CONFIG, f"{safe_name(kind, '-')}/kind-config", (), where, problems=[problem])


def safe_name(value: Any, fallback: str) -> str:
    """A name from the input as it may appear in a target or resource: quoted unless it is a plain name."""
    if not isinstance(value, str) or not value:
        return fallback
    return value if re.fullmatch(r"[A-Za-z0-9._-]{1,253}", value) else shown(value)


def _name(content: PosDict, fallback: str) -> str:
    metadata = content.get("metadata")
    return safe_name(metadata.get("name") if isinstance(metadata, dict) else None, fallback)


def _resource(content: PosDict, kind: str) -> str:
    metadata = content.get("metadata")
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    name = _name(content, "-")
    if isinstance(namespace, str) and namespace:
        return f"{kind}/{safe_name(namespace, '-')}/{name}"
    return f"{kind}/{name}"


def _static_pod(content: PosDict, kind: str, where: Locator) -> Iterator[ClusterObject]:
    spec: Any = content
    base = POD_SPEC_PATHS[kind]
    for step in base:
        spec = spec.get(step) if isinstance(spec, dict) else None
    if not isinstance(spec, dict):
        return
    resource = _resource(content, kind)
    metadata = content.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    for field in ("initContainers", "containers"):
        containers = spec.get(field)
        if not isinstance(containers, list):
            continue
        for index, container in enumerate(containers):
            if isinstance(container, dict):
                found = _container(container, (*base, field, index), resource, where)
                if found is not None:
                    if isinstance(annotations, dict):
                        found.annotations = {k: v for k, v in annotations.items() if isinstance(v, str)}
                    yield found


def _container(container: dict[str, Any], path: YamlPath, resource: str, where: Locator) -> ClusterObject | None:
    command, args = container.get("command"), container.get("args")
    name = safe_name(container.get("name"), "") or None
    component, start, problem = _component_of(command, container.get("image"))
    if component is None:
        return None
    problems: list[Problem] = []
    flags: list[Flag] = []
    if problem:
        problems.append(Problem(problem, (*path, "command")))
    else:
        for key, value, offset in (("command", command, start), ("args", args, 0)):
            if value is None:
                continue
            if not isinstance(value, list):
                problems.append(Problem(f"{key} must be a list of strings, not a {type(value).__name__}",
                                        (*path, key)))
                continue
            found, bad = parse_command_line(value, (*path, key), offset, component, single_dash=component == "etcd")
            flags += found
            problems += bad
    anchor = (*path, "command") if isinstance(command, list) else (*path, "args") if isinstance(args, list) else path
    flag_set = FlagSet(component, flags, anchor)
    _config_file_note(flag_set)
    obj = ClusterObject(COMPONENT, resource, path, where, flags=flag_set, container=name, problems=problems)
    if flag_set.unset_reason:
        obj.details.append(flag_set.unset_reason)
    image = container.get("image")
    tag = image_tag(image) if isinstance(image, str) else None
    if tag is not None:
        obj.versions.append(("etcd" if component == "etcd" else "kubernetes", tag, (*path, "image")))
    return obj


def _config_file_note(flags: FlagSet) -> None:
    """A --config (kubelet) or --config-file (etcd) file may set what the command line leaves out."""
    for name in ("config", "config-file"):
        value = flags.value(name)
        if value is not None:
            flags.unset_known = False
            flags.unset_reason = (f"{flags.component} reads --{name} {shown(value)}: flags not given here may be"
                                  " set there, so only the flags given were judged")


def _component_of(command: Any, image: Any) -> tuple[str | None, int, str | None]:
    """(component, index of its first flag in `command`, problem) for a container, or (None, 0, None)."""
    if isinstance(command, list) and command and isinstance(command[0], str):
        program = posixpath.basename(command[0])
        if program in COMPONENTS:
            return program, 1, None
        if program == "hyperkube" and len(command) > 1 and command[1] in _HYPERKUBE:
            return _HYPERKUBE[command[1]], 2, None
        if program in _SHELLS:
            script = " ".join(c for c in command[1:] if isinstance(c, str))
            for component in COMPONENTS:
                if re.search(rf"(^|[\s/]){re.escape(component)}(\s|$)", script):
                    return component, 0, (f"runs {component} through a shell ({program}): its flags cannot be"
                                          " read reliably; give the command and flags as a list instead")
        return None, 0, None
    if command in (None, []) and isinstance(image, str):
        repository = image.split("@")[0].rsplit(":", 1)[0] if "/" in image or ":" in image else image
        program = _ARCH.sub("", repository.rsplit("/", 1)[-1])
        if program in COMPONENTS:
            return program, 0, None
    return None, 0, None


_SECTIONS: tuple[tuple[YamlPath, str], ...] = (
    (("apiServer",), "kube-apiserver"), (("controllerManager",), "kube-controller-manager"),
    (("scheduler",), "kube-scheduler"), (("etcd", "local"), "etcd"),
)
"""Where a ClusterConfiguration configures each component."""


def cluster_components(documents: Sequence[PosDict], where: Locator, prefix: str,
                       patch_items: Sequence[YamlPath] | None = None,
                       versions: Sequence[tuple[str, str, YamlPath]] = ()) -> Iterator[ClusterObject]:
    """kubeadm's control plane from ClusterConfigurations applied in order: each component runs with
    kubeadm's own flags plus the `extraArgs`. With `patch_items` the documents are kind patches, and what
    they set points at its patch item in the kind config."""
    external = _external_etcd(documents)
    defaults: dict[str, dict[str, str]] = {
        "kube-apiserver": {**kubeadm.API_SERVER, **(external if external is not None else kubeadm.LOCAL_ETCD_CLIENT)},
        "kube-controller-manager": dict(kubeadm.CONTROLLER_MANAGER), "kube-scheduler": dict(kubeadm.SCHEDULER),
        "etcd": dict(kubeadm.ETCD),
    }
    for section, component in _SECTIONS:
        if component == "etcd" and external is not None:
            continue  # an external etcd is not configured here
        flags: list[Flag] = []
        problems: list[Problem] = []
        anchor: YamlPath = ()
        for index, document in enumerate(documents):
            node = _get_path(document, section)
            if not isinstance(node, dict):
                continue
            item = patch_items[index] if patch_items is not None else None
            anchor = item if item is not None else section
            if "extraArgs" not in node:
                continue
            found, bad = extra_args(node["extraArgs"], (*section, "extraArgs"), component)
            if item is None:
                anchor = (*section, "extraArgs")
            else:
                found = [dataclasses.replace(flag, path=(*item, PATCH, *flag.path)) for flag in found]
                bad = [Problem(problem.message, (*item, PATCH, *problem.path)) for problem in bad]
            flags += found
            problems += bad
        flag_set = FlagSet(component, flags, anchor, defaults=defaults[component], defaults_by="kubeadm")
        yield ClusterObject(COMPONENT, f"{prefix}/{component}", anchor, where, flags=flag_set, problems=problems,
                            versions=list(versions) if component == "kube-apiserver" else [])


def _get_path(node: Any, path: YamlPath) -> Any:
    for step in path:
        node = node.get(step) if isinstance(node, dict) else None
    return node


def _external_etcd(documents: Sequence[PosDict]) -> dict[str, str] | None:
    """The API server's etcd flags from `etcd.external`; None when etcd is kubeadm's local one."""
    found: dict[str, str] | None = None
    for document in documents:
        external = _get_path(document, ("etcd", "external"))
        if not isinstance(external, dict):
            continue
        found = found or {}
        for key, flag in (("caFile", "etcd-cafile"), ("certFile", "etcd-certfile"), ("keyFile", "etcd-keyfile")):
            if isinstance(external.get(key), str) and external[key]:
                found[flag] = external[key]
        endpoints = external.get("endpoints")
        if isinstance(endpoints, list) and all(isinstance(e, str) for e in endpoints):
            found["etcd-servers"] = ",".join(endpoints)
    return found


def _kubelet_extra_args(content: PosDict, kind: str, where: Locator) -> Iterator[ClusterObject]:
    registration = content.get("nodeRegistration")
    if not isinstance(registration, dict) or "kubeletExtraArgs" not in registration:
        return
    path: YamlPath = ("nodeRegistration", "kubeletExtraArgs")
    flags, problems = extra_args(registration["kubeletExtraArgs"], path, "kubelet")
    flag_set = FlagSet("kubelet", flags, path, unset_known=False,
                       unset_reason="kubeadm runs the kubelet with its own KubeletConfiguration: only the"
                                    " kubeletExtraArgs given were judged")
    yield ClusterObject(COMPONENT, f"{kind}/kubelet", path, where, flags=flag_set, problems=problems,
                        details=[flag_set.unset_reason])


def _k3s(content: PosDict, where: Locator) -> Iterator[ClusterObject]:
    """A k3s (or RKE2) config.yaml: `<component>-arg` lists; k3s sets its own defaults, which are not modelled."""
    for key, component in _K3S_ARGS.items():
        if key not in content:
            continue
        value = content[key]
        items = [value] if isinstance(value, str) else value
        problems: list[Problem] = []
        flags: list[Flag] = []
        if not isinstance(items, list):
            problems.append(Problem(f"{key} must be a list of strings, not a {type(value).__name__}", (key,)))
        else:
            prefixed = [f"--{item}" if isinstance(item, str) and not item.startswith("-") else item for item in items]
            flags, problems = parse_command_line(prefixed, (key,), 0, component, single_dash=component == "etcd")
            if isinstance(value, str):
                flags = [dataclasses.replace(flag, path=(key,)) for flag in flags]
                problems = [Problem(p.message, (key,)) for p in problems]
        reason = "k3s adds flags of its own that gates does not model: only the flags given here were judged"
        flag_set = FlagSet(component, flags, (key,), unset_known=False, unset_reason=reason)
        yield ClusterObject(COMPONENT, f"k3s/{component}", (key,), where, flags=flag_set, problems=problems,
                            details=[reason])


_KIND_FIELDS = frozenset({"kind", "apiVersion", "name", "featureGates", "runtimeConfig", "networking", "nodes",
                          "kubeadmConfigPatches", "kubeadmConfigPatchesJSON6902", "containerdConfigPatches",
                          "containerdConfigPatchesJSON6902"})
_KIND_NODE_FIELDS = frozenset({"role", "image", "labels", "extraMounts", "extraPortMappings", "kubeadmConfigPatches",
                               "kubeadmConfigPatchesJSON6902"})
_KIND_ITEM_FIELDS = {
    "extraMounts": frozenset({"hostPath", "containerPath", "readOnly", "selinuxRelabel", "propagation"}),
    "extraPortMappings": frozenset({"containerPort", "hostPort", "listenAddress", "protocol"}),
}


def _kind_unknown_fields(content: PosDict) -> Iterator[Problem]:
    """kind decodes its config strictly: a field it does not know makes `kind create cluster` refuse the file."""
    for key in content:
        if key not in _KIND_FIELDS:
            yield Problem(f"unknown field {shown(key)}: kind refuses the config", (key,))
    nodes = content.get("nodes")
    if nodes is not None and not isinstance(nodes, list):
        yield Problem("nodes must be a list: kind refuses the config", ("nodes",))
    for index, node in enumerate(nodes if isinstance(nodes, list) else []):
        if not isinstance(node, dict):
            yield Problem(f"nodes[{index}] must be a mapping", ("nodes", index))
            continue
        for key in node:
            if key not in _KIND_NODE_FIELDS:
                yield Problem(f"nodes[{index}] has an unknown field {shown(key)}: kind refuses the config",
                              ("nodes", index, key))
        for field, known in _KIND_ITEM_FIELDS.items():
            items = node.get(field)
            for position, item in enumerate(items if isinstance(items, list) else []):
                for key in item if isinstance(item, dict) else ():
                    if key not in known:
                        yield Problem(f"nodes[{index}].{field}[{position}] has an unknown field {shown(key)}:"
                                      " kind refuses the config", ("nodes", index, field, position, key))


def _kind_cluster(content: PosDict, where: Locator, lines: Sequence[str]) -> Iterator[ClusterObject]:
    """A kind Cluster: kubeadm's control plane, with the ClusterConfiguration patches kind applies."""
    name = _name(content, "kind")
    configs: list[PosDict] = []
    anchors: list[YamlPath] = []
    kubelet: list[tuple[PosDict, Locator, YamlPath]] = []
    patches: dict[YamlPath, Locator] = {}
    problems: list[Problem] = list(_kind_unknown_fields(content))
    details: list[str] = []
    places: list[YamlPath] = [("kubeadmConfigPatches",)]
    nodes = content.get("nodes")
    if isinstance(nodes, list):
        places += [("nodes", i, "kubeadmConfigPatches") for i, node in enumerate(nodes)
                   if isinstance(node, dict) and node.get("role", "control-plane") == "control-plane"]
    for place in places:
        node: Any = content
        for step in place:
            node = _step(node, step)
        if node is None:
            continue
        if not isinstance(node, list):
            problems.append(Problem("kubeadmConfigPatches must be a list of YAML strings", place))
            continue
        for index, patch in enumerate(node):
            path = (*place, index)
            if not isinstance(patch, str):
                problems.append(Problem("a kubeadmConfigPatches item must be a YAML string", path))
                continue
            try:
                documents = list(load_documents(patch))
            except InputError as exc:
                problems.append(Problem(f"kubeadmConfigPatches[{index}] is not valid YAML: {exc}", path))
                continue
            origin = _patch_origin(where(path), lines)
            for document in documents:
                doc = document.content
                if not isinstance(doc, PosDict):
                    continue
                inside = _shifted(origin, doc, where(path))
                if doc.get("kind") == "ClusterConfiguration":
                    configs.append(doc)
                    anchors.append(path)
                    patches[path] = inside
                elif doc.get("kind") == "KubeletConfiguration":
                    kubelet.append((doc, inside, path))
    if "kubeadmConfigPatchesJSON6902" in content:
        details.append("kubeadmConfigPatchesJSON6902 is not applied by gates: flags those patches set were not read")
    if problems:  # kind would refuse the file: there is no control plane to judge
        yield ClusterObject(KIND_CONFIG, f"Cluster/{name}", (), where, problems=problems)
        return
    images = [("kubernetes", tag, ("nodes", index, "image"))
              for index, node in enumerate(nodes if isinstance(nodes, list) else [])
              if isinstance(node, dict) and isinstance(node.get("image"), str)
              and (tag := image_tag(node["image"])) is not None]
    mounts = _control_plane_mounts(nodes)
    locate = _through_patches(where, patches)
    for obj in cluster_components(configs, locate, f"Cluster/{name}", patch_items=anchors, versions=images):
        obj.details += details
        if obj.component == "kube-apiserver":
            obj.mounts = mounts
        yield obj
    for doc, locator, _ in kubelet:
        yield ClusterObject(KUBELET_CONFIG, f"Cluster/{name}/kubelet", (), locator, body=doc, defaults_by="kubeadm")


def _control_plane_mounts(nodes: Any) -> list[tuple[str, str]]:
    """(path on the node, host path) of every extraMount of a control-plane node."""
    mounts: list[tuple[str, str]] = []
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, dict) or node.get("role", "control-plane") != "control-plane":
            continue
        extra = node.get("extraMounts")
        for mount in extra if isinstance(extra, list) else []:
            if isinstance(mount, dict) and isinstance(mount.get("containerPath"), str) \
                    and isinstance(mount.get("hostPath"), str):
                mounts.append((mount["containerPath"], mount["hostPath"]))
    return mounts


def _step(node: Any, step: str | int) -> Any:
    if isinstance(node, dict):
        return node.get(step)
    if isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
        return node[step]
    return None


def _patch_origin(item: Position, lines: Sequence[str]) -> Position | None:
    """Where a patch's own line 1, column 1 sits in the file: the line after `- |` of a block scalar;
    None for a quoted or plain scalar, whose escapes and folding hide where its text was written."""
    line, column = item
    text = lines[line - 1][column - 1:] if 0 < line <= len(lines) else ""
    if text.startswith(("|", ">")) and line < len(lines):
        following = lines[line]
        return (line + 1, len(following) - len(following.lstrip(" ")) + 1)
    return None


def _shifted(origin: Position | None, root: Any, item: Position) -> Locator:
    """Positions inside a patch, moved to where the patch sits in the file (its item when unknown)."""
    def located(path: YamlPath) -> Position:
        inner = locate(root, path)
        if origin is None or inner is None:
            return item
        return (origin[0] + inner[0] - 1, origin[1] + inner[1] - 1)
    return located


PATCH = "@patch"
"""In a flag's path: what follows is a path inside the kind patch that the part before names."""


def _through_patches(where: Locator, patches: dict[YamlPath, Locator]) -> Locator:
    def located(path: YamlPath) -> Position:
        if PATCH in path:
            cut = path.index(PATCH)
            inside = patches.get(path[:cut])
            if inside is not None:
                return inside(path[cut + 1:])
            return where(path[:cut])
        return where(path)
    return located


