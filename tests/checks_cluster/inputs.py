"""Cluster configuration as text for the rule tests: a compliant object that each test breaks in one place."""

from __future__ import annotations

from collections.abc import Mapping

COMPLIANT_APISERVER_FLAGS: tuple[str, ...] = (
    "--anonymous-auth=false",
    "--authorization-mode=Node,RBAC",
    "--enable-admission-plugins=NodeRestriction",
    "--client-ca-file=/etc/kubernetes/pki/ca.crt",
    "--tls-cert-file=/etc/kubernetes/pki/apiserver.crt",
    "--tls-private-key-file=/etc/kubernetes/pki/apiserver.key",
    "--tls-min-version=VersionTLS12",
    "--kubelet-client-certificate=/etc/kubernetes/pki/kubelet-client.crt",
    "--kubelet-client-key=/etc/kubernetes/pki/kubelet-client.key",
    "--kubelet-certificate-authority=/etc/kubernetes/pki/ca.crt",
    "--etcd-servers=https://127.0.0.1:2379",
    "--etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt",
    "--etcd-certfile=/etc/kubernetes/pki/etcd-client.crt",
    "--etcd-keyfile=/etc/kubernetes/pki/etcd-client.key",
    "--service-account-key-file=/etc/kubernetes/pki/sa.pub",
    "--profiling=false",
    "--audit-policy-file=/etc/kubernetes/audit.yaml",
    "--audit-log-path=/var/log/kubernetes/audit.log",
    "--audit-log-maxage=30",
    "--audit-log-maxbackup=10",
    "--audit-log-maxsize=100",
    "--encryption-provider-config=/etc/kubernetes/encryption.yaml",
)

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: kube-system
spec:
  containers:
  - name: {name}
    image: registry.k8s.io/{name}@sha256:{digest}
    command:
    - {name}
"""
COMMAND_AT = "10:5"
"""Where findings about a flag that is not given point: the container's `command`."""
FIRST_FLAG_LINE = 12


def static_pod(flags: tuple[str, ...], name: str = "kube-apiserver") -> str:
    """A static pod running `name` with `flags`, one per line from line 12, column 7."""
    return POD.format(name=name, digest="0" * 64) + "".join(f"    - {flag}\n" for flag in flags)


def apiserver(drop: tuple[str, ...] = (), add: tuple[str, ...] = (), replace: Mapping[str, str] | None = None) -> str:
    """The compliant API server without the flags named in `drop`, with `replace`d values and `add`ed flags."""
    replace = dict(replace or {})
    flags = []
    for flag in COMPLIANT_APISERVER_FLAGS:
        name = flag[2:].split("=", 1)[0]
        key = name.replace("-", "_")
        if name in drop:
            continue
        flags.append(f"--{name}={replace.pop(key)}" if key in replace else flag)
    assert not replace, f"not compliant flags: {replace}"
    return static_pod((*flags, *add))


def flag_at(text: str, flag: str) -> str:
    """LINE:COL of the list item holding `flag` (by text search, independent of the gate's YAML reading)."""
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip() == f"- {flag}":
            return f"{number}:{line.index('-') + 3}"
    raise AssertionError(f"{flag} not in the text")
