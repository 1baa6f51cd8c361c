"""The Pod Security Standards controls, one function each, as Kubernetes v1.37 evaluates them.

Each control yields `Violation`s that point at the offending field (or, for a missing field, at the
place it should be). Unlike Pod Security Admission, which stops at one message per control, every
offending container is reported on its own line so each finding has its own location.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from gates.checks.manifests.rules import BASELINE_OVERRIDDEN_AT_RESTRICTED
from gates.checks.manifests.workloads import Container, Path, Pod, get, typed
from gates.record import record
from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


@record
class Violation:
    rule: str
    message: str
    path: Path
    container: str | None = None


Check = Callable[[Pod], Iterator[Violation]]

DEFAULT_CAPABILITIES = frozenset(
    {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
     "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
)
SAFE_SYSCTLS = frozenset(
    {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
     "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.ip_local_reserved_ports",
     "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
     "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
     "net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"}
)
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
ALLOWED_VOLUME_SOURCES = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim",
     "projected", "secret"}
)
VOLUME_META_KEYS = frozenset({"name"})
APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"


def _sc(container: Container) -> tuple[dict[str, Any], Path]:
    return container.security_context, container.security_context_path


def _nested(obj: dict[str, Any], key: str, path: Path) -> tuple[dict[str, Any], Path]:
    value = get(obj, key, dict, path)
    return (value if value is not None else {}), (*path, key)




# ---- baseline ---------------------------------------------------------------------------------


def host_process(pod: Pod) -> Iterator[Violation]:
    opts, opts_path = _nested(pod.security_context, "windowsOptions", pod.security_context_path)
    if get(opts, "hostProcess", bool, opts_path):
        yield Violation("pss-host-process", "pod sets securityContext.windowsOptions.hostProcess=true",
                        (*opts_path, "hostProcess"))
    for c in pod.containers:
        sc, sc_path = _sc(c)
        opts, opts_path = _nested(sc, "windowsOptions", sc_path)
        if get(opts, "hostProcess", bool, opts_path):
            yield Violation("pss-host-process", f"{c.described} sets windowsOptions.hostProcess=true",
                            (*opts_path, "hostProcess"), c.name)


def host_namespaces(pod: Pod) -> Iterator[Violation]:
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if get(pod.spec, field, bool, pod.spec_path):
            yield Violation("pss-host-namespaces", f"pod sets {field}=true", (*pod.spec_path, field))


def privileged(pod: Pod) -> Iterator[Violation]:
    for c in pod.containers:
        sc, sc_path = _sc(c)
        if get(sc, "privileged", bool, sc_path):
            yield Violation("pss-privileged", f"{c.described} is privileged (securityContext.privileged=true)",
                            (*sc_path, "privileged"), c.name)


def _capability_list(caps: dict[str, Any], key: str, path: Path) -> list[tuple[int, str]]:
    items = get(caps, key, list, path) or []
    return [(i, typed(item, str, (*path, key, i)) or "") for i, item in enumerate(items)]


def capabilities_baseline(pod: Pod) -> Iterator[Violation]:
    for c in pod.containers:
        sc, sc_path = _sc(c)
        caps, caps_path = _nested(sc, "capabilities", sc_path)
        for index, cap in _capability_list(caps, "add", caps_path):
            if cap not in DEFAULT_CAPABILITIES:
                yield Violation("pss-capabilities", f"{c.described} adds capability {cap}",
                                (*caps_path, "add", index), c.name)


def _volumes(pod: Pod) -> Iterator[tuple[int, dict[str, Any], Path]]:
    for index, volume in enumerate(get(pod.spec, "volumes", list, pod.spec_path) or ()):
        path = (*pod.spec_path, "volumes", index)
        yield index, typed(volume, dict, path) or {}, path


def _volume_name(volume: dict[str, Any], path: Path) -> str:
    return get(volume, "name", str, path) or f"volumes[{path[-1]}]"


def host_path_volumes(pod: Pod) -> Iterator[Violation]:
    for _, volume, path in _volumes(pod):
        if volume.get("hostPath") is not None:
            host = volume["hostPath"]
            target = host.get("path") if isinstance(host, dict) else None
            where = f" ({target})" if isinstance(target, str) else ""
            yield Violation("pss-host-path",
                            f'volume "{_volume_name(volume, path)}" mounts the node path{where} via hostPath',
                            (*path, "hostPath"))


def host_ports(pod: Pod) -> Iterator[Violation]:
    for c in pod.containers:
        for index, port in enumerate(get(c.spec, "ports", list, c.path) or ()):
            port_path = (*c.path, "ports", index)
            port = typed(port, dict, port_path) or {}
            host_port = get(port, "hostPort", int, port_path)
            if host_port:
                yield Violation("pss-host-ports", f"{c.described} binds host port {host_port}",
                                (*port_path, "hostPort"), c.name)


def apparmor(pod: Pod) -> Iterator[Violation]:
    allowed = ("RuntimeDefault", "Localhost")
    profile, profile_path = _nested(pod.security_context, "appArmorProfile", pod.security_context_path)
    if pod.security_context.get("appArmorProfile") is not None and get(
        profile, "type", str, profile_path
    ) not in allowed:
        yield Violation("pss-apparmor", f"pod sets AppArmor profile type {profile.get('type')!r}",
                        (*profile_path, "type"))
    for c in pod.containers:
        sc, sc_path = _sc(c)
        if sc.get("appArmorProfile") is not None:
            profile, profile_path = _nested(sc, "appArmorProfile", sc_path)
            if get(profile, "type", str, profile_path) not in allowed:
                yield Violation("pss-apparmor", f"{c.described} sets AppArmor profile type {profile.get('type')!r}",
                                (*profile_path, "type"), c.name)
    for key, value in sorted(pod.annotations.items()):
        if key.startswith(APPARMOR_ANNOTATION_PREFIX) and not (
            value in ("", "runtime/default") or value.startswith("localhost/")
        ):
            yield Violation("pss-apparmor", f"annotation {key}={value!r} disables or weakens AppArmor",
                            pod.annotation_paths[key], key.removeprefix(APPARMOR_ANNOTATION_PREFIX))


def _selinux(opts: dict[str, Any], path: Path, who: str, container: str | None) -> Iterator[Violation]:
    se_type = get(opts, "type", str, path) or ""
    if se_type not in SELINUX_TYPES:
        yield Violation("pss-selinux", f"{who} sets SELinux type {se_type!r}", (*path, "type"), container)
    for field in ("user", "role"):
        if get(opts, field, str, path):
            yield Violation("pss-selinux", f"{who} sets SELinux {field} {opts[field]!r}", (*path, field),
                            container)


def selinux(pod: Pod) -> Iterator[Violation]:
    opts, path = _nested(pod.security_context, "seLinuxOptions", pod.security_context_path)
    yield from _selinux(opts, path, "pod", None)
    for c in pod.containers:
        sc, sc_path = _sc(c)
        opts, path = _nested(sc, "seLinuxOptions", sc_path)
        yield from _selinux(opts, path, c.described, c.name)


def _proc_mount(pod: Pod, rule: str) -> Iterator[Violation]:
    for c in pod.containers:
        sc, sc_path = _sc(c)
        mount = get(sc, "procMount", str, sc_path)
        if mount is not None and mount != "Default":
            yield Violation(rule, f"{c.described} sets procMount={mount}", (*sc_path, "procMount"), c.name)


def proc_mount(pod: Pod) -> Iterator[Violation]:
    if not pod.in_user_namespace:
        yield from _proc_mount(pod, "pss-proc-mount")


def _seccomp_type(obj: dict[str, Any], path: Path) -> tuple[bool, str | None, Path]:
    """(set, type, path of the type field) of a seccompProfile under `obj`."""
    if obj.get("seccompProfile") is None:
        return False, None, (*path, "seccompProfile")
    profile, profile_path = _nested(obj, "seccompProfile", path)
    return True, get(profile, "type", str, profile_path), (*profile_path, "type")


def seccomp_baseline(pod: Pod) -> Iterator[Violation]:
    valid = ("RuntimeDefault", "Localhost")
    is_set, kind, path = _seccomp_type(pod.security_context, pod.security_context_path)
    if is_set and kind not in valid:
        yield Violation("pss-seccomp", f"pod sets seccompProfile.type={kind}", path)
    for c in pod.containers:
        sc, sc_path = _sc(c)
        is_set, kind, path = _seccomp_type(sc, sc_path)
        if is_set and kind not in valid:
            yield Violation("pss-seccomp", f"{c.described} sets seccompProfile.type={kind}", path, c.name)


def sysctls(pod: Pod) -> Iterator[Violation]:
    sc_path = pod.security_context_path
    for index, entry in enumerate(get(pod.security_context, "sysctls", list, sc_path) or ()):
        path = (*sc_path, "sysctls", index)
        name = get(typed(entry, dict, path) or {}, "name", str, path) or ""
        if name not in SAFE_SYSCTLS:
            yield Violation("pss-sysctls", f"pod sets unsafe sysctl {name!r}", (*path, "name"))


def host_probes(pod: Pod) -> Iterator[Violation]:
    for c in pod.containers:
        handlers: list[tuple[str, dict[str, Any], Path]] = []
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            value = get(c.spec, probe, dict, c.path)
            if value is not None:
                handlers.append((probe, value, (*c.path, probe)))
        lifecycle, lifecycle_path = _nested(c.spec, "lifecycle", c.path)
        for hook in ("postStart", "preStop"):
            value = get(lifecycle, hook, dict, lifecycle_path)
            if value is not None:
                handlers.append((f"lifecycle.{hook}", value, (*lifecycle_path, hook)))
        for label, handler, path in handlers:
            for action in ("httpGet", "tcpSocket"):
                target, target_path = _nested(handler, action, path)
                host = get(target, "host", str, target_path)
                if host:
                    yield Violation("pss-host-probes", f"{c.described} {label}.{action} targets host {host!r}",
                                    (*target_path, "host"), c.name)


# ---- restricted -------------------------------------------------------------------------------


def volume_types(pod: Pod) -> Iterator[Violation]:
    for _, volume, path in _volumes(pod):
        # A volume naming no source is defaulted to emptyDir by the API server, so it is allowed.
        sources = [k for k, v in volume.items() if k not in VOLUME_META_KEYS and v is not None]
        for source in sources:
            if source not in ALLOWED_VOLUME_SOURCES:
                yield Violation("pss-volume-types",
                                f'volume "{_volume_name(volume, path)}" uses restricted volume type {source}',
                                (*path, source))


def privilege_escalation(pod: Pod) -> Iterator[Violation]:
    if pod.is_windows:
        return
    for c in pod.containers:
        sc, sc_path = _sc(c)
        if get(sc, "allowPrivilegeEscalation", bool, sc_path) is not False:
            where = (*sc_path, "allowPrivilegeEscalation")
            yield Violation("pss-privilege-escalation",
                            f"{c.described} must set securityContext.allowPrivilegeEscalation=false", where, c.name)


def run_as_non_root(pod: Pod) -> Iterator[Violation]:
    if pod.in_user_namespace:
        return
    pod_value = get(pod.security_context, "runAsNonRoot", bool, pod.security_context_path)
    if pod_value is False:
        yield Violation("pss-run-as-non-root", "pod sets runAsNonRoot=false",
                        (*pod.security_context_path, "runAsNonRoot"))
    for c in pod.containers:
        sc, sc_path = _sc(c)
        value = get(sc, "runAsNonRoot", bool, sc_path)
        if value is False:
            yield Violation("pss-run-as-non-root", f"{c.described} sets runAsNonRoot=false",
                            (*sc_path, "runAsNonRoot"), c.name)
        elif value is None and pod_value is not True:
            yield Violation("pss-run-as-non-root",
                            f"pod or {c.described} must set securityContext.runAsNonRoot=true",
                            (*sc_path, "runAsNonRoot"), c.name)


def run_as_user(pod: Pod) -> Iterator[Violation]:
    if pod.in_user_namespace:
        return
    if get(pod.security_context, "runAsUser", int, pod.security_context_path) == 0:
        yield Violation("pss-run-as-user", "pod sets runAsUser=0 (root)",
                        (*pod.security_context_path, "runAsUser"))
    for c in pod.containers:
        sc, sc_path = _sc(c)
        if get(sc, "runAsUser", int, sc_path) == 0:
            yield Violation("pss-run-as-user", f"{c.described} sets runAsUser=0 (root)",
                            (*sc_path, "runAsUser"), c.name)


def seccomp_restricted(pod: Pod) -> Iterator[Violation]:
    if pod.is_windows:
        return
    valid = ("RuntimeDefault", "Localhost")
    pod_set, pod_kind, pod_path = _seccomp_type(pod.security_context, pod.security_context_path)
    if pod_set and pod_kind not in valid:
        yield Violation("pss-seccomp-restricted", f"pod sets seccompProfile.type={pod_kind}", pod_path)
    pod_ok = pod_set and pod_kind in valid
    for c in pod.containers:
        sc, sc_path = _sc(c)
        is_set, kind, path = _seccomp_type(sc, sc_path)
        if is_set and kind not in valid:
            yield Violation("pss-seccomp-restricted", f"{c.described} sets seccompProfile.type={kind}", path, c.name)
        elif not is_set and not pod_ok:
            yield Violation("pss-seccomp-restricted",
                            f'pod or {c.described} must set seccompProfile.type to "RuntimeDefault" or "Localhost"',
                            path, c.name)


def capabilities_restricted(pod: Pod) -> Iterator[Violation]:
    if pod.is_windows:
        return
    for c in pod.containers:
        sc, sc_path = _sc(c)
        caps, caps_path = _nested(sc, "capabilities", sc_path)
        if "ALL" not in {cap for _, cap in _capability_list(caps, "drop", caps_path)}:
            yield Violation("pss-capabilities-restricted",
                            f'{c.described} must set securityContext.capabilities.drop=["ALL"]',
                            (*caps_path, "drop"), c.name)
        for index, cap in _capability_list(caps, "add", caps_path):
            if cap != "NET_BIND_SERVICE":
                yield Violation("pss-capabilities-restricted", f"{c.described} adds capability {cap}",
                                (*caps_path, "add", index), c.name)


def proc_mount_restricted(pod: Pod) -> Iterator[Violation]:
    yield from _proc_mount(pod, "pss-proc-mount-restricted")


BASELINE: dict[str, Check] = {
    "pss-host-process": host_process,
    "pss-host-namespaces": host_namespaces,
    "pss-privileged": privileged,
    "pss-capabilities": capabilities_baseline,
    "pss-host-path": host_path_volumes,
    "pss-host-ports": host_ports,
    "pss-apparmor": apparmor,
    "pss-selinux": selinux,
    "pss-proc-mount": proc_mount,
    "pss-seccomp": seccomp_baseline,
    "pss-sysctls": sysctls,
    "pss-host-probes": host_probes,
}
RESTRICTED_ONLY: dict[str, Check] = {
    "pss-volume-types": volume_types,
    "pss-privilege-escalation": privilege_escalation,
    "pss-run-as-non-root": run_as_non_root,
    "pss-run-as-user": run_as_user,
    "pss-seccomp-restricted": seccomp_restricted,
    "pss-capabilities-restricted": capabilities_restricted,
    "pss-proc-mount-restricted": proc_mount_restricted,
}


def checks_for(level: str) -> dict[str, Check]:
    """The controls of a level; at restricted, stricter rules replace their baseline twins."""
    if level == "baseline":
        return dict(BASELINE)
    chosen = {k: v for k, v in BASELINE.items() if k not in BASELINE_OVERRIDDEN_AT_RESTRICTED}
    chosen.update(RESTRICTED_ONLY)
    return chosen
