"""Checks over the kubelet (flags or KubeletConfiguration) and etcd (flags)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from gates.checks.cluster.apiserver import Check, tls_settings
from gates.checks.cluster.flags import FlagSet, FlagValueError, Problem, YamlPath, shown
from gates.checks.cluster.objects import ClusterObject, Violation
from gates.checks.cluster.tls import VERSIONS, weak_suites


def kubelet_flags(flags: FlagSet) -> Iterator[Violation | Problem]:
    """The kubelet's command line: its flag defaults are the insecure ones (anonymous, AlwaysAllow, 10255)."""
    anonymous = flags.boolean("anonymous-auth")
    if anonymous or (anonymous is None and flags.knows("anonymous-auth")):
        said = "--anonymous-auth is true" if anonymous else f"{flags.unset_note('anonymous-auth')} (default true)"
        yield Violation("cluster-kubelet-anonymous-auth", f"{said}: the kubelet serves anonymous requests",
                        flags.path_of("anonymous-auth"))
    modes = flags.items("authorization-mode")
    if (modes is not None and "AlwaysAllow" in modes) or (modes is None and flags.knows("authorization-mode")):
        said = (f"--authorization-mode is {shown(','.join(modes))}" if modes is not None
                else f"{flags.unset_note('authorization-mode')} (default AlwaysAllow)")
        yield Violation("cluster-kubelet-authorization", f"{said}: every authenticated client may use the kubelet API",
                        flags.path_of("authorization-mode"))
    if flags.value("client-ca-file") is None and flags.knows("client-ca-file"):
        yield Violation("cluster-kubelet-client-ca", f"{flags.unset_note('client-ca-file')}: client certificates"
                        " are not verified", flags.where)
    port = flags.integer("read-only-port")
    if port or (port is None and flags.knows("read-only-port")):
        said = f"--read-only-port={port}" if port else f"{flags.unset_note('read-only-port')} (default 10255)"
        yield Violation("cluster-kubelet-read-only-port", f"{said}: an unauthenticated port is open",
                        flags.path_of("read-only-port"))
    protect = flags.boolean("protect-kernel-defaults")
    if not protect and (protect is False or flags.knows("protect-kernel-defaults")):
        yield Violation("cluster-kubelet-protect-kernel-defaults", "--protect-kernel-defaults is not true",
                        flags.path_of("protect-kernel-defaults"))
    rotate = flags.boolean("rotate-certificates")
    if rotate is False or (rotate is None and flags.knows("rotate-certificates")):
        yield Violation("cluster-kubelet-certificate-rotation", "--rotate-certificates is not true",
                        flags.path_of("rotate-certificates"))
    if "RotateKubeletServerCertificate=false" in (flags.items("feature-gates") or []):
        yield Violation("cluster-kubelet-certificate-rotation", "--feature-gates turns RotateKubeletServerCertificate"
                        " off", flags.path_of("feature-gates"))
    if _zero_duration(flags.value("streaming-connection-idle-timeout")):
        yield Violation("cluster-kubelet-streaming-timeout", "--streaming-connection-idle-timeout is 0: idle"
                        " sessions never close", flags.path_of("streaming-connection-idle-timeout"))
    if flags.boolean("make-iptables-util-chains") is False:
        yield Violation("cluster-kubelet-iptables-chains", "--make-iptables-util-chains is false",
                        flags.path_of("make-iptables-util-chains"))
    yield from tls_settings(flags, "cluster-kubelet-tls")
    bootstrap = flags.boolean("rotate-server-certificates")
    for name in ("tls-cert-file", "tls-private-key-file"):
        if not bootstrap and flags.value(name) is None and flags.knows(name):
            yield Violation("cluster-kubelet-tls", f"{flags.unset_note(name)} and no --rotate-server-certificates:"
                            " the kubelet serves a self-signed certificate", flags.where)


def etcd_flags(flags: FlagSet) -> Iterator[Violation | Problem]:
    for prefix, rule, side in (("", "cluster-etcd-client-tls", "client"), ("peer-", "cluster-etcd-peer-tls", "peer")):
        for name in (f"{prefix}cert-file", f"{prefix}key-file"):
            value = flags.value(name)
            if (value is None and flags.knows(name)) or (value is not None and not value.strip()):
                yield Violation(rule, f"{flags.unset_note(name)}: etcd {side} traffic is not TLS", flags.path_of(name))
        auth = flags.boolean(f"{prefix}client-cert-auth")
        if not auth and (auth is False or flags.knows(f"{prefix}client-cert-auth")):
            yield Violation(rule, f"--{prefix}client-cert-auth is not true: any {side} may connect without a"
                            " certificate", flags.path_of(f"{prefix}client-cert-auth"))
        if flags.boolean(f"{prefix}auto-tls"):
            yield Violation(rule, f"--{prefix}auto-tls is true: self-signed certificates nobody verifies",
                            flags.path_of(f"{prefix}auto-tls"))


