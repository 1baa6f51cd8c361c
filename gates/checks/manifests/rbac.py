"""Least-privilege RBAC: the powers a Role or ClusterRole grants, and the subjects a binding grants them to.

A rule of a role grants a verb on a resource of an API group; `*` in any of the three grants everything of
that kind, so a wildcard counts for every power below as an explicit entry does. `resourceNames` limits a
rule to named objects: it narrows the Secret-read power, and a rule with names never grants `create` of a
top-level resource (the API server cannot know the name of an object before it exists).
"""

from __future__ import annotations

from collections.abc import Iterator

from gates.checks.manifests.pss import Violation
from gates.checks.manifests.workloads import Path, Workload, get, typed
from gates.errors import InputError
from gates.record import record
from gates.targets.yaml_docs import render_path
from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

GROUP = "rbac.authorization.k8s.io"
ROLE_KINDS = frozenset({"Role", "ClusterRole"})
BINDING_KINDS = frozenset({"RoleBinding", "ClusterRoleBinding"})
KINDS = ROLE_KINDS | BINDING_KINDS

ESCALATING_VERBS = ("bind", "escalate", "impersonate")
AGGREGATE_TO = ("admin", "edit", "view")
"""The built-in ClusterRoles a ClusterRole joins with the label `rbac.authorization.k8s.io/aggregate-to-<name>`."""

PUBLIC_SUBJECTS = {
    "system:anonymous": "every request without credentials",
    "system:unauthenticated": "every request without credentials",
    "system:authenticated": "every user and service account of the cluster",
    "system:serviceaccounts": "every service account of every namespace, so every pod",
}
"""Subjects that stand for everyone (or every pod): a binding to them is a grant to the world."""


@record
class Power:
    """A permission that is a step to more: a rule id, the verbs and resources that grant it, and why."""

    rule: str
    verbs: frozenset[str] | None
    """None: any verb."""
    resources: tuple[tuple[str, str], ...]
    """(API group, resource or resource/subresource)."""
    what: str


_WORKLOADS = (("", "pods"), ("", "replicationcontrollers"), ("apps", "deployments"), ("apps", "daemonsets"),
              ("apps", "statefulsets"), ("apps", "replicasets"), ("batch", "jobs"), ("batch", "cronjobs"))
_MUTATE = frozenset({"create", "update", "patch", "delete", "deletecollection"})

POWERS: tuple[Power, ...] = (
    Power("k8s-rbac-pod-exec", frozenset({"create", "get"}), (("", "pods/exec"), ("", "pods/attach")),
          "a shell in the pods' containers, with their service accounts and mounted Secrets"),
    Power("k8s-rbac-workload-create", frozenset({"create"}), _WORKLOADS,
          "pods that mount any Secret or run as any service account of the namespace"),
    Power("k8s-rbac-token-create", frozenset({"create"}), (("", "serviceaccounts/token"),),
          "a token of any of those service accounts, and so their permissions"),
    Power("k8s-rbac-nodes-proxy", None, (("", "nodes/proxy"),),
          "the kubelet API of every node: commands in any pod, past admission and audit"),
    Power("k8s-rbac-webhook-config", _MUTATE,
          (("admissionregistration.k8s.io", "mutatingwebhookconfigurations"),
           ("admissionregistration.k8s.io", "validatingwebhookconfigurations")),
          "the admission webhooks: objects rewritten on their way in, or the policy checks removed"),
    Power("k8s-rbac-service-status", frozenset({"update", "patch"}), (("", "services/status"),),
          "a LoadBalancer's ingress IP, so cluster traffic to any address can be intercepted (CVE-2020-8554)"),
    Power("k8s-rbac-pv-create", frozenset({"create"}), (("", "persistentvolumes"),),
          "a hostPath PersistentVolume, and through it the node's filesystem"),
)

SECRETS_READ = Power("k8s-rbac-secrets-read", frozenset({"get", "list", "watch"}), (("", "secrets"),),
                     "every credential kept in a Secret")
CSR_APPROVE = Power("k8s-rbac-csr-approval", frozenset({"update", "patch"}),
                    (("certificates.k8s.io", "certificatesigningrequests/approval"),), "")
SIGNERS_APPROVE = Power("k8s-rbac-csr-approval", frozenset({"approve"}), (("certificates.k8s.io", "signers"),), "")
ESCALATION_TARGETS = Power("k8s-rbac-escalation", frozenset(ESCALATING_VERBS),
                           ((GROUP, "roles"), (GROUP, "clusterroles"), ("", "users"), ("", "groups"),
                            ("", "serviceaccounts"), ("authentication.k8s.io", "uids"),
                            ("authentication.k8s.io", "userextras/*")), "")


