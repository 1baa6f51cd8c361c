"""Manifest rules as the rule-case helper states them: text in, (rule, resource, line:column) out."""

from __future__ import annotations

from pathlib import Path

from tests.support.rule_cases import expect_findings

_POD = """
    apiVersion: v1
    kind: Pod
    metadata: {name: web, namespace: shop}
    spec:
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: app
        image: registry.example/app:1.0@sha256:{digest}
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
          {extra}
"""


def _pod(extra: str = "") -> str:
    return _POD.replace("{digest}", "ab" * 32).replace("{extra}", extra)


def test_a_compliant_pod_has_no_finding(tmp_path: Path) -> None:
    expect_findings(tmp_path, _pod())


def test_privileged(tmp_path: Path) -> None:
    expect_findings(tmp_path, _pod("privileged: true"), ("pss-privileged", "Pod/shop/web", "12:7"))


def test_run_as_user_zero(tmp_path: Path) -> None:
    expect_findings(tmp_path, _pod("runAsUser: 0"), ("pss-run-as-user", "Pod/shop/web", "12:7"))


def test_privileged_at_baseline_is_still_found(tmp_path: Path) -> None:
    expect_findings(tmp_path, _pod("privileged: true"), ("pss-privileged", "Pod/shop/web", "12:7"),
                    level="baseline")


def test_rbac_wildcard(tmp_path: Path) -> None:
    expect_findings(tmp_path, """
        apiVersion: rbac.authorization.k8s.io/v1
        kind: Role
        metadata: {name: everything, namespace: shop}
        rules:
        - apiGroups: [""]
          resources: [pods]
          verbs: ["*"]
    """, ("k8s-rbac-wildcard", "Role/shop/everything", "7:11"),
        ("k8s-rbac-workload-create", "Role/shop/everything", "6:15"))  # '*' verbs include create on pods


def test_ingress_without_tls(tmp_path: Path) -> None:
    expect_findings(tmp_path, """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: shop, namespace: shop}
        spec:
          rules:
          - host: shop.example
    """, ("k8s-ingress-tls", "Ingress/shop/shop", "4:1"))


def test_image_registry_is_an_option_of_the_table(tmp_path: Path) -> None:
    expect_findings(tmp_path, _pod(), ("k8s-image-registry", "Pod/shop/web", "8:5"),
                    options={"allowed-registries": '["ghcr.io/acme/*"]'})
