"""The manifest gate's policy as admission checks: one CEL expression per rule, for the cluster.

CI judges what a repository ships; admission judges what reaches the API server by any path. Each rule
the cluster can enforce on one object is written here as a CEL expression in standard CEL only (`has`,
`all`, `exists`, `matches`, no Kubernetes extension library), so the same text runs in a
ValidatingAdmissionPolicy, in a Kyverno `validate.cel` rule and in the tests' CEL evaluator, which holds
every expression to the gate's own verdict on the same fixtures. A rule that cannot be enforced on one
object at admission is listed with the reason, never dropped.

Regular expressions are written for both RE2 (the cluster) and Python's `re` (the tests): no
look-around, no back-references.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from gates.checks.manifests import secrets
from gates.checks.manifests.rbac import CSR_APPROVE, POWERS, SIGNERS_APPROVE, Power
from gates.checks.manifests.rules import ACCESS_RULES, HARDENING_RULES, OPT_IN_RULES, WORKLOAD_HARDENING_RULES

PSS_LABEL = "pod-security.kubernetes.io/enforce"


@dataclass(frozen=True)
class Resource:
    """A kind the API server admits, as admission rules name it."""

    group: str
    version: str
    plural: str
    kind: str


POD_CARRIERS: tuple[Resource, ...] = (
    Resource("", "v1", "pods", "Pod"),
    Resource("", "v1", "podtemplates", "PodTemplate"),
    Resource("", "v1", "replicationcontrollers", "ReplicationController"),
    Resource("apps", "v1", "deployments", "Deployment"),
    Resource("apps", "v1", "replicasets", "ReplicaSet"),
    Resource("apps", "v1", "statefulsets", "StatefulSet"),
    Resource("apps", "v1", "daemonsets", "DaemonSet"),
    Resource("batch", "v1", "jobs", "Job"),
    Resource("batch", "v1", "cronjobs", "CronJob"),
)
ROLES = (Resource("rbac.authorization.k8s.io", "v1", "roles", "Role"),
         Resource("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole"))
BINDINGS = (Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
            Resource("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding"))
CONFIG_MAPS = (Resource("", "v1", "configmaps", "ConfigMap"),)
SERVICES = (Resource("", "v1", "services", "Service"),)
INGRESSES = (Resource("networking.k8s.io", "v1", "ingresses", "Ingress"),)
NAMESPACES = (Resource("", "v1", "namespaces", "Namespace"),)

POD_VARIABLES: tuple[tuple[str, str], ...] = (
    ("podSpec", "object.kind == 'Pod' ? object.spec"
                " : object.kind == 'PodTemplate' ? object.template.spec"
                " : object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec"
                " : object.spec.template.spec"),
    ("containers", "(has(variables.podSpec.initContainers) ? variables.podSpec.initContainers : [])"
                   " + (has(variables.podSpec.containers) ? variables.podSpec.containers : [])"
                   " + (has(variables.podSpec.ephemeralContainers) ? variables.podSpec.ephemeralContainers : [])"),
    ("podAnnotations", "object.kind == 'Pod' ? {}"
                       " : object.kind == 'PodTemplate' ? (has(object.template.metadata) &&"
                       " has(object.template.metadata.annotations) ? object.template.metadata.annotations : {})"
                       " : object.kind == 'CronJob' ? (has(object.spec.jobTemplate.spec.template.metadata) &&"
                       " has(object.spec.jobTemplate.spec.template.metadata.annotations)"
                       " ? object.spec.jobTemplate.spec.template.metadata.annotations : {})"
                       " : (has(object.spec.template.metadata) && has(object.spec.template.metadata.annotations)"
                       " ? object.spec.template.metadata.annotations : {})"),
)
"""The pod spec, containers (init, regular, ephemeral) and pod-template annotations of any pod carrier."""


@dataclass(frozen=True)
class AdmissionCheck:
    """One rule as the cluster enforces it: `expression` is true for an object the rule admits."""

    rule: str
    resources: tuple[Resource, ...]
    expression: str
    message: str
    variables: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class NotExported:
    """A rule the cluster cannot enforce object by object, and why."""

    rule: str
    reason: str


def _quote(text: str) -> str:
    """A CEL single-quoted string literal (raw content escaped for CEL's escapes)."""
    escaped = text.replace("\\", "\\\\").replace("'", "\\'")
    for char, escape in (("\t", "\\t"), ("\n", "\\n"), ("\f", "\\f"), ("\r", "\\r"), ("\v", "\\v")):
        escaped = escaped.replace(char, escape)
    return "'" + escaped + "'"


def _has_image(var: str) -> str:
    return f"has({var}.image) && {var}.image != ''"


_PINNED = "^[^@]*@(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$"
"""Pinned: what follows the first `@` is a digest by its form (`hardening.DIGEST`)."""
_TAGGED = "^([^@]*/)?[^@/]*:[^@/]*(@.*)?$"
"""A tag: a `:` in the last path component of the name (a registry port is not a tag)."""
_LATEST = "^[^@]*:latest(@.*)?$"


def _moving(var: str) -> str:
    return f"(!{var}.image.matches({_quote(_TAGGED)}) || {var}.image.matches({_quote(_LATEST)}))"


def _image_latest() -> AdmissionCheck:
    moving = f"!c.image.matches({_quote(_PINNED)}) && {_moving('c')}"
    return AdmissionCheck(
        "k8s-image-latest", POD_CARRIERS, f"!variables.containers.exists(c, {_has_image('c')} && {moving})",
        "every image must be pinned by digest or an immutable tag, never latest or no tag", POD_VARIABLES)


def _image_digest(latest_skipped: bool) -> AdmissionCheck:
    """Unpinned images; those by a moving tag are the latest rule's, unless that rule is skipped."""
    unpinned = f"!c.image.matches({_quote(_PINNED)})" + ("" if latest_skipped else f" && !{_moving('c')}")
    return AdmissionCheck(
        "k8s-image-digest", POD_CARRIERS, f"!variables.containers.exists(c, {_has_image('c')} && {unpinned})",
        "every image must be pinned by digest (repo@sha256:...)", POD_VARIABLES)


def glob_regex(pattern: str) -> str:
    """A glob (`*`, `?`, `[...]`) as a regular expression that RE2 and Python read alike."""
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        end = pattern.find("]", i + 2) if ch == "[" else -1
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif end != -1:
            body = pattern[i + 1:end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body).replace("\\", "\\\\") + "]")
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def _env_values() -> str:
    return "(has(c.env) ? c.env : []).filter(e, has(e.value) && e.value != '')"


