"""Checks beyond the Pod Security Standards, from the practices a deploy gate can verify up front:
trusted images, secrets kept out of manifests, least-privilege RBAC, TLS on ingress.

Pod checks take the same `Pod` view as the PSS controls; object checks take the whole object.
Network-policy coverage needs every document at once, so it lives in `network_policy.py`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from gates.checks.manifests import secrets
from gates.checks.manifests.pss import Violation
from gates.checks.manifests.workloads import Path, Pod, Workload, get, typed
from gates.wording import counted

ESCALATING_VERBS = frozenset({"escalate", "bind", "impersonate"})
READ_VERBS = frozenset({"get", "list", "watch", "*"})


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """`repo[:tag][@digest]` -> (repository, tag, digest); a port in the host is not a tag."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = name.rsplit(":", 1)
        return repo, tag, digest or None
    return name, None, digest or None


def _images(pod: Pod) -> Iterator[tuple[str, Path, str]]:
    for c in pod.containers:
        image = get(c.spec, "image", str, c.path)
        if image:
            yield image, (*c.path, "image"), c.name


def image_tags(pod: Pod) -> Iterator[Violation]:
    for image, path, container in _images(pod):
        _, tag, digest = split_image(image)
        if digest:
            continue
        if tag is None or tag == "latest":
            yield Violation("k8s-image-latest", f'container "{container}" runs "{image}": a moving tag (latest)'
                            " deploys whatever was pushed last", path, container)
        else:
            yield Violation("k8s-image-digest", f'container "{container}" runs "{image}" by tag, not by digest',
                            path, container)


def image_registries(allowed: Sequence[str]) -> Callable[[Pod], Iterator[Violation]]:
    """Images must come from one of the `allowed` globs (e.g. `registry.corp.example/*`; the host part
    never matches across a `/`, see `matches_repository`)."""
    def check(pod: Pod) -> Iterator[Violation]:
        if not allowed:
            return
        from gates.oci.errors import InvalidReferenceError
        from gates.oci.reference import matches_repository, parse_reference

        for image, path, container in _images(pod):
            try:
                ref = parse_reference(image)
            except InvalidReferenceError as exc:
                yield Violation("k8s-image-registry", f'container "{container}" runs "{image}": {exc}', path,
                                container)
                continue
            if not any(matches_repository(ref, pattern) for pattern in allowed):
                yield Violation("k8s-image-registry", f'container "{container}" runs "{image}", which no'
                                f" allowed-registries pattern matches ({', '.join(allowed)})", path, container)
    return check


def secret_data(obj: Workload) -> Iterator[Violation]:
    if obj.kind != "Secret":
        return
    for key in ("data", "stringData"):
        values = get(obj.object, key, dict, obj.base)
        if values:
            yield Violation("k8s-secret-in-manifest", f"Secret {obj.name} carries {counted(len(values), 'value')} in"
                            f" {key}: committed manifests are read by everyone with the repository",
                            (*obj.base, key))


def _strings(rule: dict[str, Any], key: str, path: Path) -> list[str]:
    return [typed(v, str, (*path, key, i)) or "" for i, v in enumerate(get(rule, key, list, path) or ())]


def rbac_rules(obj: Workload) -> Iterator[Violation]:
    if obj.kind not in ("Role", "ClusterRole"):
        return
    for index, entry in enumerate(get(obj.object, "rules", list, obj.base) or ()):
        path = (*obj.base, "rules", index)
        rule = typed(entry, dict, path) or {}
        verbs, resources = _strings(rule, "verbs", path), _strings(rule, "resources", path)
        for key in ("verbs", "resources", "apiGroups"):
            values = verbs if key == "verbs" else resources if key == "resources" else _strings(rule, key, path)
            if "*" in values:
                yield Violation("k8s-rbac-wildcard", f"{obj.kind} {obj.name} grants '*' in {key}: every current"
                                " and future permission of that kind", (*path, key, values.index("*")))
        for verb in sorted(ESCALATING_VERBS & set(verbs)):
            yield Violation("k8s-rbac-escalation", f"{obj.kind} {obj.name} grants '{verb}', which lets its"
                            " holder gain permissions it was not given", (*path, "verbs", verbs.index(verb)))
        if "secrets" in resources and READ_VERBS & set(verbs) and "*" not in resources:
            yield Violation("k8s-rbac-secrets-read", f"{obj.kind} {obj.name} can read Secrets"
                            f" ({', '.join(sorted(READ_VERBS & set(verbs)))})",
                            (*path, "resources", resources.index("secrets")))


def rbac_bindings(obj: Workload) -> Iterator[Violation]:
    if obj.kind not in ("RoleBinding", "ClusterRoleBinding"):
        return
    ref = get(obj.object, "roleRef", dict, obj.base) or {}
    ref_path = (*obj.base, "roleRef")
    if get(ref, "kind", str, ref_path) == "ClusterRole" and get(ref, "name", str, ref_path) == "cluster-admin":
        yield Violation("k8s-rbac-cluster-admin", f"{obj.kind} {obj.name} grants cluster-admin: full control"
                        " of the cluster", (*ref_path, "name"))


def ingress_tls(obj: Workload) -> Iterator[Violation]:
    if obj.kind != "Ingress":
        return
    spec = get(obj.object, "spec", dict, obj.base) or {}
    spec_path = (*obj.base, "spec")
    covered: set[str] = set()
    tls_entries = get(spec, "tls", list, spec_path) or []
    for index, entry in enumerate(tls_entries):
        entry_path = (*spec_path, "tls", index)
        covered.update(_strings(typed(entry, dict, entry_path) or {}, "hosts", entry_path))
    if not tls_entries:
        yield Violation("k8s-ingress-tls", f"Ingress {obj.name} serves plain HTTP: no spec.tls", spec_path)
        return
    for index, entry in enumerate(get(spec, "rules", list, spec_path) or ()):
        rule_path = (*spec_path, "rules", index)
        host = get(typed(entry, dict, rule_path) or {}, "host", str, rule_path)
        if host and host not in covered and not any(fnmatch.fnmatchcase(host, c) for c in covered):
            yield Violation("k8s-ingress-tls", f"Ingress {obj.name} host {host} is not covered by spec.tls",
                            (*rule_path, "host"))


POD_CHECKS: dict[str, Callable[[Pod], Iterator[Violation]]] = {
    "k8s-image-tag": image_tags,
    "k8s-secret-env-literal": secrets.env_credentials(),
}
SHARED_RULES: dict[str, frozenset[str]] = {"k8s-secret-env-literal": frozenset({"k8s-secret-value"})}
"""Rules a pod check yields beside the one it is keyed by: it runs while any of them is wanted."""
OBJECT_CHECKS: dict[str, Callable[[Workload], Iterator[Violation]]] = {
    "k8s-secret-in-manifest": secret_data,
    "k8s-secret-value": secrets.configmap_credentials,
    "k8s-rbac": rbac_rules,
    "k8s-rbac-bindings": rbac_bindings,
    "k8s-ingress-tls": ingress_tls,
}
EVERY_OBJECT_CHECKS: dict[str, Callable[[Workload], Iterator[Violation]]] = {
    "k8s-secret-value": secrets.annotation_credentials,
}
"""Checks of every judged object, whether it carries a pod or not."""
OBJECT_KINDS = frozenset({"Secret", "ConfigMap", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "Ingress"})
"""Kinds without a pod template that the gate still judges (and so reports as results)."""
