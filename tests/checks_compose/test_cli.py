"""`gates compose` and `gates run` as real processes: discovery by name, exit codes, waivers (config and
labels), hostile text, stdin, and every output format (JSON, JUnit, SARIF, GitLab) carrying file:line:column."""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, run_process
from tests.reporters.conftest import jsonschema, load_schema

ROOT_COMPOSE = """\
services:
  web:
    image: "nginx:1.27\\e[2J"
    user: "10001"
    read_only: true
    security_opt: ["no-new-privileges:true"]
    privileged: true
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
    cap_add: ["SYS_ADMIN\\e[2J"]
"""
NESTED_COMPOSE = """\
services:
  agent:
    image: agent:2
    user: "10001"
    read_only: true
    security_opt: ["no-new-privileges:true"]
    pid: host
    labels:
      gates.dev/waive.compose-host-namespaces: "the agent lists host processes; expires=2099-01-01"
"""
MANIFEST = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: x}]\n"
CONFIG = """\
gates = ["compose"]
[compose]
paths = ["."]
[[waivers]]
rule = "compose-privileged"
resource = "service/web"
reason = "a test waiver"
"""


def _project(tmp_path: Path) -> Path:
    for name, text in {"docker-compose.yml": ROOT_COMPOSE, "svc/deep/compose.yaml": NESTED_COMPOSE,
                       "k8s/pod.yaml": MANIFEST, "ci/pipeline.yml": "stages: [a]\n",
                       "svc/not-compose.yaml": "services: {x: {privileged: true}}\n",
                       "gates.toml": CONFIG}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def _json(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    run = run_process(["compose", *args, "--format", "json"], cwd=tmp_path, env=env)
    assert not run.err, run.err
    return run.code, json.loads(run.out)


def test_the_walk_finds_compose_files_by_name_only(tmp_path: Path) -> None:
    code, report = _json(_project(tmp_path))
    assert code == 1
    assert sorted(r["target"] for r in report["results"]) == [
        "docker-compose.yml#service/web", "svc/deep/compose.yaml#service/agent"]


def test_waivers_from_config_and_labels(tmp_path: Path) -> None:
    _, report = _json(_project(tmp_path))
    findings = {f["rule"]: f for r in report["results"] for f in r["findings"]}
    assert findings["compose-privileged"]["waived"]["reason"] == "a test waiver"
    assert findings["compose-host-namespaces"]["waived"]["source"] == "svc/deep/compose.yaml:9 annotation"
    assert findings["compose-runtime-socket"]["waived"] is None
    agent = next(r for r in report["results"] if r["target"].endswith("agent"))
    assert agent["outcome"] == "passed"


def test_console_output_has_no_raw_escape_and_points_at_lines(tmp_path: Path) -> None:
    run = run_process(["compose"], cwd=_project(tmp_path))
    assert run.code == 1 and not run.err
    assert "\x1b" not in run.out and "adds capability 'SYS_ADMIN\\x1b[2J'" in run.out
    assert "docker-compose.yml:9:9" in run.out and "compose-runtime-socket" in run.out


def test_junit_sarif_and_gitlab_reports(tmp_path: Path) -> None:
    project = _project(tmp_path)
    run = run_process(["compose", "--output", "junit=out/j.xml", "--output", "sarif=out/s.sarif",
                       "--output", "gitlab-codequality=out/cq.json"], cwd=project)
    assert run.code == 1, run.err
    cases = {c.get("name"): c for c in ET.parse(project / "out" / "j.xml").getroot().iter("testcase")}
    socket_case = cases["compose-runtime-socket: docker-compose.yml#service/web"]
    failure = socket_case.find("failure")
    assert failure is not None and "docker-compose.yml:9:9" in (failure.text or "")
    assert (socket_case.get("file"), socket_case.get("line")) == ("docker-compose.yml", "9")
    sarif = json.loads((project / "out" / "s.sarif").read_text(encoding="utf-8"))
    schema = load_schema("sarif-schema-2.1.0.json")  # the vendored schema; fails, saying so, when absent
    jsonschema.validators.validator_for(schema)(schema).validate(sarif)
    results = sarif["runs"][0]["results"]
    socket = next(r for r in results if r["ruleId"] == "compose-runtime-socket")
    region = socket["locations"][0]["physicalLocation"]
    assert region["artifactLocation"]["uri"] == "docker-compose.yml"
    assert (region["region"]["startLine"], region["region"]["startColumn"]) == (9, 9)
    rules = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert "compose-runtime-socket" in rules
    quality = json.loads((project / "out" / "cq.json").read_text(encoding="utf-8"))
    assert {"docker-compose.yml"} <= {q["location"]["path"] for q in quality}


def test_gates_run_takes_compose_from_the_config(tmp_path: Path) -> None:
    run = run_process(["run", "--format", "json"], cwd=_project(tmp_path))
    report = json.loads(run.out)
    assert run.code == 1 and report["gates"] == ["compose"]
    assert {r["gate"] for r in report["results"]} == {"compose"}


def test_a_walk_without_compose_files_checked_nothing(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(MANIFEST, encoding="utf-8")
    code, report = _json(tmp_path, ".")
    assert code == 1
    assert [r["error"] for r in report["results"]] == ["the compose gate checked nothing: it found no target"]


def test_an_invalid_file_is_one_line_and_the_rest_still_reports(tmp_path: Path) -> None:
    project = _project(tmp_path)
    (project / "compose.yaml").write_text("services:\n  ok:\n    image: a:1\n  bad service: {}\n", encoding="utf-8")
    run = run_process(["compose"], cwd=project)
    assert run.code == 1 and not run.err and "Traceback" not in run.out
    lines = [line for line in run.out.splitlines() if "service name" in line]
    assert len(lines) == 1 and "compose.yaml: line 4, column 3" in lines[0]
    assert "docker-compose.yml#service/web" in run.out


def test_stdin_and_an_explicit_file_of_any_name(tmp_path: Path) -> None:
    run = run_process(["compose", "-", "--format", "json"], cwd=tmp_path, stdin="services:\n  s:\n    ipc: host\n")
    results = json.loads(run.out)["results"]
    assert [r["target"] for r in results] == ["<stdin>#service/s"] and run.code == 1
    assert ("compose-host-namespaces", 3, 5) in {(f["rule"], f["location"]["line"], f["location"]["column"])
                                                 for f in results[0]["findings"]}
    project = _project(tmp_path)
    code, report = _json(project, "svc/not-compose.yaml")
    assert code == 1 and report["results"][0]["target"] == "svc/not-compose.yaml#service/x"


def test_usage_and_configuration_errors(tmp_path: Path) -> None:
    run = run_process(["compose", "missing.yml"], cwd=tmp_path)
    assert run.code == 2 and "missing.yml" in run.err and "Traceback" not in run.err
    (tmp_path / "gates.toml").write_text('[compose]\nskip-rules = ["compose-nope"]\n', encoding="utf-8")
    run = run_process(["compose", "."], cwd=tmp_path)
    assert run.code == 2 and "compose-nope" in run.err
    (tmp_path / "gates.toml").write_text('[compose]\nallowed-capabilities = ["ALL"]\n', encoding="utf-8")
    run = run_process(["compose", "."], cwd=tmp_path)
    assert run.code == 2 and "allowed-capabilities" in run.err


def test_a_clean_service_passes_with_exit_zero(tmp_path: Path) -> None:
    (tmp_path / "compose.yml").write_text(
        'services:\n  app:\n    image: app:1.0\n    user: "1000:1000"\n    read_only: true\n'
        '    security_opt: [no-new-privileges]\n', encoding="utf-8")
    run = run_process(["compose"], cwd=tmp_path)
    assert run.code == 0, run.out


def test_list_and_explain(tmp_path: Path) -> None:
    listed = run_process(["list"], cwd=tmp_path)
    assert "compose" in listed.out and "compose-runtime-socket" in listed.out
    explained = run_process(["explain", "compose-runtime-socket"], cwd=tmp_path)
    assert explained.code == 0 and "docker.sock" in explained.out


def test_github_annotations_carry_file_line_and_column(tmp_path: Path) -> None:
    run = run_process(["compose", "--format", "github"], cwd=_project(tmp_path))
    assert run.code == 1
    assert "::error file=docker-compose.yml,line=9,col=9,title=compose-runtime-socket (critical)%3A" in run.out
    assert "\x1b" not in run.out


HOSTILE = {
    "binary/compose.yaml": b"\x1b[2J\x00\x01" * 64,
    "latin1/compose.yaml": "services:\n  caf\xe9: {}\n".encode("latin-1"),
    "bomb/compose.yaml": ("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdef", "bcdefg", strict=True)) + "services: {s: {image: 'x:1', x-b: *g}}\n").encode(),
    "deep/compose.yaml": ("services: {s: {x-d: " + "[" * 200 + "]" * 200 + "}}\n").encode(),
    "two/compose.yaml": b"services: {a: {image: 'x:1'}}\n---\nservices: {}\n",
    "list/compose.yaml": b"- services\n",
}


