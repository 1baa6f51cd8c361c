"""Kustomizations and Helm charts, rendered into what a cluster receives before the manifest gate judges it.

With `kubectl` (or `kustomize`) on PATH, each kustomization no other one of the scan builds on (an
overlay, or a base nothing uses) is rendered and its output judged; a base an overlay reaches is judged
through that overlay, never alone, and the files the tree reads are not judged again as written. With
`helm` on PATH each chart is rendered with `helm template` and the values files `helm-values` names.
Without the program each is said as skipped, with the command that renders it. See `gates.targets.render`
for how the child is confined, and `gates.targets.kustomize` for what is refused before it runs.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from gates.checks.manifests.rules import GATE
from gates.errors import InputError
from gates.model import Location, Outcome, Result, error_result
from gates.paths import display_path
from gates.record import field, record
from gates.targets.files import HelmChart, Kustomization
from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

ORIGIN = "config.kubernetes.io/origin"


@record
class RenderSettings:
    timeout: float
    max_bytes: int
    helm_values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Real chart folder -> real paths of its values files, in order."""
    render: bool = True
    """False: never start a renderer, say each kustomization and chart as skipped."""


@record
class Stream:
    """What one kustomization or chart renders, to be judged as one file named `display`."""

    display: str
    """The kustomization file or Chart.yaml: findings name it, and the rendered object."""
    text: str
    said: str
    """The command that rendered it, as a user would type it."""
    sources: Mapping[str, Location] = field(default_factory=dict)
    """Rendered resource (`Kind/namespace/name`) -> the file it came from, where that could be told, and the
    line its object starts on there, where that is certain (a kustomization's YAML, not a chart's template)."""


@record
class Prepared:
    streams: list[Stream] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    inputs: set[str] = field(default_factory=set)
    """Real paths of the files a rendered tree reads: judged in its output, not alone as written."""


def kustomize_command(folder: str) -> str:
    return f"kubectl kustomize {shlex.quote(folder)} | gates manifests -"


def prepare(kustomizations: Sequence[Kustomization], charts: Sequence[HelmChart],
            settings: RenderSettings) -> Prepared:
    from gates.targets import render

    prepared = Prepared()
    if kustomizations:
        kustomize = render.find_kustomize() if settings.render else None
        if kustomize is None:
            prepared.results.extend(_unrendered_kustomizations(kustomizations))
        else:
            _kustomizations(kustomizations, kustomize, settings, prepared)
    if charts:
        helm = render.find_helm() if settings.render else None
        if helm is None:
            prepared.results.extend(_unrendered_charts(charts, settings))
        else:
            _charts(charts, helm, settings, prepared)
    return prepared


def _unrendered_charts(charts: Sequence[HelmChart], settings: RenderSettings) -> Iterator[Result]:
    for chart in charts:
        files = f"{chart.templates} file" + ("s" if chart.templates != 1 else "")
        yield Result(
            gate=GATE, target=f"{chart.path}/templates", outcome=Outcome.SKIPPED,
            error=(f"Helm chart templates are not YAML until rendered ({files}): scan them"
                   f" with `helm template {_helm_arguments(chart, settings)} | gates manifests -`"),
            location=Location(f"{chart.path}/Chart.yaml"),
        )


def _unrendered_kustomizations(kustomizations: Sequence[Kustomization]) -> Iterator[Result]:
    """Without kustomize, what a cluster gets is unknown here: said, per folder, with the command."""
    for found in kustomizations:
        yield Result(
            gate=GATE, target=found.file, outcome=Outcome.SKIPPED, location=Location(found.file),
            error=(f"a kustomization: its patches, generators and overlays are not applied here (the files of"
                   f" this folder are judged as written): scan what it renders with"
                   f" `{kustomize_command(found.folder)}`"),
        )


def _kustomizations(kustomizations: Sequence[Kustomization], renderer: Any, settings: RenderSettings,
                    prepared: Prepared) -> None:
    from gates.targets import kustomize, render

    by_real = {Path(os.path.realpath(k.folder)): k for k in kustomizations}
    tree = kustomize.plan(list(by_real))
    prepared.inputs.update(str(path) for path in tree.inputs)
    for real, found in by_real.items():
        said = f"{renderer.said} {shlex.quote(found.folder)}"
        where = Location(found.file)
        if real in tree.through:
            top = by_real[tree.through[real]]
            prepared.results.append(Result(
                gate=GATE, target=found.file, outcome=Outcome.SKIPPED, location=where,
                error=f"a kustomize base: judged through {top.file}, which builds on it (a base alone never ships)"))
        elif real in tree.refused:
            prepared.results.append(error_result(GATE, found.file, f"not rendered: {tree.refused[real]}", where))
        elif tree.kinds.get(real) == "Component":
            prepared.results.append(Result(
                gate=GATE, target=found.file, outcome=Outcome.SKIPPED, location=where,
                error="a kustomize Component: it renders only through a kustomization that lists it in"
                      " `components`, and none in this scan does"))
        else:
            try:
                rendered = render.kustomize(renderer, real, settings.timeout, settings.max_bytes)
            except InputError as exc:
                prepared.results.append(error_result(GATE, found.file, f"{found.file}: `{said}`: {exc}", where))
                continue
            base = rendered.origin_base
            limit = kustomize.boundary(real)
            prepared.streams.append(Stream(
                display=found.file, text=rendered.text, said=said,
                sources=_sources(rendered.text, lambda doc, _, base=base, limit=limit: _origin(doc, base, limit),
                                 lines=True)))


