"""The shape ARCHITECTURE.md promises: core modules know no gate, imports form no circle, and every
registered gate is complete (rules with explain text, config table, job, CLI command, README rows)."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gates.checks import GATES, config_schema, load_config
from gates.cli import main
from gates.engine import GateJob
from gates.gate import RunFlags

PACKAGE = Path(__file__).resolve().parents[2] / "gates"
README = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
CORE = ("config", "engine", "model", "runner")
COMMON_FLAGS = ("--config ", "--config-ref", "--format", "--output", "--fail-on", "--verbose", "--color",
                "--allow-output-outside-workspace", "--shard", "--baseline")
"""Flags every gate command takes (each command declares them: this keeps them from drifting apart)."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, module: str) -> Iterator[str]:
    """Every module `module` imports, at the top or inside a function; not what only type checking sees."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (name for child in node.orelse for name in _imports(child, module))
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:
                package = module.rsplit(".", node.level)[0]
                base = f"{package}.{node.module}"
            for alias in node.names:
                yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
        yield from _imports(node, module)


def _graph() -> dict[str, set[str]]:
    return {name: {i for i in _imports(ast.parse(path.read_text(encoding="utf-8")), name) if i in MODULES} - {name}
            for name, path in MODULES.items()}


def test_core_modules_load_no_gate() -> None:
    code = ("import sys, gates.config, gates.engine, gates.model, gates.runner; "
            "print(sorted(m for m in sys.modules if m.startswith('gates.checks')))")
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True,
                         cwd=PACKAGE.parent).stdout
    assert out.strip() == "[]"


def test_config_imports_no_gate_module_even_lazily() -> None:
    assert not {i for i in _graph()["gates.config"] if i.startswith("gates.checks")}


def test_the_package_s_imports_form_no_circle() -> None:
    graph = _graph()
    done: set[str] = set()

    def visit(name: str, stack: list[str]) -> None:
        if name in stack:
            raise AssertionError("import circle: " + " -> ".join([*stack[stack.index(name):], name]))
        if name in done:
            return
        for imported in sorted(graph[name]):
            visit(imported, [*stack, name])
        done.add(name)

    for module in sorted(graph):
        visit(module, [])


def test_the_circle_check_sees_lazy_imports() -> None:
    """The check above would miss the old config <-> gate circle if it read only top-level imports."""
    tree = ast.parse("def f():\n    from gates.config import Config\n")
    assert list(_imports(tree, "gates.checks.x")) == ["gates.config"]


@pytest.mark.parametrize("core", CORE)
def test_no_gate_name_is_a_literal_of_the_core(core: str) -> None:
    names = {*GATES, *(t for t in config_schema().tables if t != "registry")}
    tree = ast.parse(MODULES[f"gates.{core}"].read_text(encoding="utf-8"))
    literals = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert not names & literals


def _minimal_config(gate: str, tmp_path: Path) -> str:
    """The least configuration under which `gate` builds its job; a new gate adds its line here."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    (tmp_path / "cosign.pub").write_bytes(key.public_bytes(serialization.Encoding.PEM,
                                                           serialization.PublicFormat.SubjectPublicKeyInfo))
    return {
        "manifests": "",
        "compose": "",
        "cluster": "",
        "base-image": '[base-image]\nimages = ["127.0.0.1:1/app:1"]\n',
        "signature": ('[signature]\nimages = ["127.0.0.1:1/app:1"]\n[[signature.policies]]\nimages = ["*"]\n'
                      '[[signature.policies.authorities]]\nkey = "cosign.pub"\n'),
        "vulnerabilities": '[vulnerabilities]\nreports = ["trivy.json"]\n',
    }[gate]


@pytest.mark.parametrize("name", list(GATES))
def test_every_gate_is_complete(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gate = GATES[name]
    assert name == gate.NAME and gate.SUMMARY and isinstance(gate.NEEDS_NETWORK, bool)
    assert gate.RULES, "a gate without rules can report nothing"
    assert name in gate.config_tables(), "its own [table] first"
    for rule in gate.RULES:
        assert rule.gate == name and rule.title and rule.rationale and rule.remediation
        assert f"| `{rule.id}` |" in README, f"README has no table row for {rule.id}"
        assert main(["explain", rule.id]) == 0
        assert rule.rationale.split()[0] in capsys.readouterr().out
    assert f"| `gates {name}" in README, f"README's command table has no row for gates {name}"
    assert main([name, "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert gate.SUMMARY in help_text
    for flag in COMMON_FLAGS:
        assert flag in help_text, f"gates {name} lacks the common flag {flag}"
    (tmp_path / "gates.toml").write_text(_minimal_config(name, tmp_path), encoding="utf-8")
    job = gate.build_job(load_config(tmp_path / "gates.toml", env={}), RunFlags(paths=(str(tmp_path),)))
    assert isinstance(job, GateJob) and job.name == name
