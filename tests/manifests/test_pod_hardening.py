"""The pod hardening every peer has: runtime sockets, the root group, the default namespace, and the rules
`enable-rules` switches on (read-only root, service account token, limits); digests judged by their form."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gates.checks.manifests.pod_hardening import exposes_runtime_socket
from gates.model import Severity
from tests.support.rule_cases import expect_findings, gate_report

_DIGEST = "ab" * 32

_POD = """
    apiVersion: v1
    kind: Pod
    metadata: {name: web, namespace: {namespace}}
    spec:
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      {pod}
      containers:
      - name: app
        image: {image}
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
          {container}
"""


def _pod(*, pod: str = "", container: str = "", namespace: str = "shop",
         image: str = f"registry.example/app:1.0@sha256:{_DIGEST}") -> str:
    return (_POD.replace("{namespace}", namespace).replace("{pod}", pod or "hostname: web")
            .replace("{container}", container or "runAsNonRoot: true").replace("{image}", image))


def _at(text: str, needle: str, occurrence: int = 1) -> str:
    """"LINE:COL" of the `occurrence`-th `needle` in `text` as the rule-case helper writes it."""
    lines = textwrap.dedent(text).lstrip("\n").splitlines()
    seen = 0
    for number, line in enumerate(lines, 1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return f"{number}:{line.index(needle) + 1}"
    raise AssertionError(f"{needle!r} not in the text")


def test_the_compliant_pod_has_no_finding_even_with_every_opt_in_rule(tmp_path: Path) -> None:
    expect_findings(tmp_path, _pod(pod="automountServiceAccountToken: false",
                                   container="readOnlyRootFilesystem: true\n        resources: {limits: {cpu: 1,"
                                             " memory: 1Gi}}"),
                    options={"enable-rules": '["k8s-read-only-root", "k8s-service-account-token",'
                                             ' "k8s-resource-limits"]'})


@pytest.mark.parametrize("host_path", [
    "/var/run/docker.sock", "/run/containerd/containerd.sock", "/var/run/crio/crio.sock", "/run/cri-dockerd.sock",
    "/var/run", "/var/run/", "/run", "/var", "/", "//var//run/./docker.sock", "/var/lib/../run/crio",
])
def test_a_runtime_socket_or_a_folder_above_it_is_its_own_high_finding(tmp_path: Path, host_path: str) -> None:
    text = _pod(pod=f"volumes: [{{name: sock, hostPath: {{path: '{host_path}'}}}}]")
    expect_findings(tmp_path, text, ("pss-volume-types", "Pod/shop/web", _at(text, "hostPath")),
                    ("k8s-runtime-socket", "Pod/shop/web", _at(text, "path:")))
    report = gate_report(tmp_path, text)
    [socket] = [f for r in report.results for f in r.findings if f.rule == "k8s-runtime-socket"]
    assert socket.severity is Severity.HIGH and host_path in socket.message


@pytest.mark.parametrize("host_path", ["/var/log", "/run/secrets-store", "/var/run2", "/srv/docker.sock", "relative"])
def test_other_host_paths_are_only_hostpath_findings(tmp_path: Path, host_path: str) -> None:
    assert exposes_runtime_socket(host_path) is None
    text = _pod(pod=f"volumes: [{{name: logs, hostPath: {{path: '{host_path}'}}}}]")
    expect_findings(tmp_path, text, ("pss-volume-types", "Pod/shop/web", _at(text, "hostPath")))


def test_a_hostpath_waiver_does_not_cover_the_socket(tmp_path: Path) -> None:
    text = _pod(pod="volumes: [{name: sock, hostPath: {path: /var/run/docker.sock}}]")
    config = """
        [[waivers]]
        rule = "pss-*"
        resource = "Pod/shop/web"
        reason = "hostPath reviewed"
    """
    report = gate_report(tmp_path, text, config=config)
    [result] = report.results
    open_findings = [f.rule for f in result.findings if f.waiver is None]
    assert open_findings == ["k8s-runtime-socket"] and result.outcome.value == "failed"


def test_run_as_group_zero_on_the_pod_and_on_a_container(tmp_path: Path) -> None:
    text = _pod(container="runAsGroup: 0").replace("RuntimeDefault}}", "RuntimeDefault}, runAsGroup: 0}")
    expect_findings(tmp_path, text, ("k8s-run-as-group-root", "Pod/shop/web", _at(text, "runAsGroup")),
                    ("k8s-run-as-group-root", "Pod/shop/web", _at(text, "runAsGroup", 2)))
    expect_findings(tmp_path, _pod(container="runAsGroup: 1000"))


def test_the_default_namespace_is_said_only_when_written(tmp_path: Path) -> None:
    text = _pod(namespace="default")
    expect_findings(tmp_path, text, ("k8s-default-namespace", "Pod/default/web", _at(text, "namespace")))
    expect_findings(tmp_path, _pod().replace(", namespace: shop", ""))
    expect_findings(tmp_path, _pod(namespace="default"), options={"skip-rules": '["k8s-default-namespace"]'})


@pytest.mark.parametrize(("image", "rule"), [
    ("nginx@sha256:123456", "k8s-image-latest"),  # no tag and no digest: latest
    ("nginx:1.27@sha256:" + _DIGEST.upper(), "k8s-image-digest"),
    ("nginx:1.27@sha256:" + _DIGEST + "0", "k8s-image-digest"),
    ("nginx:latest@sha256:123456", "k8s-image-latest"),
    ("nginx:1.27@md5:" + "0" * 32, "k8s-image-digest"),
])
def test_a_digest_is_judged_by_its_form(tmp_path: Path, image: str, rule: str) -> None:
    expect_findings(tmp_path, _pod(image=image), (rule, "Pod/shop/web", "9:5"))
    [finding] = [f for r in gate_report(tmp_path, _pod(image=image)).results for f in r.findings]
    assert "is not a digest" in finding.message


def test_sha512_digests_pin(tmp_path: Path) -> None:
    expect_findings(tmp_path, _pod(image="nginx@sha512:" + "cd" * 64))


@pytest.mark.parametrize("image", ["nginx", "nginx:latest", "nginx@sha256:12"])
def test_the_digest_rule_still_applies_when_the_latest_rule_is_skipped(tmp_path: Path, image: str) -> None:
    expect_findings(tmp_path, _pod(image=image), ("k8s-image-digest", "Pod/shop/web", "9:5"),
                    options={"skip-rules": '["k8s-image-latest"]'})


_ALL_OPT_IN = '["k8s-read-only-root", "k8s-service-account-token", "k8s-resource-limits"]'


def test_opt_in_rules_are_off_by_default(tmp_path: Path) -> None:
    expect_findings(tmp_path, _pod())


def test_opt_in_rules_when_enabled(tmp_path: Path) -> None:
    expect_findings(tmp_path, _pod(), ("k8s-read-only-root", "Pod/shop/web", "10:5"),
                    ("k8s-service-account-token", "Pod/shop/web", "4:1"),
                    ("k8s-resource-limits", "Pod/shop/web", "8:5"), options={"enable-rules": _ALL_OPT_IN})


def test_opt_in_rules_point_at_the_field_that_is_wrong(tmp_path: Path) -> None:
    text = _pod(pod="automountServiceAccountToken: true",
                container="readOnlyRootFilesystem: false\n        resources: {limits: {memory: 1Gi}}")
    expect_findings(tmp_path, text, ("k8s-read-only-root", "Pod/shop/web", "13:7"),
                    ("k8s-service-account-token", "Pod/shop/web", "6:3"),
                    ("k8s-resource-limits", "Pod/shop/web", _at(text, "limits")), options={"enable-rules": _ALL_OPT_IN})
    report = gate_report(tmp_path, text, config=f"[manifests]\nenable-rules = {_ALL_OPT_IN}\n")
    [limits] = [f for r in report.results for f in r.findings if f.rule == "k8s-resource-limits"]
    assert "no cpu limit" in limits.message and limits.severity is Severity.MEDIUM


def test_the_limits_severity_is_configurable(tmp_path: Path) -> None:
    config = '[manifests]\nenable-rules = ["k8s-resource-limits"]\nresource-limits-severity = "high"\n'
    report = gate_report(tmp_path, _pod(), config=config)
    [limits] = [f for r in report.results for f in r.findings]
    assert limits.rule == "k8s-resource-limits" and limits.severity is Severity.HIGH


def test_an_unknown_opt_in_rule_is_a_configuration_error(tmp_path: Path) -> None:
    from gates.errors import ConfigError

    with pytest.raises(ConfigError, match="enable-rules: 'k8s-read-only-rootfs' is not a rule that is off"):
        gate_report(tmp_path, _pod(), config='[manifests]\nenable-rules = ["k8s-read-only-rootfs"]\n')


def test_a_wrongly_typed_field_is_an_error_not_a_pass(tmp_path: Path) -> None:
    report = gate_report(tmp_path, _pod(container='readOnlyRootFilesystem: "true"'),
                         config='[manifests]\nenable-rules = ["k8s-read-only-root"]\n')
    [result] = report.results
    assert result.outcome.value == "error" and result.error is not None
    assert "readOnlyRootFilesystem must be a boolean" in result.error


@pytest.mark.parametrize("context", ["5", "[runAsGroup]", "runAsGroup"])
def test_a_security_context_of_the_wrong_type_is_an_error(tmp_path: Path, context: str) -> None:
    text = _pod().replace("securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}",
                          f"securityContext: {context}")
    [result] = gate_report(tmp_path, text).results
    assert result.outcome.value == "error" and result.error is not None and "securityContext must be" in result.error