def _charts(charts: Sequence[HelmChart], renderer: Any, settings: RenderSettings, prepared: Prepared) -> None:
    from gates.targets import render

    for chart in charts:
        real = Path(os.path.realpath(chart.path))
        values = tuple(Path(v) for v in settings.helm_values.get(str(real), ()))
        said = f"{renderer.said} {_helm_arguments(chart, settings)}"
        where = Location(f"{chart.path}/Chart.yaml")
        try:
            rendered = render.helm(renderer, real, values, settings.timeout, settings.max_bytes)
        except InputError as exc:
            prepared.results.append(error_result(GATE, where.path, f"{where.path}: `{said}`: {exc}", where))
            continue
        sources = _sources(rendered.text, lambda _, comment, chart=real: _template(comment, chart))
        prepared.streams.append(Stream(display=where.path, text=rendered.text, said=said, sources=sources))


def _helm_arguments(chart: HelmChart, settings: RenderSettings) -> str:
    """The chart and its configured values files, as a user would type them after `helm template`."""
    values = settings.helm_values.get(os.path.realpath(chart.path), ())
    return shlex.quote(chart.path) + "".join(f" --values {shlex.quote(display_path(Path(v)))}" for v in values)


def _sources(text: str, source: Any, lines: bool = False) -> dict[str, Location]:
    """Rendered resource -> its source file, document by document, read by gates' own bounded YAML reader
    (a chart's output is template text, aliases and all); what cannot be read maps to nothing (the scan
    itself reports a malformed document)."""
    from gates.checks.manifests.workloads import workloads
    from gates.targets.yaml_docs import load_documents

    found: dict[str, Location] = {}
    starts: dict[str, list[tuple[str, str, int]]] = {}
    for chunk in _documents(text):
        comment = next((line[len("# Source: "):].strip() for line in chunk.splitlines()
                        if line.startswith("# Source: ")), None)
        try:
            objects = [obj for document in load_documents(chunk) for obj in workloads(document.content)]
        except InputError:
            continue
        for obj in objects:
            path = source(obj, comment)
            if path is not None and obj.resource not in found:
                line = _object_line(path, obj.kind, obj.name, starts) if lines else None
                found[obj.resource] = Location(path, line)
    return found


def _object_line(path: str, kind: str, name: str, starts: dict[str, list[tuple[str, str, int]]]) -> int | None:
    """The line the object starts on in its source file: the one object there of its kind, or the one whose
    name the rendered name holds (name prefixes and suffixes); None when that is not certain."""
    from gates.targets.files import DEFAULT_MAX_FILE_BYTES, read_text
    from gates.targets.yaml_docs import load_documents

    if path not in starts:
        starts[path] = []
        try:
            for document in load_documents(read_text(path, DEFAULT_MAX_FILE_BYTES)):
                content = document.content
                meta = content.get("metadata") if isinstance(content, dict) else None
                if isinstance(meta, dict) and isinstance(content.get("kind"), str) \
                        and isinstance(meta.get("name"), str):
                    starts[path].append((content["kind"], meta["name"], document.pos[0]))
        except InputError:
            pass
    same_kind = [entry for entry in starts[path] if entry[0] == kind]
    if len(same_kind) > 1:
        same_kind = [entry for entry in same_kind if entry[1] in name]
    return same_kind[0][2] if len(same_kind) == 1 else None


def _documents(text: str) -> Iterator[str]:
    chunk: list[str] = []
    for line in text.splitlines():
        if line.rstrip() == "---":
            yield "\n".join(chunk)
            chunk = []
        else:
            chunk.append(line)
    yield "\n".join(chunk)


def _origin(obj: Any, base: Path | None, limit: Path) -> str | None:
    """The source file kustomize recorded for `obj` (`path: FILE` in its origin annotation, never a remote
    `repo:`), if it is a file inside the repository."""
    note = obj.annotations.get(ORIGIN)
    if not note or base is None or any(line.startswith("repo:") for line in note.splitlines()):
        return None
    path = next((line[len("path:"):].strip() for line in note.splitlines() if line.startswith("path:")), None)
    return _inside(Path(os.path.normpath(base / path)), limit) if path else None


def _template(comment: str | None, chart: Path) -> str | None:
    """Helm's `# Source: CHART/templates/x.yaml` as the template's file under the chart folder."""
    if not comment or "/" not in comment:
        return None
    return _inside(chart / comment.split("/", 1)[1], chart)


def _inside(path: Path, limit: Path) -> str | None:
    real = Path(os.path.realpath(path))
    return display_path(real) if real.is_relative_to(limit) and real.is_file() else None
