"""The script behind the GitHub Actions: inputs become argv items, outputs come from the JSON report."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
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
    assert args == ["manifests", "--fail-on=high", "--level=baseline",
                    "--format", "console", "--output", "json=/tmp/r.json", "--output", "sarif=out.sarif",
                    "--exclude", "vendor/* $(rm -rf /)", "--", "k8s", "deploy/app.yaml"]


def test_targets_named_like_options_come_after_double_dash() -> None:
    env = {"GATES_ACTION_TARGETS": "--config=evil.toml\n-x\n*\nmy app.yaml", "GATES_ACTION_CONFIG": "-c.toml"}
    args = driver.build_args("manifests", env, "r.json")
    assert args[1] == "--config=-c.toml"  # one argv item: a value starting with "-" stays a value
    assert args[args.index("--"):] == ["--", "--config=evil.toml", "-x", "*", "my app.yaml"]
    assert args.count("--") == 1
    assert driver.build_args("run", {}, "r.json")[-1] == "--"


@pytest.mark.parametrize(("command", "env", "problem"), [
    ("run", {"GATES_ACTION_TARGETS": "a\nb"}, "one path"),
    ("signature", {}, "input images: nothing to check"),
    ("manifests", {"GATES_ACTION_TARGETS": "k8s\n-"}, "standard input"),
    ("manifests", {"GATES_ACTION_TARGETS": "k8s", "GATES_ACTION_EXTRA_ARGS": "--\n--config=x"}, "no '--'"),
    ("manifests", {"GATES_ACTION_TARGETS": "k8s", "GATES_ACTION_CONFIG": "a.toml\nb.toml"}, "input config: one"),
    ("manifests", {"GATES_ACTION_TARGETS": "k8s", "GATES_ACTION_FAIL_ON": "severe"}, "fail-on"),
    ("deploy", {}, "unknown command"),
    ("merge", {}, "input reports: nothing to check"),
])
def test_bad_inputs(command: str, env: dict[str, str], problem: str) -> None:
    with pytest.raises(driver.ActionError, match=problem):
        driver.build_args(command, env, "r.json")


def test_level_only_for_manifest_gates() -> None:
    args = driver.build_args("signature", {"GATES_ACTION_TARGETS": "ghcr.io/a/b:1", "GATES_ACTION_LEVEL": "baseline"},
                             "r.json")
    assert "--level" not in args


def test_merge_takes_the_reports_as_targets_and_no_threshold() -> None:
    env = {"GATES_ACTION_TARGETS": "shards/1.json\n-x.json\n", "GATES_ACTION_FAIL_ON": "high",
           "GATES_ACTION_LEVEL": "baseline", "GATES_ACTION_CONFIG": "gates.toml"}
    args = driver.build_args("merge", env, "r.json")
    assert args[:2] == ["merge", "--config=gates.toml"]  # the shards carry the fail-on they were judged by
    assert not any(a.startswith(("--fail-on", "--level")) for a in args)
    assert args[args.index("--"):] == ["--", "shards/1.json", "-x.json"]


def test_gate_inputs_become_single_argv_items() -> None:
    env = {"GATES_ACTION_TARGETS": "ghcr.io/a/b:1", "GATES_ACTION_KEY": " cosign.pub ",
           "GATES_ACTION_CERTIFICATE_IDENTITY_REGEXP": "-x $(id)", "GATES_ACTION_CERTIFICATE_OIDC_ISSUER": "",
           "GATES_ACTION_TRUSTED_ROOT": "root.json", "GATES_ACTION_DOCKERFILE": "Dockerfile"}
    args = driver.build_args("signature", env, "r.json")
    assert args[:4] == ["signature", "--key=cosign.pub", "--certificate-identity-regexp=-x $(id)",
                        "--trusted-root=root.json"]
    assert args[-2:] == ["--", "ghcr.io/a/b:1"]
    assert not any(a.startswith(("--dockerfile", "--certificate-oidc-issuer")) for a in args)
    base = driver.build_args("base-image", {**env, "GATES_ACTION_NOW": "2026-01-31"}, "r.json")
    assert base[:3] == ["base-image", "--dockerfile=Dockerfile", "--now=2026-01-31"]
    assert not any(a.startswith("--key") for a in base)
    assert not any(a.startswith(("--key", "--dockerfile")) for a in driver.build_args("manifests", env, "r.json"))


def test_attestation_and_notation_inputs_become_one_argv_item_each() -> None:
    env = {"GATES_ACTION_TARGETS": "ghcr.io/a/b:1", "GATES_ACTION_KEY": "cosign.pub",
           "GATES_ACTION_ATTESTATIONS": " slsaprovenance1 \n\nhttps://spdx.dev/Document\n",
           "GATES_ACTION_BUILDER_ID": "https://github.com/acme/api/.github/workflows/release.yml",
           "GATES_ACTION_SOURCE_URI": "github.com/acme/api",
           "GATES_ACTION_NOTATION_TRUST_POLICY": "trustpolicy.json", "GATES_ACTION_NOTATION_TRUST_STORE": "store"}
    args = driver.build_args("signature", env, "r.json")
    assert args[:8] == ["signature", "--key=cosign.pub",
                        "--builder-id=https://github.com/acme/api/.github/workflows/release.yml",
                        "--source-uri=github.com/acme/api", "--notation-trust-policy=trustpolicy.json",
                        "--notation-trust-store=store", "--attestation=slsaprovenance1",
                        "--attestation=https://spdx.dev/Document"]
    assert not any(a.startswith(("--attestation", "--notation")) for a in driver.build_args("base-image", env, "r"))
    with pytest.raises(driver.ActionError, match="input builder-id: one value expected"):
        driver.build_args("signature", {**env, "GATES_ACTION_BUILDER_ID": "a\nb"}, "r.json")


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


def test_python_variables_never_reach_a_child() -> None:
    env = {"PYTHONPATH": ".", "PYTHONHOME": "/x", "PYTHONSTARTUP": "s.py", "pythonUserBase": "u", "PATH": "/bin",
           "GATES_NOW": "2026-01-01"}
    assert driver.isolated_env(env) == {"PATH": "/bin", "GATES_NOW": "2026-01-01"}


def test_stale_reports_and_links_are_removed_never_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep", encoding="utf-8")
    (tmp_path / "old.json").write_text("{}", encoding="utf-8")
    (tmp_path / "to-file.sarif").symlink_to(victim)
    (tmp_path / "dangling.xml").symlink_to(tmp_path / "nowhere" / "x.xml")
    (tmp_path / "to-dir.xml").symlink_to(tmp_path)
    names = ["old.json", "to-file.sarif", "dangling.xml", "to-dir.xml", "absent.json"]
    driver.remove_stale([tmp_path / n for n in names])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim.txt"]
    assert victim.read_text(encoding="utf-8") == "keep"
    (tmp_path / "a-dir.json").mkdir()
    with pytest.raises(driver.ActionError, match=r"cannot remove the earlier report at '.*a-dir\.json'"):
        driver.remove_stale([tmp_path / "a-dir.json"])


def test_the_logged_command_line_cannot_forge_a_line() -> None:
    line = driver.shown(["manifests", "--", "my app.yaml", "x\n::error::forged", "\x1b[31mred"])
    assert "\n" not in line and "\x1b" not in line
    assert line == "manifests -- 'my app.yaml' 'x\\n::error::forged' '\\x1b[31mred'"


def _step_files(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "summary.md").write_text("", encoding="utf-8")
    return {"RUNNER_TEMP": str(tmp_path), "GITHUB_OUTPUT": str(tmp_path / "output"),
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"), "PATH": os.environ.get("PATH", "")}


def _written(tmp_path: Path) -> dict[str, str]:
    lines = (tmp_path / "output").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines)


def test_an_input_error_sets_both_outputs_and_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = {**_step_files(tmp_path), "GATES_ACTION_TARGETS": "k8s", "GATES_ACTION_FAIL_ON": "hgh"}
    assert driver.main(["manifests"], env) == 2
    assert _written(tmp_path) == {"exit-code": "2", "outcome": "error", "json-file": "", "sarif-file": "",
                                  "junit-file": ""}
    why = "input fail-on: expected one of info, low, medium, high, critical, got 'hgh'"
    assert f"::error title=gates action::{why}\n" in capsys.readouterr().out
    assert (tmp_path / "summary.md").read_text(encoding="utf-8") == f"**gates** stopped: `{why} (exit 2)`\n"


def test_a_bad_command_still_sets_the_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert driver.main([], _step_files(tmp_path)) == 2
    assert _written(tmp_path)["outcome"] == "error" and "::error title=gates action::usage" in capsys.readouterr().out


def _installed(tmp_path: Path) -> None:
    """The virtualenv install() would make, already there: this test's own (which has gates) under its name."""
    assert (Path(sys.prefix) / "bin" / "gates").exists()
    (tmp_path / f"gates-action-{driver.source_key()}").symlink_to(sys.prefix, target_is_directory=True)


