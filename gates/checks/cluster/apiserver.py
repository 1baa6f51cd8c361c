"""Checks over the flags of kube-apiserver, kube-controller-manager and kube-scheduler."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from gates.checks.cluster.flags import FlagSet, Problem, shown
from gates.checks.cluster.objects import Violation
from gates.checks.cluster.tls import VERSIONS, weak_suites

Check = Callable[[FlagSet], Iterator[Violation | Problem]]


def _missing(flags: FlagSet, rule: str, why: str, *names: str) -> Iterator[Violation]:
    """A finding for each of `names` that is not set (or set empty), when what runs is known."""
    for name in names:
        value = flags.value(name)
        if value is None and flags.knows(name):
            yield Violation(rule, f"{flags.unset_note(name)}: {why}", flags.where)
        elif value is not None and not value.strip():
            yield Violation(rule, f"--{name} is empty: {why}", flags.path_of(name))


def anonymous_auth(flags: FlagSet) -> Iterator[Violation]:
    enabled = flags.boolean("anonymous-auth")
    if enabled is None and flags.knows("anonymous-auth"):
        yield Violation("cluster-apiserver-anonymous-auth",
                        f"{flags.unset_note('anonymous-auth')}: kube-apiserver serves anonymous requests by default",
                        flags.where)
    elif enabled:
        yield Violation("cluster-apiserver-anonymous-auth", "--anonymous-auth is true: anonymous requests are served",
                        flags.path_of("anonymous-auth"))


def static_credentials(flags: FlagSet) -> Iterator[Violation]:
    for name in ("token-auth-file", "basic-auth-file"):
        if flags.last(name) is not None:
            yield Violation("cluster-apiserver-static-credentials",
                            f"--{name} is set: static credentials that never expire", flags.path_of(name))


def kubelet_client_tls(flags: FlagSet) -> Iterator[Violation]:
    yield from _missing(flags, "cluster-apiserver-kubelet-client-tls", "kubelets cannot authenticate the API server",
                        "kubelet-client-certificate", "kubelet-client-key")
    if flags.boolean("kubelet-https") is False:
        yield Violation("cluster-apiserver-kubelet-client-tls", "--kubelet-https=false: kubelet traffic is plain HTTP",
                        flags.path_of("kubelet-https"))


def kubelet_ca(flags: FlagSet) -> Iterator[Violation]:
    yield from _missing(flags, "cluster-apiserver-kubelet-ca", "kubelet serving certificates are not verified",
                        "kubelet-certificate-authority")


def _authorization_modes(flags: FlagSet) -> list[str] | None:
    modes = flags.items("authorization-mode")
    return ["AlwaysAllow"] if modes is None and flags.knows("authorization-mode") else modes


def authorization(flags: FlagSet) -> Iterator[Violation | Problem]:
    if flags.value("authorization-config") is not None:
        if flags.last("authorization-mode") is not None:
            yield Problem("--authorization-config and --authorization-mode are both set: kube-apiserver refuses"
                          " to start", flags.path_of("authorization-mode"))
        return  # the modes are the AuthorizationConfiguration's, judged in its own result (see links)
    modes = _authorization_modes(flags)
    if modes is None:
        return
    path = flags.path_of("authorization-mode")
    unset = flags.value("authorization-mode") is None
    if "AlwaysAllow" in modes:
        said = (f"{flags.unset_note('authorization-mode')}: kube-apiserver defaults to AlwaysAllow" if unset
                else f"--authorization-mode includes AlwaysAllow ({shown(','.join(modes))})")
        yield Violation("cluster-apiserver-always-allow", said, path)
    for mode, rule in (("Node", "cluster-apiserver-authz-node"), ("RBAC", "cluster-apiserver-authz-rbac")):
        if mode not in modes:
            said = (flags.unset_note("authorization-mode") if unset
                    else f"--authorization-mode is {shown(','.join(modes))}")
            yield Violation(rule, f"{said}: {mode} is not among the authorization modes", path)


def admission(flags: FlagSet) -> Iterator[Violation]:
    enabled = (flags.items("enable-admission-plugins") or []) + (flags.items("admission-control") or [])
    disabled = flags.items("disable-admission-plugins") or []
    path = flags.path_of("enable-admission-plugins")
    if "AlwaysAdmit" in enabled:
        yield Violation("cluster-apiserver-always-admit", "--enable-admission-plugins includes AlwaysAdmit", path)
    if "NodeRestriction" in disabled:
        yield Violation("cluster-apiserver-node-restriction", "--disable-admission-plugins includes NodeRestriction",
                        flags.path_of("disable-admission-plugins"))
    elif "NodeRestriction" not in enabled and flags.knows("enable-admission-plugins"):
        said = (flags.unset_note("enable-admission-plugins") if flags.value("enable-admission-plugins") is None
                else f"--enable-admission-plugins is {shown(','.join(enabled))}")
        yield Violation("cluster-apiserver-node-restriction", f"{said}: NodeRestriction is not enabled", path)
    for plugin in ("ServiceAccount", "NamespaceLifecycle"):
        if plugin in disabled:
            yield Violation("cluster-apiserver-default-admission", f"--disable-admission-plugins includes {plugin}",
                            flags.path_of("disable-admission-plugins"))


def profiling(flags: FlagSet) -> Iterator[Violation]:
    enabled = flags.boolean("profiling")
    if enabled is None and flags.knows("profiling"):
        yield Violation("cluster-profiling", f"{flags.unset_note('profiling')}: {flags.component} profiles by default",
                        flags.where)
    elif enabled:
        yield Violation("cluster-profiling", "--profiling is true", flags.path_of("profiling"))


def audit_log(flags: FlagSet) -> Iterator[Violation]:
    rule = "cluster-apiserver-audit-log"
    names = ("audit-policy-file", "audit-log-path", "audit-webhook-config-file")
    policy, log, webhook = (flags.value(n) for n in names)
    if not policy and flags.knows("audit-policy-file"):
        yield Violation(rule, f"{flags.unset_note('audit-policy-file')}: nothing is audited",
                        flags.path_of("audit-policy-file"))
    if not log and not webhook and flags.knows("audit-log-path") and flags.knows("audit-webhook-config-file"):
        yield Violation(rule, f"{flags.unset_note('audit-log-path')} and no --audit-webhook-config-file: audit events"
                        " go nowhere", flags.path_of("audit-log-path"))


RETENTION = (("audit-log-maxage", 30, "days"), ("audit-log-maxbackup", 10, "files"), ("audit-log-maxsize", 100, "MB"))


def audit_retention(flags: FlagSet) -> Iterator[Violation]:
    """Values below the floor are findings wherever they are; a missing one only where a log file is written."""
    log = flags.value("audit-log-path")
    writes_file = bool(log) and log != "-"  # "-" is standard output: nothing is rotated there
    for name, least, unit in RETENTION:
        number = flags.integer(name)
        if number is None and writes_file and flags.knows(name):
            yield Violation("cluster-apiserver-audit-retention",
                            f"{flags.unset_note(name)}: set it to at least {least} ({unit})", flags.where)
        elif number is not None and number < least:
            yield Violation("cluster-apiserver-audit-retention", f"--{name}={number} is below {least} ({unit})",
                            flags.path_of(name))


def service_account(flags: FlagSet) -> Iterator[Violation]:
    if flags.boolean("service-account-lookup") is False:
        yield Violation("cluster-apiserver-service-account-lookup", "--service-account-lookup is false: tokens of"
                        " deleted service accounts stay valid", flags.path_of("service-account-lookup"))
    yield from _missing(flags, "cluster-apiserver-service-account-key", "tokens are verified with the serving key",
                        "service-account-key-file")


def etcd_client(flags: FlagSet) -> Iterator[Violation]:
    yield from _missing(flags, "cluster-apiserver-etcd-tls", "etcd traffic is not mutually authenticated",
                        "etcd-certfile", "etcd-keyfile", "etcd-cafile")
    servers = flags.items("etcd-servers") or []
    plain = [s for s in servers if s.lower().startswith("http://")]
    if plain:
        yield Violation("cluster-apiserver-etcd-tls", f"--etcd-servers uses plain HTTP: {shown(plain[0])}",
                        flags.path_of("etcd-servers"))


def serving(flags: FlagSet) -> Iterator[Violation]:
    yield from _missing(flags, "cluster-apiserver-serving-tls", "kube-apiserver serves a self-signed certificate",
                        "tls-cert-file", "tls-private-key-file")
    yield from _missing(flags, "cluster-apiserver-client-ca", "client certificates are not verified", "client-ca-file")
    port = flags.integer("insecure-port")
    if port:
        yield Violation("cluster-apiserver-insecure-serving", f"--insecure-port={port}: the API is served"
                        " without authentication", flags.path_of("insecure-port"))
    if flags.last("insecure-bind-address") is not None:
        yield Violation("cluster-apiserver-insecure-serving", "--insecure-bind-address is set: the insecure port"
                        " is exposed beyond localhost", flags.path_of("insecure-bind-address"))
    if flags.integer("secure-port") == 0:
        yield Violation("cluster-apiserver-insecure-serving", "--secure-port=0 turns the authenticated port off",
                        flags.path_of("secure-port"))


def encryption(flags: FlagSet) -> Iterator[Violation]:
    yield from _missing(flags, "cluster-apiserver-encryption", "Secrets are stored in etcd unencrypted",
                        "encryption-provider-config")


def tls(flags: FlagSet) -> Iterator[Violation | Problem]:
    yield from tls_settings(flags, "cluster-apiserver-tls")


def tls_settings(flags: FlagSet, rule: str) -> Iterator[Violation | Problem]:
    version = flags.value("tls-min-version")
    if version is not None:
        if version not in VERSIONS:
            yield Problem(f"--tls-min-version={shown(version)} is not a TLS version {flags.component} accepts"
                          " (VersionTLS12, VersionTLS13)", flags.path_of("tls-min-version"))
        elif VERSIONS[version] < 12:
            yield Violation(rule, f"--tls-min-version={version} accepts TLS older than 1.2",
                            flags.path_of("tls-min-version"))
    weak = weak_suites(flags.items("tls-cipher-suites") or [])
    if weak:
        yield Violation(rule, f"--tls-cipher-suites includes weak suites: {shown(','.join(weak))}",
                        flags.path_of("tls-cipher-suites"))


def loopback_bind(flags: FlagSet) -> Iterator[Violation]:
    address = flags.value("bind-address")
    if address is None and flags.knows("bind-address"):
        yield Violation("cluster-loopback-bind", f"{flags.unset_note('bind-address')}: {flags.component} listens on"
                        " all addresses by default", flags.where)
    elif address is not None and address.strip() not in ("127.0.0.1", "::1", "localhost"):
        yield Violation("cluster-loopback-bind", f"--bind-address={shown(address)} is not the loopback address",
                        flags.path_of("bind-address"))


def controller_manager_credentials(flags: FlagSet) -> Iterator[Violation]:
    rule = "cluster-controller-manager-credentials"
    use = flags.boolean("use-service-account-credentials")
    if use is False or (use is None and flags.knows("use-service-account-credentials")):
        said = ("--use-service-account-credentials is false" if use is False
                else flags.unset_note("use-service-account-credentials"))
        yield Violation(rule, f"{said}: every controller runs with the controller manager's own rights",
                        flags.path_of("use-service-account-credentials"))
    yield from _missing(flags, rule, "service account tokens cannot be signed or checked",
                        "service-account-private-key-file", "root-ca-file")


def server_certificate_rotation(flags: FlagSet) -> Iterator[Violation]:
    """kube-controller-manager signs kubelet serving certificates only with RotateKubeletServerCertificate on."""
    if "RotateKubeletServerCertificate=false" in (flags.items("feature-gates") or []):
        yield Violation("cluster-kubelet-certificate-rotation", "--feature-gates turns RotateKubeletServerCertificate"
                        " off: kubelet serving certificates are not rotated", flags.path_of("feature-gates"))


AUTHORIZER_TYPES = frozenset({"Node", "RBAC", "Webhook", "ABAC", "AlwaysAllow", "AlwaysDeny"})


def check_authorization_config(body: Any) -> Iterator[Violation | Problem]:
    """An AuthorizationConfiguration (`--authorization-config`): its authorizers, as the modes of the flag."""
    authorizers = body.get("authorizers")
    if not isinstance(authorizers, list) or not authorizers:
        yield Problem("authorizers must be a non-empty list", ("authorizers",) if "authorizers" in body else ())
        return
    types: list[str] = []
    for index, authorizer in enumerate(authorizers):
        kind = authorizer.get("type") if isinstance(authorizer, dict) else None
        if kind not in AUTHORIZER_TYPES:
            yield Problem(f"authorizers[{index}].type {shown(str(kind))} is not an authorizer type kube-apiserver"
                          f" knows ({', '.join(sorted(AUTHORIZER_TYPES))})", ("authorizers", index))
            return
        types.append(kind)
        if kind == "AlwaysAllow":
            yield Violation("cluster-apiserver-always-allow", f"authorizers[{index}] is AlwaysAllow",
                            ("authorizers", index, "type"))
    for mode, rule in (("Node", "cluster-apiserver-authz-node"), ("RBAC", "cluster-apiserver-authz-rbac")):
        if mode not in types:
            yield Violation(rule, f"no {mode} authorizer among {shown(','.join(types))}", ("authorizers",))


CHECKS: dict[str, tuple[Check, ...]] = {
    "kube-apiserver": (anonymous_auth, static_credentials, kubelet_client_tls, kubelet_ca, authorization, admission,
                       profiling, audit_log, audit_retention, service_account, etcd_client, serving, encryption, tls),
    "kube-controller-manager": (profiling, loopback_bind, controller_manager_credentials, server_certificate_rotation),
    "kube-scheduler": (profiling, loopback_bind),
}
