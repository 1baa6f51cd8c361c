"""Compose files as `docker compose` assembles them: a service with `extends` gets its base's fields,
and so does a service of a file compose merges onto another (an override, the files of `COMPOSE_FILE`:
see `Project.layer`) from the same service below it.

Merging follows the Compose specification: a field the service sets replaces its base's, except the
sequences compose merges (`cap_add`, `cap_drop`, `security_opt`, `volumes`, `devices`, `labels`,
`device_cgroup_rules`, `secrets`, `configs`), whose
entries add up (`volumes` and `devices` by container path: checks skip a base entry a later one
remounts). Every field keeps the file and the YAML path it was written at, so a finding inherited from
a base points at the base. `extends.file` is read only inside the working directory (or beside the
compose file when that lies outside it), never from a URL, and a cycle is an error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

from gates.checks.compose import schema
from gates.checks.compose.display import shown
from gates.checks.compose.interpolate import TemplateError, Unresolved, interpolate
from gates.errors import InputError
from gates.paths import display_path
from gates.pyyaml import yaml
from gates.targets.files import read_text
from gates.targets.yaml_docs import PosDict, load_documents, locate

try:  # the C composer where PyYAML has it, as the shared loader
    from yaml import CSafeLoader as _ComposeLoader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _ComposeLoader  # type: ignore[assignment]

Path = tuple[str | int, ...]
MERGED = frozenset({"cap_add", "cap_drop", "security_opt", "volumes", "devices", "labels", "device_cgroup_rules",
                    "secrets", "configs"})
"""Fields whose entries a service adds to its base's instead of replacing them."""
MAX_EXTENDS = 32
"""Links in one `extends` chain; real chains have two or three."""


@dataclass(frozen=True)
class ComposeFile:
    """One parsed, structurally valid compose file."""

    display: str
    root: PosDict
    folder: FilePath
    """Where its relative `extends.file` paths start."""
    tags: Mapping[tuple[str, str], str] = field(default_factory=dict)
    """Service fields tagged `!reset` (dropped, with what a base gave) or `!override` (replacing, not merged)."""

    def services(self) -> Mapping[str, PosDict]:
        found = self.root.get("services")
        return found if isinstance(found, PosDict) else {}


@dataclass(frozen=True)
class Written:
    """A value as written in one file, and where."""

    value: Any
    file: ComposeFile
    path: Path

    def position(self) -> tuple[int, int]:
        return locate(self.file.root, self.path) or (1, 1)


@dataclass(frozen=True)
class Service:
    """A service with its `extends` chain resolved."""

    name: str
    file: ComposeFile
    fields: Mapping[str, tuple[Written, ...]]
    """Key -> what sets it, base first; one entry unless the key is one compose merges."""
    bases: tuple[str, ...] = ()
    """`file#service` of each base, nearest first."""
    layered: bool = False
    """Whether the nearest base is the same service of a file this one is merged onto (an override)."""


def parse(display: str, text: str, folder: FilePath) -> ComposeFile:
    """One compose file from its text; `InputError` (with line and column) when it is not valid."""
    documents = list(load_documents(text, readers="YAML parsers"))
    if len(documents) > 1:
        line, column = documents[1].pos
        raise InputError(f"line {line}, column {column}: a second YAML document: compose merges the"
                         " documents of a file, gates does not: split them into files, each judged")
    root = documents[0].content if documents else None
    if root is None:
        raise InputError("empty: a compose file holds at least `services`")
    tags = field_tags(text)
    try:
        schema.check(root, reset=frozenset(k for k, tag in tags.items() if tag == RESET))
    except schema.SchemaError as exc:
        line, column = schema.position(root, exc)
        raise InputError(f"line {line}, column {column}: {exc} (Compose specification)") from None
    return ComposeFile(display, root, folder, tags)


RESET, OVERRIDE = "!reset", "!override"


def field_tags(text: str) -> dict[tuple[str, str], str]:
    """(service, field) -> `!reset` / `!override` where a service field carries compose's merge tags.

    The shared loader keeps no tags, so the few files that use them are composed once more (without
    constructing anything) to find the tags of service fields; deeper tags change no verdict here.
    """
    if RESET not in text and OVERRIDE not in text:
        return {}
    node = yaml.compose(text, Loader=_ComposeLoader)
    found: dict[tuple[str, str], str] = {}
    services = _value_of(node, "services")
    if not isinstance(services, yaml.MappingNode):
        return found
    for service_key, service in services.value:
        if not isinstance(service, yaml.MappingNode):
            continue
        for field_key, value in service.value:
            if value.tag in (RESET, OVERRIDE):
                found[(str(service_key.value), str(field_key.value))] = value.tag
    return found