def test_a_configuration_error_is_annotated_and_summarised(tmp_path: Path, capfd: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _installed(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    (work / "gates.toml").write_text('fail-on = "hgh"\n', encoding="utf-8")
    monkeypatch.chdir(work)
    env = {**_step_files(tmp_path), "GATES_ACTION_TARGETS": "k8s", "GATES_ACTION_JSON": str(work / "r.json")}
    assert driver.main(["manifests"], env) == 2
    outputs = _written(tmp_path)
    assert (outputs["exit-code"], outputs["outcome"], outputs["json-file"]) == ("2", "error", "")
    out = capfd.readouterr().out
    [annotation] = [line for line in out.splitlines() if line.startswith("::error")]
    assert annotation.startswith("::error title=gates action::gates: configuration error: gates.toml: fail-on")
    assert annotation.endswith("'hgh'")  # gates' own line, as it printed it
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith("**gates** stopped: `gates: configuration error: gates.toml: fail-on")
    assert summary.endswith(" (exit 2)`\n") and summary.count("\n") == 1


def test_why_reaches_the_log_and_summary_as_one_inert_line() -> None:
    assert driver.annotation_data("50% done\r\n::error::forged") == "50%25 done%0D%0A::error::forged"
    line = driver.summary_line("bad `x` [link](https://e.invalid) <img src=x>\nnext")
    assert line == "**gates** stopped: `bad 'x' [link](https://e.invalid) <img src=x> next`\n"


def test_gates_stopping_without_a_report_is_annotated(tmp_path: Path, capfd: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """An exit 1 with no report (here: no gates module behind the interpreter) is no verdict: it says why."""
    venv_bin = tmp_path / f"gates-action-{driver.source_key()}" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").symlink_to(sys.base_prefix + "/bin/python3")  # no gates installed there
    (venv_bin / "gates").write_text("", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert driver.main(["manifests"], {**_step_files(tmp_path), "GATES_ACTION_TARGETS": "k8s"}) == 1
    assert _written(tmp_path) == {"exit-code": "1", "outcome": "error", "json-file": "", "sarif-file": "",
                                  "junit-file": ""}
    out = capfd.readouterr().out
    assert "::error title=gates action::gates: stopped without writing its report: " in out
    assert "No module named gates" in out
