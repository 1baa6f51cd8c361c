"""The cluster gate's rules, each naming the CIS Kubernetes Benchmark controls it corresponds to.

Only control ids are cited (v1.12 numbering, as kube-bench's cis-1.12 files use), never benchmark text.
Kept free of heavy imports: `gates list` and `gates explain` read it.
"""

from __future__ import annotations

from gates.model import Severity
from gates.rules import Rule

GATE = "cluster"
"""The gate these rules belong to (its name everywhere: command, table, `gates = [...]`)."""

_CIS = "CIS Kubernetes Benchmark v1.12"
_GUIDE = "Kubernetes documentation: securing a cluster"

C, H, M, L = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW


def _rule(rule_id: str, controls: str, severity: Severity, title: str, rationale: str, fix: str) -> Rule:
    reference = f"{_CIS} {controls}" if controls else _GUIDE
    return Rule(id=rule_id, gate=GATE, title=title, severity=severity, rationale=rationale,
                remediation=fix, reference=reference)


API_SERVER_RULES: tuple[Rule, ...] = (
    _rule("cluster-apiserver-anonymous-auth", "1.2.1", M,
          "The API server rejects anonymous requests (--anonymous-auth=false)",
          "With anonymous auth on (the default), every unauthenticated request is served as"
          " system:anonymous: one RBAC binding too many and the cluster is open to anyone who can reach it.",
          "Set --anonymous-auth=false (kubeadm: apiServer.extraArgs anonymous-auth: \"false\"); health checks"
          " can use an authenticated client or the kubelet's own probes."),
    _rule("cluster-apiserver-static-credentials", "1.2.2", H,
          "The API server takes no static token or password file",
          "Tokens and passwords in --token-auth-file (or the removed --basic-auth-file) never expire, cannot"
          " be rotated without a restart, and sit in clear text on the control-plane node.",
          "Remove --token-auth-file and --basic-auth-file; use client certificates, OIDC or service accounts."),
    _rule("cluster-apiserver-kubelet-client-tls", "1.2.4", H,
          "The API server authenticates to kubelets with a client certificate over HTTPS",
          "Without --kubelet-client-certificate and --kubelet-client-key the kubelets cannot tell the API"
          " server from anyone else; with --kubelet-https=false the traffic (exec, logs) is plain text.",
          "Set --kubelet-client-certificate and --kubelet-client-key; never --kubelet-https=false."),
    _rule("cluster-apiserver-kubelet-ca", "1.2.5", M,
          "The API server verifies kubelet serving certificates (--kubelet-certificate-authority)",
          "Without a CA to check kubelet certificates against, anyone on the path between the API server and a"
          " node can impersonate the kubelet and read exec sessions and logs.",
          "Set --kubelet-certificate-authority to the CA that signs kubelet serving certificates (and turn on"
          " kubelet serving certificate rotation)."),
    _rule("cluster-apiserver-always-allow", "1.2.6", C,
          "The API server never authorizes with AlwaysAllow",
          "AlwaysAllow grants every authenticated request everything: RBAC is not consulted. It is also what"
          " --authorization-mode defaults to.",
          "Set --authorization-mode=Node,RBAC."),
    _rule("cluster-apiserver-authz-node", "1.2.7", M,
          "The API server's authorization modes include Node",
          "The Node authorizer limits each kubelet to the objects of its own pods; without it a compromised"
          " node can read every Secret its RBAC grants allow.",
          "Include Node in --authorization-mode (Node,RBAC)."),
    _rule("cluster-apiserver-authz-rbac", "1.2.8", H,
          "The API server's authorization modes include RBAC",
          "Without RBAC, Roles and RoleBindings have no effect: least privilege cannot be expressed.",
          "Include RBAC in --authorization-mode (Node,RBAC)."),
    _rule("cluster-apiserver-always-admit", "1.2.10", C,
          "The AlwaysAdmit admission plugin is not enabled",
          "AlwaysAdmit admits every request, bypassing the admission chain that enforces policy.",
          "Remove AlwaysAdmit from --enable-admission-plugins."),
    _rule("cluster-apiserver-default-admission", "1.2.12, 1.2.13", M,
          "The ServiceAccount and NamespaceLifecycle admission plugins are not disabled",
          "ServiceAccount admission ties pods to service accounts; NamespaceLifecycle stops objects being"
          " created in terminating or missing namespaces. Both are on by default: disabling them is a hole.",
          "Remove ServiceAccount and NamespaceLifecycle from --disable-admission-plugins."),
    _rule("cluster-apiserver-node-restriction", "1.2.14", H,
          "The NodeRestriction admission plugin is enabled",
          "NodeRestriction stops a kubelet from modifying other nodes' Node and Pod objects; without it a"
          " compromised node can relabel itself or others to attract sensitive workloads.",
          "Add NodeRestriction to --enable-admission-plugins (with --authorization-mode including Node)."),
    _rule("cluster-profiling", "1.2.15, 1.3.2, 1.4.1", L,
          "Control-plane components do not expose profiling (--profiling=false)",
          "The profiling endpoints reveal program internals and cost CPU on demand; they are on by default in"
          " kube-apiserver, kube-controller-manager and kube-scheduler.",
          "Set --profiling=false on kube-apiserver, kube-controller-manager and kube-scheduler."),
    _rule("cluster-apiserver-audit-log", "1.2.16, 3.2.1", M,
          "The API server audits requests: a policy file and a log path or webhook",
          "Without an audit log nobody can tell afterwards who read a Secret or changed a Role.",
          "Set --audit-policy-file and --audit-log-path (or --audit-webhook-config-file)."),
    _rule("cluster-apiserver-audit-retention", "1.2.17, 1.2.18, 1.2.19", L,
          "Audit log files are kept long enough (maxage >= 30, maxbackup >= 10, maxsize >= 100)",
          "A log rotated away before anyone looks at it is no audit trail.",
          "Set --audit-log-maxage=30, --audit-log-maxbackup=10 and --audit-log-maxsize=100 (or more), or ship"
          " the log elsewhere and say so with a waiver."),
    _rule("cluster-apiserver-service-account-lookup", "1.2.21", M,
          "The API server checks that service account tokens still exist (--service-account-lookup)",
          "Without the lookup, a token of a deleted service account keeps working until it expires.",
          "Leave --service-account-lookup unset or set it to true."),
    _rule("cluster-apiserver-service-account-key", "1.2.22", M,
          "The API server is given the service account token verification key",
          "Without --service-account-key-file the API server falls back to its serving key, so rotating the"
          " TLS certificate silently invalidates every token, or the two keys are shared.",
          "Set --service-account-key-file (and --service-account-signing-key-file) to a dedicated key pair."),
    _rule("cluster-apiserver-etcd-tls", "1.2.23, 1.2.26", H,
          "The API server talks to etcd over TLS with a client certificate and a CA",
          "etcd holds every Secret; without --etcd-certfile, --etcd-keyfile and --etcd-cafile (or with an"
          " http:// server) that traffic is unauthenticated or unverified.",
          "Set --etcd-certfile, --etcd-keyfile and --etcd-cafile, and https:// --etcd-servers."),
    _rule("cluster-apiserver-serving-tls", "1.2.24", H,
          "The API server serves with its own certificate (--tls-cert-file, --tls-private-key-file)",
          "Without them it generates a self-signed certificate clients cannot verify, inviting them to skip"
          " verification altogether.",
          "Set --tls-cert-file and --tls-private-key-file to a certificate signed by the cluster CA."),
    _rule("cluster-apiserver-client-ca", "1.2.25", H,
          "The API server verifies client certificates (--client-ca-file)",
          "Without a client CA, certificate authentication is off; with a CA it is how kubelets and"
          " components authenticate.",
          "Set --client-ca-file to the cluster CA."),
    _rule("cluster-apiserver-encryption", "1.2.27", H,
          "The API server encrypts Secrets at rest (--encryption-provider-config)",
          "Without it Secrets are stored in etcd, its snapshots and its backups as plain base64.",
          "Set --encryption-provider-config to an EncryptionConfiguration covering secrets (KMS v2 preferred)."),
    _rule("cluster-apiserver-tls", "1.2.29", M,
          "The API server accepts only TLS 1.2 or newer and strong cipher suites",
          "TLS 1.0/1.1 and CBC, RC4, 3DES or non-forward-secret suites are breakable or downgradeable.",
          "Set --tls-min-version=VersionTLS12 (or 13) and list only ECDHE AEAD suites in --tls-cipher-suites."),
    _rule("cluster-apiserver-insecure-serving", "", H,
          "The API server serves nothing without TLS and authentication (no insecure port, secure port on)",
          "--insecure-port and --insecure-bind-address served the whole API with no authentication or"
          " authorization; --secure-port=0 turns off the authenticated port.",
          "Remove --insecure-port (or set 0) and --insecure-bind-address; keep --secure-port non-zero."),
)

