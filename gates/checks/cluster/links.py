"""Files an API server names (audit policy, encryption and authorization configuration): judged here?

A kind config mounts repository files into the node (`extraMounts`), so there the named file is the
mount's `hostPath`, relative to the kind config: it must be that scanned file. Elsewhere the path is
one on a control-plane node, and a scanned object of the right kind with the same file name counts.
"""

from __future__ import annotations

import dataclasses
import posixpath
from dataclasses import dataclass

from gates.checks.cluster.flags import shown
from gates.checks.cluster.objects import AUDIT_POLICY, AUTHZ_CONFIG, ENCRYPTION_CONFIG, ClusterObject
from gates.checks.cluster.rules import RULES
from gates.model import Finding, Location, Outcome, Result

NAMED_FILES = (("audit-policy-file", AUDIT_POLICY, "audit policy"),
               ("encryption-provider-config", ENCRYPTION_CONFIG, "encryption configuration"),
               ("authorization-config", AUTHZ_CONFIG, "authorization configuration"))
_RULE = next(rule for rule in RULES if rule.id == "cluster-config-unchecked")


@dataclass
class Judged:
    """A result and, for a cluster object, the object and the file it came from."""

    result: Result
    obj: ClusterObject | None = None
    display: str = ""


def _mounted(obj: ClusterObject, named: str) -> str | None:
    """The host path a kind extraMount puts at `named` on the node, if one does."""
    for container_path, host_path in obj.mounts:
        inside = container_path.rstrip("/")
        if named == inside:
            return host_path
        if named.startswith(inside + "/"):
            return posixpath.join(host_path, named[len(inside) + 1:])
    return None


def link_named_files(judged: list[Judged]) -> None:
    """Add a detail (judged elsewhere) or a `cluster-config-unchecked` finding to each API server naming one.

    With `--authorization-config` the authorization rules are decided only in that file's own result.
    """
    paths: dict[str, set[str]] = {category: set() for _, category, _ in NAMED_FILES}
    for item in judged:
        if item.obj is not None and item.obj.category in paths:
            paths[item.obj.category].add(posixpath.normpath(item.display))
    names = {category: {posixpath.basename(p) for p in found} for category, found in paths.items()}
    for index, item in enumerate(judged):
        obj = item.obj
        if obj is None or obj.flags is None or obj.flags.component != "kube-apiserver":
            continue
        result = item.result
        for flag, category, what in NAMED_FILES:
            named = obj.flags.value(flag)
            if not named or obj.flags.last(flag) is None:
                continue
            host = _mounted(obj, named)
            if host is not None and not posixpath.isabs(host):
                local = posixpath.normpath(posixpath.join(posixpath.dirname(item.display), host))
                linked, how = local in paths[category], f"mounted from {shown(host)}"
                missing = f"mounted from {shown(host)}, which is not a scanned {what}"
            else:
                linked, how = posixpath.basename(named) in names[category], "matched by file name"
                missing = f"and no scanned {what} has that file name"
            if linked:
                detail = f"its {what} {shown(named)} is judged in its own result ({how})"
                result = dataclasses.replace(result, details=(*result.details, detail))
                continue
            line, column = obj.locate(obj.flags.path_of(flag))
            finding = Finding(rule=_RULE.id, severity=_RULE.severity, resource=obj.resource, container=obj.container,
                              location=Location(item.display, line, column),
                              message=f"--{flag} names {shown(named)}, {missing}: it was not checked")
            outcome = result.outcome if result.outcome is Outcome.ERROR else Outcome.FAILED
            result = dataclasses.replace(result, findings=(*result.findings, finding), outcome=outcome)
        judged[index] = dataclasses.replace(item, result=result)
