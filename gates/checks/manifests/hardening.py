"""Checks beyond the Pod Security Standards, from the practices a deploy gate can verify up front:
trusted images, secrets kept out of manifests, least-privilege RBAC, TLS on ingress.

Pod checks take the same `Pod` view as the PSS controls; object checks take the whole object.
Network-policy coverage needs every document at once, so it lives in `network_policy.py`; RBAC, Services and
the Gateway API are judged in `access.py`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterator, Sequence

from gates.checks.manifests import secrets
from gates.checks.manifests.pss import Violation
from gates.checks.manifests.workloads import Path, Pod, Workload, get, typed
from gates.typecheck import TYPE_CHECKING
from gates.wording import counted

if TYPE_CHECKING:
    from typing import Any


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


DIGEST = re.compile(r"sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}")
"""A digest by its form (the OCI image spec's registered algorithms): `@sha256:123456` pins nothing."""


def image_tags(skip: frozenset[str] = frozenset()) -> Callable[[Pod], Iterator[Violation]]:
    """Moving tags and images not pinned by a digest of the right form; an image by `latest` is said as
    unpinned too when `k8s-image-latest` is skipped, so skipping one rule never silences the other."""
    def check(pod: Pod) -> Iterator[Violation]:
        for image, path, container in _images(pod):
            _, tag, digest = split_image(image)
            if digest and DIGEST.fullmatch(digest):
                continue
            bad = f" (@{digest} is not a digest: sha256: and 64 hex digits)" if digest else ""
            moving = tag is None or tag == "latest"
            if moving and "k8s-image-latest" not in skip:
                yield Violation("k8s-image-latest", f'container "{container}" runs "{image}": a moving tag (latest)'
                                f" deploys whatever was pushed last{bad}", path, container)
            elif digest:
                yield Violation("k8s-image-digest", f'container "{container}" runs "{image}", not pinned{bad}',
                                path, container)
            else:
                yield Violation("k8s-image-digest", f'container "{container}" runs "{image}" by'
                                f" {'tag' if tag else 'name'}, not by digest", path, container)
    return check


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
    "k8s-secret-env-literal": secrets.env_credentials(),
}
SHARED_RULES: dict[str, frozenset[str]] = {"k8s-secret-env-literal": frozenset({"k8s-secret-value"})}
"""Rules a pod check yields beside the one it is keyed by: it runs while any of them is wanted."""
OBJECT_CHECKS: dict[str, Callable[[Workload], Iterator[Violation]]] = {
    "k8s-secret-in-manifest": secret_data,
    "k8s-secret-value": secrets.configmap_credentials,
    "k8s-ingress-tls": ingress_tls,
}
EVERY_OBJECT_CHECKS: dict[str, Callable[[Workload], Iterator[Violation]]] = {
    "k8s-secret-value": secrets.annotation_credentials,
}
"""Checks of every judged object, whether it carries a pod or not."""
OBJECT_KINDS = frozenset({"Secret", "ConfigMap", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "Ingress"})
"""Kinds without a pod template that the gate still judges (and so reports as results)."""
