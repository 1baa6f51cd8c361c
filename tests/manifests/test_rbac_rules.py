"""RBAC powers, through the rule-case helper: a role or binding in, exactly its findings out."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.rule_cases import expect_findings, gate_report

_ROLE = """
    apiVersion: rbac.authorization.k8s.io/v1
    kind: {kind}
    metadata: {{name: r, namespace: shop}}
    rules:
    - apiGroups: [{group}]
      resources: [{resources}]
      verbs: [{verbs}]
"""


def _role(resources: str, verbs: str, group: str = '""', kind: str = "Role", extra: str = "") -> str:
    return _ROLE.format(kind=kind, group=group, resources=resources, verbs=verbs) + extra


@pytest.mark.parametrize(("resources", "verbs", "group", "rule"), [
    ("pods/exec", "create", '""', "k8s-rbac-pod-exec"),
    ("pods/attach", "get", '""', "k8s-rbac-pod-exec"),
    ("pods", "create", '""', "k8s-rbac-workload-create"),
    ("deployments", "create", "apps", "k8s-rbac-workload-create"),
    ("cronjobs", "create", "batch", "k8s-rbac-workload-create"),
    ("serviceaccounts/token", "create", '""', "k8s-rbac-token-create"),
    ("nodes/proxy", "get", '""', "k8s-rbac-nodes-proxy"),
    ("mutatingwebhookconfigurations", "patch", "admissionregistration.k8s.io", "k8s-rbac-webhook-config"),
    ("validatingwebhookconfigurations", "delete", "admissionregistration.k8s.io", "k8s-rbac-webhook-config"),
    ("services/status", "update", '""', "k8s-rbac-service-status"),
    ("persistentvolumes", "create", '""', "k8s-rbac-pv-create"),
    ("secrets", "watch", '""', "k8s-rbac-secrets-read"),
])
def test_each_power_is_found_at_its_resource(tmp_path: Path, resources: str, verbs: str, group: str,
                                             rule: str) -> None:
    expect_findings(tmp_path, _role(resources, verbs, group), (rule, "Role/shop/r", "6:15"))


@pytest.mark.parametrize(("resources", "verbs", "group"), [
    ("pods/exec", "list", '""'),          # list on exec grants nothing
    ("pods", "get", '""'),                # reading pods is not creating them
    ("deployments", "create", '""'),      # the core group has no deployments
    ("pods/log", "get", '""'),
    ("services", "update", '""'),         # the Service itself, not its status
    ("persistentvolumeclaims", "create", '""'),
    ("nodes/metrics", "get", '""'),
    ("mutatingwebhookconfigurations", "get", "admissionregistration.k8s.io"),
])
def test_near_misses_are_not_powers(tmp_path: Path, resources: str, verbs: str, group: str) -> None:
    expect_findings(tmp_path, _role(resources, verbs, group))


def test_wildcards_count_for_every_power_they_grant(tmp_path: Path) -> None:
    expect_findings(tmp_path, _role('"pods/*"', "create"), ("k8s-rbac-pod-exec", "Role/shop/r", "6:15"))
    expect_findings(tmp_path, _role('"*/exec"', "get"), ("k8s-rbac-pod-exec", "Role/shop/r", "6:15"))
    expect_findings(tmp_path, _role("nodes/proxy", '"*"'), ("k8s-rbac-nodes-proxy", "Role/shop/r", "6:15"),
                    ("k8s-rbac-wildcard", "Role/shop/r", "7:11"))
    expect_findings(tmp_path, _role("persistentvolumes", "create", group='"*"'),
                    ("k8s-rbac-pv-create", "Role/shop/r", "6:15"), ("k8s-rbac-wildcard", "Role/shop/r", "5:15"))


def test_a_full_wildcard_role_names_every_power(tmp_path: Path) -> None:
    report = gate_report(tmp_path, _role('"*"', '"*"', group='"*"', kind="ClusterRole"))
    [result] = report.results
    rules = sorted({f.rule for f in result.findings})
    assert rules == ["k8s-rbac-csr-approval", "k8s-rbac-escalation", "k8s-rbac-nodes-proxy", "k8s-rbac-pod-exec",
                     "k8s-rbac-pv-create",
                     "k8s-rbac-secrets-read", "k8s-rbac-service-status", "k8s-rbac-token-create",
                     "k8s-rbac-webhook-config", "k8s-rbac-wildcard", "k8s-rbac-workload-create"]
    assert all("(a wildcard, so " in f.message for f in result.findings if f.rule not in
               ("k8s-rbac-wildcard", "k8s-rbac-escalation", "k8s-rbac-csr-approval"))


def test_resource_names_narrow_secret_reads(tmp_path: Path) -> None:
    named = _role("secrets", "get", extra="      resourceNames: [tls-cert]\n")
    expect_findings(tmp_path, named)
    expect_findings(tmp_path, _role("secrets", "get"), ("k8s-rbac-secrets-read", "Role/shop/r", "6:15"))


def test_resource_names_cannot_authorize_creating_a_top_level_object(tmp_path: Path) -> None:
    expect_findings(tmp_path, _role("pods", "create", extra="      resourceNames: [web]\n"))
    # a subresource's name is its parent's: exec into the named pod is still granted
    expect_findings(tmp_path, _role("pods/exec", "create", extra="      resourceNames: [web]\n"),
                    ("k8s-rbac-pod-exec", "Role/shop/r", "6:15"))


def test_csr_approval_needs_both_permissions(tmp_path: Path) -> None:
    approval = """
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata: {name: approver}
        rules:
        - apiGroups: [certificates.k8s.io]
          resources: [certificatesigningrequests/approval]
          verbs: [update]
    """
    expect_findings(tmp_path, approval)
    signer = """
        - apiGroups: [certificates.k8s.io]
          resources: [signers]
          resourceNames: [kubernetes.io/kube-apiserver-client]
          verbs: [approve]
    """
    expect_findings(tmp_path, approval.rstrip() + signer, ("k8s-rbac-csr-approval", "ClusterRole/approver", "6:15"))


def test_escalation_through_a_wildcard_verb_only_on_what_it_can_escalate(tmp_path: Path) -> None:
    expect_findings(tmp_path, _role("clusterroles", '"*"', group="rbac.authorization.k8s.io"),
                    ("k8s-rbac-escalation", "Role/shop/r", "7:11"), ("k8s-rbac-wildcard", "Role/shop/r", "7:11"))
    expect_findings(tmp_path, _role("configmaps", '"*"'), ("k8s-rbac-wildcard", "Role/shop/r", "7:11"))


def test_a_resource_rule_without_api_groups_is_an_error(tmp_path: Path) -> None:
    report = gate_report(tmp_path, """
        apiVersion: rbac.authorization.k8s.io/v1
        kind: Role
        metadata: {name: r, namespace: shop}
        rules:
        - resources: [pods]
          verbs: [get]
    """)
    [result] = report.results
    assert result.outcome.value == "error"
    assert result.error == "rules[0]: names resources but no apiGroups, which the API server rejects (the core" \
                           ' group is "")'


_BINDING = """
    apiVersion: rbac.authorization.k8s.io/v1
    kind: RoleBinding
    metadata: {{name: b, namespace: shop}}
    roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}}
    subjects:
    - kind: {kind}
      name: {name}