def _secret_env_literal(safe: Sequence[str]) -> AdmissionCheck:
    names = _quote("(?i)" + secrets.CREDENTIAL_NAME.pattern)
    safe_names = _quote("(?i)^(" + "|".join(glob_regex(glob.upper()) for glob in safe) + ")$")
    space = "[ \t\n\f\r\v]*"
    reference = _quote(f"^{space}({secrets.REFERENCE_PATTERN}){space}$")
    value = _quote(secrets.CREDENTIAL_VALUE_PATTERN)
    literal_named = (f"e.name.matches({names}) && !e.name.matches({safe_names})"
                     f" && !e.value.matches({reference}) && !e.value.matches({value})")
    return AdmissionCheck(
        "k8s-secret-env-literal", POD_CARRIERS,
        f"!variables.containers.exists(c, {_env_values()}.exists(e, has(e.name) && {literal_named}))",
        "credential-named environment variables must take their value from a Secret (valueFrom.secretKeyRef)",
        POD_VARIABLES)


def _secret_value() -> list[AdmissionCheck]:
    value = _quote(secrets.CREDENTIAL_VALUE_PATTERN)
    in_pods = (f"!variables.containers.exists(c, {_env_values()}.exists(e, e.value.matches({value}))"
               f" || (has(c.args) && c.args.exists(a, a.matches({value})))"
               f" || (has(c.command) && c.command.exists(a, a.matches({value}))))"
               f" && !variables.podAnnotations.exists(k, variables.podAnnotations[k].matches({value}))")
    own_annotations = (f"!(has(object.metadata.annotations) &&"
                       f" object.metadata.annotations.exists(k, object.metadata.annotations[k].matches({value})))")
    message = "no credential values (keys, tokens, passwords in URLs) in manifests: use a Secret"
    return [
        AdmissionCheck("k8s-secret-value", POD_CARRIERS, f"{in_pods} && {own_annotations}", message, POD_VARIABLES),
        AdmissionCheck("k8s-secret-value", CONFIG_MAPS,
                       f"!(has(object.data) && object.data.exists(k, object.data[k].matches({value})))"
                       f" && {own_annotations}", message),
        AdmissionCheck("k8s-secret-value", ROLES + BINDINGS, own_annotations, message),
    ]


