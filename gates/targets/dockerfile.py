"""The base images a Dockerfile builds on, whether they are pinned, and its instructions per stage.

When an image carries no base annotations, its Dockerfile says what it was built from: the
final stage's FROM, followed through stages that build on earlier stages. Only what decides FROM
is parsed: parser directives (`# escape=`), comments, line continuations, heredocs (so their
bodies are not read as instructions), `ARG` before the first FROM with defaults and
`${VAR:-default}` forms, `--platform`, `AS name`, `scratch`. A FROM that cannot be understood
is an error naming FILE:LINE, never a guess. Every other instruction is kept as written (keyword,
text, heredoc bodies, the stage it belongs to) for the rules that read them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from gates.errors import InputError


class DockerfileError(InputError):
    """A Dockerfile instruction that decides the base image cannot be parsed (names FILE:LINE)."""


@dataclass(frozen=True)
class ImageReference:
    """A parsed image reference (`registry/repository[:tag][@digest]`), Docker Hub normalized."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        """`registry/repository`, the part `allowed` globs usually match."""
        return f"{self.registry}/{self.repository}"

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_image_reference(text: str) -> ImageReference | None:
    """Parse a reference as Docker does (`alpine` -> `docker.io/library/alpine`); None if invalid.

    The grammar is `gates.oci.reference`'s, so the gate and the registry client never disagree."""
    from gates.oci.errors import InvalidReferenceError
    from gates.oci.reference import parse_reference

    try:
        ref = parse_reference(text)
    except InvalidReferenceError:
        return None
    return ImageReference(ref.registry, ref.repository, ref.tag, str(ref.digest) if ref.digest else None)


@dataclass(frozen=True)
class Stage:
    """One FROM instruction and the stage it opens."""

    index: int
    line: int
    """1-based line of the FROM keyword."""
    image: str
    """The image after ARG substitution, as written otherwise."""
    written: str
    """The image text before substitution."""
    name: str | None = None
    """The `AS` name, lower-cased as Docker treats it."""
    platform: str | None = None
    parent: int | None = None
    """Index of the earlier stage this one builds on, when FROM names a stage."""
    reference: ImageReference | None = None
    """The external image, when FROM names neither a stage nor `scratch`."""

    @property
    def is_scratch(self) -> bool:
        return self.image.lower() == "scratch"


@dataclass(frozen=True)
class PinningProblem:
    """A FROM that is not reproducible."""

    line: int
    image: str
    reason: str


@dataclass(frozen=True)
class Instruction:
    """One instruction, continuation lines joined; its heredoc bodies beside it."""

    line: int
    keyword: str
    """Upper-cased (`RUN`)."""
    rest: str
    """The text after the keyword, flags included, as written."""
    stage: int | None = None
    """The index of the stage it belongs to; None before the first FROM."""
    heredoc: str = ""
    """The bodies of its heredocs (`RUN <<EOF ... EOF`), joined by newlines."""


@dataclass(frozen=True)
class Dockerfile:
    """The FROM structure of a Dockerfile, and its instructions."""

    path: str
    stages: tuple[Stage, ...]
    global_args: Mapping[str, str | None] = field(default_factory=dict)
    """ARGs declared before the first FROM, with their effective values."""
    instructions: tuple[Instruction, ...] = ()

    @property
    def final_stage(self) -> Stage:
        return self.stages[-1]

    def base_of(self, stage: Stage) -> Stage:
        """The FROM that names an external image (or `scratch`) under `stage`."""
        while stage.parent is not None:
            stage = self.stages[stage.parent]
        return stage

    @property
    def final_base(self) -> Stage:
        """The external base of the image this Dockerfile produces."""
        return self.base_of(self.final_stage)

    def external_stages(self) -> tuple[Stage, ...]:
        """FROMs that pull an image from a registry (not `scratch`, not a stage)."""
        return tuple(s for s in self.stages if s.reference is not None)

    def pinning_problems(self, *, require_digest: bool = True) -> tuple[PinningProblem, ...]:
        """Every external FROM that uses `latest` (or no tag) or, with `require_digest`, no digest."""
        problems = []
        for stage in self.external_stages():
            ref = stage.reference
            assert ref is not None
            if ref.tag == "latest":
                problems.append(PinningProblem(stage.line, stage.image, "uses the 'latest' tag"))
            elif ref.tag is None and ref.digest is None:
                problems.append(PinningProblem(stage.line, stage.image, "has no tag (means 'latest')"))
            if require_digest and ref.digest is None:
                problems.append(PinningProblem(stage.line, stage.image, "is not pinned by digest"))
        return tuple(problems)


