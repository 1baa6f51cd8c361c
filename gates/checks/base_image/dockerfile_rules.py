"""The base-image gate's Dockerfile rules: what the instructions of the Dockerfile an image was built from say.

Read as BuildKit reads them (`gates.targets.dockerfile`): continuation lines joined, heredoc bodies kept
with their RUN. Each check returns the line to change; a credential's value is never part of a message.
"""

from __future__ import annotations

import itertools
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

from gates.checks.base_image import rules as R
from gates.targets.dockerfile import Dockerfile, Instruction


@dataclass(frozen=True)
class DockerfileFinding:
    rule: str
    line: int
    message: str


def check(dockerfile: Dockerfile, enabled: frozenset[str] | None = None) -> list[DockerfileFinding]:
    """Every finding of the Dockerfile rules in `enabled` (default: all), in line order."""
    wanted = frozenset(R.DOCKERFILE_RULES) if enabled is None else enabled
    found: list[DockerfileFinding] = []
    if R.DOCKERFILE_ROOT in wanted:
        found.extend(_root_user(dockerfile))
    for instruction in dockerfile.instructions:
        if instruction.keyword == "RUN":
            found.extend(f for f in _run(instruction) if f.rule in wanted)
        elif instruction.keyword == "ADD" and R.DOCKERFILE_REMOTE_ADD in wanted:
            found.extend(_remote_add(instruction))
        elif instruction.keyword in ("ENV", "ARG") and R.DOCKERFILE_CREDENTIAL in wanted:
            found.extend(_secrets(instruction))
    return sorted(found, key=lambda f: (f.line, f.rule))


# --- USER ---------------------------------------------------------------------------------------


def _is_root(user: str) -> bool:
    name = user.split(":", 1)[0].strip("\"'")
    return name == "root" or (name.isdigit() and int(name) == 0)


def _root_user(dockerfile: Dockerfile) -> Iterator[DockerfileFinding]:
    """The last USER of the final stage, or of the stages it builds on (FROM builder), in that order."""
    chain = []
    stage = dockerfile.final_stage
    while True:
        chain.append(stage.index)
        if stage.parent is None:
            break
        stage = dockerfile.stages[stage.parent]
    for index in chain:
        users = [i for i in dockerfile.instructions if i.stage == index and i.keyword == "USER"]
        if users:
            last = users[-1]
            shown = last.rest.split()[0] if last.rest.split() else ""
            if "$" not in shown and _is_root(shown):
                yield DockerfileFinding(R.DOCKERFILE_ROOT, last.line,
                                        f"the final stage's last USER is {shown[:40]}: the image runs as root")
            return
    final = dockerfile.final_stage
    yield DockerfileFinding(R.DOCKERFILE_ROOT, final.line,
                            f"the final stage (FROM {final.image[:100]}) sets no USER: the image runs as its "
                            "base's user, root for most bases")


# --- RUN ----------------------------------------------------------------------------------------


def _split_flags(rest: str) -> tuple[list[str], str]:
    """`--flag=value` words before the command, and the command."""
    flags = []
    text = rest
    while text.startswith("--"):
        word, _, text = text.partition(" ")
        flags.append(word)
        text = text.lstrip()
    return flags, text


def _command_text(instruction: Instruction, command: str) -> str:
    """The shell text a RUN executes: its exec form's words, or its shell form, plus heredoc bodies."""
    if command.startswith("["):
        try:
            words = json.loads(command)
        except ValueError:
            words = None
        if isinstance(words, list) and all(isinstance(w, str) for w in words):
            command = " ".join(words)
    return f"{command}\n{instruction.heredoc}" if instruction.heredoc else command


_FETCH = re.compile(r"(?:^|[\s/])(?:curl|wget)(?:\s|$)")
_INTERPRETER = re.compile(r"^(?:sudo\s+(?:-\S+\s+)*)?(?:env\s+)?(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*(?:\S*/)?"
                          r"(?:(?:ba|z|k|da|a)?sh|python[0-9.]*|perl|ruby|node|php)(?:\s|$)")