"""


@pytest.mark.parametrize(("kind", "name", "rule"), [
    ("Group", "system:authenticated", "k8s-rbac-public-subject"),
    ("Group", "system:unauthenticated", "k8s-rbac-public-subject"),
    ("User", "system:anonymous", "k8s-rbac-public-subject"),
    ("Group", "system:serviceaccounts", "k8s-rbac-public-subject"),
    ("ServiceAccount", "default", "k8s-rbac-default-service-account"),
])
def test_bindings_to_everyone_or_to_a_default_account(tmp_path: Path, kind: str, name: str, rule: str) -> None:
    expect_findings(tmp_path, _BINDING.format(kind=kind, name=name), (rule, "RoleBinding/shop/b", "7:3"))


@pytest.mark.parametrize(("kind", "name"), [("ServiceAccount", "web"), ("Group", "system:masters-readers"),
                                            ("User", "alice")])
def test_bindings_to_named_subjects_pass(tmp_path: Path, kind: str, name: str) -> None:
    expect_findings(tmp_path, _BINDING.format(kind=kind, name=name))


def test_aggregated_cluster_roles_are_said(tmp_path: Path) -> None:
    report = gate_report(tmp_path, """
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata:
          name: monitoring
          labels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}
        aggregationRule:
          clusterRoleSelectors:
          - matchLabels: {team: monitoring}
        rules: []
    """)
    [result] = report.results
    assert result.outcome.value == "passed"
    assert result.details == (
        "monitoring aggregates the rules of every ClusterRole its aggregationRule selects: those are judged in"
        " their own results, and ClusterRoles not in this scan are not judged at all",
        "its rules are added to the built-in ClusterRole view: every subject bound to it gains them")


@pytest.mark.parametrize(("api_version", "kind", "said"), [
    ("authorization.openshift.io/v1", "ClusterRole", "is not a Kubernetes RBAC object"),
    ("rbac.authorization.k8s.io/v1", "RoleBindingRestriction", "is not an RBAC kind gates knows"),
])
def test_rbac_kinds_gates_does_not_read_are_said(tmp_path: Path, api_version: str, kind: str, said: str) -> None:
    report = gate_report(tmp_path, f"""
        apiVersion: {api_version}
        kind: {kind}
        metadata: {{name: r}}
        rules:
        - apiGroups: ["*"]
          resources: ["*"]
          verbs: ["*"]
    """)
    [result] = [r for r in report.results if r.target.endswith(f"#{kind}/r")]
    assert result.outcome.value == "skipped"
    assert result.error is not None and said in result.error and result.error.endswith("not judged")
