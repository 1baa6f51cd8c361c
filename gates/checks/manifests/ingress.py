"""ingress-nginx snippet annotations: raw NGINX configuration written by whoever may edit an Ingress."""

from __future__ import annotations

from collections.abc import Iterator

from gates.checks.manifests.pss import Violation
from gates.checks.manifests.workloads import Workload

NGINX_PREFIX = "nginx.ingress.kubernetes.io/"


def nginx_snippets(obj: Workload) -> Iterator[Violation]:
    """CVE-2021-25742: a `*-snippet` annotation can read the controller's service-account token and every Secret."""
    if obj.kind != "Ingress":
        return
    for key, path in obj.annotation_paths.items():
        if key.startswith(NGINX_PREFIX) and key.endswith("-snippet"):
            yield Violation("k8s-ingress-nginx-snippet", f"Ingress {obj.name} sets {key}: raw NGINX configuration"
                            " runs in the controller, which can read every Secret of the cluster (CVE-2021-25742)",
                            path)
