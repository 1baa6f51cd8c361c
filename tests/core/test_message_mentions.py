"""Every flag and configuration key a message or help text names exists (issue 12: `ignore_tlog`).

The user-facing strings are every string literal in gates/ that is not a docstring or an attribute's
docstring (both read by developers), plus the help of every command and parameter of the CLI as
click builds it. In them:

- `--flag` must be a flag of some gates command (or one of the few other tools' flags listed below);
- `table.key` with a known table must name a key of that table;
- `key = ...` (TOML, as a hint to the user) must name a configuration key;
- `snake_case` spelling of a key or flag (`ignore_tlog` for `ignore-tlog`) is a misspelling.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import Any

import typer

from gates import config as config_module
from gates.checks import config_schema
from gates.checks.signature import attestations, policy
from gates.cli import app
from tests.conftest import REPO

FOREIGN_FLAGS = {
    "--platform": "Dockerfile `FROM --platform=`",
    "--checksum": "Dockerfile `ADD --checksum=`",
    "--security": "Dockerfile `RUN --security=insecure`",
    "--mount": "Dockerfile `RUN --mount=type=secret`",
    "--no-install-recommends": "apt-get's flag, named by the Dockerfile rule that asks for it",
    "--registry-referrers-mode": "cosign's flag, named where gates reads what it writes",
    "--ca-roots": "cosign's flag, named as the model of a policy key",
    "--ca-intermediates": "cosign's flag, named as the model of a policy key",
    "--no-verify": "git's `git push --no-verify`, in the hook's comment",
    "--type": "`cosign attest --type`, named in the remediation of attestation-missing",
    "--enable-helm": "kustomize's flag, named where gates says it never passes it",
}
"""Flags of other tools that gates' texts name on purpose."""

FOREIGN_FLAG_MODULES = {
    "gates/checks/cluster": "the cluster gate names the Kubernetes components' flags (kube-apiserver, etcd)",
}
"""Folders whose messages are about another tool's command line, not gates'."""

NESTED_TABLES = {
    "waivers": set(config_module._WAIVER_KEYS),
    "signature.policies": set(policy._POLICY_KEYS),
    "signature.policies.authorities": set(policy._AUTHORITY_KEYS),
    "signature.policies.attestations": set(attestations.ATTESTATION_KEYS),
    "signature.policies.attestations.conditions": set(attestations.CONDITION_KEYS),
    "signature.policies.attestations.authorities": set(policy._AUTHORITY_KEYS),
}
"""Arrays of tables a validator function reads, so the schema does not list their keys."""

_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]+")
_DOTTED = re.compile(r"(?<![\w./-])((?:tool\.gates\.)?[a-z][a-z0-9-]*)\.([a-z][a-z0-9-]*)(?![\w/(-]|\.[a-z])")
_ASSIGN = re.compile(r"(?<![\w.-])([a-z][a-z0-9-]*) = ")
_SNAKE = re.compile(r"(?<![\w.-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w(]|\.[a-z])")  # not trusted_root.json
_VALUES = {"true", "false"}
_FILE_TYPES = {"yaml", "yml", "json", "toml"}


def _commands(command: Any) -> Iterator[Any]:
    """The command and its subcommands (typer builds them on its own copy of click: duck-typed here)."""
    yield command
    for sub in getattr(command, "commands", {}).values():
        yield from _commands(sub)


def _cli() -> Any:
    return typer.main.get_command(app)


def known_flags() -> set[str]:
    flags = {"--help"}
    for command in _commands(_cli()):
        for param in command.params:
            flags.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("--"))
    return flags


def known_tables() -> dict[str, set[str]]:
    schema = config_schema()
    tables = {name: set(table) for name, table in schema.tables.items()}
    for dotted, keys in NESTED_TABLES.items():
        tables[dotted] = keys
        parent, _, child = dotted.rpartition(".")
        if parent:
            tables[parent].add(child)
    return tables


def known_keys() -> set[str]:
    keys = set(config_module._GENERAL_KEYS) | set(known_tables())
    for table in known_tables().values():
        keys |= table
    return keys


def _docstring_ids(tree: ast.AST) -> set[int]:
    """Bare string statements: module, class and function docstrings and attribute docstrings."""
    return {id(node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)}


def user_facing_strings() -> Iterator[tuple[str, str]]:
    """(where, text) for every user-facing string: literals outside docstrings, and the CLI's help."""
    for path in sorted((REPO / "gates").rglob("*.py")):
        if any(path.relative_to(REPO).as_posix().startswith(folder) for folder in FOREIGN_FLAG_MODULES):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _docstring_ids(tree)
        for node in ast.walk(tree):
            # a message has a space; a lone word is an argument (`--no-pager` to git)
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
                    and " " in node.value.strip()):
                yield f"{path.relative_to(REPO)}:{node.lineno}", node.value
    for command in _commands(_cli()):
        yield f"gates {command.name} help", command.help or ""
        for param in command.params:
            yield f"gates {command.name} {param.name} help", getattr(param, "help", None) or ""


def mention_problems(text: str, flags: set[str], tables: dict[str, set[str]], keys: set[str]) -> list[str]:
    problems = [f"flag {flag} does not exist" for flag in _FLAG.findall(text)
                if flag not in flags and flag not in FOREIGN_FLAGS]
    for table, key in _DOTTED.findall(text):
        table = table.removeprefix("tool.gates.")
        if table in tables and key not in tables[table] and key not in _FILE_TYPES:  # compose.yaml: a file
            problems.append(f"key {table}.{key} does not exist")
    problems += [f"key {key} does not exist" for key in _ASSIGN.findall(text) if key not in keys | _VALUES]
    dashed = keys | {flag.removeprefix("--") for flag in flags}
    problems += [f"{word} is spelled {word.replace('_', '-')}" for word in _SNAKE.findall(text)
                 if word.replace("_", "-") in dashed]
    return problems


def test_every_flag_and_key_a_message_names_exists() -> None:
    flags, tables, keys = known_flags(), known_tables(), known_keys()
    problems = [f"{where}: {problem}" for where, text in user_facing_strings()
                for problem in mention_problems(text, flags, tables, keys)]
    assert problems == []


def test_the_scan_finds_what_it_looks_for() -> None:
    """The checker itself: each kind of wrong mention is caught, the right ones pass."""
    flags, tables, keys = known_flags(), known_tables(), known_keys()
    assert "--insecure-ignore-tlog" in flags and "ignore-tlog" in tables["signature.policies.authorities"]
    assert mention_problems("set ignore-tlog = true (--insecure-ignore-tlog) in [signature.policies]",
                            flags, tables, keys) == []
    assert mention_problems("unless the policy sets ignore_tlog", flags, tables, keys) == [
        "ignore_tlog is spelled ignore-tlog"]
    assert mention_problems("pass --insecure-ignore-tlogs", flags, tables, keys) == [
        "flag --insecure-ignore-tlogs does not exist"]
    assert mention_problems("see signature.polices or base-image.max-age", flags, tables, keys) == [
        "key signature.polices does not exist", "key base-image.max-age does not exist"]
    assert mention_problems("or set allow-unmatch = true", flags, tables, keys) == [
        "key allow-unmatch does not exist"]


def test_strings_come_from_the_source_and_the_cli() -> None:
    seen = dict(user_facing_strings())
    assert any(where.startswith("gates/cosign/legacy.py:") for where in seen)
    assert "gates signature help" in seen