_SUBSTITUTED = re.compile(r"(?:^|\s)(?:(?:ba|z|k|da|a)?sh|\.|source|python[0-9.]*)\s+(?:-\S+\s+)*"
                          r"(?:<\(\s*|[\"']?\$\(\s*)(?:\S*/)?(?:curl|wget)\s")
_COMMANDS = re.compile(r"&&|\|\||;|\n")


def _pipes_download_to_shell(text: str) -> bool:
    """`curl URL | sh`, `wget -qO- URL | sudo bash -s --`, `sh -c "$(curl URL)"`, `bash <(curl URL)`."""
    if _SUBSTITUTED.search(text):
        return True
    for command in _COMMANDS.split(text):
        stages = [stage.strip() for stage in command.split("|")]
        for number, stage in enumerate(stages[:-1]):
            if _FETCH.search(f" {stage} ") and any(_INTERPRETER.match(later) for later in stages[number + 1:]):
                return True
    return False


def _run(instruction: Instruction) -> Iterator[DockerfileFinding]:
    flags, command = _split_flags(instruction.rest)
    for flag in flags:
        key, _, value = flag[2:].partition("=")
        if key == "security" and value.strip("\"'") == "insecure":
            yield DockerfileFinding(R.DOCKERFILE_INSECURE_RUN, instruction.line,
                                    "RUN --security=insecure runs the step outside the build sandbox")
    text = _command_text(instruction, command)
    if _pipes_download_to_shell(text):
        yield DockerfileFinding(R.DOCKERFILE_PIPE_TO_SHELL, instruction.line,
                                "RUN pipes a download (curl or wget) into a shell or interpreter unverified")
    if any(_installs_recommends(segment) for command in _COMMANDS.split(text) for segment in command.split("|")):
        yield DockerfileFinding(R.DOCKERFILE_INSTALL_RECOMMENDS, instruction.line,
                                "apt-get install without --no-install-recommends")


def _installs_recommends(segment: str) -> bool:
    words = segment.split()
    if "apt-get" not in words:
        return False
    after = words[words.index("apt-get") + 1:]
    verbs = [w for w in after if not w.startswith("-")]
    if not verbs or verbs[0] != "install":
        return False
    if "--no-install-recommends" in after:
        return False
    return not any(re.fullmatch(r"(?i)(?:-o)?APT::Install-Recommends=(?:false|0|no|off)[\"']?", w.strip("\"'"))
                   for w in after)


# --- ADD ----------------------------------------------------------------------------------------

_REMOTE = re.compile(r"^(?:https?|ftp)://", re.IGNORECASE)
_GIT = re.compile(r"^(?:git@|git://|ssh://)|\.git(?:#|$)", re.IGNORECASE)
_PINNED_GIT = re.compile(r"#[0-9a-f]{40}(?::|$)")


def _remote_add(instruction: Instruction) -> Iterator[DockerfileFinding]:
    flags, text = _split_flags(instruction.rest)
    if any(flag.startswith("--checksum=") and len(flag) > len("--checksum=") for flag in flags):
        return
    sources = _add_sources(text)
    for source in sources:
        if _GIT.search(source):
            if not _PINNED_GIT.search(source):
                yield DockerfileFinding(R.DOCKERFILE_REMOTE_ADD, instruction.line,
                                        f"ADD {_shown(source)} adds a git source pinned neither by a commit nor "
                                        "by --checksum")
        elif _REMOTE.match(source):
            yield DockerfileFinding(R.DOCKERFILE_REMOTE_ADD, instruction.line,
                                    f"ADD {_shown(source)} downloads without --checksum")


def _add_sources(text: str) -> list[str]:
    if text.startswith("["):
        try:
            words = json.loads(text)
        except ValueError:
            words = None
        if isinstance(words, list) and all(isinstance(w, str) for w in words):
            return list(words[:-1])
    words = text.split()
    return words[:-1]


