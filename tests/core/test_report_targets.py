"""Where reports may go (under CI only inside the workspace, unless allowed), and formats asked for twice."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.core.reports_support import failing_project, gates, no_traceback, passing_project, stderr_lines

ALLOW_ENV = "GATES_ALLOW_OUTPUT_OUTSIDE_WORKSPACE"


def _ci(kind: str, repo: Path) -> dict[str, str]:
    return {
        "CI=true": {"CI": "true"},
        "GitHub Actions": {"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(repo)},
        "GitLab CI": {"GITLAB_CI": "true", "CI_PROJECT_DIR": str(repo)},
    }[kind]


CI_KINDS = ["CI=true", "GitHub Actions", "GitLab CI"]


@pytest.mark.parametrize("command", ["manifests", "run"])  # the fast path and the full CLI
@pytest.mark.parametrize("kind", CI_KINDS)
def test_report_outside_the_workspace_under_ci_is_a_usage_error(tmp_path: Path, kind: str, command: str) -> None:
    repo = failing_project(tmp_path / "repo")
    outside = tmp_path / "outside" / "gates.json"
    run = gates([command, "pod0.yaml", "--output", f"json={outside}"], repo, _ci(kind, repo))
    assert run.code == 2 and no_traceback(run.err)
    [line] = stderr_lines(run.err)
    assert "outside the workspace" in line and "--allow-output-outside-workspace" in line and ALLOW_ENV in line
    assert not outside.parent.exists()


@pytest.mark.parametrize("kind", CI_KINDS)
def test_config_output_escaping_the_workspace_under_ci(tmp_path: Path, kind: str) -> None:
    repo = failing_project(tmp_path / "repo")
    (repo / "gates.toml").write_text('[output]\njunit = "../../home/runner/.profile"\n')
    run = gates(["run", "pod0.yaml"], repo, _ci(kind, repo))
    assert run.code == 2
    [line] = stderr_lines(run.err)
    assert line.startswith("gates: error: gates.toml [output] junit='") and "outside the workspace" in line


def test_symlinked_directory_leading_out_of_the_workspace_under_ci(tmp_path: Path) -> None:
    repo = failing_project(tmp_path / "repo")
    home = tmp_path / "home"
    home.mkdir()
    (repo / "reports").symlink_to(home, target_is_directory=True)
    (repo / "gates.toml").write_text('[output]\njson = "reports/.bashrc"\n')
    run = gates(["manifests", "pod0.yaml"], repo, {"CI": "true"})
    assert run.code == 2 and "outside the workspace" in run.err
    assert list(home.iterdir()) == []


@pytest.mark.parametrize("kind", CI_KINDS)
def test_report_inside_the_workspace_under_ci_is_written(tmp_path: Path, kind: str) -> None:
    repo = failing_project(tmp_path / "repo")
    if kind == "CI=true":  # the workspace is the working directory
        cwd, args = repo, ["pod0.yaml", "--output", "json=reports/r.json"]
        written = repo / "reports" / "r.json"
    else:  # the workspace is the CI's: a report beside the working directory is still inside it
        cwd, args = repo / "sub", ["../pod0.yaml", "--output", "json=../r.json"]
        cwd.mkdir()
        written = repo / "r.json"
    run = gates(["manifests", *args], cwd, _ci(kind, repo))
    assert run.code == 1, run.err
    assert json.loads(written.read_text())["outcome"] == "failed"


@pytest.mark.parametrize("command", ["manifests", "run"])
@pytest.mark.parametrize("how", ["flag", "env"])
def test_the_pipeline_can_allow_reports_outside(tmp_path: Path, how: str, command: str) -> None:
    repo = passing_project(tmp_path / "repo")
    outside = tmp_path / "runner-temp" / "gates.json"
    args = [command, "pod.yaml", "--output", f"json={outside}"]
    env = {"CI": "true"}
    if how == "flag":
        args.append("--allow-output-outside-workspace")
    else:
        env[ALLOW_ENV] = "true"
    run = gates(args, repo, env)
    assert run.code == 0, run.err
    assert json.loads(outside.read_text())["outcome"] == "passed"


@pytest.mark.parametrize("how", ["flag", "env"])
def test_the_allow_switch_never_lets_a_config_path_out(tmp_path: Path, how: str) -> None:
    """The configuration is part of the pull request: only the pipeline's own --output paths can be let out."""
    repo = failing_project(tmp_path / "repo")
    (repo / "gates.toml").write_text('[output]\njunit = "../outside/junit.xml"\n')
    args, env = ["run", "pod0.yaml"], {"CI": "true"}
    if how == "flag":
        args.append("--allow-output-outside-workspace")
    else:
        env[ALLOW_ENV] = "true"
    run = gates(args, repo, env)
    assert run.code == 2
    [line] = stderr_lines(run.err)
    assert "outside the workspace" in line and "only a path given with --output can be allowed out" in line
    assert not (tmp_path / "outside").exists()


