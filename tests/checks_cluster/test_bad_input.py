"""Bad input is an `error` for its object, naming file:line:column and what is wrong: never a pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from gates.checks.cluster.gate import ClusterOptions, scan
from gates.model import Outcome, Result
from tests.checks_cluster.inputs import COMPLIANT_APISERVER_FLAGS, flag_at, static_pod


def _only(tmp_path: Path, text: str, name: str = "input.yaml") -> Result:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    results = scan(ClusterOptions(paths=(str(path),), skip_rules=frozenset({"cluster-config-unchecked"})))
    assert len(results) == 1, results
    return results[0]


def _error_at(result: Result, at: str) -> str:
    assert result.outcome is Outcome.ERROR, result
    assert result.error is not None and f":{at}: " in result.error, result.error
    return result.error


def test_a_flag_given_twice_says_the_last_one_wins(tmp_path: Path) -> None:
    text = static_pod((*COMPLIANT_APISERVER_FLAGS, "--anonymous-auth=true"))
    result = _only(tmp_path, text)
    error = _error_at(result, flag_at(text, "--anonymous-auth=true"))
    assert "--anonymous-auth is given 2 times: kube-apiserver uses the last one, 'true'" in error
    assert [f.rule for f in result.findings] == ["cluster-apiserver-anonymous-auth"], "judged as it would run"


def test_a_list_flag_given_twice_says_the_lists_are_appended(tmp_path: Path) -> None:
    text = static_pod((*COMPLIANT_APISERVER_FLAGS, "--authorization-mode=AlwaysAllow"))
    result = _only(tmp_path, text)
    error = _error_at(result, flag_at(text, "--authorization-mode=AlwaysAllow"))
    assert "appends them all: 'Node,RBAC,AlwaysAllow'" in error
    assert {f.rule for f in result.findings} == {"cluster-apiserver-always-allow"}


@pytest.mark.parametrize(("item", "says"), [
    ("8080", "argument 23 is a int, not a string"),
    ("RBAC", "'RBAC' is not a flag and kube-apiserver takes no positional argument"),
    ("-anonymous-auth=false", "'-anonymous-auth=false': kube-apiserver flags take two dashes"),
    ("--=x", "'--=x' is not a flag kube-apiserver accepts"),
    ("--anonymous-auth=nope", "--anonymous-auth='nope' is not a boolean kube-apiserver accepts"),
    ("--audit-log-maxage=thirty", "--audit-log-maxage='thirty' is not a number kube-apiserver accepts"),
    ("--tls-min-version=VersionSSL3", "is not a TLS version kube-apiserver accepts"),
])
def test_a_malformed_flag_list(tmp_path: Path, item: str, says: str) -> None:
    flags = [f for f in COMPLIANT_APISERVER_FLAGS if not f.startswith(item.split("=")[0] + "=")]
    text = static_pod((*flags, item))
    line = text.splitlines().index(f"    - {item}") + 1
    assert says in _error_at(_only(tmp_path, text), f"{line}:7")


def test_a_flag_that_needs_a_value_takes_the_next_flag_as_pflag_does(tmp_path: Path) -> None:
    """Checkov's TlsCertAndKey FAILED-3 shape: `--tls-cert-file` followed by the next flag, which it swallows."""
    flags = [f for f in COMPLIANT_APISERVER_FLAGS if not f.startswith(("--tls-cert-file", "--tls-private-key-file"))]
    text = static_pod((*flags, "--tls-cert-file", "--tls-private-key-file=/pki/apiserver.key"))
    result = _only(tmp_path, text)
    error = _error_at(result, flag_at(text, "--tls-cert-file"))
    assert "--tls-cert-file takes the next argument, '--tls-private-key-file=/pki/apiserver.key', as its value" in error
    assert [f.message.split(" is")[0] for f in result.findings] == ["--tls-private-key-file"], "swallowed: not set"


def test_a_flag_that_needs_a_value_given_last(tmp_path: Path) -> None:
    flags = [f for f in COMPLIANT_APISERVER_FLAGS if not f.startswith("--tls-cert-file")]
    text = static_pod((*flags, "--tls-cert-file"))
    assert "--tls-cert-file has no value" in _error_at(_only(tmp_path, text), flag_at(text, "--tls-cert-file"))


def test_flags_run_through_a_shell_are_not_guessed(tmp_path: Path) -> None:
    script = "    - sh\n    - -c\n    - exec kube-apiserver --anonymous-auth=true\n"
    text = static_pod((), "sh").replace("    - sh\n", script)
    assert "runs kube-apiserver through a shell" in _error_at(_only(tmp_path, text), "10:5")


def test_command_that_is_not_a_list(tmp_path: Path) -> None:
    text = static_pod(()).replace("    command:\n    - kube-apiserver\n", "    args: --anonymous-auth=true\n")
    assert "args must be a list of strings, not a str" in _error_at(_only(tmp_path, text), "10:5")