def _shown(url: str) -> str:
    """A URL for a message: without a password, a token as the user name, or a query (signed URLs), and short."""
    cleaned = re.sub(r"(://[^/@\s:]*):[^/@\s]*@", r"\1:***@", url)
    cleaned = re.sub(r"://[^/@\s:]+@", "://***@", cleaned)  # a user name alone is often a token
    cleaned = re.sub(r"\?[^#\s]*", "?***", cleaned)
    return cleaned if len(cleaned) <= 120 else cleaned[:117] + "..."


# --- ENV and ARG --------------------------------------------------------------------------------

_SECRET_PARTS = {"password", "passwd", "pwd", "pword", "secret", "secrets", "token", "apikey", "credential",
                 "credentials", "auth", "passphrase"}
_SECRET_PAIRS = {("api", "key"), ("access", "key"), ("private", "key"), ("secret", "key"), ("signing", "key"),
                 ("client", "secret")}
_HARMLESS_LAST = {"file", "path", "dir", "url", "uri", "name", "user", "username", "length", "type", "enabled",
                  "required", "mode", "method", "id", "env", "version", "endpoint", "header", "host"}
# Bounded before each literal: an unbounded run there backtracks quadratically over a long value.
_SECRET_VALUES = re.compile(
    r"AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}"
    r"|glpat-[A-Za-z0-9_-]{20,}|xox[abposr]-[A-Za-z0-9-]{10,}|npm_[A-Za-z0-9]{36}|sk_live_[A-Za-z0-9]{16,}"
    r"|AIza[0-9A-Za-z_-]{35}|-----BEGIN [A-Z ]{0,30}PRIVATE KEY|[a-z][a-z0-9+.-]{0,20}://[^/@\s:]+:[^/@\s$]+@")


def _name_parts(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [p for p in re.split(r"[_\-.]+", spaced.lower()) if p]


def secret_name(name: str) -> bool:
    """Whether an ENV/ARG name says it holds a credential (`DB_PASSWORD`, `npmToken`, `AWS_SECRET_ACCESS_KEY`)."""
    parts = _name_parts(name)
    if not parts or parts[-1] in _HARMLESS_LAST:
        return False
    return any(p in _SECRET_PARTS for p in parts) or any(pair in _SECRET_PAIRS for pair in itertools.pairwise(parts))


def _pairs(instruction: Instruction) -> list[tuple[str, str | None]]:
    """(name, value) of ENV `K=V ...` / legacy `ENV K V`, or ARG `NAME[=default] ...` (None = no default)."""
    try:
        words = shlex.split(instruction.rest, posix=True)
    except ValueError:
        words = instruction.rest.split()
    if not words:
        return []
    if instruction.keyword == "ENV" and "=" not in words[0]:
        return [(words[0], " ".join(words[1:]))]
    pairs: list[tuple[str, str | None]] = []
    for word in words:
        name, eq, value = word.partition("=")
        pairs.append((name, value if eq else None))
    return pairs


def _secrets(instruction: Instruction) -> Iterator[DockerfileFinding]:
    for name, value in _pairs(instruction):
        shown = name[:60]
        if instruction.keyword == "ENV" and secret_name(name) and value:
            yield DockerfileFinding(R.DOCKERFILE_CREDENTIAL, instruction.line,
                                    f"ENV {shown} looks like a credential: its value is stored in the image config")
        elif instruction.keyword == "ARG" and secret_name(name):
            yield DockerfileFinding(R.DOCKERFILE_CREDENTIAL, instruction.line,
                                    f"ARG {shown} looks like a credential: build arguments stay in the image "
                                    "history")
        elif value and _SECRET_VALUES.search(value):
            yield DockerfileFinding(R.DOCKERFILE_CREDENTIAL, instruction.line,
                                    f"{instruction.keyword} {shown} has a value shaped like a credential (not shown)")
