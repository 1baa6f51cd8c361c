"""The Pod Security Standards controls as gates rules (Kubernetes v1.37 definitions).

Kept free of heavy imports: `gates list` and `gates explain` read it.
"""

from __future__ import annotations

from gates.model import Severity
from gates.rules import Rule

GATE = "manifests"
"""The gate these rules belong to (its name everywhere: command, table, `gates = [...]`)."""

_PSS = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"
_B = "baseline"
_R = "restricted"


def _rule(rule_id: str, level: str, severity: Severity, title: str, rationale: str, fix: str) -> Rule:
    return Rule(
        id=rule_id, gate=GATE, title=title, severity=severity, rationale=rationale,
        remediation=fix, level=level, reference=_PSS,
    )


PSS_RULES: tuple[Rule, ...] = (
    _rule(
        "pss-host-process", _B, Severity.CRITICAL,
        "Windows HostProcess containers are not allowed",
        "A HostProcess container runs as a process on the Windows node with the node's privileges; it"
        " is not isolated from the host at all.",
        "Remove securityContext.windowsOptions.hostProcess (or set it to false) on the pod and every"
        " container.",
    ),
    _rule(
        "pss-host-namespaces", _B, Severity.HIGH,
        "Host namespaces (network, PID, IPC) must not be shared",
        "Sharing the node's network, process or IPC namespace lets a container sniff node traffic,"
        " see and signal every process on the node, and reach host-only services.",
        "Remove spec.hostNetwork, spec.hostPID and spec.hostIPC (or set them to false).",
    ),
    _rule(
        "pss-privileged", _B, Severity.CRITICAL,
        "Privileged containers are not allowed",
        "A privileged container has every capability and access to all host devices: escaping to the"
        " node is trivial.",
        "Remove securityContext.privileged (or set it to false); grant only the specific capability"
        " the workload needs.",
    ),
    _rule(
        "pss-capabilities", _B, Severity.HIGH,
        "Only the default capabilities may be added",
        "Capabilities beyond the container runtime's default set (e.g. SYS_ADMIN, NET_ADMIN,"
        " SYS_PTRACE) give a container powers over the kernel and the node.",
        "Remove capabilities.add entries other than AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID,"
        " KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID and SYS_CHROOT.",
    ),
    _rule(
        "pss-host-path", _B, Severity.HIGH,
        "hostPath volumes are not allowed",
        "A hostPath volume exposes the node's filesystem to the container: writing to it is a"
        " classic path to node compromise, reading it leaks node secrets.",
        "Use a persistentVolumeClaim, emptyDir, configMap, secret or a CSI volume instead.",
    ),
    _rule(
        "pss-host-ports", _B, Severity.MEDIUM,
        "Host ports are not allowed",
        "hostPort binds a port on the node itself, bypassing network policy and exposing the"
        " container on the node's addresses.",
        "Remove ports[].hostPort (or set it to 0) and expose the workload through a Service.",
    ),
    _rule(
        "pss-apparmor", _B, Severity.MEDIUM,
        "AppArmor must not be disabled",
        "An Unconfined AppArmor profile removes a mandatory access control layer that limits what a"
        " compromised process can touch.",
        "Leave appArmorProfile unset, or use type RuntimeDefault or Localhost (and the annotation"
        " values runtime/default or localhost/*).",
    ),
    _rule(
        "pss-selinux", _B, Severity.MEDIUM,
        "SELinux options must not grant a custom user, role or unconfined type",
        "Setting the SELinux user or role, or a type other than the container types, can lift the"
        " confinement SELinux puts on the container.",
        "Remove seLinuxOptions.user and .role; use type container_t, container_init_t,"
        " container_kvm_t or container_engine_t, or leave it unset.",
    ),
    _rule(
        "pss-proc-mount", _B, Severity.MEDIUM,
        "The /proc mount must keep its default masking",
        "An Unmasked /proc exposes kernel interfaces that the runtime normally hides, unless the pod"
        " runs in its own user namespace.",
        "Remove securityContext.procMount or set it to Default (Unmasked is tolerated at baseline"
        " only with spec.hostUsers: false).",
    ),
    _rule(
        "pss-seccomp", _B, Severity.MEDIUM,
        "Seccomp must not be disabled",
        "An Unconfined seccomp profile lets the container call every system call, the kernel's"
        " largest attack surface.",
        "Set seccompProfile.type to RuntimeDefault or Localhost, or leave it unset.",
    ),
    _rule(
        "pss-sysctls", _B, Severity.MEDIUM,
        "Only namespaced, safe sysctls may be set",
        "Unsafe sysctls change kernel behaviour for the whole node or weaken isolation between pods.",
        "Remove spec.securityContext.sysctls entries outside the safe set (kernel.shm_rmid_forced,"
        " net.ipv4.ip_local_port_range, net.ipv4.ip_unprivileged_port_start, net.ipv4.tcp_syncookies,"
        " net.ipv4.ping_group_range, net.ipv4.ip_local_reserved_ports, net.ipv4.tcp_keepalive_time,"
        " net.ipv4.tcp_fin_timeout, net.ipv4.tcp_keepalive_intvl, net.ipv4.tcp_keepalive_probes,"
        " net.ipv4.tcp_rmem, net.ipv4.tcp_wmem, net.ipv4.tcp_slow_start_after_idle,"
        " net.ipv4.tcp_notsent_lowat).",
    ),
    _rule(
        "pss-host-probes", _B, Severity.MEDIUM,
        "Probes and lifecycle hooks must not target another host",
        "A probe or lifecycle handler with a host field makes the kubelet send requests to an"
        " arbitrary address from the node: a server-side request forgery primitive.",
        "Remove the host field from httpGet and tcpSocket probes and lifecycle handlers; they then"
        " target the pod's own IP.",
    ),
    _rule(
        "pss-volume-types", _R, Severity.MEDIUM,
        "Only ephemeral and projected volume types are allowed",
        "Volume types that mount node or network storage directly (hostPath, nfs, iscsi, ...) bypass"
        " the PersistentVolume layer where storage access is governed.",
        "Use configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim,"
        " projected or secret volumes.",
    ),
    _rule(
        "pss-privilege-escalation", _R, Severity.HIGH,
        "Privilege escalation must be disallowed",
        "With allowPrivilegeEscalation unset or true, a process can gain more privileges than its"
        " parent (setuid binaries, file capabilities).",
        "Set securityContext.allowPrivilegeEscalation: false on every container.",
    ),
    _rule(
        "pss-run-as-non-root", _R, Severity.HIGH,
        "Containers must run as non-root",
        "A container running as root inside is one kernel or runtime bug away from root on the node.",
        "Set spec.securityContext.runAsNonRoot: true (or on every container), and build the image"
        " with a non-root USER.",
    ),
    _rule(
        "pss-run-as-user", _R, Severity.HIGH,
        "Containers must not set runAsUser to 0",
        "UID 0 is root: setting it explicitly defeats runAsNonRoot.",
        "Set runAsUser to a non-zero UID, or leave it unset and rely on the image's non-root USER.",
    ),
    _rule(
        "pss-seccomp-restricted", _R, Severity.MEDIUM,
        "A seccomp profile must be set explicitly",
        "Without an explicit RuntimeDefault or Localhost profile, some runtimes run containers"
        " unconfined.",
        "Set spec.securityContext.seccompProfile.type: RuntimeDefault (or Localhost) for the pod,"
        " or on every container.",
    ),
    _rule(
        "pss-capabilities-restricted", _R, Severity.MEDIUM,
        "Containers must drop ALL capabilities and add back only NET_BIND_SERVICE",
        "Every capability the container keeps is kernel privilege an attacker inherits; the"
        " restricted profile keeps none but binding low ports.",
        'Set securityContext.capabilities.drop: ["ALL"] and add at most NET_BIND_SERVICE.',
    ),
    _rule(
        "pss-proc-mount-restricted", _R, Severity.MEDIUM,
        "The /proc mount must be Default, even in a user namespace",
        "The restricted profile does not accept an Unmasked /proc under any condition.",
        "Remove securityContext.procMount or set it to Default.",
    ),
)