def _value_of(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((value for k, value in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)


@dataclass
class Project:
    """Every compose file read during one scan, read once each."""

    environment: Mapping[str, str]
    max_file_bytes: int
    files: dict[str, ComposeFile | InputError] = field(default_factory=dict)
    layers: dict[str, ComposeFile] = field(default_factory=dict)
    """Real path of a file -> the file compose merges it onto (`compose.override.yaml` onto `compose.yaml`,
    each of `COMPOSE_FILE`'s onto the one before)."""

    def layer(self, file: ComposeFile, onto: ComposeFile) -> None:
        """Have `file`'s services merged onto `onto`'s as compose merges several files (first one wins)."""
        real = os.path.realpath(file.display)
        if real != os.path.realpath(onto.display):
            self.layers.setdefault(real, onto)

    def _layer_base(self, file: ComposeFile, name: str) -> ComposeFile | None:
        """The nearest file below `file` in its stack that has service `name`."""
        below = self.layers.get(os.path.realpath(file.display))
        seen = {os.path.realpath(file.display)}
        while below is not None and name not in below.services():
            real = os.path.realpath(below.display)
            if real in seen:
                return None
            seen.add(real)
            below = self.layers.get(real)
        return below

    def add(self, loaded: ComposeFile) -> None:
        self.files[os.path.realpath(loaded.display)] = loaded

    def service(self, file: ComposeFile, name: str) -> Service:
        """`name` of `file`, its bases merged in; `InputError` when its `extends` cannot be followed."""
        return self._resolve(file, name, ())

    def _resolve(self, file: ComposeFile, name: str, chain: tuple[str, ...]) -> Service:
        raw = file.services()[name]
        path: Path = ("services", name)
        own = {key: (Written(value, file, (*path, key)),) for key, value in raw.items()
               if key != "extends" and file.tags.get((name, key)) != RESET}
        layered = "extends" not in raw
        if layered:
            below = self._layer_base(file, name)
            if below is None:
                return Service(name, file, own)
            base_file, base_name = below, name
        here = f"{file.display}#{name}"
        if len(chain) >= MAX_EXTENDS:
            raise InputError(f"{here}: extends chain longer than {MAX_EXTENDS} services")
        if not layered:
            base_file, base_name = self._base(file, raw["extends"], (*path, "extends"))
        key = f"{base_file.display}#{base_name}"
        if key in (*chain, here):
            raise InputError(f"{here}: extends cycle: {' -> '.join((*chain, here, key))}")
        if base_name not in base_file.services():
            line, _ = locate(file.root, (*path, "extends")) or (1, 1)
            raise InputError(f"{file.display}:{line}: extends: no service '{shown(base_name)}' in"
                             f" {base_file.display}")
        base = self._resolve(base_file, base_name, (*chain, here))
        merged = {key: value for key, value in base.fields.items() if file.tags.get((name, key)) != RESET}
        for field_name, written in own.items():
            adds_up = field_name in MERGED and file.tags.get((name, field_name)) != OVERRIDE
            merged[field_name] = (*merged.get(field_name, ()), *written) if adds_up else written
        return Service(name, file, merged, (key, *base.bases), layered)

    def _base(self, file: ComposeFile, extends: Any, path: Path) -> tuple[ComposeFile, str]:
        line, _ = locate(file.root, path) or (1, 1)
        where = f"{file.display}:{line}: extends"
        if isinstance(extends, str):
            return file, self.text(extends, where)
        name = self.text(extends["service"], where)
        if "file" not in extends:
            return file, name
        return self.load(file.folder, self.text(extends["file"], where), where), name

    def text(self, value: str, where: str) -> str:
        """`value` interpolated; `InputError` when a variable is unset (a file to read cannot be guessed)."""
        try:
            resolved = interpolate(value, self.environment)
        except TemplateError as exc:
            raise InputError(f"{where}: {exc}") from None
        if isinstance(resolved, Unresolved):
            raise InputError(f"{where} depends on unset variable {', '.join(resolved.variables)}:"
                             " the file it names cannot be known")
        return resolved

    def load(self, folder: FilePath, reference: str, where: str) -> ComposeFile:
        """The compose file `reference` names, relative to `file`, read once, never outside the boundary."""
        if "://" in reference or reference.startswith("git@"):
            raise InputError(f"{where}: '{shown(reference)}' is remote: gates never fetches a file")
        target = folder / reference
        real = os.path.realpath(target)
        boundary = _boundary(folder)
        if os.path.commonpath([real, boundary]) != boundary:
            raise InputError(f"{where}: '{shown(reference)}' lies outside {display_path(FilePath(boundary))}:"
                             " not read")
        cached = self.files.get(real)
        if cached is None:
            display = shown(display_path(target))
            try:
                cached = parse(display, read_text(real, self.max_file_bytes), FilePath(real).parent)
            except InputError as exc:
                cached = InputError(f"{display}: {exc}")
            self.files[real] = cached
        if isinstance(cached, InputError):
            raise InputError(f"{where}: {cached}")
        return cached


def _boundary(folder: FilePath) -> str:
    """The folder `extends` may read below: the working directory, or the file's own folder outside it."""
    cwd, real = os.path.realpath(os.getcwd()), os.path.realpath(folder)
    return cwd if os.path.commonpath([real, cwd]) == cwd else real
