"""Checks over an audit Policy (audit.k8s.io): the first rule a request matches decides its level."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gates.checks.cluster.flags import Problem, YamlPath, shown
from gates.checks.cluster.objects import Violation

LEVELS = ("None", "Metadata", "Request", "RequestResponse")
SENSITIVE = (("", "secrets"), ("", "configmaps"), ("authentication.k8s.io", "tokenreviews"))
"""(API group, resource) whose request or response bodies hold secret values or tokens."""
_NARROWING = ("users", "userGroups", "verbs", "namespaces")
_RULE_KEYS = frozenset({*_NARROWING, "level", "resources", "nonResourceURLs", "omitStages", "omitManagedFields"})


def _list(rule: dict[str, Any], key: str, path: YamlPath) -> list[Any]:
    value = rule.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Invalid(Problem(f"{key} must be a list, not a {type(value).__name__}", (*path, key)))
    return value


class _Invalid(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _validated(body: Any) -> list[tuple[dict[str, Any], YamlPath]]:
    rules = body.get("rules")
    if rules is None:
        return []
    if not isinstance(rules, list):
        raise _Invalid(Problem("rules must be a list", ("rules",)))
    checked = []
    for index, rule in enumerate(rules):
        path: YamlPath = ("rules", index)
        if not isinstance(rule, dict):
            raise _Invalid(Problem(f"rules[{index}] must be a mapping", path))
        unknown = sorted(set(rule) - _RULE_KEYS)
        if unknown:
            raise _Invalid(Problem(f"rules[{index}] has an unknown field {shown(str(unknown[0]))}: the API server"
                                   " refuses the policy", (*path, unknown[0])))
        if rule.get("level") not in LEVELS:
            raise _Invalid(Problem(f"rules[{index}].level must be one of {', '.join(LEVELS)}, not"
                                   f" {shown(str(rule.get('level')))}", (*path, "level")))
        for key in (*_NARROWING, "nonResourceURLs"):
            _list(rule, key, path)
        for position, entry in enumerate(_list(rule, "resources", path)):
            if not isinstance(entry, dict):
                raise _Invalid(Problem(f"rules[{index}].resources[{position}] must be a mapping",
                                       (*path, "resources", position)))
            for key in ("resources", "resourceNames"):
                _list(entry, key, (*path, "resources", position))
        checked.append((rule, path))
    return checked


def _matches(rule: dict[str, Any], group: str, resource: str) -> tuple[bool, bool]:
    """(whether the rule can match requests on group/resource, whether it matches all of them)."""
    resources = rule.get("resources") or []
    if not resources:
        if rule.get("nonResourceURLs"):
            return False, False
        return True, not any(rule.get(k) for k in _NARROWING)
    for entry in resources:
        if (entry.get("group") or "") != group:
            continue
        names = entry.get("resources") or []
        if names and not any(n in ("*", resource, f"{resource}/*") for n in names):
            continue
        whole = not entry.get("resourceNames") and not any(rule.get(k) for k in _NARROWING)
        return True, whole
    return False, False


def check_policy(body: Any) -> Iterator[Violation | Problem]:
    try:
        rules = _validated(body)
    except _Invalid as exc:
        yield exc.problem
        return
    if not any(rule["level"] != "None" for rule, _ in rules):
        yield Violation("cluster-audit-coverage", "the policy logs nothing: it has no rule above level None",
                        ("rules",) if "rules" in body else ())
        return
    catch_all = any(_matches(rule, "\0", "\0") == (True, True) and rule["level"] != "None" for rule, _ in rules)
    if not catch_all:
        yield Violation("cluster-audit-coverage", "no catch-all rule above level None: requests that no rule"
                        " names are not audited", ("rules",))
    for group, resource in SENSITIVE:
        yield from _sensitive(rules, group, resource)


def _sensitive(rules: list[tuple[dict[str, Any], YamlPath]], group: str, resource: str) -> Iterator[Violation]:
    shown_name = f"{resource}.{group}" if group else resource
    for rule, path in rules:
        can, whole = _matches(rule, group, resource)
        if not can:
            continue
        level = rule["level"]
        if level in ("Request", "RequestResponse"):
            yield Violation("cluster-audit-sensitive-bodies", f"{shown_name} are logged at {level}"
                            f" (rules[{path[1]}]): their values land in the audit log", (*path, "level"))
            return
        if whole:
            if level == "None":
                yield Violation("cluster-audit-coverage", f"{shown_name} are not audited (rules[{path[1]}] is"
                                " level None)", (*path, "level"))
            return
    yield Violation("cluster-audit-coverage", f"no rule audits {shown_name} for every request", ("rules",))