_RULES = "(has(object.rules) ? object.rules : [])"


def _any_of(field: str, values: Sequence[str]) -> str:
    listed = ", ".join(_quote(v) for v in values)
    return f"has(r.{field}) && r.{field}.exists(x, x in [{listed}])"


def _grants(groups: Sequence[str], resources: Sequence[str]) -> str:
    """A rule reaching one of `resources` of one of `groups`, directly or through `*` (as `rbac.Grant`)."""
    return f"{_any_of('apiGroups', ['*', *groups])} && {_any_of('resources', ['*', *resources])}"


def _power(power: Power) -> str:
    """A rule granting `power` (as `rbac.Grant.matches`): a verb it names or `*`, a group and a resource
    entry reaching one of its resources directly or through a wildcard, and no resourceNames where they
    cannot authorise (creating a top-level object, which has no name yet)."""
    verbs = ("has(r.verbs) && size(r.verbs) > 0" if power.verbs is None
             else _any_of("verbs", ["*", *sorted(power.verbs)]))
    reach = []
    for group, resource in power.resources:
        base, _, sub = resource.partition("/")
        entries = ["*", resource, *((f"{base}/*", f"*/{sub}") if sub else ())]
        unnamed = ("(!has(r.resourceNames) || size(r.resourceNames) == 0) && "
                   if not sub and power.verbs is not None and power.verbs <= {"create"} else "")
        reach.append(f"({unnamed}{_any_of('apiGroups', ['*', group])} && {_any_of('resources', entries)})")
    return f"{verbs} && ({' || '.join(reach)})"


def _powers() -> list[AdmissionCheck]:
    checks = [AdmissionCheck(power.rule, ROLES, f"!{_RULES}.exists(r, {_power(power)})",
                             f"roles must not grant {power.what}") for power in POWERS]
    checks.append(AdmissionCheck(
        "k8s-rbac-csr-approval", ROLES,
        f"!({_RULES}.exists(r, {_power(CSR_APPROVE)}) && {_RULES}.exists(r, {_power(SIGNERS_APPROVE)}))",
        "roles must not approve certificate signing requests (approval and approve on signers)"))
    return checks