def test_hostile_files_are_one_line_errors_each(tmp_path: Path) -> None:
    for name, data in HOSTILE.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    (tmp_path / "fine" / "compose.yaml").parent.mkdir()
    (tmp_path / "fine" / "compose.yaml").write_text("services: {ok: {image: 'x:1'}}\n", encoding="utf-8")
    run = run_process(["compose", "--format", "json"], cwd=tmp_path, timeout=60)
    assert run.code == 1 and not run.err
    results = {r["target"].split("/")[0]: r for r in json.loads(run.out)["results"]}
    assert set(results) == {*(n.split("/")[0] for n in HOSTILE), "fine"}
    for name in HOSTILE:
        result = results[name.split("/")[0]]
        assert result["outcome"] == "error" and "\n" not in result["error"] and len(result["error"]) < 300, name
        assert "\x1b" not in result["error"] and "\x00" not in result["error"]
    assert results["fine"]["outcome"] == "failed"


def test_gates_run_with_manifests_and_compose_keeps_them_apart(tmp_path: Path) -> None:
    project = _project(tmp_path)
    (project / "gates.toml").write_text(CONFIG.replace('gates = ["compose"]', 'gates = ["manifests", "compose"]'),
                                        encoding="utf-8")
    run = run_process(["run", ".", "--format", "json"], cwd=project)
    report = json.loads(run.out)
    assert run.code == 1 and report["gates"] == ["manifests", "compose"]
    by_gate: dict[str, set[str]] = {}
    for result in report["results"]:
        by_gate.setdefault(result["gate"], set()).add(result["target"].split("#")[0])
    assert by_gate == {"manifests": {"k8s/pod.yaml"}, "compose": {"docker-compose.yml", "svc/deep/compose.yaml"}}


def test_junit_validates_against_the_surefire_schema(tmp_path: Path) -> None:
    import xmlschema

    schema_path = REPO.parent / "shared" / "schemas" / "junit-10.xsd"
    if not schema_path.exists():
        pytest.skip(f"needs {schema_path}")
    project = _project(tmp_path)
    run_process(["compose", "--output", "junit=j.xml"], cwd=project)
    tree = ET.parse(project / "j.xml")
    for case in tree.getroot().iter("testcase"):  # file and line: the CI extensions Surefire's schema lacks
        assert case.attrib.pop("file")
        case.attrib.pop("line", None)
    xmlschema.XMLSchema(str(schema_path)).validate(tree)