_GUIDE = "Container security practices: trusted images, secrets, RBAC least privilege, TLS, network policies"


def _hardening(rule_id: str, severity: Severity, title: str, rationale: str, fix: str) -> Rule:
    return Rule(id=rule_id, gate=GATE, title=title, severity=severity, rationale=rationale,
                remediation=fix, reference=_GUIDE)


HARDENING_RULES: tuple[Rule, ...] = (
    _hardening(
        "k8s-image-latest", Severity.HIGH, "Images are not deployed by a moving tag (latest or none)",
        "`latest` (or no tag) deploys whatever was pushed last: builds are not reproducible and a pushed"
        " image reaches the cluster without review.",
        "Reference the image by digest (`repo@sha256:...`), or at least by an immutable release tag.",
    ),
    _hardening(
        "k8s-image-digest", Severity.LOW, "Images are pinned by digest",
        "A tag can be moved to other content at any time; only a digest names exactly the image that was"
        " built, scanned and signed.",
        "Deploy `repo:tag@sha256:<digest>` (tools such as `crane digest` or the registry UI give the digest).",
    ),
    _hardening(
        "k8s-image-registry", Severity.HIGH, "Images come from an allowed registry",
        "Images from arbitrary registries bypass the scanning, signing and retention of the trusted ones.",
        "Pull from a registry that `allowed-registries` lists, or mirror the image there.",
    ),
    _hardening(
        "k8s-secret-env-literal", Severity.HIGH, "Credentials are not written into environment variables",
        "A password or token written in a manifest is readable by everyone with the repository and stays in"
        " its history forever.",
        "Store it in a Secret (or an external secret store) and use `valueFrom.secretKeyRef`.",
    ),
    _hardening(
        "k8s-secret-value", Severity.HIGH, "No credential values are written into manifests",
        "A value shaped like a private key, a cloud access key, a GitHub, GitLab or Slack token, a JWT, or a"
        " URL with a password in it is a live credential whatever its variable is called; in an environment"
        " value, an argument, ConfigMap data or an annotation it is readable by everyone with the repository"
        " and stays in its history. The finding names the kind of credential, never the value.",
        "Revoke the credential (it is already exposed), store its replacement in a Secret or an external"
        " secret store, and refer to it (`valueFrom.secretKeyRef`, a mounted Secret volume).",
    ),
    _hardening(
        "k8s-secret-in-manifest", Severity.HIGH, "Secret values are not committed in manifests",
        "base64 is an encoding, not encryption: a Secret's data in a repository is plaintext to its readers.",
        "Use sealed or encrypted secrets (SealedSecret, SOPS, External Secrets) and keep values out of git.",
    ),
    _hardening(
        "k8s-rbac-wildcard", Severity.HIGH, "RBAC roles do not grant wildcards",
        "'*' grants every verb, resource or API group, including ones added later: the opposite of least"
        " privilege.",
        "List the exact verbs, resources and API groups the subject needs.",
    ),
    _hardening(
        "k8s-rbac-escalation", Severity.HIGH, "RBAC roles do not grant escalate, bind or impersonate",
        "These verbs let the holder grant itself, or act with, permissions it was never given.",
        "Remove the verb; grant the specific permissions directly to the subject that needs them.",
    ),
    _hardening(
        "k8s-rbac-secrets-read", Severity.MEDIUM, "RBAC roles do not read Secrets broadly",
        "Reading Secrets exposes every credential in the namespace (or cluster) to the holder.",
        "Limit access with resourceNames to the specific Secrets needed, or mount them into the pod instead.",
    ),
    _hardening(
        "k8s-rbac-cluster-admin", Severity.CRITICAL, "Nothing is bound to cluster-admin",
        "cluster-admin is full control of the cluster; a compromised subject bound to it owns everything.",
        "Bind a role with only the permissions needed.",
    ),
    _hardening(
        "k8s-ingress-tls", Severity.MEDIUM, "Ingresses terminate TLS for every host",
        "Without TLS, credentials and session data cross the network in clear text.",
        "Add spec.tls with a certificate Secret covering every host in spec.rules.",
    ),
    _hardening(
        "k8s-network-policy", Severity.MEDIUM, "Every workload is in default deny, for ingress and egress",
        "Pods no network policy isolates accept traffic from any pod in the cluster and reach anything: one"
        " compromised pod can reach them all, and send data anywhere. A policy that allows everything isolates"
        " nothing. Kubernetes NetworkPolicies, Calico and Cilium policies count where gates can judge their"
        " selectors; the others are said and not counted.",
        "Add a default-deny policy per namespace (podSelector: {} with policyTypes Ingress and Egress and no rules),"
        " then allow what each workload needs. Checked only with `require-network-policy = true`.",
    ),
)

