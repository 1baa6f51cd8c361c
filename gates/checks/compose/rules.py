"""The compose gate's rules: what `gates explain` prints. Light on purpose: the registry imports it."""

from __future__ import annotations

from gates.model import Severity
from gates.rules import Rule

GATE = "compose"
_REFERENCE = "Docker Engine security and the Compose specification (services)"

SAFE_CAPABILITIES = (
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
)
"""Capabilities `cap_add` may name: the Pod Security Standards' baseline set (Docker's default set
without NET_RAW), so a compose file and a Kubernetes manifest of the same service are judged alike."""


def _rule(rule_id: str, severity: Severity, title: str, rationale: str, fix: str) -> Rule:
    return Rule(id=rule_id, gate=GATE, title=title, severity=severity, rationale=rationale, remediation=fix,
                reference=_REFERENCE)


RULES: tuple[Rule, ...] = (
    _rule(
        "compose-privileged", Severity.CRITICAL, "Services do not run privileged",
        "`privileged: true` gives the container every capability and every host device: escaping to the"
        " host is trivial. A `post_start` / `pre_stop` hook with `privileged: true` runs its command so."
        " (`build.privileged` is a privileged build, not judged here.)",
        "Remove `privileged` (or set it to false, in the service and its hooks); add only the single"
        " capability the service needs.",
    ),
    _rule(
        "compose-capabilities", Severity.HIGH, "Only safe capabilities are added",
        "Capabilities beyond the default set (ALL, SYS_ADMIN, NET_ADMIN, SYS_PTRACE, SYS_MODULE, NET_RAW...)"
        " give a container power over the kernel, the host's network or other processes.",
        "Remove `cap_add` entries other than " + ", ".join(SAFE_CAPABILITIES)
        + " (or list the one you need in `[compose] allowed-capabilities` and say why in a waiver).",
    ),
    _rule(
        "compose-host-namespaces", Severity.HIGH, "Host namespaces are not shared",
        "`network_mode`, `pid`, `ipc`, `uts`, `userns_mode` or `cgroup` set to `host` lets the container"
        " see host traffic and host-only services, signal every host process, or drop the user-namespace"
        " remapping that keeps its root from being the host's root. Joining a network defined as the"
        " host's (`name: host`, or an external network `host`) is `network_mode: host` by another name.",
        "Remove the setting (or use a private mode: a user-defined network, `service:NAME`).",
    ),
    _rule(
        "compose-user-root", Severity.HIGH, "Services do not run as root",
        "`user: root` or `user: 0` (Docker reads `00`, `+0` and `-0` as 0 too) runs the process as UID 0:"
        " any escape or writable host mount is root's. A `post_start` / `pre_stop` hook's `user` counts too.",
        "Set `user` (and any hook's) to a non-zero UID (`user: \"10001:10001\"`) and make the image work"
        " without root.",
    ),
    _rule(
        "compose-user-unset", Severity.LOW, "Services say which user they run as",
        "Without `user` the image's USER decides, and most images run as root; the compose file alone"
        " cannot tell.",
        "Set `user` to a non-zero UID, or waive the finding for an image known to run as non-root.",
    ),
    _rule(
        "compose-runtime-socket", Severity.CRITICAL, "The container runtime's socket is not mounted",
        "A container that can reach docker.sock (or containerd's, CRI-O's, Podman's socket) can start a"
        " privileged container of its own: it is root on the host. It is its own rule so that a waiver of"
        " `compose-host-path` never covers it. A secret or config whose `file:` is the socket mounts it too.",
        "Remove the mount (and `use_api_socket: true`, which mounts it too); give the service a narrow"
        " API proxy instead if it must watch containers.",
    ),
    _rule(
        "compose-host-path", Severity.HIGH, "Sensitive host paths are not mounted",
        "Binding the host's /, /etc, /proc, /sys, /dev, /boot, /root, /home, /var/run, /run, /var/lib/docker,"
        " /var/lib/containerd, /var/lib/kubelet, /lib/modules, /usr/lib/modules, /usr/src, /var/log or /var/spool/cron"
        " (anything under them, or a folder holding one: /var, /usr, /lib) exposes host credentials, kernel"
        " interfaces or other containers' data, read-only or not. Compose binds the same way a named"
        " volume with `driver_opts` `o: bind` / `rbind`, a secret or config with `file:`, and a relative"
        " path that climbs out of the project (`../../etc`, or a symbolic link): each is judged where it"
        " lands.",
        "Mount a named volume or a project folder (`./data`) instead of the host path.",
    ),
    _rule(
        "compose-devices", Severity.HIGH, "No host devices are passed in",
        "`devices` hands the container raw access to host hardware (disks, kernel logs, USB), beyond what"
        " its filesystem isolation protects; a `device_cgroup_rules` entry (`a *:* rwm`) lets it create and"
        " open such device nodes itself.",
        "Remove `devices` and `device_cgroup_rules`, or waive the single device the service truly needs"
        " with a reason.",
    ),
    _rule(
        "compose-unconfined", Severity.HIGH, "seccomp, AppArmor and SELinux stay on",
        "`security_opt` `seccomp:unconfined`, `apparmor:unconfined` or `label:disable` removes the kernel"
        " filters that block most container escapes; `systempaths=unconfined` unmasks /proc and /sys.",
        "Remove the option, or give a custom profile (`seccomp:profile.json`, `apparmor:NAME`).",
    ),
    _rule(
        "compose-no-new-privileges", Severity.MEDIUM, "Processes cannot gain privileges",
        "Without `no-new-privileges`, a setuid binary in the image lets a process become root inside the"
        " container.",
        "Add `security_opt: [\"no-new-privileges:true\"]`.",
    ),
    _rule(
        "compose-read-only", Severity.LOW, "The root filesystem is read-only",
        "A writable root filesystem lets an attacker drop tools and persist changes in the container.",
        "Set `read_only: true` and mount `tmpfs` or volumes where the service must write.",
    ),
    _rule(
        "compose-image-latest", Severity.HIGH, "Images are not run by a moving tag (latest or none)",
        "`latest` (or no tag) runs whatever was pushed last: deployments are not reproducible and a pushed"
        " image runs without review.",
        "Name a version tag, better a digest (`image: nginx:1.27@sha256:...`).",
    ),
)
