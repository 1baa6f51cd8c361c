"""Controller manager, scheduler, kubelet (flags and KubeletConfiguration) and etcd rules in a few lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.checks_cluster.inputs import COMMAND_AT, flag_at, static_pod
from tests.support.rule_cases import expect_findings

CONTROLLER_MANAGER = ("--profiling=false", "--bind-address=127.0.0.1", "--use-service-account-credentials=true",
                      "--service-account-private-key-file=/etc/kubernetes/pki/sa.key",
                      "--root-ca-file=/etc/kubernetes/pki/ca.crt")
SCHEDULER = ("--profiling=false", "--bind-address=127.0.0.1")
ETCD = ("--cert-file=/etc/kubernetes/pki/etcd/server.crt", "--key-file=/etc/kubernetes/pki/etcd/server.key",
        "--client-cert-auth=true", "--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt",
        "--peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt", "--peer-key-file=/etc/kubernetes/pki/etcd/peer.key",
        "--peer-client-cert-auth=true")
KUBELET = ("--anonymous-auth=false", "--authorization-mode=Webhook", "--client-ca-file=/etc/kubernetes/pki/ca.crt",
           "--read-only-port=0", "--protect-kernel-defaults=true", "--rotate-certificates=true",
           "--rotate-server-certificates=true")


def _without(flags: tuple[str, ...], name: str) -> tuple[str, ...]:
    return tuple(f for f in flags if not f.startswith(f"--{name}="))


def _replaced(flags: tuple[str, ...], flag: str) -> tuple[str, ...]:
    return (*_without(flags, flag[2:].split("=")[0]), flag)


COMPONENTS = {"kube-controller-manager": CONTROLLER_MANAGER, "kube-scheduler": SCHEDULER, "etcd": ETCD,
              "kubelet": KUBELET}


@pytest.mark.parametrize("component", list(COMPONENTS))
def test_a_compliant_component_has_no_finding(tmp_path: Path, component: str) -> None:
    expect_findings(tmp_path, static_pod(COMPONENTS[component], component), gate="cluster")


@pytest.mark.parametrize(("component", "flag", "rule"), [
    ("kube-controller-manager", "profiling", "cluster-profiling"),
    ("kube-controller-manager", "bind-address", "cluster-loopback-bind"),
    ("kube-controller-manager", "use-service-account-credentials", "cluster-controller-manager-credentials"),
    ("kube-controller-manager", "root-ca-file", "cluster-controller-manager-credentials"),
    ("kube-scheduler", "bind-address", "cluster-loopback-bind"),
    ("etcd", "client-cert-auth", "cluster-etcd-client-tls"),
    ("etcd", "key-file", "cluster-etcd-client-tls"),
    ("etcd", "peer-cert-file", "cluster-etcd-peer-tls"),
    ("kubelet", "anonymous-auth", "cluster-kubelet-anonymous-auth"),
    ("kubelet", "authorization-mode", "cluster-kubelet-authorization"),
    ("kubelet", "client-ca-file", "cluster-kubelet-client-ca"),
    ("kubelet", "read-only-port", "cluster-kubelet-read-only-port"),
    ("kubelet", "protect-kernel-defaults", "cluster-kubelet-protect-kernel-defaults"),
    ("kubelet", "rotate-certificates", "cluster-kubelet-certificate-rotation"),
])
def test_a_missing_flag_with_an_unsafe_default(tmp_path: Path, component: str, flag: str, rule: str) -> None:
    text = static_pod(_without(COMPONENTS[component], flag), component)
    expect_findings(tmp_path, text, (rule, f"Pod/kube-system/{component}", COMMAND_AT), gate="cluster")


@pytest.mark.parametrize(("component", "flag", "rule"), [
    ("kube-scheduler", "--bind-address=0.0.0.0", "cluster-loopback-bind"),
    ("kube-scheduler", "--profiling=true", "cluster-profiling"),
    ("etcd", "--auto-tls=true", "cluster-etcd-client-tls"),
    ("etcd", "--peer-auto-tls=true", "cluster-etcd-peer-tls"),
    ("etcd", "--peer-client-cert-auth=false", "cluster-etcd-peer-tls"),
    ("kubelet", "--authorization-mode=AlwaysAllow", "cluster-kubelet-authorization"),
    ("kubelet", "--read-only-port=10255", "cluster-kubelet-read-only-port"),
    ("kubelet", "--tls-cipher-suites=TLS_RSA_WITH_3DES_EDE_CBC_SHA", "cluster-kubelet-tls"),
    ("kubelet", "--feature-gates=RotateKubeletServerCertificate=false", "cluster-kubelet-certificate-rotation"),
    ("kubelet", "--streaming-connection-idle-timeout=0s", "cluster-kubelet-streaming-timeout"),
    ("kubelet", "--make-iptables-util-chains=false", "cluster-kubelet-iptables-chains"),
])
def test_an_unsafe_value(tmp_path: Path, component: str, flag: str, rule: str) -> None:
    text = static_pod(_replaced(COMPONENTS[component], flag), component)
    expect_findings(tmp_path, text, (rule, f"Pod/kube-system/{component}", flag_at(text, flag)), gate="cluster")


def test_etcd_takes_single_dash_flags_as_go_s_flag_package_does(tmp_path: Path) -> None:
    flags = tuple("-" + f[2:] for f in _replaced(ETCD, "--client-cert-auth=false"))
    text = static_pod(flags, "etcd")
    expect_findings(tmp_path, text, ("cluster-etcd-client-tls", "Pod/kube-system/etcd",
                                     flag_at(text, "-client-cert-auth=false")), gate="cluster")


def test_a_kubelet_with_a_config_file_is_judged_only_on_the_flags_given(tmp_path: Path) -> None:
    text = static_pod(("--config=/var/lib/kubelet/config.yaml", "--read-only-port=10255"), "kubelet")
    expect_findings(tmp_path, text, ("cluster-kubelet-read-only-port", "Pod/kube-system/kubelet",
                                     flag_at(text, "--read-only-port=10255")), gate="cluster")


KUBELET_CONFIG = """\
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: /etc/kubernetes/pki/ca.crt
authorization:
  mode: Webhook