def test_allow_switch_with_a_nonsense_value_is_a_configuration_error(tmp_path: Path) -> None:
    repo = passing_project(tmp_path / "repo")
    run = gates(["manifests", "pod.yaml", "--output", "json=r.json"], repo, {"CI": "true", ALLOW_ENV: "maybe"})
    assert run.code == 2
    [line] = stderr_lines(run.err)
    assert line.startswith(f"gates: configuration error: environment variable {ALLOW_ENV}")


@pytest.mark.parametrize("value", ["../outside/gates.json", "{outside}/gates.json", "link/gates.json"])
def test_outside_ci_an_output_path_of_the_config_stays_in_its_repository(tmp_path: Path, value: str) -> None:
    """Not only under CI: whoever runs gates on a checked-out pull request runs its configuration."""
    repo = failing_project(tmp_path / "repo")
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / "link").symlink_to(outside, target_is_directory=True)
    (repo / "gates.toml").write_text(f'[output]\njson = "{value.format(outside=outside)}"\n')
    run = gates(["run", "pod0.yaml"], repo)
    assert run.code == 2
    [line] = stderr_lines(run.err)
    assert "an [output] path stays inside the repository of its configuration file" in line
    assert list(outside.iterdir()) == []


def test_an_output_path_of_a_config_in_a_subfolder_may_reach_the_repository_root(tmp_path: Path) -> None:
    repo = failing_project(tmp_path / "repo")
    (repo / "ci").mkdir()
    (repo / "ci" / "gates.toml").write_text('[output]\njson = "../reports/gates.json"\n')
    run = gates(["run", "pod0.yaml", "--config", "ci/gates.toml"], repo)
    assert run.code == 1, run.err
    assert json.loads((repo / "reports" / "gates.json").read_text())["outcome"] == "failed"


def test_outside_ci_a_path_outside_the_working_directory_is_fine(tmp_path: Path) -> None:
    repo = passing_project(tmp_path / "repo")
    outside = tmp_path / "elsewhere" / "gates.json"
    run = gates(["manifests", "pod.yaml", "--output", f"json={outside}"], repo, {"CI": "false"})
    assert run.code == 0, run.err
    assert outside.is_file()


# --- formats and paths asked for twice -------------------------------------------------------------------


@pytest.mark.parametrize(("args", "env"), [
    (["--format", "json", "--format", "json"], {}),
    (["-f", "json", "--format=json"], {}),
    ([], {"GATES_FORMAT": "json,json"}),
    ([], {"GATES_FORMAT": " json , json ,"}),
])
def test_the_same_format_twice_prints_one_document(tmp_path: Path, args: list[str], env: dict[str, str]) -> None:
    repo = failing_project(tmp_path / "repo")
    run = gates(["manifests", "pod0.yaml", *args], repo, env)
    assert run.code == 1, run.err
    assert json.loads(run.out)["outcome"] == "failed"


def test_the_same_format_twice_in_the_config(tmp_path: Path) -> None:
    repo = failing_project(tmp_path / "repo")
    (repo / "gates.toml").write_text('format = ["junit", "junit"]\n')
    run = gates(["run", "pod0.yaml"], repo)
    assert run.code == 1, run.err
    assert ET.fromstring(run.out).tag == "testsuites"


@pytest.mark.parametrize("value", [",,,", " , ", " "])
def test_an_empty_format_list_in_the_environment_is_a_configuration_error(tmp_path: Path, value: str) -> None:
    repo = failing_project(tmp_path / "repo")
    run = gates(["manifests", "pod0.yaml"], repo, {"GATES_FORMAT": value})
    assert run.code == 2 and run.out == ""
    [line] = stderr_lines(run.err)
    assert line.startswith("gates: configuration error: environment variable GATES_FORMAT: lists no format")


def test_an_empty_format_list_in_the_config_is_a_configuration_error(tmp_path: Path) -> None:
    repo = failing_project(tmp_path / "repo")
    (repo / "gates.toml").write_text("format = []\n")
    run = gates(["run", "pod0.yaml"], repo)
    assert run.code == 2 and run.out == ""
    [line] = stderr_lines(run.err)
    assert line == "gates: configuration error: gates.toml: format: lists no format (known: console, json, junit," \
                   " sarif, gitlab-codequality, github, openmetrics)"


def test_an_empty_output_path_in_the_config_is_a_configuration_error(tmp_path: Path) -> None:
    repo = failing_project(tmp_path / "repo")
    (repo / "gates.toml").write_text('[output]\njson = ""\n')
    run = gates(["run", "pod0.yaml"], repo)
    assert run.code == 2
    [line] = stderr_lines(run.err)
    assert line.startswith("gates: configuration error: gates.toml: output.json: must be a non-empty path")


