"""The checks beyond the Pod Security Standards: images, secrets, RBAC, TLS and network policies."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from gates.checks.manifests.gate import ManifestOptions, scan
from gates.checks.manifests.hardening import split_image
from gates.engine import decide
from gates.model import Outcome, Result, Severity
from tests.manifests.helpers import IMAGE, compliant_pod_spec, wrap, write


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def _scan(path: Path, **options: Any) -> list[Result]:
    return scan(ManifestOptions(paths=(str(path),), **options))


def _pod_with_image(image: str) -> dict[str, Any]:
    spec = compliant_pod_spec()
    spec["containers"][0]["image"] = image
    return wrap("Deployment", spec)


@pytest.mark.parametrize(("image", "expected"), [
    ("nginx", {"k8s-image-latest"}),
    ("nginx:latest", {"k8s-image-latest"}),
    ("registry.example:5000/team/app", {"k8s-image-latest"}),
    ("registry.example:5000/team/app:1.2", {"k8s-image-digest"}),
    ("nginx:1.27", {"k8s-image-digest"}),
    (IMAGE, set()),
    ("nginx@sha256:" + "0" * 64, set()),
])
def test_image_references(tmp_path: Path, image: str, expected: set[str]) -> None:
    path = write(tmp_path, "d.yaml", _pod_with_image(image))
    [result] = _scan(path)
    assert {f.rule for f in result.findings} == expected
    for finding in result.findings:
        assert finding.location.line == _line_of(path, "image:")


def test_split_image_keeps_registry_ports() -> None:
    assert split_image("host:5000/a/b") == ("host:5000/a/b", None, None)
    assert split_image("host:5000/a/b:v1@sha256:x") == ("host:5000/a/b", "v1", "sha256:x")


def test_allowed_registries(tmp_path: Path) -> None:
    path = write(tmp_path, "d.yaml", _pod_with_image("docker.io/library/nginx@sha256:" + "1" * 64))
    assert _scan(path, allowed_registries=())[0].outcome is Outcome.PASSED
    [result] = _scan(path, allowed_registries=("registry.example/*",))
    assert [f.rule for f in result.findings] == ["k8s-image-registry"]
    assert _scan(path, allowed_registries=("registry.example/*", "docker.io/library/*"))[0].findings == ()
    lookalike = write(tmp_path, "e.yaml", _pod_with_image("evil.io/registry.example/app@sha256:" + "2" * 64))
    [result] = _scan(lookalike, allowed_registries=("*.example/*", "registry.example/*"))
    assert [f.rule for f in result.findings] == ["k8s-image-registry"]


def test_literal_credentials_in_env(tmp_path: Path) -> None:
    spec = compliant_pod_spec()
    spec["containers"][0]["env"] = [
        {"name": "DB_PASSWORD", "value": "hunter2"},
        {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}},
        {"name": "LOG_LEVEL", "value": "debug"},
        {"name": "AWS_SECRET_ACCESS_KEY", "value": ""},
    ]
    path = write(tmp_path, "d.yaml", wrap("Deployment", spec))
    [result] = _scan(path)
    [finding] = result.findings
    assert finding.rule == "k8s-secret-env-literal" and "DB_PASSWORD" in finding.message
    assert "hunter2" not in finding.message  # never echo a credential
    assert finding.location.line == _line_of(path, "value: hunter2")


def test_secret_objects_and_rbac(tmp_path: Path) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop"},
              "data": {"password": "aHVudGVyMg=="}}
    empty_secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tls"}, "type": "kubernetes.io/tls"}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "ops"},
            "rules": [{"apiGroups": ["*"], "resources": ["pods"], "verbs": ["get"]},
                      {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]},
                      {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"],
                       "verbs": ["bind", "escalate"]}]}
    narrow = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
              "metadata": {"name": "reader", "namespace": "shop"},
              "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": "ci"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                                      "kind": "ClusterRole", "name": "cluster-admin"},
               "subjects": [{"kind": "ServiceAccount", "name": "ci", "namespace": "ci"}]}
    path = write(tmp_path, "objects.yaml", secret, empty_secret, role, narrow, binding)
    by_target = {r.target.split("#")[1]: r for r in _scan(path)}
    assert [f.rule for f in by_target["Secret/shop/db"].findings] == ["k8s-secret-in-manifest"]
    assert "aHVudGVyMg" not in by_target["Secret/shop/db"].findings[0].message
    assert by_target["Secret/tls"].outcome is Outcome.PASSED
    assert sorted(f.rule for f in by_target["ClusterRole/ops"].findings) == [
        "k8s-rbac-escalation", "k8s-rbac-escalation", "k8s-rbac-secrets-read", "k8s-rbac-wildcard"]
    assert by_target["Role/shop/reader"].outcome is Outcome.PASSED
    [admin] = by_target["ClusterRoleBinding/ci"].findings
    assert admin.rule == "k8s-rbac-cluster-admin" and admin.location.line == _line_of(path, "name: cluster-admin")
    assert all(r.outcome is Outcome.PASSED for r in _scan(path, hardening=False))


def test_ingress_tls(tmp_path: Path) -> None:
    def ingress(name: str, tls: list[dict[str, Any]] | None) -> dict[str, Any]:
        spec: dict[str, Any] = {"rules": [{"host": "shop.example.com"}, {"host": "api.example.com"}]}
        if tls is not None:
            spec["tls"] = tls
        return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name}, "spec": spec}

    path = write(tmp_path, "ing.yaml", ingress("plain", None),
                 ingress("partial", [{"hosts": ["shop.example.com"], "secretName": "s"}]),
                 ingress("wildcard", [{"hosts": ["*.example.com"], "secretName": "s"}]))
    by_name = {r.target.split("/")[-1]: r for r in _scan(path)}
    assert "no spec.tls" in by_name["plain"].findings[0].message
    [partial] = by_name["partial"].findings
    assert "api.example.com" in partial.message
    assert by_name["wildcard"].outcome is Outcome.PASSED


def test_network_policy_coverage(tmp_path: Path) -> None:
    def deployment(name: str, namespace: str, labels: dict[str, str]) -> dict[str, Any]:
        obj = wrap("Deployment", compliant_pod_spec(), name=name, namespace=namespace)
        obj["spec"]["template"]["metadata"]["labels"] = labels
        return obj

    def policy(namespace: str, selector: dict[str, Any]) -> dict[str, Any]:
        return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": "p", "namespace": namespace},
                "spec": {"podSelector": selector, "policyTypes": ["Ingress", "Egress"]}}

    write(tmp_path, "apps.yaml", deployment("web", "shop", {"app": "web", "tier": "front"}),
          deployment("db", "shop", {"app": "db"}), deployment("batch", "jobs", {"app": "batch"}),
          deployment("api", "api", {"app": "api"}))
    write(tmp_path, "policies.yaml",
          policy("shop", {"matchLabels": {"tier": "front"}}),
          policy("jobs", {}),
          policy("api", {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["api"]}]}))
    results = {r.target.split("#")[1]: r for r in _scan(tmp_path, require_network_policy=True)
               if "Deployment" in r.target}
    uncovered = {name for name, r in results.items() if any(f.rule == "k8s-network-policy" for f in r.findings)}
    assert uncovered == {"Deployment/shop/db", "Deployment/api/api"}
    assert results["Deployment/shop/db"].outcome is Outcome.FAILED
    assert all(not r.findings for r in _scan(tmp_path) if "Deployment" in r.target)  # off by default


def test_network_policy_finding_can_be_waived_inline(tmp_path: Path) -> None:
    obj = wrap("Deployment", compliant_pod_spec(), annotations=None)
    obj["metadata"]["annotations"] = {"gates.dev/waive.k8s-network-policy": "isolated by the service mesh"}
    path = write(tmp_path, "d.yaml", obj)
    [raw] = _scan(path, require_network_policy=True)
    assert raw.findings[0].waiver is not None
    result = decide(raw, (), Severity.LOW, dt.date(2026, 1, 1))  # outcomes are the engine's to decide
    assert result.outcome is Outcome.PASSED


@pytest.mark.parametrize(("expression", "problem"), [
    ({"key": "app", "operator": "Bogus", "values": ["x"]}, "unknown selector operator 'Bogus'"),
    ({"key": "app", "operator": "in", "values": ["x"]}, "unknown selector operator 'in'"),
    ({"key": "app", "operator": "In", "values": []}, "In needs at least one value"),
    ({"key": "app", "operator": "Exists", "values": ["x"]}, "Exists takes no values"),
])
def test_a_policy_the_api_server_would_reject_covers_nothing(tmp_path: Path, expression: dict[str, Any],
                                                             problem: str) -> None:
    workload = wrap("Deployment", compliant_pod_spec())
    workload["spec"]["template"]["metadata"]["labels"] = {"app": "web"}
    policy = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": {"name": "p", "namespace": "shop"},
              "spec": {"podSelector": {"matchExpressions": [expression]}}}
    path = write(tmp_path, "np.yaml", workload, policy)
    by_kind = {r.target.split("#")[1].split("/")[0]: r for r in _scan(path, require_network_policy=True)}
    assert by_kind["NetworkPolicy"].outcome is Outcome.ERROR
    assert by_kind["NetworkPolicy"].error is not None and problem in by_kind["NetworkPolicy"].error
    assert [f.rule for f in by_kind["Deployment"].findings] == ["k8s-network-policy"]