_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9_-]*)\s*=\s*(.*?)\s*$")
_HEREDOC = re.compile(r"<<-?\s*([\"']?)([A-Za-z_][A-Za-z0-9_]*)\1")
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


_Instruction = Instruction


def _logical_lines(text: str, path: str) -> list[_Instruction]:
    """Instructions with continuations joined, comments and heredoc bodies dropped."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    escape = "\\"
    index = 0
    while index < len(lines):  # parser directives: only at the very top
        match = _DIRECTIVE.match(lines[index])
        if match is None:
            break
        if match.group(1).lower() == "escape":
            if match.group(2) not in ("\\", "`"):
                raise DockerfileError(f"{path}:{index + 1}: escape directive must be '\\' or '`'")
            escape = match.group(2)
        index += 1
    instructions: list[_Instruction] = []
    heredocs: list[str] = []
    bodies: list[list[str]] = []
    parts: list[str] = []
    start = 0
    for number, raw in enumerate(lines[index:], start=index + 1):
        if heredocs:
            if raw.strip() == heredocs[0]:
                heredocs.pop(0)
            else:
                bodies[-1].append(raw)
            continue
        stripped = raw.strip()
        if not parts and (not stripped or stripped.startswith("#")):
            continue
        if parts and stripped.startswith("#"):
            continue  # comment lines inside a continuation are dropped, as BuildKit does
        if not parts:
            start = number
        body = raw.rstrip()
        if body.endswith(escape) and not body.endswith(escape * 2):
            parts.append(body[:-1])
            continue
        parts.append(body)
        joined = " ".join(p.strip() for p in parts if p.strip())
        parts = []
        keyword, _, rest = joined.partition(" ")
        instructions.append(_Instruction(start, keyword.upper(), rest.strip()))
        bodies.append([])
        heredocs = [m.group(2) for m in _HEREDOC.finditer(rest)] if keyword.upper() != "FROM" else []
    if parts:
        joined = " ".join(p.strip() for p in parts if p.strip())
        keyword, _, rest = joined.partition(" ")
        instructions.append(_Instruction(start, keyword.upper(), rest.strip()))
        bodies.append([])
    return [dataclasses.replace(i, heredoc="\n".join(body)) if body else i
            for i, body in zip(instructions, bodies, strict=True)]


def _substitute(text: str, values: Mapping[str, str | None], where: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(4)
        value = values.get(name)
        operator, word = match.group(2), match.group(3) or ""
        if operator in (":-", "-"):
            unset = value is None or (operator == ":-" and value == "")
            return word if unset else (value or "")
        if operator in (":+", "+"):
            set_ = value is not None and (operator == "+" or value != "")
            return word if set_ else ""
        return value or ""

    if "$" not in text:
        return text
    try:
        return _VARIABLE.sub(replace, text)
    except re.error as exc:  # pragma: no cover - the pattern is fixed
        raise DockerfileError(f"{where}: cannot substitute variables in {text!r}") from exc


def _parse_arg(rest: str, where: str) -> list[tuple[str, str | None]]:
    if not rest:
        raise DockerfileError(f"{where}: ARG needs a name")
    declared: list[tuple[str, str | None]] = []
    for token in rest.split():
        name, eq, default = token.partition("=")
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            raise DockerfileError(f"{where}: invalid ARG name {name!r}")
        if eq and len(default) >= 2 and default[0] == default[-1] and default[0] in "\"'":
            default = default[1:-1]
        declared.append((name, default if eq else None))
    return declared


def parse_dockerfile(
    text: str | bytes, path: str = "Dockerfile", build_args: Mapping[str, str] | None = None
) -> Dockerfile:
    """The stages of a Dockerfile; `build_args` act like `docker build --build-arg`."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    overrides = dict(build_args or {})
    global_args: dict[str, str | None] = {}
    stages: list[Stage] = []
    names: dict[str, int] = {}
    kept: list[Instruction] = []
    for instruction in _logical_lines(text, path):
        where = f"{path}:{instruction.line}"
        stage = len(stages) if instruction.keyword == "FROM" else (len(stages) - 1 if stages else None)
        kept.append(dataclasses.replace(instruction, stage=stage))
        if instruction.keyword == "ARG":
            if stages:
                continue  # stage-scoped ARGs never reach a FROM
            for name, default in _parse_arg(instruction.rest, where):
                if name in overrides:
                    global_args[name] = overrides[name]
                elif default is not None:
                    global_args[name] = _substitute(default, global_args, where)
                else:
                    global_args[name] = None
            continue
        if instruction.keyword != "FROM":
            if not stages and instruction.keyword not in ("ARG",):
                keyword = instruction.keyword if instruction.keyword.isalpha() else repr(instruction.keyword[:40])
                raise DockerfileError(f"{where}: {keyword} before the first FROM (only ARG may come first)")
            continue
        stages.append(_parse_from(instruction, where, len(stages), global_args, names))
        if stages[-1].name is not None:
            names[stages[-1].name] = stages[-1].index
    if not stages:
        raise DockerfileError(f"{path}: no FROM instruction")
    return Dockerfile(path=path, stages=tuple(stages), global_args=global_args, instructions=tuple(kept))