OTHER_COMPONENT_RULES: tuple[Rule, ...] = (
    _rule("cluster-loopback-bind", "1.3.7, 1.4.2", M,
          "kube-controller-manager and kube-scheduler bind to 127.0.0.1",
          "Their health and metrics endpoints need no network exposure; bound to all addresses they are"
          " reachable from every pod on the host network.",
          "Set --bind-address=127.0.0.1."),
    _rule("cluster-controller-manager-credentials", "1.3.3, 1.3.4, 1.3.5", M,
          "kube-controller-manager uses per-controller service accounts and its signing and root CA files",
          "Without --use-service-account-credentials every controller runs with the controller manager's"
          " own broad rights; without --service-account-private-key-file and --root-ca-file tokens cannot"
          " be signed or verified by pods.",
          "Set --use-service-account-credentials=true, --service-account-private-key-file and --root-ca-file."),
)

KUBELET_RULES: tuple[Rule, ...] = (
    _rule("cluster-kubelet-anonymous-auth", "4.2.1", H,
          "The kubelet rejects anonymous requests",
          "The kubelet API runs commands in containers and reads their logs; anonymous access to it is node"
          " compromise.",
          "KubeletConfiguration authentication.anonymous.enabled: false (flag --anonymous-auth=false)."),
    _rule("cluster-kubelet-authorization", "4.2.2", H,
          "The kubelet authorizes requests through the API server (Webhook, not AlwaysAllow)",
          "With AlwaysAllow (the flag default) every authenticated client may use the whole kubelet API.",
          "KubeletConfiguration authorization.mode: Webhook (flag --authorization-mode=Webhook)."),
    _rule("cluster-kubelet-client-ca", "4.2.3", H,
          "The kubelet verifies client certificates (clientCAFile)",
          "Without a client CA the kubelet cannot authenticate the API server's client certificate.",
          "KubeletConfiguration authentication.x509.clientCAFile (flag --client-ca-file)."),
    _rule("cluster-kubelet-read-only-port", "4.2.4", M,
          "The kubelet's unauthenticated read-only port is off (readOnlyPort: 0)",
          "Port 10255 serves pod specs and metrics to anyone who can reach the node, with no authentication.",
          "KubeletConfiguration readOnlyPort: 0 (flag --read-only-port=0)."),
    _rule("cluster-kubelet-protect-kernel-defaults", "", L,
          "The kubelet refuses to run with kernel settings that differ from its defaults",
          "protectKernelDefaults makes the kubelet fail instead of silently tuning kernel parameters it"
          " depends on.",
          "KubeletConfiguration protectKernelDefaults: true (flag --protect-kernel-defaults=true), with the"
          " node's sysctls set as the kubelet expects."),
    _rule("cluster-kubelet-certificate-rotation", "1.3.6, 4.2.10, 4.2.11", M,
          "The kubelet rotates its certificates",
          "A kubelet certificate that is never rotated stays valid, and stealable, for its whole lifetime.",
          "KubeletConfiguration rotateCertificates: true (and serverTLSBootstrap: true for serving"
          " certificates); never the feature gate RotateKubeletServerCertificate=false (kubelet or"
          " kube-controller-manager)."),
    _rule("cluster-kubelet-streaming-timeout", "4.2.5", L,
          "The kubelet closes idle streaming connections (streamingConnectionIdleTimeout is not 0)",
          "With 0, an exec or port-forward session left open never times out: a forgotten or hijacked"
          " session keeps its access to the container.",
          "Leave streamingConnectionIdleTimeout at its default (4h) or set a duration; never 0."),
    _rule("cluster-kubelet-iptables-chains", "4.2.6", L,
          "The kubelet manages its iptables chains (makeIPTablesUtilChains is not false)",
          "When the kubelet does not keep its iptables utility chains, networking rules drift from what pods"
          " need and what the network policy layer expects.",
          "Leave makeIPTablesUtilChains at its default (true) (flag --make-iptables-util-chains=true)."),
    _rule("cluster-kubelet-tls", "4.2.9, 4.2.12", M,
          "The kubelet serves TLS 1.2+ with strong cipher suites and a real certificate",
          "Weak TLS versions and suites are downgradeable; without tlsCertFile or serverTLSBootstrap the"
          " kubelet serves a self-signed certificate the API server cannot verify.",
          "Set tlsMinVersion: VersionTLS12, only ECDHE AEAD suites in tlsCipherSuites, and tlsCertFile /"
          " tlsPrivateKeyFile or serverTLSBootstrap: true."),
)

