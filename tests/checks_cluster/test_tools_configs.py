"""kubeadm, kind and k3s configs: what runs is kubeadm's own flags plus the file's, and only that is judged."""

from __future__ import annotations

from pathlib import Path

from gates.checks.cluster.gate import ClusterOptions, scan
from tests.conftest import require_corpus
from tests.support.rule_cases import expect_findings, findings_of, gate_report

HARDENED_ARGS = """\
    anonymous-auth: "false"
    profiling: "false"
    kubelet-certificate-authority: /etc/kubernetes/pki/ca.crt
    audit-policy-file: /etc/kubernetes/audit.yaml
    audit-log-path: /var/log/kubernetes/audit.log
    audit-log-maxage: "30"
    audit-log-maxbackup: "10"
    audit-log-maxsize: "100"
    encryption-provider-config: /etc/kubernetes/encryption.yaml
"""
CLUSTER_CONFIGURATION = f"""\
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
kubernetesVersion: stable-1.31
apiServer:
  extraArgs:
{HARDENED_ARGS}controllerManager:
  extraArgs:
    profiling: "false"
scheduler:
  extraArgs:
    profiling: "false"
"""
ONLY_FLAGS = {"skip-rules": '["cluster-config-unchecked"]'}


def test_kubeadm_sets_rbac_node_restriction_and_tls_itself(tmp_path: Path) -> None:
    expect_findings(tmp_path, CLUSTER_CONFIGURATION, gate="cluster", options=ONLY_FLAGS)


def test_what_kubeadm_leaves_out_points_at_the_extra_args(tmp_path: Path) -> None:
    text = CLUSTER_CONFIGURATION.replace('    anonymous-auth: "false"\n', "")
    expect_findings(tmp_path, text, ("cluster-apiserver-anonymous-auth", "ClusterConfiguration/kube-apiserver", "5:3"),
                    gate="cluster", options=ONLY_FLAGS)


def test_extra_args_override_kubeadm_s_own(tmp_path: Path) -> None:
    text = CLUSTER_CONFIGURATION.replace("  extraArgs:\n", "  extraArgs:\n    authorization-mode: AlwaysAllow\n", 1)
    r = "ClusterConfiguration/kube-apiserver"
    expect_findings(tmp_path, text, ("cluster-apiserver-always-allow", r, "6:5"),
                    ("cluster-apiserver-authz-node", r, "6:5"), ("cluster-apiserver-authz-rbac", r, "6:5"),
                    gate="cluster", options=ONLY_FLAGS)


def test_v1beta4_extra_args_are_a_list_of_names_and_values(tmp_path: Path) -> None:
    listed = "".join(f"  - name: {line.split(':')[0].strip()}\n    value: {line.split(':', 1)[1].strip()}\n"
                     for line in HARDENED_ARGS.splitlines() if "profiling" not in line)
    text = ("apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\napiServer:\n  extraArgs:\n"
            f"{listed}  - name: profiling\n    value: \"true\"\n")
    r = "ClusterConfiguration"
    expect_findings(tmp_path, text, ("cluster-profiling", f"{r}/kube-apiserver", "22:5"),
                    ("cluster-profiling", f"{r}/kube-controller-manager", "1:1"),
                    ("cluster-profiling", f"{r}/kube-scheduler", "1:1"), gate="cluster", options=ONLY_FLAGS)


def test_external_etcd_without_client_certificates(tmp_path: Path) -> None:
    external = 'etcd:\n  external:\n    endpoints: ["https://10.0.0.9:2379"]\n    caFile: /ca.crt\n'
    text = CLUSTER_CONFIGURATION + external
    r = "ClusterConfiguration/kube-apiserver"
    expect_findings(tmp_path, text, ("cluster-apiserver-etcd-tls", r, "5:3"), gate="cluster", options=ONLY_FLAGS)


