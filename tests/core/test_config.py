"""Configuration discovery, validation and precedence (file < GATES_* environment < flags)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gates.checks import load_config as load
from gates.config import find_config
from gates.errors import ConfigError
from gates.model import Severity
from tests.manifests.helpers import compliant_pod_spec, wrap, write


def test_found_upward_but_not_past_the_repository_root(tmp_path: Path) -> None:
    (tmp_path / "gates.toml").write_text('fail-on = "high"\n')
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "sub" / "deeper").mkdir(parents=True)
    assert find_config(repo / "sub" / "deeper") is None
    (repo / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert find_config(repo / "sub") is None  # a pyproject without [tool.gates] is not ours
    (repo / "pyproject.toml").write_text('[tool.gates]\nfail-on = "critical"\n')
    assert find_config(repo / "sub" / "deeper") == repo / "pyproject.toml"
    assert load(cwd=repo / "sub", env={}).fail_on is Severity.CRITICAL
    (repo / "sub" / "gates.toml").write_text('fail-on = "medium"\n')
    assert load(cwd=repo / "sub" / "deeper", env={}).fail_on is Severity.MEDIUM


@pytest.mark.parametrize(("body", "message"), [
    ('fail_on = "high"\n', "gates.toml: fail_on: unknown key"),
    ('fail-on = "urgent"\n', "gates.toml: fail-on: must be one of"),
    ('[manifests]\nlevel = "strict"\n', "gates.toml: manifests.level: must be one of 'baseline', 'restricted'"),
    ('[manifests]\npaths = 3\n', "gates.toml: manifests.paths: must be a list of strings, found 3"),
    ('[manifests]\nlevl = "baseline"\n', "gates.toml: manifests.levl: unknown key"),
    ('gates = ["manifests", "magic"]\n', "unknown gate 'magic'"),
    ('[output]\nhtml = "x.html"\n', "output.html: unknown format"),
    ('[[waivers]]\nrule = "x"\nreason = "r"\nexpires = "soon"\n', "waivers[1].expires: must be a date"),
    ('[[waivers]]\nreason = "r"\n', "waivers[1].rule: a waiver must name the rule"),
    ("fail-on = \n", "gates.toml: invalid TOML"),
    ("[registry]\ntimeout = 0\n", "registry.timeout: must be a positive integer, found 0"),
    ("[registry]\nconcurrency = 0\n", "registry.concurrency: must be a positive integer, found 0"),
])
def test_invalid_configuration_names_key_and_file(tmp_path: Path, body: str, message: str) -> None:
    (tmp_path / "gates.toml").write_text(body)
    with pytest.raises(ConfigError) as caught:
        load(cwd=tmp_path, env={})
    assert message in str(caught.value)
    assert str(tmp_path / "gates.toml") in str(caught.value)


def test_pyproject_errors_name_the_tool_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.gates]\nfail-on = 3\n')
    with pytest.raises(ConfigError, match=r"pyproject.toml: tool.gates.fail-on: must be one of"):
        load(cwd=tmp_path, env={})


def test_environment_overrides_file_and_flags_override_environment(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    spec = compliant_pod_spec()
    spec["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True  # restricted-only, high
    write(tmp_path, "p.yaml", wrap("Pod", spec))
    (tmp_path / "gates.toml").write_text('[manifests]\nlevel = "baseline"\n')
    assert cli(["manifests", "p.yaml"]).code == 0
    monkeypatch.setenv("GATES_LEVEL", "restricted")
    assert cli(["manifests", "p.yaml"]).code == 1
    assert cli(["manifests", "p.yaml", "--level", "baseline"]).code == 0
    monkeypatch.setenv("GATES_FAIL_ON", "critical")
    assert cli(["manifests", "p.yaml"]).code == 0
    assert cli(["manifests", "p.yaml", "--fail-on", "high"]).code == 1
    monkeypatch.setenv("GATES_FORMAT", "json")
    assert json.loads(cli(["manifests", "p.yaml"]).out)["schema"] == "gates/report/v1"
    monkeypatch.setenv("GATES_FORMAT", "yaml")
    bad = cli(["manifests", "p.yaml"])
    assert bad.code == 2 and "GATES_FORMAT" in bad.err


def test_run_uses_configured_paths_and_outputs(cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".git").mkdir()
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    write(deploy, "p.yaml", wrap("Pod", compliant_pod_spec()))
    bad = compliant_pod_spec()
    bad["hostPID"] = True
    write(tmp_path, "elsewhere.yaml", wrap("Pod", bad))
    (tmp_path / "gates.toml").write_text(
        '[manifests]\npaths = ["deploy"]\n[output]\njson = "reports/gates.json"\njunit = "reports/junit.xml"\n')
    sub = tmp_path / "deploy"
    monkeypatch.chdir(sub)
    run = cli(["run"])
    assert run.code == 0, run.out
    report = json.loads((tmp_path / "reports" / "gates.json").read_text())
    assert [r["target"] for r in report["results"]] == ["p.yaml#Pod/shop/web"]
    assert (tmp_path / "reports" / "junit.xml").exists()


def test_manifests_without_paths_scans_the_configured_ones(cli: Any, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "deploy").mkdir()
    bad = compliant_pod_spec()
    bad["hostPID"] = True
    write(tmp_path / "deploy", "p.yaml", wrap("Pod", bad))
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "ci.yml").write_text("on: push\njobs: {}\n")
    monkeypatch.chdir(tmp_path)
    run = cli(["manifests", "--format", "json"])  # no config: the whole repository, other YAML ignored
    assert run.code == 1
    assert [r["target"] for r in json.loads(run.out)["results"]] == ["deploy/p.yaml#Pod/shop/web"]
    (tmp_path / "gates.toml").write_text('[manifests]\npaths = [".github"]\n')
    assert "checked nothing" in cli(["manifests"]).out