@pytest.mark.parametrize("second", ["r.out", "./r.out", "sub/../r.out"])
def test_two_formats_to_one_path_is_a_usage_error(tmp_path: Path, second: str) -> None:
    repo = failing_project(tmp_path / "repo")
    (repo / "sub").mkdir()
    run = gates(["manifests", "pod0.yaml", "--output", "json=r.out", "--output", f"junit={second}"], repo)
    assert run.code == 2
    [line] = stderr_lines(run.err)
    assert "the same file as --output json='r.out'" in line and "give each format its own path" in line
    assert not (repo / "r.out").exists()  # refused before anything was written


def test_config_and_flag_sending_two_formats_to_one_path(tmp_path: Path) -> None:
    repo = failing_project(tmp_path / "repo")
    (repo / "gates.toml").write_text('[output]\njson = "reports/r.out"\n')
    run = gates(["run", "pod0.yaml", "--output", "sarif=reports/r.out"], repo)
    assert run.code == 2
    [line] = stderr_lines(run.err)
    assert line.startswith("gates: error: --output sarif='reports/r.out': the same file as gates.toml [output] json=")


def test_the_same_format_and_path_twice_is_written_once(tmp_path: Path) -> None:
    repo = failing_project(tmp_path / "repo")
    (repo / "gates.toml").write_text('[output]\njson = "r.json"\n')
    run = gates(["run", "pod0.yaml", "--output", "json=r.json", "--output", "json=./r.json"], repo)
    assert run.code == 1, run.err
    assert json.loads((repo / "r.json").read_text())["outcome"] == "failed"


def test_one_format_to_two_paths_writes_both(tmp_path: Path) -> None:
    """Decision: a format may go to several files (a wrapper's report next to the project's own)."""
    repo = failing_project(tmp_path / "repo")
    run = gates(["manifests", "pod0.yaml", "--output", "json=a.json", "--output", "json=b.json"], repo)
    assert run.code == 1, run.err
    assert (repo / "a.json").read_text().startswith("{") and (repo / "b.json").read_text().startswith("{")


def test_a_hostile_report_path_never_reaches_stderr_raw(tmp_path: Path) -> None:
    repo = failing_project(tmp_path / "repo")
    (repo / "gates.toml").write_text('[output]\njson = "../\\u001b]0;owned\\u0007\\u001b[2J.json"\n')
    run = gates(["run", "pod0.yaml"], repo)
    assert run.code == 2
    [line] = stderr_lines(run.err)
    assert "\x1b" not in run.err and "\x07" not in run.err
    assert "\\x1b]0;owned\\x07" in line


@pytest.mark.parametrize("variable", ["GITHUB_WORKSPACE", "CI_PROJECT_DIR"])
def test_a_workspace_variable_naming_no_directory_falls_back_to_the_working_directory(
        tmp_path: Path, variable: str) -> None:
    repo = failing_project(tmp_path / "repo")
    env = {"CI": "true", variable: "/builds/acme/app-that-does-not-exist"}
    assert gates(["manifests", "pod0.yaml", "--output", "json=r.json"], repo, env).code == 1
    assert json.loads((repo / "r.json").read_text())["outcome"] == "failed"
    run = gates(["manifests", "pod0.yaml", "--output", f"json={tmp_path}/out.json"], repo, env)
    assert run.code == 2 and f"outside the workspace '{repo}'" in run.err


def test_under_plain_ci_the_workspace_is_the_repository_of_the_working_directory(tmp_path: Path) -> None:
    repo = failing_project(tmp_path / "repo")
    (repo / "deploy").mkdir()
    (repo / "deploy" / "pod.yaml").write_text((repo / "pod0.yaml").read_text())
    run = gates(["manifests", "pod.yaml", "--output", "json=../reports/r.json"], repo / "deploy", {"CI": "true"})
    assert run.code == 1, run.err
    assert json.loads((repo / "reports" / "r.json").read_text())["outcome"] == "failed"
    run = gates(["manifests", "pod.yaml", "--output", "json=../../r.json"], repo / "deploy", {"CI": "true"})
    assert run.code == 2 and f"outside the workspace '{repo}'" in run.err


@pytest.mark.parametrize(("value", "link"), [(".git/config", False), (".GIT/hooks/pre-push", False),
                                             ("reports/hooks/pre-commit", True)])
def test_a_report_never_lands_inside_dot_git(tmp_path: Path, value: str, link: bool) -> None:
    repo = failing_project(tmp_path / "repo")
    (repo / ".git" / "config").write_text("[core]\n\tbare = false\n")
    if link:
        (repo / "reports").symlink_to(repo / ".git", target_is_directory=True)
    config = repo / "gates.toml"
    config.write_text(f'[output]\njunit = "{value}"\n')
    for args in (["run", "pod0.yaml"], ["manifests", "pod0.yaml", "--output", f"json={value}"]):
        run = gates(args, repo, {"CI": "true"} if link else None)
        assert run.code == 2
        [line] = stderr_lines(run.err)
        assert "inside a .git directory" in line
        config.unlink(missing_ok=True)  # the second run: the flag alone
    assert (repo / ".git" / "config").read_text() == "[core]\n\tbare = false\n"
    assert sorted(p.name for p in (repo / ".git").iterdir()) == ["config"]