def test_an_unquoted_boolean_in_kubeadm_extra_args(tmp_path: Path) -> None:
    text = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\napiServer:\n  extraArgs:\n" \
           "    anonymous-auth: false\n"
    (tmp_path / "k.yaml").write_text(text)
    results = scan(ClusterOptions(paths=(str(tmp_path / "k.yaml"),)))
    apiserver = next(r for r in results if r.target.endswith("#ClusterConfiguration/kube-apiserver"))
    assert "is a bool, not a string: kubeadm refuses the file (quote the value)" in _error_at(apiserver, "5:5")


@pytest.mark.parametrize(("text", "at", "says"), [
    ("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Everything\n", "4:3", "level must be one of"),
    ("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  resource: [secrets]\n", "5:3",
     "unknown field 'resource'"),
    ("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: Metadata\n", "3:1", "rules must be a list"),
    ("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n"
     "  providers:\n  - aesgcm:\n      keys:\n      - name: k\n", "8:9", "key 'k' has no secret"),
    ("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n"
     "  providers:\n  - rot13: {}\n", "6:5", "unknown provider 'rot13'"),
    ("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n", "1:1", "resources must be a non-empty"),
    ("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nreadOnlyPort: \"0\"\n", "3:1",
     "readOnlyPort must be a port number"),
])
def test_a_configuration_object_that_does_not_validate(tmp_path: Path, text: str, at: str, says: str) -> None:
    assert says in _error_at(_only(tmp_path, text), at)


def test_invalid_yaml_is_an_error_with_its_line(tmp_path: Path) -> None:
    result = _only(tmp_path, "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [\n")
    assert result.outcome is Outcome.ERROR and "line 4" in (result.error or "")


def test_a_named_file_without_cluster_configuration_is_an_error(tmp_path: Path) -> None:
    result = _only(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
    assert result.outcome is Outcome.ERROR and "no cluster configuration in this file" in (result.error or "")


def test_a_hostile_value_never_reaches_a_message_raw(tmp_path: Path) -> None:
    text = static_pod((*COMPLIANT_APISERVER_FLAGS, '"--authorization-mode=RBAC\\u001b[2J\\r\\nok"'))
    result = _only(tmp_path, text)
    said = " ".join([result.error or "", *(f.message for f in result.findings)])
    assert "\x1b" not in said and "\r" not in said and "\\x1b" in said


def test_the_other_files_of_a_folder_are_still_judged(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [\n")
    (tmp_path / "apiserver.yaml").write_text(static_pod(COMPLIANT_APISERVER_FLAGS))
    results = scan(ClusterOptions(paths=(str(tmp_path),), skip_rules=frozenset({"cluster-config-unchecked"})))
    assert sorted(r.outcome.value for r in results) == ["error", "passed"]


def test_a_hostile_flag_name_or_object_name_is_quoted_everywhere(tmp_path: Path) -> None:
    text = static_pod((*COMPLIANT_APISERVER_FLAGS, '"--x\\u001b]0;pwned\\u0007=1"'))
    text = text.replace("  name: kube-apiserver\n  namespace", '  name: "api\\u001b[31m"\n  namespace', 1)
    result = _only(tmp_path, text)
    said = " ".join([result.target, result.error or ""])
    assert result.outcome is Outcome.ERROR and "is not a flag kube-apiserver accepts" in said
    assert "\x1b" not in said and "\x07" not in said and "\\x1b" in said


def test_an_inline_waiver_on_a_static_pod_waives_and_a_reasonless_one_is_an_error(tmp_path: Path) -> None:
    flags = tuple(f for f in COMPLIANT_APISERVER_FLAGS if not f.startswith("--profiling"))
    annotation = '  annotations:\n    gates.dev/waive.cluster-profiling: "metrics scraping; expires=2099-01-01"\n'
    waived = static_pod(flags).replace("  namespace: kube-system\n", "  namespace: kube-system\n" + annotation)
    result = _only(tmp_path, waived)
    assert [(f.rule, f.waiver is not None) for f in result.findings] == [("cluster-profiling", True)]
    reasonless = waived.replace('"metrics scraping; expires=2099-01-01"', '""')
    assert _only(tmp_path, reasonless).outcome is Outcome.ERROR


def test_helm_chart_templates_are_said_to_be_skipped(tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: cp\nversion: 1.0.0\n")
    (chart / "templates" / "apiserver.yaml").write_text("{{ .Values.x }}\n")
    (tmp_path / "apiserver.yaml").write_text(static_pod(COMPLIANT_APISERVER_FLAGS))
    results = scan(ClusterOptions(paths=(str(tmp_path),), skip_rules=frozenset({"cluster-config-unchecked"})))
    skipped = [r for r in results if r.outcome is Outcome.SKIPPED]
    assert len(skipped) == 1 and "helm template" in (skipped[0].error or "")