def _rbac() -> list[AdmissionCheck]:
    wildcard = AdmissionCheck(
        "k8s-rbac-wildcard", ROLES,
        f"!{_RULES}.exists(r, (has(r.verbs) && '*' in r.verbs) || (has(r.resources) && '*' in r.resources)"
        " || (has(r.apiGroups) && '*' in r.apiGroups))",
        "roles must not grant '*' in verbs, resources or API groups")
    targets = " || ".join(f"({_grants([group], resources)})" for group, resources in (
        ("rbac.authorization.k8s.io", ["roles", "clusterroles"]), ("", ["users", "groups", "serviceaccounts"]),
        ("authentication.k8s.io", ["uids", "userextras/*", "*/*"])))
    escalation = AdmissionCheck(
        "k8s-rbac-escalation", ROLES,
        f"!{_RULES}.exists(r, {_any_of('verbs', ['bind', 'escalate', 'impersonate'])}"
        f" || (has(r.verbs) && '*' in r.verbs && ({targets})))",
        "roles must not grant escalate, bind or impersonate")
    secrets_read = AdmissionCheck(
        "k8s-rbac-secrets-read", ROLES,
        f"!{_RULES}.exists(r, (!has(r.resourceNames) || size(r.resourceNames) == 0)"
        f" && {_any_of('verbs', ['*', 'get', 'list', 'watch'])} && {_grants([''], ['secrets'])})",
        "roles must not read every Secret: name the ones needed in resourceNames")
    subjects = "(has(object.subjects) ? object.subjects : [])"
    public = ", ".join(_quote(name) for name in ("system:anonymous", "system:unauthenticated",
                                                  "system:authenticated", "system:serviceaccounts"))
    return [wildcard, escalation, secrets_read,
            AdmissionCheck(
                "k8s-rbac-cluster-admin", BINDINGS,
                "!(has(object.roleRef) && object.roleRef.kind == 'ClusterRole'"
                " && object.roleRef.name == 'cluster-admin')",
                "nothing may be bound to cluster-admin"),
            AdmissionCheck(
                "k8s-rbac-public-subject", BINDINGS,
                f"!{subjects}.exists(s, has(s.kind) && s.kind in ['User', 'Group'] && has(s.name)"
                f" && s.name in [{public}])",
                "no binding to everyone (system:anonymous, system:unauthenticated, system:authenticated,"
                " system:serviceaccounts)"),
            AdmissionCheck(
                "k8s-rbac-default-service-account", BINDINGS,
                f"!{subjects}.exists(s, has(s.kind) && s.kind == 'ServiceAccount' && has(s.name)"
                " && s.name == 'default')",
                "no binding to a namespace's default service account")]


def _workload_hardening() -> list[AdmissionCheck]:
    """The rules of `pod_hardening` on by default: runtime sockets, the root group, the default namespace."""
    from gates.checks.manifests.pod_hardening import RUNTIME_SOCKETS

    sockets = ", ".join(_quote(socket) for socket in RUNTIME_SOCKETS)
    path = "v.hostPath.path"
    # a path with `.`, `..` or `//` segments is not normalised without string functions: it is refused outright
    reaches = (f"{path}.startsWith('/') && ({path}.matches('/\\.|//') || [{sockets}].exists(s, s == {path}"
               f" || s.startsWith({path}.endsWith('/') ? {path} : {path} + '/')))")
    volumes = "(has(variables.podSpec.volumes) ? variables.podSpec.volumes : [])"
    group = "has({0}.securityContext) && has({0}.securityContext.runAsGroup) && {0}.securityContext.runAsGroup == 0"
    return [
        AdmissionCheck("k8s-runtime-socket", POD_CARRIERS,
                       f"!{volumes}.exists(v, has(v.hostPath) && has({path}) && {reaches})",
                       "no hostPath of a container-runtime socket or of a folder above one", POD_VARIABLES),
        AdmissionCheck("k8s-run-as-group-root", POD_CARRIERS,
                       f"!({group.format('variables.podSpec')})"
                       f" && !variables.containers.exists(c, {group.format('c')})",
                       "no runAsGroup 0 (the root group)", POD_VARIABLES),
        AdmissionCheck("k8s-default-namespace", POD_CARRIERS,
                       "!(has(object.metadata.namespace) && object.metadata.namespace == 'default')",
                       "workloads are not deployed in the default namespace"),
    ]


def _services(exposed: Sequence[str]) -> list[AdmissionCheck | NotExported]:
    checks: list[AdmissionCheck | NotExported] = [AdmissionCheck(
        "k8s-service-external-ips", SERVICES,
        "!(has(object.spec) && has(object.spec.externalIPs) && size(object.spec.externalIPs) > 0)",
        "Services must not set externalIPs (CVE-2020-8554)")]
    if not exposed:
        checks.append(NotExported("k8s-service-exposed", "exposed-service-types is empty: no type is reported"))
    else:
        kind = "(has(object.spec) && has(object.spec.type) ? object.spec.type : 'ClusterIP')"
        listed = ", ".join(_quote(t) for t in exposed)
        checks.append(AdmissionCheck("k8s-service-exposed", SERVICES, f"!({kind} in [{listed}])",
                                     f"Services must not be of type {', '.join(exposed)}"))
    checks.append(AdmissionCheck(
        "k8s-ingress-nginx-snippet", INGRESSES,
        "!(has(object.metadata.annotations) && object.metadata.annotations.exists(k,"
        " k.startsWith('nginx.ingress.kubernetes.io/') && k.endsWith('-snippet')))",
        "no ingress-nginx snippet annotations (CVE-2021-25742)"))
    return checks