ETCD_RULES: tuple[Rule, ...] = (
    _rule("cluster-etcd-client-tls", "2.1, 2.2, 2.3", H,
          "etcd serves clients over TLS and requires client certificates",
          "etcd holds every Secret of the cluster: anyone who can reach an unauthenticated etcd owns the cluster.",
          "Set --cert-file, --key-file, --client-cert-auth=true and --trusted-ca-file; never --auto-tls=true."),
    _rule("cluster-etcd-peer-tls", "2.4, 2.5, 2.6", H,
          "etcd members talk to each other over TLS with peer certificates",
          "Unauthenticated peer traffic lets anyone who reaches the peer port join the cluster or read its"
          " replication stream.",
          "Set --peer-cert-file, --peer-key-file, --peer-client-cert-auth=true; never --peer-auto-tls=true."),
)

AUDIT_RULES: tuple[Rule, ...] = (
    _rule("cluster-audit-sensitive-bodies", "3.2.2", H,
          "The audit policy logs Secrets, ConfigMaps and TokenReviews at Metadata, never with bodies",
          "At Request or RequestResponse the audit log holds the secret values and tokens themselves, readable"
          " by everyone who can read the log.",
          "Add a rule before any broader one: level: Metadata for secrets, configmaps (group \"\") and"
          " tokenreviews (authentication.k8s.io)."),
    _rule("cluster-audit-coverage", "3.2.1, 3.2.2", M,
          "The audit policy logs something, ends with a catch-all rule and audits sensitive resources",
          "A policy whose rules are all None (or that has none) records nothing; without a catch-all rule,"
          " requests no rule names are not audited at all.",
          "End the rules with a catch-all (for example `- level: Metadata`) and log secrets, configmaps and"
          " tokenreviews at Metadata."),
    _rule("cluster-config-unchecked", "", M,
          "Configuration files the API server names are among the scanned files",
          "The audit policy, the encryption configuration and a structured authorization configuration decide"
          " what is logged, what is encrypted and who may do what; a file named by the API server but not"
          " scanned was not checked.",
          "Scan the folder holding the file (file names are matched), or waive the finding saying where it lives."),
)

