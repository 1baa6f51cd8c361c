"""The registry's tables load each gate's options only when a lookup or a listing reaches that gate.

A manifest scan must not pay for importing the image gates' option schemas (and what they import);
listed in full, the tables are exactly what building them all at once gives.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from gates.checks import GATES, _Tables, config_schema
from gates.config import REGISTRY_TABLE

REPO = Path(__file__).resolve().parents[2]

_OPTIONS_LOADED = (
    "import sys\n"
    "from gates.entry import main\n"
    "code = main(sys.argv[1:])\n"
    "print('OPTIONS', sorted(m for m in sys.modules if m.startswith('gates.checks.') and m.endswith('.options')))\n"
)


def _options_after(tmp_path: Path, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-c", _OPTIONS_LOADED, *args], cwd=tmp_path, capture_output=True,
                          text=True, check=False, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    lines = [line for line in proc.stdout.splitlines() if line.startswith("OPTIONS")]
    assert lines, proc.stderr
    return lines[-1]


def test_a_scan_without_configuration_loads_only_the_manifest_options(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()  # the configuration search stops here
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    assert _options_after(tmp_path, "manifests", "cm.yaml", "--format", "json") == \
        "OPTIONS ['gates.checks.manifests.options']"


def test_a_configured_image_table_loads_the_options_up_to_its_gate(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    (tmp_path / "gates.toml").write_text("[signature]\n")
    out = _options_after(tmp_path, "manifests", "cm.yaml", "--format", "json")
    assert "gates.checks.signature.options" in out and "gates.checks.cluster.options" not in out


def test_listed_in_full_the_tables_are_every_gate_s_in_registry_order() -> None:
    from gates import baseline

    eager: dict[str, Any] = {"registry": REGISTRY_TABLE, baseline.TABLE: baseline.TABLE_SCHEMA}
    for gate in GATES.values():
        eager.update(gate.config_tables())
    tables = config_schema().tables
    assert list(tables) == list(eager)
    assert dict(tables) == eager and len(tables) == len(eager)
    assert "no-such-table" not in tables


def _gate(name: str, *tables: str) -> Any:
    return SimpleNamespace(NAME=name, config_tables=lambda: {table: {} for table in tables})


def test_a_lookup_loads_no_gate_after_the_one_declaring_the_table() -> None:
    def boom() -> dict[str, Any]:
        raise AssertionError("loaded a gate the lookup did not need")

    tables = _Tables({}, [_gate("a", "a"), _gate("b", "b", "b-extra"), SimpleNamespace(NAME="c", config_tables=boom)])
    assert tables["b-extra"] == {}
    with pytest.raises(AssertionError, match="did not need"):
        list(tables)


def test_a_table_two_gates_declare_is_refused() -> None:
    tables = _Tables({}, [_gate("a", "shared"), _gate("b", "shared")])
    with pytest.raises(RuntimeError, match=r"gate b: table \[shared\] is declared twice"):
        len(tables)