def test_kubeadm_s_defaulted_corpus_config() -> None:
    """kubeadm's own defaulting output: what kubeadm does not harden is what is found, nothing else."""
    path = require_corpus("cluster-config", "kubernetes", "cmd", "kubeadm", "app", "util", "config", "testdata",
                          "defaulting", "controlplane", "defaulted.yaml")
    rules = {(r.target.partition("#")[2], f.rule) for r in scan(ClusterOptions(paths=(str(path),))) for f in r.findings}
    apiserver = {rule for resource, rule in rules if resource == "ClusterConfiguration/kube-apiserver"}
    assert apiserver == {"cluster-apiserver-anonymous-auth", "cluster-apiserver-kubelet-ca", "cluster-profiling",
                         "cluster-apiserver-audit-log", "cluster-apiserver-encryption",
                         "cluster-version-eol"}, "v1.13.0 is older than every cycle endoflife.date lists"
    kubelet = {rule for resource, rule in rules if resource.startswith("KubeletConfiguration")}
    assert kubelet == {"cluster-kubelet-protect-kernel-defaults", "cluster-kubelet-tls"}


KIND = """\
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
- role: control-plane
  kubeadmConfigPatches:
  - |
    kind: ClusterConfiguration
    apiServer:
      extraArgs:
        authorization-mode: AlwaysAllow
  - |
    kind: KubeletConfiguration
    readOnlyPort: 10255
- role: worker
"""


def test_kind_applies_its_patches_to_kubeadm_s_control_plane(tmp_path: Path) -> None:
    report = gate_report(tmp_path, KIND, gate="cluster")
    found = findings_of(report)
    assert ("cluster-apiserver-always-allow", "Cluster/kind/kube-apiserver", "10:9") in found, "inside the patch"
    assert ("cluster-apiserver-anonymous-auth", "Cluster/kind/kube-apiserver", "6:5") in found, "unset: the patch"
    assert ("cluster-kubelet-read-only-port", "Cluster/kind/kubelet", "13:5") in found
    assert not {f for f in found if f[0] == "cluster-apiserver-node-restriction"}, "kubeadm enables it"


def test_a_quoted_patch_string_points_at_its_item(tmp_path: Path) -> None:
    text = ('kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nkubeadmConfigPatches:\n'
            '- "kind: ClusterConfiguration\\napiServer:\\n  extraArgs:\\n    profiling: \\"true\\"\\n"\n')
    found = findings_of(gate_report(tmp_path, text, gate="cluster"))
    assert ("cluster-profiling", "Cluster/kind/kube-apiserver", "4:3") in found


def test_kind_s_auditing_example_names_a_policy_the_scan_did_not_hold() -> None:
    path = require_corpus("cluster-config", "kind", "site-docs-extracted", "auditing-kind-config.yaml")
    results = {r.target.partition("#")[2]: r for r in scan(ClusterOptions(paths=(str(path),)))}
    apiserver = results["Cluster/kind/kube-apiserver"]
    rules = {f.rule for f in apiserver.findings}
    assert "cluster-apiserver-audit-log" not in rules and "cluster-config-unchecked" in rules


K3S = """\
write-kubeconfig-mode: "0644"
kube-apiserver-arg:
  - "anonymous-auth=true"
  - "profiling=false"
kubelet-arg: "read-only-port=10255"
"""


def test_k3s_args_are_judged_as_given(tmp_path: Path) -> None:
    expect_findings(tmp_path, K3S, ("cluster-apiserver-anonymous-auth", "k3s/kube-apiserver", "3:5"),
                    ("cluster-kubelet-read-only-port", "k3s/kubelet", "5:1"), gate="cluster",
                    filename="config.yaml")


def test_a_named_audit_policy_found_by_file_name_is_linked(tmp_path: Path) -> None:
    (tmp_path / "audit.yaml").write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n")
    (tmp_path / "kubeadm.yaml").write_text(CLUSTER_CONFIGURATION)
    results = scan(ClusterOptions(paths=(str(tmp_path),)))
    unchecked = [f for r in results for f in r.findings if f.rule == "cluster-config-unchecked"]
    assert [f.message.split()[0] for f in unchecked] == ["--encryption-provider-config"]
    assert [f"{f.location.line}:{f.location.column}" for f in unchecked] == ["14:5"]
    details = [d for r in results for d in r.details]
    assert any("audit policy '/etc/kubernetes/audit.yaml' is judged in its own result" in d for d in details)


KIND_AUDIT = """\
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
- role: control-plane
  kubeadmConfigPatches:
  - |
    kind: ClusterConfiguration
    apiServer:
      extraArgs:
        audit-policy-file: /etc/kubernetes/policies/audit.yaml
  extraMounts:
  - hostPath: ./policies
    containerPath: /etc/kubernetes/policies
"""
POLICY = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"


