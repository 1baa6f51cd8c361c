"""Property: whatever cluster-shaped YAML a pull request writes, the gate answers with results (findings
or one-line errors), never another exception, and never passes an object it could not read."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gates.checks.cluster.gate import ClusterOptions, scan
from gates.model import Outcome

EXAMPLES = int(os.environ.get("GATES_FUZZ_EXAMPLES", "150"))
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_FLAG_NAMES = ["anonymous-auth", "authorization-mode", "enable-admission-plugins", "profiling", "tls-min-version",
               "audit-log-maxage", "secure-port", "insecure-port", "etcd-servers", "tls-cipher-suites", "config",
               "client-cert-auth", "read-only-port", "authorization-config", "x\u001b"]
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 70000), st.text(max_size=12),
                     st.sampled_from(["true", "false", "0", "Node,RBAC", "AlwaysAllow", "VersionTLS10", "-"]))
_args = st.one_of(
    st.builds(lambda n, v: f"--{n}={v}", st.sampled_from(_FLAG_NAMES), st.text(max_size=8)),
    st.builds(lambda n: f"--{n}", st.sampled_from(_FLAG_NAMES)),
    _scalars,
)
_values: st.SearchStrategy[Any] = st.recursive(
    _scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                      st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)
_COMPONENTS = ["kube-apiserver", "etcd", "kubelet", "kube-scheduler", "kube-controller-manager", "sh"]


@st.composite
def _documents(draw: st.DrawFn) -> dict[str, Any]:
    shape = draw(st.sampled_from(["pod", "kubeadm", "kubelet", "audit", "encryption", "kind", "k3s"]))
    if shape == "pod":
        command = [draw(st.sampled_from(_COMPONENTS)), *draw(st.lists(_args, max_size=8))]
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "kube-system"},
                "spec": {"containers": [{"name": "c", "image": draw(st.text(max_size=20)),
                                         "command": draw(st.one_of(st.just(command), _values))}]}}
    if shape == "kubeadm":
        args = draw(st.one_of(st.dictionaries(st.sampled_from(_FLAG_NAMES), _scalars, max_size=5), _values))
        return {"apiVersion": "kubeadm.k8s.io/v1beta3", "kind": "ClusterConfiguration",
                "kubernetesVersion": draw(_scalars), "apiServer": {"extraArgs": args}, "etcd": draw(_values)}
    if shape == "kubelet":
        return {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
                **draw(st.dictionaries(st.sampled_from(["authentication", "authorization", "readOnlyPort",
                                                        "tlsCipherSuites", "featureGates", "tlsMinVersion"]),
                                       _values, max_size=4))}
    if shape == "audit":
        return {"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": draw(_values)}
    if shape == "encryption":
        return {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
                "resources": draw(_values)}
    if shape == "kind":
        return {"apiVersion": "kind.x-k8s.io/v1alpha4", "kind": "Cluster", "nodes": draw(_values),
                "kubeadmConfigPatches": draw(st.one_of(st.lists(st.text(max_size=30), max_size=3), _values))}
    return {"kube-apiserver-arg": draw(_values), "kubelet-arg": draw(_values)}


@FAST
@given(_documents())
def test_any_cluster_shaped_document_gets_results_never_an_exception(document: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "input.yaml"
        path.write_text(yaml.safe_dump(document), encoding="utf-8")
        results = scan(ClusterOptions(paths=(str(path),)))
    assert results
    for result in results:
        if result.outcome is Outcome.ERROR:
            assert result.error and "\n" not in result.error and "\x1b" not in result.error
        for finding in result.findings:
            assert finding.location.line is not None and "\x1b" not in finding.message