readOnlyPort: 0
protectKernelDefaults: true
rotateCertificates: true
serverTLSBootstrap: true
tlsMinVersion: VersionTLS12
"""


def test_a_compliant_kubelet_configuration_has_no_finding(tmp_path: Path) -> None:
    expect_findings(tmp_path, KUBELET_CONFIG, gate="cluster")


@pytest.mark.parametrize(("old", "new", "rule", "at"), [
    ("    enabled: false", "    enabled: true", "cluster-kubelet-anonymous-auth", "5:5"),
    ("  mode: Webhook", "  mode: AlwaysAllow", "cluster-kubelet-authorization", "11:3"),
    ("readOnlyPort: 0", "readOnlyPort: 10255", "cluster-kubelet-read-only-port", "12:1"),
    ("protectKernelDefaults: true", "protectKernelDefaults: false", "cluster-kubelet-protect-kernel-defaults",
     "13:1"),
    ("rotateCertificates: true", "rotateCertificates: false", "cluster-kubelet-certificate-rotation", "14:1"),
    ("tlsMinVersion: VersionTLS12", "tlsMinVersion: VersionTLS11", "cluster-kubelet-tls", "16:1"),
    ("    clientCAFile: /etc/kubernetes/pki/ca.crt", "    {}", "cluster-kubelet-client-ca", "3:1"),
    ("readOnlyPort: 0", "readOnlyPort: 0\nstreamingConnectionIdleTimeout: 0h0m0s", "cluster-kubelet-streaming-timeout",
     "13:1"),
    ("readOnlyPort: 0", "readOnlyPort: 0\nmakeIPTablesUtilChains: false", "cluster-kubelet-iptables-chains", "13:1"),
])
def test_kubelet_configuration_values(tmp_path: Path, old: str, new: str, rule: str, at: str) -> None:
    text = KUBELET_CONFIG.replace(old, new, 1)
    if new == "    {}":
        text = text.replace("  x509:\n    {}\n", "")
    expect_findings(tmp_path, text, (rule, "KubeletConfiguration/kubelet", at), gate="cluster")


def test_kubelet_configuration_defaults_are_the_type_s_own(tmp_path: Path) -> None:
    """An empty KubeletConfiguration: anonymous off, Webhook and port 0 are its defaults; the rest is not."""
    text = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
    resource = "KubeletConfiguration/kubelet"
    expect_findings(tmp_path, text, ("cluster-kubelet-client-ca", resource, "1:1"),
                    ("cluster-kubelet-protect-kernel-defaults", resource, "1:1"),
                    ("cluster-kubelet-certificate-rotation", resource, "1:1"),
                    ("cluster-kubelet-tls", resource, "1:1"), gate="cluster")


def test_the_controller_manager_must_not_turn_server_certificate_rotation_off(tmp_path: Path) -> None:
    flag = "--feature-gates=RotateKubeletServerCertificate=false"
    text = static_pod((*CONTROLLER_MANAGER, flag), "kube-controller-manager")
    expect_findings(tmp_path, text, ("cluster-kubelet-certificate-rotation", "Pod/kube-system/kube-controller-manager",
                                     flag_at(text, flag)), gate="cluster")
