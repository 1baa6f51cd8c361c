"""The flags kubeadm (and so kind, which drives kubeadm) puts on control-plane command lines itself.

A ClusterConfiguration's `extraArgs` override these; what neither sets runs with the component's
built-in default. Only the flags the cluster gate's rules read are listed (kubeadm v1.2x-v1.3x).
"""

from __future__ import annotations

from collections.abc import Mapping

_PKI = "/etc/kubernetes/pki"

API_SERVER: Mapping[str, str] = {
    "authorization-mode": "Node,RBAC",
    "enable-admission-plugins": "NodeRestriction",
    "client-ca-file": f"{_PKI}/ca.crt",
    "tls-cert-file": f"{_PKI}/apiserver.crt",
    "tls-private-key-file": f"{_PKI}/apiserver.key",
    "kubelet-client-certificate": f"{_PKI}/apiserver-kubelet-client.crt",
    "kubelet-client-key": f"{_PKI}/apiserver-kubelet-client.key",
    "service-account-key-file": f"{_PKI}/sa.pub",
    "service-account-signing-key-file": f"{_PKI}/sa.key",
    "secure-port": "6443",
}

LOCAL_ETCD_CLIENT: Mapping[str, str] = {
    "etcd-servers": "https://127.0.0.1:2379",
    "etcd-cafile": f"{_PKI}/etcd/ca.crt",
    "etcd-certfile": f"{_PKI}/apiserver-etcd-client.crt",
    "etcd-keyfile": f"{_PKI}/apiserver-etcd-client.key",
}
"""What the API server is given for kubeadm's local etcd (external etcd: the files of `etcd.external`)."""

CONTROLLER_MANAGER: Mapping[str, str] = {
    "bind-address": "127.0.0.1",
    "use-service-account-credentials": "true",
    "root-ca-file": f"{_PKI}/ca.crt",
    "service-account-private-key-file": f"{_PKI}/sa.key",
}

SCHEDULER: Mapping[str, str] = {"bind-address": "127.0.0.1"}

ETCD: Mapping[str, str] = {
    "cert-file": f"{_PKI}/etcd/server.crt",
    "key-file": f"{_PKI}/etcd/server.key",
    "client-cert-auth": "true",
    "trusted-ca-file": f"{_PKI}/etcd/ca.crt",
    "peer-cert-file": f"{_PKI}/etcd/peer.crt",
    "peer-key-file": f"{_PKI}/etcd/peer.key",
    "peer-client-cert-auth": "true",
    "peer-trusted-ca-file": f"{_PKI}/etcd/ca.crt",
}

COMPONENTS: Mapping[str, tuple[str, Mapping[str, str]]] = {
    "apiServer": ("kube-apiserver", API_SERVER),
    "controllerManager": ("kube-controller-manager", CONTROLLER_MANAGER),
    "scheduler": ("kube-scheduler", SCHEDULER),
}
"""ClusterConfiguration section -> (component, kubeadm's flags for it)."""
