"""Run the cluster gate over files: discovery -> documents -> cluster objects -> findings.

One result per cluster object (`file#Pod/kube-system/kube-apiserver`, `file#ClusterConfiguration/etcd`,
`file#Policy/audit-policy`...), one `error` result per unreadable or malformed file, and per object
whose input a component would refuse or that cannot be read safely (a flag given twice, a malformed
flag list, a policy that does not validate), with the findings its readable part still gave. Files
named by an API server (audit policy, encryption configuration) are matched, by file name, with the
scanned ones once every file has been read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from gates.checks.cluster import apiserver, audit, encryption, node, versions
from gates.checks.cluster.discovery import find_objects
from gates.checks.cluster.flags import FlagValueError, Problem
from gates.checks.cluster.links import Judged, link_named_files
from gates.checks.cluster.objects import (
    AUDIT_POLICY,
    AUTHZ_CONFIG,
    COMPONENT,
    ENCRYPTION_CONFIG,
    KUBELET_CONFIG,
    ClusterObject,
    Violation,
)
from gates.checks.cluster.rules import GATE, RULES
from gates.errors import InputError, UsageError
from gates.model import Finding, Location, Outcome, Result, decided_result, error_result, one_line
from gates.targets.files import DEFAULT_MAX_FILE_BYTES, STDIN, SourceFile, WalkProblem, discover, read_text
from gates.targets.yaml_docs import load_documents
from gates.waivers import INLINE_PREFIX, apply_waivers, parse_inline
from gates.wording import counted

_RULES = {rule.id: rule for rule in RULES}


@dataclass(frozen=True)
class ClusterOptions:
    paths: tuple[str, ...]
    today: dt.date = field(default_factory=dt.date.today)
    """The day support dates are judged against (`GATES_NOW` / `--now` through the config)."""
    exclude: tuple[str, ...] = ()
    skip_rules: frozenset[str] = frozenset()
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    stdin_name: str = "<stdin>"


def scan(options: ClusterOptions) -> list[Result]:
    """Every result of the gate over `options.paths`; raises `UsageError` for paths that do not exist."""
    found = discover(options.paths, options.exclude)
    if found.missing:
        raise UsageError(f"no such file or directory: {', '.join(found.missing)}")
    judged: list[Judged] = [Judged(r) for r in _walk_problems(found.problems)]
    judged += [Judged(Result(gate=GATE, target=f"{chart.path}/templates", outcome=Outcome.SKIPPED,
                             location=Location(f"{chart.path}/Chart.yaml"),
                             error=f"Helm chart templates are not YAML until rendered: scan them with"
                                   f" `helm template {chart.path} | gates cluster -`")) for chart in found.charts]
    for source in found.files:
        judged += _scan_file(source, options)
    if "cluster-config-unchecked" not in options.skip_rules:
        link_named_files(judged)
    return [_inline_waivers(item, options.today) for item in judged]


def _walk_problems(problems: Sequence[WalkProblem]) -> Iterator[Result]:
    for problem in problems:
        where = Location(problem.path)
        if problem.error:
            yield error_result(GATE, problem.path, f"{problem.path}: {problem.reason}", where)
        else:
            yield Result(gate=GATE, target=problem.path, outcome=Outcome.SKIPPED, error=problem.reason, location=where)


def _scan_file(source: SourceFile, options: ClusterOptions) -> list[Judged]:
    display = options.stdin_name if source.path == STDIN else source.path
    try:
        text = read_text(source.path, options.max_file_bytes)
        documents = list(load_documents(text))
    except InputError as exc:
        return [Judged(error_result(GATE, display, f"{display}: {exc}", Location(display)))]
    judged = [Judged(_evaluate(display, obj, options), obj, display)
              for obj in find_objects(documents, text.splitlines())]
    if not judged and source.explicit:
        return [Judged(error_result(GATE, display, f"{display}: no cluster configuration in this file (static pod"
                                     " manifest, kubeadm, kind or k3s config, KubeletConfiguration, audit Policy,"
                                     " EncryptionConfiguration)", Location(display)))]
    return judged


def _violations(obj: ClusterObject, today: dt.date) -> Iterator[Violation | Problem | str]:
    if obj.versions:
        yield from versions.check_versions(obj, versions.database(), today)
    if obj.category == COMPONENT and obj.flags is not None:
        checks = apiserver.CHECKS.get(obj.flags.component) or node.FLAG_CHECKS.get(obj.flags.component, ())
        yield from obj.flags.duplicates()
        for check in checks:
            try:
                yield from check(obj.flags)
            except FlagValueError as exc:
                yield exc.problem
    elif obj.category == KUBELET_CONFIG:
        try:
            yield from node.kubelet_config(obj)
        except FlagValueError as exc:
            yield exc.problem
    elif obj.category == AUDIT_POLICY:
        yield from audit.check_policy(obj.body)
    elif obj.category == ENCRYPTION_CONFIG:
        yield from encryption.check_encryption(obj.body)
    elif obj.category == AUTHZ_CONFIG:
        yield from apiserver.check_authorization_config(obj.body)


def _evaluate(display: str, obj: ClusterObject, options: ClusterOptions) -> Result:
    target = f"{display}#{obj.resource}"
    where = Location(display, *obj.locate(obj.where))
    problems = list(obj.problems)
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for item in _violations(obj, options.today):
        if isinstance(item, str):
            obj.details.append(item)
        elif isinstance(item, Problem):
            problems.append(item)
        elif item.rule not in options.skip_rules and (item.rule, item.message) not in seen:
            seen.add((item.rule, item.message))
            findings.append(_finding(display, obj, item))
    if problems:
        first = problems[0]
        line, column = obj.locate(first.path)
        more = f" (and {counted(len(problems) - 1, 'more problem')})" if len(problems) > 1 else ""
        result = Result(gate=GATE, target=target, outcome=Outcome.ERROR, findings=tuple(findings),
                        error=one_line(f"{display}:{line}:{column}: {obj.resource}: {first.message}{more}"),
                        location=Location(display, line, column), details=tuple(obj.details))
        extra = tuple(f"{display}:{':'.join(map(str, obj.locate(p.path)))}: {p.message}" for p in problems[1:])
        return dataclasses.replace(result, details=(*result.details, *extra))
    return dataclasses.replace(decided_result(GATE, target, findings, where), details=tuple(obj.details))


def _inline_waivers(item: Judged, today: dt.date) -> Result:
    """`gates.dev/waive.<rule>` annotations on a static pod, as on any manifest; a bad one is an error."""
    obj, display, result = item.obj, item.display, item.result
    keys = [key for key in obj.annotations if key.startswith(INLINE_PREFIX)] if obj is not None else []
    if obj is None or not keys:
        return result
    positions = {key: f"{display}:{obj.locate(('metadata', 'annotations', key))[0]}" for key in keys}
    try:
        waivers = parse_inline(obj.annotations, positions, obj.resource)
    except InputError as exc:
        return dataclasses.replace(result, outcome=Outcome.ERROR, error=one_line(str(exc)))
    return apply_waivers(result, waivers, today)


def _finding(display: str, obj: ClusterObject, violation: Violation) -> Finding:
    rule = _RULES[violation.rule]
    line, column = obj.locate(violation.path)
    return Finding(rule=rule.id, severity=rule.severity, message=one_line(violation.message),
                   location=Location(display, line, column), resource=obj.resource, container=obj.container)
