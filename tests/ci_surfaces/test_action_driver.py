"""The script behind the GitHub Actions: inputs become argv items, outputs come from the JSON report."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gates_action", REPO / "actions" / "common" / "gates_action.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


driver = _load()


def test_args_from_inputs() -> None:
    env = {"GATES_ACTION_TARGETS": "k8s\n\n  deploy/app.yaml  \n", "GATES_ACTION_FAIL_ON": "high",
           "GATES_ACTION_LEVEL": "baseline", "GATES_ACTION_SARIF": "out.sarif", "GATES_ACTION_JUNIT": "",
           "GATES_ACTION_EXTRA_ARGS": "--exclude\nvendor/* $(rm -rf /)\n"}
    args = driver.build_args("manifests", env, "/tmp/r.json")
    assert args == ["manifests", "k8s", "deploy/app.yaml", "--fail-on", "high", "--level", "baseline",
                    "--format", "console", "--output", "json=/tmp/r.json", "--output", "sarif=out.sarif",
                    "--exclude", "vendor/* $(rm -rf /)"]


@pytest.mark.parametrize(("command", "env", "problem"), [
    ("run", {"GATES_ACTION_TARGETS": "a\nb"}, "one path"),
    ("signature", {}, "input images: nothing to check"),
    ("manifests", {"GATES_ACTION_TARGETS": "--config=/etc/x"}, "looks like an option"),
    ("manifests", {"GATES_ACTION_TARGETS": "k8s", "GATES_ACTION_FAIL_ON": "severe"}, "fail-on"),
    ("deploy", {}, "unknown command"),
])
def test_bad_inputs(command: str, env: dict[str, str], problem: str) -> None:
    with pytest.raises(driver.ActionError, match=problem):
        driver.build_args(command, env, "r.json")


def test_level_only_for_manifest_gates() -> None:
    args = driver.build_args("signature", {"GATES_ACTION_TARGETS": "ghcr.io/a/b:1", "GATES_ACTION_LEVEL": "baseline"},
                             "r.json")
    assert "--level" not in args


def test_gate_inputs_become_single_argv_items() -> None:
    env = {"GATES_ACTION_TARGETS": "ghcr.io/a/b:1", "GATES_ACTION_KEY": " cosign.pub ",
           "GATES_ACTION_CERTIFICATE_IDENTITY_REGEXP": "-x $(id)", "GATES_ACTION_CERTIFICATE_OIDC_ISSUER": "",
           "GATES_ACTION_TRUSTED_ROOT": "root.json", "GATES_ACTION_DOCKERFILE": "Dockerfile"}
    args = driver.build_args("signature", env, "r.json")
    assert args[:5] == ["signature", "ghcr.io/a/b:1", "--key=cosign.pub", "--certificate-identity-regexp=-x $(id)",
                        "--trusted-root=root.json"]
    assert not any(a.startswith(("--dockerfile", "--certificate-oidc-issuer")) for a in args)
    base = driver.build_args("base-image", {**env, "GATES_ACTION_NOW": "2026-01-31"}, "r.json")
    assert base[:4] == ["base-image", "ghcr.io/a/b:1", "--dockerfile=Dockerfile", "--now=2026-01-31"]
    assert not any(a.startswith("--key") for a in base)
    assert not any(a.startswith(("--key", "--dockerfile")) for a in driver.build_args("manifests", env, "r.json"))


def test_a_single_value_input_takes_one_line() -> None:
    env = {"GATES_ACTION_TARGETS": "ghcr.io/a/b:1", "GATES_ACTION_KEY": "a.pub\nb.pub"}
    with pytest.raises(driver.ActionError, match="input key: one value expected"):
        driver.build_args("signature", env, "r.json")


def test_outputs_from_report(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    report.write_text(json.dumps({"outcome": "failed", "summary": {
        "results": {"passed": 2, "failed": 1, "error": 0, "skipped": 1}, "findings": 5, "blocking": 3,
        "waived": 1}}), encoding="utf-8")
    values = driver.outputs(report, 1, {"GATES_ACTION_SARIF": "g.sarif"})
    assert values["outcome"] == "failed" and values["blocking"] == "3" and values["skipped"] == "1"
    assert values["sarif-file"] == "g.sarif" and values["junit-file"] == ""
    missing = driver.outputs(tmp_path / "none.json", 2, {})
    assert missing["outcome"] == "error" and missing["exit-code"] == "2" and missing["json-file"] == ""
    out = tmp_path / "github_output"
    driver.write_outputs(values, {"GITHUB_OUTPUT": str(out)})
    assert "outcome=failed\n" in out.read_text(encoding="utf-8")


def test_truthy() -> None:
    assert driver.truthy("True", "fail") and not driver.truthy(" false ", "fail")
    with pytest.raises(driver.ActionError):
        driver.truthy("maybe", "fail")


def test_source_key_tracks_the_code() -> None:
    assert driver.source_key() == driver.source_key()
    assert len(driver.source_key()) == 16