WORKLOAD_HARDENING_RULES: tuple[Rule, ...] = (
    _hardening(
        "k8s-runtime-socket", Severity.HIGH, "No container-runtime socket is mounted from the node",
        "The Docker, containerd or CRI-O socket (or a folder holding it) lets a pod start privileged containers"
        " on the node, outside Kubernetes: node compromise. A rule of its own, so that a waiver for hostPath"
        " volumes never covers it.",
        "Remove the hostPath volume of /var/run/docker.sock, /run/containerd/containerd.sock, /run/crio/crio.sock"
        " (or of /var/run, /run, /var, /): build images with a daemonless builder, read node data through the API.",
    ),
    _hardening(
        "k8s-run-as-group-root", Severity.MEDIUM, "Containers do not run with the root group",
        "runAsGroup 0 gives the process the root group: every file of the image and of mounted volumes that is"
        " group-writable by root is writable by it.",
        "Set runAsGroup to a non-zero GID, or leave it unset.",
    ),
    _hardening(
        "k8s-default-namespace", Severity.LOW, "Workloads are not deployed in the default namespace",
        "The default namespace is shared by everything nobody placed: its RBAC, quotas and network policies are"
        " rarely meant for the workload. Objects without a namespace are not flagged: they land where they are"
        " applied.",
        "Set metadata.namespace to the application's own namespace (or let kustomize or Helm set it).",
    ),
    _hardening(
        "k8s-read-only-root", Severity.MEDIUM, "Containers have a read-only root filesystem",
        "A writable root filesystem lets an intruder drop tools and change binaries of the running container."
        " Checked only when `enable-rules` names it.",
        "Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the process must write.",
    ),
    _hardening(
        "k8s-service-account-token", Severity.LOW, "Pods do not mount a service account token they do not use",
        "The token mounted into every pod by default is a credential to the API server: whoever takes the"
        " container takes its permissions. A ServiceAccount's own setting is not read. Checked only when"
        " `enable-rules` names it.",
        "Set spec.automountServiceAccountToken: false on the pod template (a projected token for pods that"
        " need one).",
    ),
    _hardening(
        "k8s-resource-limits", Severity.MEDIUM, "Containers set CPU and memory limits",
        "Without limits one container can take the node's memory or CPU from every other pod on it. Its severity"
        " is `resource-limits-severity`; checked only when `enable-rules` names it.",
        "Set resources.limits.cpu and resources.limits.memory on every container and init container.",
    ),
)