def _zero_duration(value: object) -> bool:
    """A Go duration (or a number) that is zero: `0`, `0s`, `0m0s`, `0h`."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value == 0
    return isinstance(value, str) and bool(re.fullmatch(r"(0+(\.0+)?(ns|us|µs|ms|s|m|h)?)+", value.strip()))


FLAG_CHECKS: dict[str, tuple[Check, ...]] = {"kubelet": (kubelet_flags,), "etcd": (etcd_flags,)}


def _get(body: Any, path: YamlPath) -> Any:
    node = body
    for step in path:
        if not isinstance(node, dict) or step not in node:
            return None
        node = node[step]
    return node


def _typed(body: Any, path: YamlPath, kind: type, what: str) -> Any:
    value = _get(body, path)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        dotted = ".".join(str(p) for p in path)
        raise FlagValueError(Problem(f"{dotted} must be {what}, not {shown(str(value))}", path))
    return value


def kubelet_config(obj: ClusterObject) -> Iterator[Violation | Problem]:
    """A KubeletConfiguration: its own defaults are safe for anonymous auth, authorization and the port."""
    body = obj.body
    kubeadm = obj.defaults_by == "kubeadm"
    note = " (nor by kubeadm)" if kubeadm else ""
    if _typed(body, ("authentication", "anonymous", "enabled"), bool, "true or false"):
        yield Violation("cluster-kubelet-anonymous-auth", "authentication.anonymous.enabled is true",
                        ("authentication", "anonymous", "enabled"))
    if _typed(body, ("authentication", "webhook", "enabled"), bool, "true or false") is False:
        yield Violation("cluster-kubelet-authorization", "authentication.webhook.enabled is false: bearer tokens"
                        " are not checked", ("authentication", "webhook", "enabled"))
    mode = _typed(body, ("authorization", "mode"), str, "Webhook or AlwaysAllow")
    if mode == "AlwaysAllow":
        yield Violation("cluster-kubelet-authorization", "authorization.mode is AlwaysAllow", ("authorization", "mode"))
    if not _typed(body, ("authentication", "x509", "clientCAFile"), str, "a path") and not kubeadm:
        yield Violation("cluster-kubelet-client-ca", "authentication.x509.clientCAFile is not set: client certificates"
                        " are not verified", ("authentication",) if "authentication" in body else ())
    port = _typed(body, ("readOnlyPort",), int, "a port number")
    if port:
        yield Violation("cluster-kubelet-read-only-port", f"readOnlyPort is {port}: an unauthenticated port is open",
                        ("readOnlyPort",))
    if not _typed(body, ("protectKernelDefaults",), bool, "true or false"):
        where: YamlPath = ("protectKernelDefaults",) if "protectKernelDefaults" in body else ()
        yield Violation("cluster-kubelet-protect-kernel-defaults", f"protectKernelDefaults is not true{note}", where)
    rotate = _typed(body, ("rotateCertificates",), bool, "true or false")
    if rotate is False or (rotate is None and not kubeadm):
        where = ("rotateCertificates",) if "rotateCertificates" in body else ()
        yield Violation("cluster-kubelet-certificate-rotation", "rotateCertificates is not true", where)
    gates = _typed(body, ("featureGates",), dict, "a mapping")
    if gates and gates.get("RotateKubeletServerCertificate") is False:
        yield Violation("cluster-kubelet-certificate-rotation", "featureGates turns RotateKubeletServerCertificate off",
                        ("featureGates", "RotateKubeletServerCertificate"))
    version = _typed(body, ("tlsMinVersion",), str, "a TLS version")
    if version is not None and version not in VERSIONS:
        yield Problem(f"tlsMinVersion {shown(version)} is not a TLS version the kubelet accepts", ("tlsMinVersion",))
    elif version is not None and VERSIONS[version] < 12:
        yield Violation("cluster-kubelet-tls", f"tlsMinVersion {version} accepts TLS older than 1.2",
                        ("tlsMinVersion",))
    suites = _typed(body, ("tlsCipherSuites",), list, "a list of cipher suite names")
    weak = weak_suites([str(s) for s in suites or []])
    if weak:
        yield Violation("cluster-kubelet-tls", f"tlsCipherSuites includes weak suites: {shown(','.join(weak))}",
                        ("tlsCipherSuites",))
    if _zero_duration(_get(body, ("streamingConnectionIdleTimeout",))):
        yield Violation("cluster-kubelet-streaming-timeout", "streamingConnectionIdleTimeout is 0: idle sessions"
                        " never close", ("streamingConnectionIdleTimeout",))
    if _typed(body, ("makeIPTablesUtilChains",), bool, "true or false") is False:
        yield Violation("cluster-kubelet-iptables-chains", "makeIPTablesUtilChains is false",
                        ("makeIPTablesUtilChains",))
    bootstrap = _typed(body, ("serverTLSBootstrap",), bool, "true or false")
    if not bootstrap and not _typed(body, ("tlsCertFile",), str, "a path"):
        yield Violation("cluster-kubelet-tls", f"neither tlsCertFile nor serverTLSBootstrap is set{note}: the kubelet"
                        " serves a self-signed certificate", ())


