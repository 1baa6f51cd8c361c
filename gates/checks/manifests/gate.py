"""Run the Pod Security Standards over files: discovery -> documents -> workloads -> findings.

One result per workload (`file#Kind/namespace/name`), one `error` result per unreadable file or
ill-typed workload, one `skipped` result per Helm chart whose templates need rendering first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from gates.checks.manifests.pss import checks_for
from gates.checks.manifests.workloads import FieldTypeError, Workload, workloads
from gates.errors import InputError, UsageError
from gates.model import Finding, Location, Outcome, Result, decided_result, error_result
from gates.rules import Rule, rules_of
from gates.targets.files import DEFAULT_MAX_FILE_BYTES, STDIN, SourceFile, discover, read_text
from gates.targets.yaml_docs import Document, PosDict, load_documents, locate, render_path
from gates.waivers import apply_waivers, parse_inline

GATE = "manifests"
LEVELS = ("baseline", "restricted")


@dataclass(frozen=True)
class ManifestOptions:
    """What the manifest gate scans and how strictly."""

    paths: tuple[str, ...]
    level: str = "restricted"
    exclude: tuple[str, ...] = ()
    """Globs over paths that the folder walk leaves out."""
    skip_rules: tuple[str, ...] = ()
    """Rule IDs not evaluated at all (prefer waivers, which stay visible)."""
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    stdin_name: str = "<stdin>"
    today: dt.date = field(default_factory=dt.date.today)


def scan(options: ManifestOptions) -> list[Result]:
    """Every result of the gate over `options.paths`; raises `UsageError` for paths that do not exist."""
    if options.level not in LEVELS:
        raise UsageError(f"unknown level {options.level!r}: choose baseline or restricted")
    found = discover(options.paths, options.exclude)
    if found.missing:
        raise UsageError(f"no such file or directory: {', '.join(found.missing)}")
    checks = {k: v for k, v in checks_for(options.level).items() if k not in options.skip_rules}
    rules = {r.id: r for r in rules_of(GATE)}
    results: list[Result] = []
    for chart in found.charts:
        files = f"{chart.templates} file" + ("s" if chart.templates != 1 else "")
        results.append(Result(
            gate=GATE, target=f"{chart.path}/templates", outcome=Outcome.SKIPPED,
            error=(f"Helm chart templates are not YAML until rendered ({files}): scan them"
                   f" with `helm template {chart.path} | gates manifests -`"),
            location=Location(f"{chart.path}/Chart.yaml"),
        ))
    for source in found.files:
        results.extend(_scan_file(source, options, checks, rules))
    return results


def _scan_file(
    source: SourceFile, options: ManifestOptions, checks: dict[str, Any], rules: dict[str, Rule]
) -> Iterator[Result]:
    display = options.stdin_name if source.path == STDIN else source.path
    try:
        text = read_text(source.path, options.max_file_bytes)
    except InputError as exc:
        yield error_result(GATE, display, f"{display}: {exc}", Location(display))
        return
    saw_kubernetes = False
    non_mapping: Document | None = None
    documents = load_documents(text)
    while True:
        try:
            document = next(documents)
        except StopIteration:
            break
        except InputError as exc:
            yield error_result(GATE, display, f"{display}: {exc}", Location(display))
            return
        content = document.content
        if content is None:
            continue
        if not isinstance(content, PosDict):
            non_mapping = non_mapping or document
            continue
        if "apiVersion" in content and "kind" in content:
            saw_kubernetes = True
        yield from _scan_document(display, document, options, checks, rules)
    if non_mapping is not None and (source.explicit or saw_kubernetes):
        line, column = non_mapping.pos
        yield error_result(
            GATE, display,
            f"{display}:{line}: document {non_mapping.index + 1} is a {_kind_of(non_mapping.content)},"
            " not a Kubernetes object (a mapping)",
            Location(display, line, column),
        )


def _kind_of(value: Any) -> str:
    return "list" if isinstance(value, list) else type(value).__name__


def _scan_document(
    display: str, document: Document, options: ManifestOptions, checks: dict[str, Any], rules: dict[str, Rule]
) -> Iterator[Result]:
    root = document.content
    objects = workloads(root)
    while True:
        try:
            workload = next(objects)
        except StopIteration:
            return
        except FieldTypeError as exc:
            yield _type_error(display, document, None, exc)
            return
        yield _evaluate(display, document, workload, options, checks, rules)


def _type_error(display: str, document: Document, workload: Workload | None, exc: FieldTypeError) -> Result:
    line, column = locate(document.content, exc.path) or document.pos
    target = f"{display}#{workload.resource}" if workload else f"{display}#document{document.index + 1}"
    return error_result(GATE, target, f"{display}:{line}: {exc}", Location(display, line, column))


def _evaluate(
    display: str, document: Document, workload: Workload, options: ManifestOptions,
    checks: dict[str, Any], rules: dict[str, Rule],
) -> Result:
    root = document.content
    target = f"{display}#{workload.resource}"
    object_pos = locate(root, workload.base) or document.pos
    where = Location(display, *object_pos)
    try:
        pod = workload.pod()
        violations = [v for check in checks.values() for v in check(pod)]
        positions = {key: _at(display, root, path) for key, path in workload.annotation_paths.items()}
        inline = parse_inline(workload.annotations, positions, workload.resource)
    except FieldTypeError as exc:
        return _type_error(display, document, workload, exc)
    except InputError as exc:
        return error_result(GATE, target, str(exc), where)
    findings = []
    for violation in violations:
        line, column = locate(root, violation.path) or object_pos
        rule = rules[violation.rule]
        findings.append(Finding(
            rule=rule.id, severity=rule.severity,
            message=f"{violation.message} ({render_path(_relative(violation.path, workload))})",
            location=Location(display, line, column), resource=workload.resource, container=violation.container,
        ))
    return apply_waivers(decided_result(GATE, target, findings, where), inline, options.today)


def _relative(path: tuple[str | int, ...], workload: Workload) -> tuple[str | int, ...]:
    return path[len(workload.base):]


def _at(display: str, root: Any, path: tuple[str | int, ...]) -> str:
    position = locate(root, path)
    return f"{display}:{position[0]}" if position else display


def known_rules() -> Sequence[str]:
    return [r.id for r in rules_of(GATE)]