OPT_IN_RULES = ("k8s-read-only-root", "k8s-service-account-token", "k8s-resource-limits")
"""Rules evaluated only when `[manifests] enable-rules` names them."""

ACCESS_RULES: tuple[Rule, ...] = (
    _hardening(
        "k8s-rbac-pod-exec", Severity.HIGH, "RBAC roles do not open a shell in pods (pods/exec, pods/attach)",
        "Exec or attach runs commands inside a running container: its service-account token, its mounted Secrets"
        " and its network position become the holder's.",
        "Remove create/get on pods/exec and pods/attach; debug with ephemeral containers granted to people, for a"
        " time, not to workloads.",
    ),
    _hardening(
        "k8s-rbac-workload-create", Severity.MEDIUM, "RBAC roles do not create pods or workloads",
        "Whoever may create a pod, or a Deployment, DaemonSet, StatefulSet, ReplicaSet, Job, CronJob or"
        " ReplicationController that makes pods, may run it as any service account of the namespace and mount any"
        " of its Secrets: the namespace's strongest permissions are theirs.",
        "Let a deploy pipeline (or GitOps controller) create workloads; grant subjects only what they use, and keep"
        " admission (Pod Security, policy engines) in front of pod creation.",
    ),
    _hardening(
        "k8s-rbac-token-create", Severity.HIGH, "RBAC roles do not mint service-account tokens",
        "create on serviceaccounts/token issues a token for any service account in scope: its permissions, for as"
        " long as the token lives, from anywhere.",
        "Remove create on serviceaccounts/token; pods get their own token through projected volumes.",
    ),
    _hardening(
        "k8s-rbac-nodes-proxy", Severity.HIGH, "RBAC roles do not reach the kubelet (nodes/proxy)",
        "nodes/proxy reaches every node's kubelet API, which runs commands in any pod of the node; such requests"
        " pass neither admission nor the API server's audit of pod exec.",
        "Remove nodes/proxy; monitoring agents read nodes/metrics or nodes/stats instead.",
    ),
    _hardening(
        "k8s-rbac-webhook-config", Severity.HIGH, "RBAC roles do not change admission webhook configurations",
        "A mutating webhook sees and may rewrite every object sent to the API server (Secrets included); deleting a"
        " validating webhook removes the policy it enforces.",
        "Keep create, update, patch and delete on mutatingwebhookconfigurations and"
        " validatingwebhookconfigurations for cluster administrators and the operators that own them.",
    ),
    _hardening(
        "k8s-rbac-csr-approval", Severity.HIGH, "RBAC roles do not approve certificate signing requests",
        "update on certificatesigningrequests/approval with approve on a signer issues client certificates: for"
        " kubernetes.io/kube-apiserver-client that is any user or group, system:masters included.",
        "Leave approval to the controller manager and to named signers scoped with resourceNames.",
    ),
    _hardening(
        "k8s-rbac-service-status", Severity.MEDIUM, "RBAC roles do not write Service status",
        "Writing services/status sets a LoadBalancer's ingress IP: the cluster then sends traffic for that address"
        " to the Service's pods (CVE-2020-8554).",
        "Only the cloud controller or load-balancer controller needs update and patch on services/status.",
    ),
    _hardening(
        "k8s-rbac-pv-create", Severity.HIGH, "RBAC roles do not create PersistentVolumes",
        "A PersistentVolume can be a hostPath: a claim bound to it mounts the node's filesystem into a pod, past"
        " the Pod Security Standards' hostPath ban.",
        "Provision volumes through StorageClasses; keep create on persistentvolumes for storage administrators.",
    ),
    _hardening(
        "k8s-rbac-public-subject", Severity.HIGH, "RBAC bindings do not grant to everyone",
        "system:anonymous and system:unauthenticated are every request without credentials; system:authenticated is"
        " every user and service account; system:serviceaccounts is every pod of the cluster.",
        "Bind the role to the users, groups or service accounts that need it.",
    ),
    _hardening(
        "k8s-rbac-default-service-account", Severity.MEDIUM, "RBAC bindings do not grant to a default service account",
        "Every pod that names no service account runs as its namespace's `default` one: a grant to it is a grant to"
        " all of them, present and future.",
        "Make a service account for the workload, set spec.serviceAccountName, and bind the role to it.",
    ),
    _hardening(
        "k8s-service-external-ips", Severity.HIGH, "Services do not set externalIPs",
        "With externalIPs, a Service takes over the traffic that every pod and node sends to those addresses, any"
        " address at all (CVE-2020-8554).",
        "Remove spec.externalIPs; use a LoadBalancer or an Ingress, and block the field with admission policy.",
    ),
    _hardening(
        "k8s-service-exposed", Severity.LOW, "Services are not exposed on nodes or load balancers",
        "A NodePort opens the port on every node and a LoadBalancer reaches outside the cluster network; each is"
        " an entry point past ingress controllers and their TLS. Which types count is `exposed-service-types`.",
        "Use type ClusterIP behind an Ingress or a Gateway, or waive the Service that must be exposed.",
    ),
    _hardening(
        "k8s-gateway-plain-http", Severity.MEDIUM, "Gateway listeners do not serve plain HTTP",
        "A listener with protocol HTTP carries credentials and session data in clear text, unless every route on it"
        " only redirects to https.",
        "Serve the routes from an HTTPS listener and attach to the HTTP listener only an HTTPRoute whose rules"
        " redirect (RequestRedirect filter, scheme: https).",
    ),
    _hardening(
        "k8s-gateway-tls-certificate", Severity.HIGH, "Gateway TLS listeners name a certificate",
        "An HTTPS listener, or a TLS listener in Terminate mode, without tls.certificateRefs has no certificate: it"
        " is refused, or it serves whatever default the implementation has.",
        "Set tls.certificateRefs to the Secret holding the listener's certificate (a ReferenceGrant for another"
        " namespace), or use mode: Passthrough for a TLS listener.",
    ),
    _hardening(
        "k8s-ingress-nginx-snippet", Severity.HIGH, "Ingresses do not carry ingress-nginx snippet annotations",
        "A *-snippet annotation writes raw NGINX configuration into the controller, which can read its service"
        " account token and so every Secret of the cluster (CVE-2021-25742).",
        "Remove the annotation; use the controller's documented annotations, and run it with"
        " allow-snippet-annotations false.",
    ),
)

RULES: tuple[Rule, ...] = PSS_RULES + HARDENING_RULES + WORKLOAD_HARDENING_RULES + ACCESS_RULES

BASELINE_OVERRIDDEN_AT_RESTRICTED: dict[str, str] = {
    "pss-capabilities": "pss-capabilities-restricted",
    "pss-host-path": "pss-volume-types",
    "pss-seccomp": "pss-seccomp-restricted",
    "pss-proc-mount": "pss-proc-mount-restricted",
}
"""Baseline rules replaced by a stricter restricted rule, as Pod Security Admission does."""
