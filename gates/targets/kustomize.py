"""What a tree of kustomizations builds on, read before kustomize runs: which folders and files each reads,
which are only bases of others, and what must never be handed to kustomize.

An overlay is what ships; a base it reaches is judged through it, never alone. A kustomization is
refused (never rendered) when it names anything not found in the tree: remote bases and URLs are never
fetched, folders outside the repository never read, and Helm inflation (`helmCharts`) stays off.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gates.errors import InputError
from gates.paths import display_path, git_top_level
from gates.targets.files import KUSTOMIZATION_FILES, read_text
from gates.targets.yaml_docs import PosDict, load_documents, locate

KUSTOMIZATION_MAX_BYTES = 1024 * 1024
"""A kustomization file is a short list of instructions; anything larger is refused."""

FOLDER_FIELDS = ("resources", "bases", "components")
"""Fields whose entries may be kustomization folders (and, for `resources`, files)."""

FILE_LIST_FIELDS = ("crds", "configurations", "patchesStrategicMerge", "generators", "transformers", "validators")
"""Fields that list files (or inline YAML, which holds a line break)."""

PATH_ITEM_FIELDS = ("patches", "patchesJson6902", "replacements")
"""Fields that list mappings whose `path` names a file."""

GENERATOR_FIELDS = ("configMapGenerator", "secretGenerator")
"""Generators that read `files` (`key=path` or `path`), `envs` and `env`."""

HELM_FIELDS = ("helmCharts", "helmGlobals", "helmChartInflationGenerator")
"""Helm inflation inside kustomize: it needs `--enable-helm` and a helm binary, which gates never passes."""

REMOTE_MARKS = ("://", "git@", "git::", "ssh:", "?ref=", "?version=", "?timeout=", "?submodules=", "_git/")
"""What makes kustomize read an entry over the network (git clone or an HTTP GET), where gates never goes."""


@dataclass(frozen=True)
class Reading:
    """One kustomization file as gates read it; real paths throughout."""

    file: Path
    kind: str
    """`Kustomization` or `Component`."""
    folders: tuple[Path, ...] = ()
    files: tuple[Path, ...] = ()
    refused: tuple[str, ...] = ()
    """Why kustomize must not run on a tree holding this file: one line each, naming file, line and entry."""


@dataclass
class Tree:
    """How a set of kustomization folders found in a scan is judged."""

    tops: list[Path] = field(default_factory=list)
    """Folders rendered: those no other folder of the scan builds on (an overlay, or a base used by none)."""
    through: dict[Path, Path] = field(default_factory=dict)
    """Folder of the scan -> a top that builds on it, through which it is judged."""
    inputs: set[Path] = field(default_factory=set)
    """Files some kustomization of the tree reads: judged in the rendered output, not alone."""
    refused: dict[Path, str] = field(default_factory=dict)
    """Top -> the first reason its tree is never handed to kustomize."""
    kinds: dict[Path, str] = field(default_factory=dict)
    """Folder -> `Kustomization` or `Component`, for the folders that could be read."""


def kustomization_file(folder: Path) -> Path | None:
    return next((folder / name for name in KUSTOMIZATION_FILES if (folder / name).is_file()), None)


def boundary(folder: Path) -> Path:
    """What a kustomization may build on: its repository (the nearest folder above holding `.git`), else the
    working directory when it lies inside it, else its own folder."""
    real = Path(os.path.realpath(folder))
    top = git_top_level(real)
    if top != real or (real / ".git").exists():
        return top
    cwd = Path(os.path.realpath(Path.cwd()))
    return cwd if real.is_relative_to(cwd) else real


def read(file: Path, limit: Path) -> Reading:
    """The folders and files `file` reads; `InputError` when it cannot be read or is not a kustomization."""
    display = display_path(file)
    try:
        text = read_text(str(file), KUSTOMIZATION_MAX_BYTES)
        documents = list(load_documents(text, readers="kustomize"))
    except InputError as exc:
        raise InputError(f"{display}: {exc}") from None
    if len(documents) != 1 or not isinstance(documents[0].content, PosDict):
        raise InputError(f"{display}: a kustomization file holds one mapping")
    root: PosDict = documents[0].content
    kind = root.get("kind") or "Kustomization"
    if kind not in ("Kustomization", "Component"):
        raise InputError(f"{display}: kind {kind!r} is not a Kustomization or Component")
    folder = Path(os.path.realpath(file.parent))
    folders: list[Path] = []
    files: list[Path] = []
    refused: list[str] = []

    def line(path: tuple[str | int, ...]) -> str:
        place = locate(root, path)
        return f"{display}:{place[0]}" if place else display

    for key in HELM_FIELDS:
        if key in root:
            refused.append(f"{line((key,))}: {key} inflates a Helm chart inside kustomize, which gates never enables"
                           " (--enable-helm); render the chart with `helm template` instead")
    for entry, path, may_be_folder in _entries(root, line):
        if any(mark in entry for mark in REMOTE_MARKS) or entry.startswith(("github.com/", "gitlab.com/",
                                                                             "bitbucket.org/")):
            refused.append(f"{line(path)}: {path[0]} entry {entry!r} is remote: gates renders offline and never"
                           " fetches a base")
            continue
        target = Path(os.path.realpath(folder / entry))
        if not target.is_relative_to(limit):
            refused.append(f"{line(path)}: {path[0]} entry {entry!r} lies outside {display_path(limit)}: never read")
        elif target.is_dir() and may_be_folder:
            folders.append(target)
        elif target.is_file():
            files.append(target)
        elif may_be_folder:
            refused.append(f"{line(path)}: {path[0]} entry {entry!r} is no file or folder here (a remote base is"
                           " never fetched)")
    return Reading(file=Path(os.path.realpath(file)), kind=kind, folders=tuple(folders), files=tuple(files),
                   refused=tuple(refused))


_Where = Callable[[tuple[str | int, ...]], str]
"""A key path of the kustomization -> `file:line`, for messages."""


def _entries(root: PosDict, line: _Where) -> Iterator[tuple[str, tuple[str | int, ...], bool]]:
    """(entry, where, may be a folder) for each path the kustomization names; inline YAML is not a path."""
    for key in FOLDER_FIELDS:
        for index, entry in enumerate(_strings(root, key, line)):
            yield entry, (key, index), True
    for key in FILE_LIST_FIELDS:
        for index, entry in enumerate(_strings(root, key, line)):
            if "\n" not in entry and not entry.lstrip().startswith(("{", "[")):
                yield entry, (key, index), key in ("generators", "transformers", "validators")
    for key in PATH_ITEM_FIELDS:
        for index, item in enumerate(_list(root, key, line)):
            if isinstance(item, dict) and isinstance(item.get("path"), str):
                yield item["path"], (key, index, "path"), False
    for key in GENERATOR_FIELDS:
        for index, item in enumerate(_list(root, key, line)):
            if not isinstance(item, dict):
                continue
            sources = [*_plain(item.get("files")), *_plain(item.get("envs"))]
            if isinstance(item.get("env"), str):
                sources.append(item["env"])
            for entry in sources:
                yield entry.rpartition("=")[2], (key, index), False
    openapi = root.get("openapi")
    if isinstance(openapi, dict) and isinstance(openapi.get("path"), str):
        yield openapi["path"], ("openapi", "path"), False


def _list(root: PosDict, key: str, line: _Where) -> list[Any]:
    value = root.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(f"{line((key,))}: {key} must be a list")
    return value


def _strings(root: PosDict, key: str, line: _Where) -> list[str]:
    values = _list(root, key, line)
    for index, value in enumerate(values):
        if not isinstance(value, str):
            raise InputError(f"{line((key, index))}: {key} entries must be strings")
    return values


def _plain(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def plan(folders: Sequence[Path]) -> Tree:
    """How the kustomization `folders` of a scan are judged: a folder no other one builds on is a top, and
    every folder reached from a top is judged through it (a cycle leaves each folder a top)."""
    tree = Tree()
    unreadable: dict[Path, str] = {}
    readings: dict[Path, Reading | None] = {}
    found = [Path(os.path.realpath(f)) for f in folders]

    def reading(folder: Path) -> Reading | None:
        if folder not in readings:
            file = kustomization_file(folder)
            try:
                readings[folder] = read(file, boundary(folder)) if file is not None else None
            except InputError as exc:
                readings[folder] = None
                unreadable[folder] = str(exc)
        return readings[folder]

    reach = {folder: _reachable(folder, reading) for folder in found}
    tree.tops = [folder for folder in found
                 if not any(other != folder and folder in reach[other] and other not in reach[folder]
                            for other in found)]
    for top in tree.tops:
        for folder in (top, *sorted(reach[top])):
            one = reading(folder)
            if one is None:
                if folder in unreadable:
                    tree.refused.setdefault(top, unreadable[folder])
                continue
            tree.kinds[folder] = one.kind
            tree.inputs.update(one.files)
            if one.refused:
                tree.refused.setdefault(top, one.refused[0])
            if folder in found and folder not in tree.tops:
                tree.through.setdefault(folder, top)
    return tree


def _reachable(start: Path, reading: Any) -> set[Path]:
    """Every kustomization folder `start` builds on, directly or through others (itself only in a cycle)."""
    seen: set[Path] = set()
    stack: list[Path] = list(_folders_of(reading(start)))
    while stack:
        folder = stack.pop()
        if folder in seen:
            continue
        seen.add(folder)
        stack.extend(_folders_of(reading(folder)))
    return seen


def _folders_of(one: Reading | None) -> Iterable[Path]:
    return one.folders if one is not None else ()
