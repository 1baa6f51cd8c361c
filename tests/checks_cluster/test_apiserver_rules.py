"""API server rules in a few lines: a compliant kube-apiserver static pod, broken one flag at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.checks_cluster.inputs import COMMAND_AT, apiserver, flag_at
from tests.support.rule_cases import expect_findings

POD = "Pod/kube-system/kube-apiserver"
ONLY_FLAGS = {"skip-rules": '["cluster-config-unchecked"]'}
"""The audit policy and encryption files the flags name are not among these one-file scans."""


def _expect(tmp_path: Path, text: str, *expected: tuple[str, str]) -> None:
    expect_findings(tmp_path, text, *((rule, POD, at) for rule, at in expected), gate="cluster", options=ONLY_FLAGS)


def test_the_compliant_api_server_has_no_finding(tmp_path: Path) -> None:
    _expect(tmp_path, apiserver())


@pytest.mark.parametrize(("flag", "rule"), [
    ("anonymous-auth", "cluster-apiserver-anonymous-auth"),
    ("kubelet-certificate-authority", "cluster-apiserver-kubelet-ca"),
    ("kubelet-client-key", "cluster-apiserver-kubelet-client-tls"),
    ("etcd-cafile", "cluster-apiserver-etcd-tls"),
    ("tls-cert-file", "cluster-apiserver-serving-tls"),
    ("client-ca-file", "cluster-apiserver-client-ca"),
    ("service-account-key-file", "cluster-apiserver-service-account-key"),
    ("profiling", "cluster-profiling"),
    ("audit-policy-file", "cluster-apiserver-audit-log"),
    ("encryption-provider-config", "cluster-apiserver-encryption"),
    ("enable-admission-plugins", "cluster-apiserver-node-restriction"),
])
def test_a_missing_flag_whose_default_is_unsafe_points_at_the_command(tmp_path: Path, flag: str, rule: str) -> None:
    _expect(tmp_path, apiserver(drop=(flag,)), (rule, COMMAND_AT))


def test_no_authorization_mode_is_always_allow_without_node_or_rbac(tmp_path: Path) -> None:
    _expect(tmp_path, apiserver(drop=("authorization-mode",)), ("cluster-apiserver-always-allow", COMMAND_AT),
            ("cluster-apiserver-authz-node", COMMAND_AT), ("cluster-apiserver-authz-rbac", COMMAND_AT))


def test_an_unset_flag_with_a_safe_default_is_no_finding(tmp_path: Path) -> None:
    _expect(tmp_path, apiserver(drop=("tls-min-version", "etcd-servers")))


@pytest.mark.parametrize(("replace", "rules"), [
    ({"anonymous_auth": "true"}, ["cluster-apiserver-anonymous-auth"]),
    ({"authorization_mode": "AlwaysAllow"},
     ["cluster-apiserver-always-allow", "cluster-apiserver-authz-node", "cluster-apiserver-authz-rbac"]),
    ({"authorization_mode": "RBAC"}, ["cluster-apiserver-authz-node"]),
    ({"authorization_mode": "Node,RBAC,AlwaysAllow"}, ["cluster-apiserver-always-allow"]),
    ({"enable_admission_plugins": "NodeRestriction,AlwaysAdmit"}, ["cluster-apiserver-always-admit"]),
    ({"enable_admission_plugins": "PodSecurity"}, ["cluster-apiserver-node-restriction"]),
    ({"profiling": "true"}, ["cluster-profiling"]),
    ({"audit_log_maxage": "7"}, ["cluster-apiserver-audit-retention"]),
    ({"etcd_servers": "http://10.0.0.5:2379"}, ["cluster-apiserver-etcd-tls"]),
    ({"tls_min_version": "VersionTLS10"}, ["cluster-apiserver-tls"]),
    ({"tls_cert_file": ""}, ["cluster-apiserver-serving-tls"]),
])
def test_an_unsafe_value_points_at_its_flag(tmp_path: Path, replace: dict[str, str], rules: list[str]) -> None:
    text = apiserver(replace=replace)
    ((key, value),) = replace.items()
    at = flag_at(text, f"--{key.replace('_', '-')}={value}")
    _expect(tmp_path, text, *((rule, at) for rule in rules))


@pytest.mark.parametrize(("flag", "rule"), [
    ("--token-auth-file=/etc/kubernetes/tokens.csv", "cluster-apiserver-static-credentials"),
    ("--basic-auth-file=/etc/kubernetes/passwords.csv", "cluster-apiserver-static-credentials"),
    ("--kubelet-https=false", "cluster-apiserver-kubelet-client-tls"),
    ("--disable-admission-plugins=ServiceAccount", "cluster-apiserver-default-admission"),
    ("--disable-admission-plugins=NamespaceLifecycle", "cluster-apiserver-default-admission"),
    ("--service-account-lookup=false", "cluster-apiserver-service-account-lookup"),
    ("--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_RSA_WITH_RC4_128_SHA", "cluster-apiserver-tls"),
    ("--insecure-port=8080", "cluster-apiserver-insecure-serving"),
    ("--insecure-bind-address=0.0.0.0", "cluster-apiserver-insecure-serving"),
    ("--secure-port=0", "cluster-apiserver-insecure-serving"),
])
def test_an_added_unsafe_flag_points_at_itself(tmp_path: Path, flag: str, rule: str) -> None:
    text = apiserver(add=(flag,))
    _expect(tmp_path, text, (rule, flag_at(text, flag)))


def test_flag_and_value_as_two_arguments_are_read_as_pflag_reads_them(tmp_path: Path) -> None:
    text = apiserver(drop=("anonymous-auth", "authorization-mode"), add=("--authorization-mode", "AlwaysAllow"))
    at = flag_at(text, "--authorization-mode")
    _expect(tmp_path, text, ("cluster-apiserver-anonymous-auth", COMMAND_AT), ("cluster-apiserver-always-allow", at),
            ("cluster-apiserver-authz-node", at), ("cluster-apiserver-authz-rbac", at))