def _unchecked(tmp_path: Path) -> list[str]:
    results = scan(ClusterOptions(paths=(str(tmp_path),)))
    return [f.message for r in results if r.target.endswith("kube-apiserver") for f in r.findings
            if f.rule == "cluster-config-unchecked" and "audit" in f.message]


def test_kind_s_mounted_policy_is_the_file_its_host_path_names(tmp_path: Path) -> None:
    (tmp_path / "kind.yaml").write_text(KIND_AUDIT)
    (tmp_path / "audit.yaml").write_text(POLICY)  # the same name, in the wrong folder
    (unchecked,) = _unchecked(tmp_path)
    assert "mounted from './policies/audit.yaml', which is not a scanned audit policy" in unchecked
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "audit.yaml").write_text(POLICY)
    assert _unchecked(tmp_path) == []


AUTHZ = """\
apiVersion: apiserver.config.k8s.io/v1
kind: AuthorizationConfiguration
authorizers:
- type: Node
  name: node
- type: RBAC
  name: rbac
"""


def test_structured_authorization_is_judged_in_the_file_the_api_server_names(tmp_path: Path) -> None:
    from tests.checks_cluster.inputs import apiserver

    server = apiserver(drop=("authorization-mode",), add=("--authorization-config=/etc/kubernetes/authz.yaml",))
    (tmp_path / "kube-apiserver.yaml").write_text(server)
    skip = frozenset({"cluster-config-unchecked"})
    (lone,) = scan(ClusterOptions(paths=(str(tmp_path),), skip_rules=skip))
    assert lone.outcome.value == "passed" and not lone.findings, "no modes judged from the flag"
    unlinked = [f.message for r in scan(ClusterOptions(paths=(str(tmp_path),))) for f in r.findings
                if "authorization-config" in f.message]
    assert len(unlinked) == 1 and "no scanned authorization configuration has that file name" in unlinked[0]
    always_allow = AUTHZ.replace("- type: RBAC\n  name: rbac\n", "- type: AlwaysAllow\n  name: all\n")
    (tmp_path / "authz.yaml").write_text(always_allow)
    results = {r.target.partition("#")[2]: r for r in scan(ClusterOptions(paths=(str(tmp_path),), skip_rules=skip))}
    config = results["AuthorizationConfiguration/authorization"]
    assert {(f.rule, f.location.line) for f in config.findings} == {("cluster-apiserver-always-allow", 6),
                                                                     ("cluster-apiserver-authz-rbac", 3)}


def test_authorization_config_and_mode_together_are_refused(tmp_path: Path) -> None:
    from tests.checks_cluster.inputs import apiserver

    (tmp_path / "a.yaml").write_text(apiserver(add=("--authorization-config=/etc/kubernetes/authz.yaml",)))
    skip = frozenset({"cluster-config-unchecked"})
    (result,) = scan(ClusterOptions(paths=(str(tmp_path / "a.yaml"),), skip_rules=skip))
    assert result.outcome.value == "error" and "both set: kube-apiserver refuses to start" in (result.error or "")


def test_kind_s_own_load_cases_valid_and_invalid() -> None:
    """kind's load_test.go cases (needs the corpus): each file kind refuses is an error here, each it loads
    is judged (passed or failed), never an error."""
    import json

    root = require_corpus("cluster-config")
    cases = json.loads((root / "expected.json").read_text(encoding="utf-8"))["kind"]["cases"]
    verdicts = {}
    for case in cases:
        results = scan(ClusterOptions(paths=(str(root / case["file"]),)))
        errors = [r for r in results if r.outcome.value == "error"]
        verdicts[case["file"]] = (bool(errors), case["expect_error"])
    assert all(ours == theirs for ours, theirs in verdicts.values()), verdicts
    assert len(verdicts) == 13


def test_kubelet_extra_args_of_an_init_configuration_are_judged_as_given(tmp_path: Path) -> None:
    text = ("apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\nnodeRegistration:\n  kubeletExtraArgs:\n"
            '    read-only-port: "10255"\n    rotate-certificates: "true"\n')
    expect_findings(tmp_path, text, ("cluster-kubelet-read-only-port", "InitConfiguration/kubelet", "5:5"),
                    gate="cluster")
