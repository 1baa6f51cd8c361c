"""Each Pod Security Standards control, at both levels, with the exact line and column it reports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gates.model import Outcome
from tests.manifests.helpers import IMAGE, compliant_pod_spec, scan_file, wrap, write

Mutation = Callable[[dict[str, Any]], None]


def _container(spec: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = spec["containers"][0]
    return container


def _csc(spec: dict[str, Any]) -> dict[str, Any]:
    sc: dict[str, Any] = _container(spec)["securityContext"]
    return sc


CASES: list[tuple[str, Mutation, str | None, str | None, str | None]] = [
    # (name, mutation, baseline rule, restricted rule, text at the reported position)
    ("host-process-pod",
     lambda s: s["securityContext"].update(windowsOptions={"hostProcess": True}),
     "pss-host-process", "pss-host-process", "hostProcess: true"),
    ("host-network", lambda s: s.update(hostNetwork=True), "pss-host-namespaces", "pss-host-namespaces",
     "hostNetwork: true"),
    ("host-pid", lambda s: s.update(hostPID=True), "pss-host-namespaces", "pss-host-namespaces", "hostPID: true"),
    ("host-ipc", lambda s: s.update(hostIPC=True), "pss-host-namespaces", "pss-host-namespaces", "hostIPC: true"),
    ("privileged", lambda s: _csc(s).update(privileged=True), "pss-privileged", "pss-privileged",
     "privileged: true"),
    ("capability-sys-admin", lambda s: _csc(s)["capabilities"].update(add=["SYS_ADMIN"]),
     "pss-capabilities", "pss-capabilities-restricted", "SYS_ADMIN"),
    ("capability-default-set", lambda s: _csc(s)["capabilities"].update(add=["CHOWN"]),
     None, "pss-capabilities-restricted", "CHOWN"),
    ("host-path", lambda s: s.update(volumes=[{"name": "root", "hostPath": {"path": "/srv/data"}}]),
     "pss-host-path", "pss-volume-types", "hostPath:"),
    ("host-port", lambda s: _container(s).update(ports=[{"containerPort": 80, "hostPort": 8080}]),
     "pss-host-ports", "pss-host-ports", "hostPort: 8080"),
    ("apparmor-field", lambda s: _csc(s).update(appArmorProfile={"type": "Unconfined"}),
     "pss-apparmor", "pss-apparmor", "type: Unconfined"),
    ("selinux-user", lambda s: s["securityContext"].update(seLinuxOptions={"user": "sysadm_u"}),
     "pss-selinux", "pss-selinux", "user: sysadm_u"),
    ("selinux-type", lambda s: _csc(s).update(seLinuxOptions={"type": "spc_t"}),
     "pss-selinux", "pss-selinux", "type: spc_t"),
    ("proc-mount", lambda s: _csc(s).update(procMount="Unmasked"),
     "pss-proc-mount", "pss-proc-mount-restricted", "procMount: Unmasked"),
    ("seccomp-unconfined", lambda s: s["securityContext"].update(seccompProfile={"type": "Unconfined"}),
     "pss-seccomp", "pss-seccomp-restricted", "type: Unconfined"),
    ("sysctl", lambda s: s["securityContext"].update(sysctls=[{"name": "kernel.msgmax", "value": "1"}]),
     "pss-sysctls", "pss-sysctls", "name: kernel.msgmax"),
    ("host-probe", lambda s: _container(s).update(
        livenessProbe={"httpGet": {"host": "169.254.169.254", "path": "/", "port": 80}}),
     "pss-host-probes", "pss-host-probes", "host: 169.254.169.254"),
    ("host-lifecycle", lambda s: _container(s).update(
        lifecycle={"preStop": {"tcpSocket": {"host": "10.0.0.1", "port": 22}}}),
     "pss-host-probes", "pss-host-probes", "host: 10.0.0.1"),
    ("nfs-volume", lambda s: s.update(volumes=[{"name": "data", "nfs": {"server": "nfs", "path": "/"}}]),
     None, "pss-volume-types", "nfs:"),
    ("privilege-escalation", lambda s: _csc(s).update(allowPrivilegeEscalation=True),
     None, "pss-privilege-escalation", "allowPrivilegeEscalation: true"),
    ("run-as-root-pod", lambda s: s["securityContext"].update(runAsNonRoot=False),
     None, "pss-run-as-non-root", "runAsNonRoot: false"),
    ("run-as-uid-0", lambda s: _csc(s).update(runAsUser=0), None, "pss-run-as-user", "runAsUser: 0"),
    ("seccomp-missing", lambda s: s["securityContext"].pop("seccompProfile"),
     None, "pss-seccomp-restricted", None),
    ("drop-not-all", lambda s: _csc(s)["capabilities"].update(drop=["NET_RAW"]),
     None, "pss-capabilities-restricted", "drop:"),
]


def _position_of(text: str, needle: str) -> tuple[int, int]:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number, line.index(needle) + 1
    raise AssertionError(f"{needle!r} not in the manifest")


@pytest.mark.parametrize("level", ["baseline", "restricted"])
@pytest.mark.parametrize(("name", "mutate", "baseline_rule", "restricted_rule", "at"), CASES,
                         ids=[c[0] for c in CASES])
def test_control(tmp_path: Path, level: str, name: str, mutate: Mutation, baseline_rule: str | None,
                 restricted_rule: str | None, at: str | None) -> None:
    spec = compliant_pod_spec()
    mutate(spec)
    path = write(tmp_path, f"{name}.yaml", wrap("Deployment", spec))
    [result] = scan_file(path, level)
    expected = baseline_rule if level == "baseline" else restricted_rule
    if expected is None:
        assert result.outcome is Outcome.PASSED, [f.message for f in result.findings]
        assert result.findings == ()
        return
    assert result.outcome is Outcome.FAILED
    assert {f.rule for f in result.findings} == {expected}
    finding = result.findings[0]
    assert finding.resource == "Deployment/shop/web"
    assert finding.location.path == str(path)
    if at is not None:
        assert (finding.location.line, finding.location.column) == _position_of(path.read_text(), at)
    else:
        assert finding.location.line is not None


def test_compliant_workload_passes_both_levels(tmp_path: Path) -> None:
    path = write(tmp_path, "ok.yaml", wrap("Deployment", compliant_pod_spec()))
    for level in ("baseline", "restricted"):
        [result] = scan_file(path, level)
        assert result.outcome is Outcome.PASSED and result.findings == ()


def test_apparmor_annotation_names_the_container(tmp_path: Path) -> None:
    annotations = {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}
    path = write(tmp_path, "a.yaml", wrap("Deployment", compliant_pod_spec(), annotations=annotations))
    [result] = scan_file(path, "baseline")
    [finding] = result.findings
    assert finding.rule == "pss-apparmor" and finding.container == "app"
    assert "unconfined" in finding.message


def test_windows_pods_are_exempt_from_linux_only_restricted_controls(tmp_path: Path) -> None:
    spec: dict[str, Any] = {"os": {"name": "windows"}, "securityContext": {"runAsNonRoot": True},
                            "containers": [{"name": "win", "image": IMAGE}]}
    [result] = scan_file(write(tmp_path, "w.yaml", wrap("Pod", spec)), "restricted")
    assert result.outcome is Outcome.PASSED, [f.message for f in result.findings]
    spec["os"]["name"] = "linux"
    [result] = scan_file(write(tmp_path, "l.yaml", wrap("Pod", spec)), "restricted")
    assert {f.rule for f in result.findings} == {
        "pss-privilege-escalation", "pss-seccomp-restricted", "pss-capabilities-restricted"}


def test_user_namespace_relaxes_run_as_and_baseline_proc_mount(tmp_path: Path) -> None:
    spec = compliant_pod_spec()
    spec["hostUsers"] = False
    spec["securityContext"] = {"runAsUser": 0, "seccompProfile": {"type": "RuntimeDefault"}}
    _csc(spec)["procMount"] = "Unmasked"
    path = write(tmp_path, "userns.yaml", wrap("Pod", spec))
    [baseline] = scan_file(path, "baseline")
    assert baseline.outcome is Outcome.PASSED
    [restricted] = scan_file(path, "restricted")
    assert {f.rule for f in restricted.findings} == {"pss-proc-mount-restricted"}


def test_every_container_list_is_checked(tmp_path: Path) -> None:
    spec = compliant_pod_spec()
    bad = {"name": "x", "image": IMAGE, "securityContext": {"privileged": True, "allowPrivilegeEscalation": False,
                                                          "capabilities": {"drop": ["ALL"]}}}
    spec["initContainers"] = [dict(bad, name="init")]
    spec["ephemeralContainers"] = [dict(bad, name="debug")]
    [result] = scan_file(write(tmp_path, "c.yaml", wrap("Pod", spec)), "baseline")
    assert sorted((f.rule, f.container) for f in result.findings) == [
        ("pss-privileged", "debug"), ("pss-privileged", "init")]


def test_wrong_type_is_an_error_not_a_pass(tmp_path: Path) -> None:
    spec = compliant_pod_spec()
    _csc(spec)["privileged"] = "true"
    path = write(tmp_path, "t.yaml", wrap("Deployment", spec))
    [result] = scan_file(path)
    assert result.outcome is Outcome.ERROR
    assert result.error is not None and "privileged must be a boolean, found str" in result.error
    assert result.error.startswith(f"{path}:{_position_of(path.read_text(), 'privileged:')[0]}:")