def _image_registry(allowed: Sequence[str]) -> NotExported:
    if not allowed:
        return NotExported("k8s-image-registry", "no allowed-registries are configured: any registry is allowed")
    return NotExported("k8s-image-registry", "matching a reference as Docker reads it (Docker Hub's names, host case,"
                       " default ports) needs string functions beyond standard CEL: admit registries with the"
                       " signature policy's admission controller (policy-controller, Kyverno verifyImages)")


REPOSITORY_ONLY: dict[str, str] = {
    "k8s-secret-in-manifest": "it judges what a repository holds: every Secret the API server admits carries"
                              " data, so the cluster cannot tell a committed one from a created one",
    "k8s-network-policy": "coverage is a property of a namespace's set of objects, not of one object: admission"
                          " sees them one at a time and in any order",
    "k8s-ingress-tls": "matching hosts against wildcard TLS hosts needs string functions beyond standard CEL",
    "k8s-gateway-plain-http": "whether a listener is covered by redirects depends on the routes that attach to it:"
                              " a property of a set of objects",
}


def namespace_check(level: str) -> AdmissionCheck:
    """Namespaces must carry the Pod Security label at the configured level or stricter."""
    levels = ["restricted"] if level == "restricted" else ["baseline", "restricted"]
    allowed = ", ".join(_quote(v) for v in levels)
    label = _quote(PSS_LABEL)
    return AdmissionCheck(
        "pss-level", NAMESPACES,
        f"has(object.metadata.labels) && {label} in object.metadata.labels"
        f" && object.metadata.labels[{label}] in [{allowed}]",
        f"namespaces must enforce the Pod Security Standards at {level} or stricter"
        f" (label {PSS_LABEL})")


def admission_checks(level: str, skip_rules: Sequence[str], allowed_registries: Sequence[str],
                     credential_name_allowlist: Sequence[str], hardening: bool = True,
                     exposed_service_types: Sequence[str] = ("NodePort", "LoadBalancer"),
                     enabled_rules: Sequence[str] = (),
                     ) -> tuple[list[AdmissionCheck], list[NotExported]]:
    """Every rule the configuration enables, as checks, and those the cluster cannot enforce."""
    checks = [namespace_check(level)]
    skipped: list[NotExported] = []
    if not hardening:
        return checks, [NotExported(r.id, "hardening = false")
                        for r in (*HARDENING_RULES, *WORKLOAD_HARDENING_RULES, *ACCESS_RULES)]
    built: list[AdmissionCheck | NotExported] = [
        _image_latest(), _image_digest("k8s-image-latest" in skip_rules), _image_registry(allowed_registries),
        _secret_env_literal((*secrets.SAFE_NAMES, *credential_name_allowlist)), *_secret_value(), *_rbac(), *_powers(),
        *_workload_hardening(), *_services(exposed_service_types),
        *(NotExported(rule, reason) for rule, reason in REPOSITORY_ONLY.items()),
    ]
    covered = {item.rule for item in built}
    for rule in (*HARDENING_RULES, *WORKLOAD_HARDENING_RULES, *ACCESS_RULES):
        if rule.id in OPT_IN_RULES and rule.id not in enabled_rules:
            built.append(NotExported(rule.id, "off (not in enable-rules)"))
        elif rule.id not in covered:
            built.append(NotExported(rule.id, "no admission expression is written for it yet"))
    for item in built:
        if item.rule in skip_rules:
            skipped.append(NotExported(item.rule, "skipped by skip-rules"))
        elif isinstance(item, NotExported):
            skipped.append(item)
        else:
            checks.append(item)
    return checks, skipped