def _parse_from(
    instruction: _Instruction,
    where: str,
    index: int,
    args: Mapping[str, str | None],
    names: Mapping[str, int],
) -> Stage:
    tokens = instruction.rest.split()
    platform = None
    while tokens and tokens[0].startswith("--"):
        flag = tokens.pop(0)
        key, eq, value = flag[2:].partition("=")
        if key != "platform" or not eq or not value:
            raise DockerfileError(f"{where}: unknown or empty FROM flag {flag!r}")
        platform = _substitute(value, args, where)
    if len(tokens) == 3 and tokens[1].lower() == "as":
        name = tokens[2].lower()
        if not re.match(r"^[a-z][a-z0-9_.-]*$", name):
            raise DockerfileError(f"{where}: invalid stage name {tokens[2]!r}")
    elif len(tokens) == 1:
        name = None
    else:
        got = instruction.rest if len(instruction.rest) <= 200 else instruction.rest[:200] + "..."
        raise DockerfileError(f"{where}: FROM expects 'IMAGE [AS NAME]', got {got!r}")
    written = tokens[0]
    image = _substitute(written, args, where)
    if not image:
        raise DockerfileError(f"{where}: FROM {written} resolves to an empty image name (ARG unset?)")
    if image.lower() in names:
        parent = names[image.lower()]
        return Stage(index, instruction.line, image, written, name, platform, parent=parent)
    if image.lower() == "scratch":
        return Stage(index, instruction.line, image, written, name, platform)
    if "$" in image:
        raise DockerfileError(f"{where}: FROM {written}: variable left unresolved")
    reference = parse_image_reference(image)
    if reference is None:
        raise DockerfileError(f"{where}: FROM {image!r} is not a valid image reference")
    return Stage(index, instruction.line, image, written, name, platform, reference=reference)