@record
class Grant:
    """One entry of a role's `rules`."""

    verbs: tuple[str, ...]
    groups: tuple[str, ...]
    resources: tuple[str, ...]
    names: tuple[str, ...]
    path: Path

    def matches(self, power: Power) -> tuple[str, int, str] | None:
        """(verb, index of the resource entry, what a wildcard stands for or "") when this grant holds `power`."""
        wanted = power.verbs
        verbs = self.verbs if wanted is None else tuple(v for v in self.verbs if v == "*" or v in wanted)
        for verb in verbs:
            for group, resource in power.resources:
                if not ("*" in self.groups or group in self.groups):
                    continue
                if self.names and "/" not in resource and power.verbs is not None and power.verbs <= {"create"}:
                    continue  # resourceNames cannot authorize creating a top-level object: it has no name yet
                for index, entry in enumerate(self.resources):
                    if not _resource_matches(entry, resource):
                        continue
                    wild = verb == "*" or entry != resource or ("*" in self.groups and group not in self.groups)
                    stands_for = "/".join(sorted(wanted)) if verb == "*" and wanted else verb
                    return verb, index, f"{stands_for} on {resource}" if wild else ""
        return None


def _resource_matches(entry: str, resource: str) -> bool:
    if entry in ("*", resource):
        return True
    base, _, sub = resource.partition("/")
    if sub:
        return entry in (f"{base}/*", f"*/{sub}")
    return resource.endswith("/*") and entry.startswith(resource[:-1])


def _strings(rule: dict[str, Any], key: str, path: Path) -> tuple[str, ...]:
    values = get(rule, key, list, path) or ()
    return tuple(typed(v, str, (*path, key, i)) or "" for i, v in enumerate(values))


def grants(obj: Workload) -> Iterator[Grant]:
    """The rules of a Role or ClusterRole, typed strictly; a resource rule without apiGroups is refused."""
    for index, entry in enumerate(get(obj.object, "rules", list, obj.base) or ()):
        path = (*obj.base, "rules", index)
        rule = typed(entry, dict, path) or {}
        resources = _strings(rule, "resources", path)
        if resources and "apiGroups" not in rule:
            raise InputError(f"{render_path(path)}: names resources but no apiGroups, which the API server"
                             " rejects (the core group is \"\")")
        yield Grant(verbs=_strings(rule, "verbs", path), groups=_strings(rule, "apiGroups", path),
                    resources=resources, names=_strings(rule, "resourceNames", path), path=path)


def role_rules(obj: Workload) -> Iterator[Violation]:
    """Wildcards, escalating verbs, Secret reads and the powers of `POWERS`, per rule of a role."""
    if obj.kind not in ROLE_KINDS or not is_rbac(obj.api_version):
        return
    who = f"{obj.kind} {obj.name}"
    approvals: list[Grant] = []
    signers: list[Grant] = []
    for grant in grants(obj):
        for key, values in (("verbs", grant.verbs), ("resources", grant.resources), ("apiGroups", grant.groups)):
            if "*" in values:
                yield Violation("k8s-rbac-wildcard", f"{who} grants '*' in {key}: every current and future"
                                " permission of that kind", (*grant.path, key, values.index("*")))
        yield from _escalation(who, grant)
        secrets = grant.matches(SECRETS_READ)
        if secrets is not None and not grant.names:
            verb, at, wild = secrets
            yield Violation("k8s-rbac-secrets-read", f"{who} can read every Secret in its scope:"
                            f" {_shown(verb)} {_shown(grant.resources[at])}{_through(wild)}; resourceNames would limit"
                            " it to the ones needed",
                            (*grant.path, "resources", at))
        for power in POWERS:
            found = grant.matches(power)
            if found is not None:
                verb, at, wild = found
                yield Violation(power.rule, f"{who} may {_shown(verb)} {_shown(grant.resources[at])}{_through(wild)},"
                                f" which gives {power.what}", (*grant.path, "resources", at))
        if grant.matches(CSR_APPROVE):
            approvals.append(grant)
        if grant.matches(SIGNERS_APPROVE):
            signers.append(grant)
    if approvals and signers:
        found = approvals[0].matches(CSR_APPROVE)
        assert found is not None
        yield Violation("k8s-rbac-csr-approval", f"{who} may approve certificate signing requests"
                        " (certificatesigningrequests/approval and approve on signers): it can issue itself a"
                        " client certificate for any user or group, system:masters included",
                        (*approvals[0].path, "resources", found[1]))