ENCRYPTION_RULES: tuple[Rule, ...] = (
    _rule("cluster-encryption-secrets", "1.2.28", H,
          "The EncryptionConfiguration covers secrets",
          "Resources no entry names are stored unencrypted: an EncryptionConfiguration without secrets"
          " protects nothing that matters.",
          "Add an entry whose resources include secrets (or *.*), with an encrypting provider first."),
    _rule("cluster-encryption-identity-first", "1.2.28", H,
          "The first provider for secrets encrypts (it is not identity)",
          "The first provider encrypts new writes: identity first means every Secret written from now on is"
          " stored in plain text; identity later only lets old data still be read.",
          "Put kms (v2), aesgcm, aescbc or secretbox first; keep identity last, only while migrating."),
    _rule("cluster-encryption-key", "1.2.28", H,
          "Encryption keys are real keys of the right size, not placeholders",
          "A placeholder or wrong-size key either fails the API server at start-up or, worse, is a key"
          " everyone who read the example knows.",
          "Generate a random 32-byte key (`head -c 32 /dev/urandom | base64`) and keep it out of git; prefer KMS."),
    _rule("cluster-encryption-kms-v2", "1.2.28", L,
          "Secrets are encrypted through KMS v2",
          "Local keys (aescbc, aesgcm, secretbox) sit in a file on every control-plane node next to the data"
          " they protect; KMS v1 is deprecated. KMS v2 keeps the key outside the cluster.",
          "Use a kms provider with apiVersion: v2."),
)

_EOL = "endoflife.date: kubernetes, etcd"

VERSION_RULES: tuple[Rule, ...] = (
    Rule(id="cluster-version-eol", gate=GATE, severity=H,
         title="The Kubernetes and etcd versions a config declares are still supported",
         rationale="A release past its end of life gets no security fixes: every vulnerability found after that"
                   " date stays open in the control plane.",
         remediation="Upgrade to a supported minor release (kubeadm upgrade, a newer kindest/node image, newer"
                     " control-plane image tags).", reference=_EOL),
    Rule(id="cluster-version-patch", gate=GATE, severity=M,
         title="The Kubernetes and etcd versions a config declares are the newest patch of their cycle",
         rationale="Patch releases of a supported cycle carry its security fixes; an older patch misses them.",
         remediation="Move to the newest patch release of the cycle (the finding names it).", reference=_EOL),
)

RULES: tuple[Rule, ...] = (API_SERVER_RULES + OTHER_COMPONENT_RULES + KUBELET_RULES + ETCD_RULES + AUDIT_RULES
                           + ENCRYPTION_RULES + VERSION_RULES)
