"""The JSON report's schema: shipped in the package, linked from the README, and strict enough to matter."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from gates.model import Report
from gates.reporters import Format, renderer
from gates.reporters.json_report import SCHEMA_FILE, schema_text
from tests.conftest import REPO
from tests.reporters.conftest import context, hand_report, manifest_report
from tests.support.report_schema import JsonReports, schema_errors, validate_report


def _json(report: Report, root: Path) -> Any:
    return json.loads(renderer(Format.JSON)(report, context(root)))


def test_reports_of_every_shape_validate(project: Path) -> None:
    for report in (hand_report(project), manifest_report()):
        assert schema_errors(_json(report, project)) == []


@pytest.mark.parametrize(("change", "refused"), [
    (lambda r: r.update(outcome="maybe"), "outcome"),
    (lambda r: r.pop("summary"), "(top)"),
    (lambda r: r.update(extra=1), "(top)"),
    (lambda r: r["results"][0].update(outcome="error", error=None), "results/0/error"),
    (lambda r: r["results"][0]["findings"][0].update(severity="urgent"), "results/0/findings/0/severity"),
    (lambda r: r["results"][0]["findings"][4].update(blocking=True), "results/0/findings/4/blocking"),
    (lambda r: r["results"][0]["findings"][0]["location"].update(line=0), "results/0/findings/0/location/line"),
    (lambda r: r["summary"]["results"].pop("skipped"), "summary/results"),
    (lambda r: r.update(generated="yesterday"), "generated"),
])
def test_the_schema_refuses_what_no_report_may_say(tmp_path: Path, change: Any, refused: str) -> None:
    report = _json(hand_report(tmp_path), tmp_path)
    assert report["results"][0]["findings"][4]["waived"] is not None  # the waived one
    broken = copy.deepcopy(report)
    change(broken)
    errors = schema_errors(broken)
    assert errors and any(e.startswith(f"{refused}:") for e in errors), errors


def test_the_helpers_fail_a_run_whose_report_does_not_validate(tmp_path: Path) -> None:
    """The check in `cli` / `run_process` is not vacuous: a stdout report or a written file that breaks
    the schema fails the test that produced it."""
    good = renderer(Format.JSON)(hand_report(tmp_path), context(tmp_path))
    bad = good.replace('"outcome":"failed"', '"outcome":"bad"', 1)
    with pytest.raises(pytest.fail.Exception, match="outcome"):
        JsonReports(["manifests", "--format", "json", "k8s"], tmp_path).check(1, bad)
    with pytest.raises(pytest.fail.Exception, match="not JSON"):
        JsonReports(["manifests", "-f", "json", "k8s"], tmp_path).check(1, good[:-20])
    watched = JsonReports(["manifests", "k8s", "--output", "json=out/r.json"], tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "r.json").write_text(bad, encoding="utf-8")
    with pytest.raises(pytest.fail.Exception, match=r"r\.json"):
        watched.check(1, "console text")
    JsonReports(["manifests", "--format", "json", "k8s"], tmp_path).check(2, "")  # a usage error prints none
    assert validate_report(good, "stdout")["schema"] == "gates/report/v1"


def test_the_schema_is_shipped_in_the_package(tmp_path: Path) -> None:
    """Built as a wheel from a copy of the sources: the schema is in it, where `schema_text` reads it.

    Needs pip to reach the package index for the build requirement (`setuptools>=68`, in an isolated
    build environment, as a release build does)."""
    source = tmp_path / "src"
    shutil.copytree(REPO / "gates", source / "gates", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                            "-w", str(tmp_path / "dist"), str(source)], capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("gates-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = archive.read(f"gates/{SCHEMA_FILE}").decode("utf-8")
    assert shipped == schema_text() == (REPO / "gates" / SCHEMA_FILE).read_text(encoding="utf-8")
    assert json.loads(shipped)["properties"]["schema"] == {"const": "gates/report/v1"}


def test_the_readme_links_the_schema() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"(gates/{SCHEMA_FILE})" in readme
