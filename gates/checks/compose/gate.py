"""Run the compose gate: compose files found by name (or named) -> services -> findings.

One result per service (`file#service/NAME`), one `error` per file that cannot be read or is not a
valid compose file, and per service whose `extends` cannot be followed. A service with a field that
depends on an unset variable is an `error` naming the field and the variable, with the findings of its
other fields. An `include` is followed: each included file (within the working directory, as for
`extends`) is judged as its own file, its relative paths starting at `project_directory` when given;
an include gates cannot follow (remote, outside, unreadable, an unset variable, an `env_file` whose
variables gates does not read) is an `error` for that entry, never a pass.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
import itertools
import os
import posixpath
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path as FilePath

from gates.checks.compose.checks import CHECKS, CheckOptions, Reading, Violation
from gates.checks.compose.display import shown
from gates.checks.compose.project import ComposeFile, Project, Service, parse
from gates.checks.compose.rules import GATE, RULES, SAFE_CAPABILITIES
from gates.errors import InputError, UsageError
from gates.model import Finding, Location, Outcome, Result, decided_result, error_result, one_line
from gates.paths import display_path
from gates.targets.files import (
    DEFAULT_MAX_FILE_BYTES,
    MANIFEST_SUFFIXES,
    STDIN,
    SourceFile,
    WalkProblem,
    discover,
    read_text,
)
from gates.targets.yaml_docs import PosDict, locate
from gates.waivers import INLINE_PREFIX, WaiverRule, apply_waivers, note_ignored_waivers, parse_inline

COMPOSE_NAMES = ("compose.yaml", "compose.yml", "compose.override.yaml", "compose.override.yml",
                 "docker-compose*.yml", "docker-compose*.yaml")
"""The file names a folder walk reads as compose files (`docker compose`'s own, and its overrides)."""
DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_FILES = ("compose.override.yml", "compose.override.yaml", "docker-compose.override.yml",
                  "docker-compose.override.yaml")
"""What `docker compose` reads in a folder without `-f`: the first default file, the first override merged onto it."""
MAX_ENV_BYTES = 64 * 1024


@dataclass(frozen=True)
class ComposeOptions:
    paths: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    skip_rules: tuple[str, ...] = ()
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    allowed_capabilities: tuple[str, ...] = SAFE_CAPABILITIES
    environment: Mapping[str, str] = field(default_factory=dict)
    """Where `${VAR}` takes its values: the environment gates runs in."""
    today: dt.date = field(default_factory=dt.date.today)
    inline_waivers: bool = True
    """Whether `gates.dev/waive.*` labels waive (false: they only become notes, see `inline-waivers`)."""


def is_compose_name(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in COMPOSE_NAMES)


def _found(source: SourceFile) -> bool:
    return source.explicit or is_compose_name(posixpath.basename(source.path))


def scan(options: ComposeOptions) -> list[Result]:
    """Every result of the gate over `options.paths`; raises `UsageError` for paths that do not exist."""
    found = discover(options.paths, options.exclude)
    if found.missing:
        raise UsageError(f"no such file or directory: {', '.join(found.missing)}")
    named = {os.path.abspath(path) for path in options.paths}
    results = list(_walk_problems(found.problems, named))
    sources = [s for s in found.files if _found(s)]
    project = Project(environment=options.environment, max_file_bytes=options.max_file_bytes)
    loaded: list[ComposeFile] = []
    for source in sources:
        display = "<stdin>" if source.path == STDIN else source.path
        folder = FilePath.cwd() if source.path == STDIN else FilePath(os.path.realpath(source.path)).parent
        try:
            compose_file = parse(display, read_text(source.path, options.max_file_bytes), folder)
        except InputError as exc:
            results.append(error_result(GATE, display, f"{display}: {exc}", Location(display, *_line_of(exc))))
            continue
        if source.path != STDIN:
            project.add(compose_file)
        loaded.append(compose_file)
    judged = {os.path.realpath(f.display) for f in loaded}
    folders = sorted({str(f.folder) for f in loaded} | {os.path.realpath(p) for p in options.paths
                                                          if p != STDIN and os.path.isdir(p)})
    for stacked in folders:
        results.extend(_stack(project, FilePath(stacked), judged, loaded))
    check_options = CheckOptions(frozenset(c.upper().removeprefix("CAP_") for c in options.allowed_capabilities))
    for compose_file in loaded:  # grows as includes are followed
        results.extend(_includes(project, compose_file, judged, loaded))
        services = compose_file.services()
        if not services and "include" not in compose_file.root:
            results.append(error_result(GATE, compose_file.display, f"{compose_file.display}: no services",
                                        Location(compose_file.display, *compose_file.root.pos)))
        for name in services:
            results.append(_judge(project, compose_file, name, check_options, options))
    return results


def _walk_problems(problems: Sequence[WalkProblem], named: set[str]) -> Iterator[Result]:
    """Faults of paths named, of folders and of compose files met in a walk; other files are not this gate's."""
    for problem in problems:
        name = posixpath.basename(problem.path)
        if (name.endswith(MANIFEST_SUFFIXES) and not is_compose_name(name)
                and os.path.abspath(problem.path) not in named):
            continue
        reason = f"{problem.path}: {problem.reason}".replace("gates manifests -", "gates compose -")
        where = Location(problem.path)
        if problem.error:
            yield error_result(GATE, problem.path, reason, where)
        else:
            yield Result(gate=GATE, target=problem.path, outcome=Outcome.SKIPPED, error=reason, location=where)


def _line_of(exc: InputError) -> tuple[int, int] | tuple[int] | tuple[()]:
    """The `line L[, column C]` an InputError starts with, for the result's location."""
    match = _LINE.match(str(exc))
    if match is None:
        return ()
    line, column = match.groups()
    return (int(line), int(column)) if column else (int(line),)


_LINE = re.compile(r"line (\d+)(?:, column (\d+))?:")


def _stack(project: Project, folder: FilePath, judged: set[str], loaded: list[ComposeFile]) -> Iterator[Result]:
    """The files `docker compose` merges in `folder`: `.env`'s COMPOSE_FILE, else the default file and its
    override; each is judged (read if the scan did not find it) and merged onto the one before."""
    env = folder / ".env"
    display = display_path(env)
    try:
        if env.is_file() and not _inside(os.path.realpath(env), os.path.realpath(folder)):
            raise InputError("a link out of its folder: not read (compose would read it for COMPOSE_FILE)")
        listed = _compose_file_setting(env) if env.is_file() else None
    except InputError as exc:
        yield error_result(GATE, display, f"{display}: {exc}", Location(display))
        return
    if listed is not None:
        line, names = listed
        where = f"{display}:{line}: COMPOSE_FILE"
        stack: list[ComposeFile] = []
        quoted = ", ".join(f"'{shown(name)}'" for name in names)
        for name in names:
            try:
                stack.append(project.load(folder, name, where))
            except InputError as exc:
                yield error_result(GATE, f"{display}#COMPOSE_FILE", one_line(
                    f"{exc} (compose reads {quoted} here)"), Location(display, line))
        _layered(project, stack, judged, loaded)
        return
    default = next((folder / n for n in DEFAULT_FILES if (folder / n).is_file()), None)
    override = next((folder / n for n in OVERRIDE_FILES if (folder / n).is_file()), None)
    if default is None or override is None:
        return
    files: list[ComposeFile] = []
    for path in (default, override):
        try:
            files.append(project.load(folder, path.name, "merged by docker compose"))
        except InputError as exc:
            if os.path.realpath(path) not in judged:  # else the file's own result says why
                yield error_result(GATE, display_path(path), one_line(str(exc)), Location(display_path(path)))
            return
    _layered(project, files, judged, loaded)


def _inside(path: str, folder: str) -> bool:
    return os.path.commonpath([path, folder]) == folder


def _layered(project: Project, stack: list[ComposeFile], judged: set[str], loaded: list[ComposeFile]) -> None:
    for below, above in itertools.pairwise(stack):
        project.layer(above, below)
    for compose_file in stack:
        real = os.path.realpath(compose_file.display)
        if real not in judged:
            judged.add(real)
            loaded.append(compose_file)


def _compose_file_setting(env: FilePath) -> tuple[int, list[str]] | None:
    """(line, files) of `COMPOSE_FILE` in a `.env` (split by COMPOSE_PATH_SEPARATOR), None when unset."""
    values: dict[str, tuple[int, str]] = {}
    for number, raw in enumerate(read_text(str(env), MAX_ENV_BYTES).splitlines(), 1):
        text = raw.strip().removeprefix("export ").strip()
        key, equals, value = text.partition("=")
        if not equals or text.startswith("#"):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = (number, value)
    if "COMPOSE_FILE" not in values:
        return None
    line, setting = values["COMPOSE_FILE"]
    separator = values.get("COMPOSE_PATH_SEPARATOR", (0, os.pathsep))[1] or os.pathsep
    names = [name for name in setting.split(separator) if name]
    if not names:
        raise InputError(f"line {line}: COMPOSE_FILE names no file")
    return line, names


def _includes(project: Project, compose_file: ComposeFile, judged: set[str],
              loaded: list[ComposeFile]) -> Iterator[Result]:
    """Follow each `include` entry: its files join `loaded` (once each); one it cannot follow is an error."""
    entries = compose_file.root.get("include") or ()
    for index, entry in enumerate(entries):
        where = Location(compose_file.display, *(locate(compose_file.root, ("include", index)) or (1, 1)))
        here = f"{compose_file.display}:{where.line}: include"
        target = f"{compose_file.display}#include[{index}]"
        try:
            for included in _included(project, compose_file, entry, here):
                real = os.path.realpath(included.display)
                if real not in judged:
                    judged.add(real)
                    loaded.append(included)
        except InputError as exc:
            yield error_result(GATE, target, one_line(str(exc)), where)


def _included(project: Project, compose_file: ComposeFile, entry: object, here: str) -> Iterator[ComposeFile]:
    """The files one `include` entry names, read (each `InputError` says why one cannot be)."""
    if isinstance(entry, str):
        yield project.load(compose_file.folder, project.text(entry, here), here)
        return
    if not isinstance(entry, PosDict) or "path" not in entry:
        raise InputError(f"{here}: an entry is a path or a mapping with `path`: not followed")
    unknown = [key for key in entry if key not in ("path", "project_directory", "env_file")]
    if unknown:
        raise InputError(f"{here}: '{shown(unknown[0])}' is not a key of include (path, project_directory,"
                         " env_file): not followed")
    paths = entry["path"]
    listed = [paths] if isinstance(paths, str) else paths if isinstance(paths, list) else None
    if not listed or not all(isinstance(p, str) for p in listed):
        raise InputError(f"{here}: path must be a string or a list of strings: not followed")
    folder = compose_file.folder
    if "project_directory" in entry:
        directory = entry["project_directory"]
        if not isinstance(directory, str):
            raise InputError(f"{here}: project_directory must be a string: not followed")
        folder = FilePath(os.path.realpath(folder / project.text(directory, here)))
    for path in listed:
        included = project.load(compose_file.folder, project.text(path, here), here)
        yield dataclasses.replace(included, folder=folder) if "project_directory" in entry else included
    if "env_file" in entry:
        raise InputError(f"{here}: env_file sets the included file's variables and gates reads no env file:"
                         " its services are judged with the environment gates runs in, which may differ")


def _judge(project: Project, compose_file: ComposeFile, name: str, check_options: CheckOptions,
           options: ComposeOptions) -> Result:
    resource = f"service/{name}"
    target = f"{compose_file.display}#{resource}"
    where = Location(compose_file.display, *(locate(compose_file.root, ("services", name)) or (1, 1)))
    try:
        service = project.service(compose_file, name)
        reading = Reading(service, options.environment)
        violations: list[Violation] = []
        for rules, check in CHECKS:
            if all(rule in options.skip_rules for rule in rules):
                continue
            violations.extend(v for v in check(reading, check_options) if v.rule not in options.skip_rules)
        inline = _inline_waivers(service, resource)
    except InputError as exc:
        return error_result(GATE, target, f"{name}: {exc}", where)
    findings = [_finding(v, resource) for v in violations]
    result = decided_result(GATE, target, findings, where)
    if service.layered:
        rest = f" (which extends {' -> '.join(service.bases[1:])})" if service.bases[1:] else ""
        result = dataclasses.replace(result, details=(
            f"merged onto {service.bases[0]}{rest}, as docker compose merges its files",))
    elif service.bases:
        result = dataclasses.replace(result, details=(f"extends {' -> '.join(service.bases)}",))
    if reading.undecided:
        result = dataclasses.replace(result, outcome=Outcome.ERROR, error=one_line(
            f"{target}: not judged where a variable is unset (set it in the environment gates runs in):"
            f" {'; '.join(reading.undecided)}"))
    if not options.inline_waivers:
        return note_ignored_waivers(result, inline)
    return apply_waivers(result, inline, options.today)


_RULES = {rule.id: rule for rule in RULES}


def _finding(violation: Violation, resource: str) -> Finding:
    written = violation.written
    line, column = locate(written.file.root, (*written.path, *violation.subpath)) or written.position()
    rule = _RULES[violation.rule]
    return Finding(rule=rule.id, severity=rule.severity, message=violation.message,
                   location=Location(written.file.display, line, column), resource=resource)


def _inline_waivers(service: Service, resource: str) -> list[WaiverRule]:
    """`labels: {gates.dev/waive.RULE: "reason; expires=YYYY-MM-DD"}` on the service, as on a Kubernetes object."""
    labels: dict[str, str] = {}
    positions: dict[str, str] = {}
    for written in service.fields.get("labels", ()):
        value = written.value
        pairs: list[tuple[str, object, tuple[str | int, ...]]]
        if isinstance(value, PosDict):
            pairs = [(key, item, (key,)) for key, item in value.items()]
        else:
            pairs = [(*_split_label(item), (index,)) for index, item in enumerate(value)]
        for key, item, subpath in pairs:
            if key.startswith(INLINE_PREFIX):
                labels[key] = "" if item is None else str(item)
                line, _ = locate(written.file.root, (*written.path, *subpath)) or (1, 1)
                positions[key] = f"{written.file.display}:{line}"
    return parse_inline(labels, positions, resource)


def _split_label(item: str) -> tuple[str, str]:
    key, _, value = item.partition("=")
    return key, value