def _escalation(who: str, grant: Grant) -> Iterator[Violation]:
    for verb in ESCALATING_VERBS:
        if verb in grant.verbs:
            yield Violation("k8s-rbac-escalation", f"{who} grants '{verb}', which lets its holder gain"
                            " permissions it was not given", (*grant.path, "verbs", grant.verbs.index(verb)))
    if "*" in grant.verbs:
        found = grant.matches(ESCALATION_TARGETS)
        if found is not None:
            yield Violation("k8s-rbac-escalation", f"{who} grants '*' on {grant.resources[found[1]]}, which"
                            " includes bind, escalate and impersonate", (*grant.path, "verbs", grant.verbs.index("*")))


def _through(wild: str) -> str:
    return f" (a wildcard, so {wild})" if wild else ""


def _shown(value: str) -> str:
    return f"'{value}'" if "*" in value else value


def aggregation(obj: Workload) -> tuple[str, ...]:
    """What a ClusterRole's aggregation means for whoever reads its verdict (said in the result's details)."""
    if obj.kind != "ClusterRole" or not is_rbac(obj.api_version):
        return ()
    said: list[str] = []
    rule = get(obj.object, "aggregationRule", dict, obj.base)
    if rule is not None:
        said.append(f"{obj.name} aggregates the rules of every ClusterRole its aggregationRule selects: those are"
                    " judged in their own results, and ClusterRoles not in this scan are not judged at all")
    labels = get(get(obj.object, "metadata", dict, obj.base) or {}, "labels", dict, (*obj.base, "metadata")) or {}
    joined = [name for name in AGGREGATE_TO if str(labels.get(f"{GROUP}/aggregate-to-{name}", "")).lower() == "true"]
    if joined:
        said.append(f"its rules are added to the built-in ClusterRole{'s' if len(joined) > 1 else ''}"
                    f" {', '.join(joined)}: every subject bound to {'them' if len(joined) > 1 else 'it'} gains them")
    return tuple(said)


def bindings(obj: Workload) -> Iterator[Violation]:
    """cluster-admin, public subjects and a namespace's default service account, per binding."""
    if obj.kind not in BINDING_KINDS or not is_rbac(obj.api_version):
        return
    who = f"{obj.kind} {obj.name}"
    ref = get(obj.object, "roleRef", dict, obj.base) or {}
    ref_path = (*obj.base, "roleRef")
    role = get(ref, "name", str, ref_path) or ""
    if get(ref, "kind", str, ref_path) == "ClusterRole" and role == "cluster-admin":
        yield Violation("k8s-rbac-cluster-admin", f"{who} grants cluster-admin: full control of the cluster",
                        (*ref_path, "name"))
    for index, entry in enumerate(get(obj.object, "subjects", list, obj.base) or ()):
        path = (*obj.base, "subjects", index)
        subject = typed(entry, dict, path) or {}
        kind = get(subject, "kind", str, path) or ""
        name = get(subject, "name", str, path) or ""
        if kind in ("User", "Group") and name in PUBLIC_SUBJECTS:
            yield Violation("k8s-rbac-public-subject", f"{who} grants {role or 'its role'} to {name}:"
                            f" {PUBLIC_SUBJECTS[name]}", (*path, "name"))
        elif kind == "ServiceAccount" and name == "default":
            namespace = get(subject, "namespace", str, path) or obj.namespace or "(unspecified)"
            yield Violation("k8s-rbac-default-service-account", f"{who} grants {role or 'its role'} to the default"
                            f" service account of namespace {namespace}: every pod there that names no"
                            " service account runs with it", (*path, "name"))


def is_rbac(api_version: str) -> bool:
    return api_version.partition("/")[0] == GROUP


def unread(kind: str, api_version: str) -> str | None:
    """Why an object of the RBAC family is not judged (another API group's Role, an unknown RBAC kind)."""
    if kind in KINDS and not is_rbac(api_version):
        return f"{api_version} {kind} is not a Kubernetes RBAC object ({GROUP}): not judged"
    if is_rbac(api_version) and kind not in KINDS:
        return (f"{api_version} {kind} is not an RBAC kind gates knows (Role, ClusterRole and their bindings):"
                " not judged")
    return None
