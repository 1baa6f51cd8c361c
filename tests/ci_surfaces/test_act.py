"""The GitHub Actions, run for real by `act` on this machine (no Docker: `-self-hosted` platform).

The workflow uses the actions the way a consumer does, `uses: example/gates@v1` and
`example/gates/actions/<gate>@v1`, with act's `--local-repository` mapping that repository to a
copy of this one, so the composite actions install gates from `$GITHUB_ACTION_PATH` through pip.
One act run holds every step: the root action, the manifests sub-action, and the signature and
base-image sub-actions against images this module pushed (and signed) to the test registry on
127.0.0.1.

The checked-out project is hostile as well (see HOSTILE_PYTHON, HOSTILE_TARGETS, and the symlinks at
report paths), and the job's env sets PYTHONPATH=. as an earlier step could through $GITHUB_ENV:
nothing in the workspace may run, and every verdict must stay the honest one.
"""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.ci_surfaces.registry_images import NOW, push_base_images, push_signature_images
from tests.ci_surfaces.tools import copy_action_source, require, tool_env
from tests.conftest import require_corpus
from tests.cosign.factory import ISSUER
from tests.cosign.factory import WORKFLOW as SIGNING_WORKFLOW
from tests.reporters.conftest import BAD_DEPLOYMENT, GOOD_POD, jsonschema, load_schema
from tests.support.registry import RegistryServer, registry  # noqa: F401 - fixture

WORKFLOW = """\
on: push
jobs:
  gates:
    runs-on: ubuntu-latest
    env:
      DOCKER_CONFIG: {isolated}/docker-config
      XDG_DATA_HOME: {isolated}/xdg-data
      PYTHONPATH: "."
      PYTHONSTARTUP: sitecustomize.py
    steps:
      - uses: actions/checkout@v4
      - id: root
        uses: example/gates@v1
        with:
          path: k8s/good.yaml
      - id: manifests
        continue-on-error: true
        uses: example/gates/actions/manifests@v1
        with:
          paths: |
            k8s
          fail-on: high
      - id: advisory
        uses: example/gates/actions/manifests@v1
        with:
          paths: k8s/deploy.yaml
          fail: "false"
          sarif-file: ""
          json-file: reports/advisory.json
      - id: inject
        continue-on-error: true
        uses: example/gates/actions/manifests@v1
        with:
          paths: k8s/$(touch {out}/pwned)
          sarif-file: inject.sarif
          junit-file: inject.xml
          json-file: inject.json
      - id: hostile
        continue-on-error: true
        uses: example/gates/actions/manifests@v1
        with:
          paths: |
            --config=evil.toml
            -x
            *
            my app.yaml
            $(touch pwned).yaml
          sarif-file: ""
          junit-file: ""
          json-file: reports/hostile.json
      - id: links
        continue-on-error: true
        uses: example/gates/actions/manifests@v1
        with:
          paths: k8s/good.yaml
          sarif-file: gates-links.sarif
          junit-file: gates-links-junit.xml
          json-file: reports/links.json
      - id: signed
        uses: example/gates/actions/signature@v1
        with:
          images: {signed}
          key: sigstore/cosign.pub
          trusted-root: sigstore/trusted_root.json
          sarif-file: reports/signed.sarif
          junit-file: reports/signed.xml
          json-file: reports/signed.json
      - id: keyless
        uses: example/gates/actions/signature@v1
        with:
          images: {keyless}
          certificate-identity-regexp: https://github\\.com/acme/app/\\.github/workflows/.+
          certificate-oidc-issuer: {issuer}
          trusted-root: sigstore/trusted_root.json
          sarif-file: ""
          junit-file: ""
          json-file: reports/keyless.json
      - id: unsigned
        continue-on-error: true
        uses: example/gates/actions/signature@v1
        with:
          images: |
            {signed}
            {unsigned}
            {other_key}
          key: sigstore/cosign.pub
          trusted-root: sigstore/trusted_root.json
      - id: base
        uses: example/gates/actions/base-image@v1
        with:
          images: {current}
          config: ci/gates.toml
          now: "{now}"
          sarif-file: reports/base.sarif
          junit-file: reports/base.xml
          json-file: reports/base.json
      - id: base-failing
        continue-on-error: true
        uses: example/gates/actions/base-image@v1
        env:
          GATES_NOW: "{later}"
        with:
          images: {alpine}
          dockerfile: Dockerfile
          config: ci/gates.toml
      - id: base-eol
        uses: example/gates/actions/base-image@v1
        with:
          images: {old}
          config: ci/gates.toml
          now: "{now}"
          fail: "false"
          sarif-file: reports/eol.sarif
          junit-file: ""
          json-file: reports/eol.json
      - id: bad-input
        continue-on-error: true
        uses: example/gates/actions/manifests@v1
        with:
          paths: k8s
          fail-on: hgh
          sarif-file: ""
          junit-file: ""
          json-file: reports/bad-input.json
      - id: bad-config
        continue-on-error: true
        uses: example/gates/actions/manifests@v1
        with:
          paths: k8s
          config: ci/broken.toml
          sarif-file: ""
          junit-file: ""
          json-file: reports/bad-config.json
      - if: always()
        env:
          STEPS: ${{{{ toJSON(steps) }}}}
          OUT: {out}
        run: |
          printf '%s' "$STEPS" > "$OUT/steps.json"
          if [ -e pwned ]; then touch "$OUT/pwned-in-workspace"; fi
          ls -l gates-links.sarif gates-links-junit.xml > "$OUT/report-entries.txt"
          cp -P gates*.sarif gates*.xml gates*.json "$OUT/"  # -P: a link stays a link, for the test to see
          cp -r reports "$OUT/"
"""

HOSTILE_PYTHON = ["pip.py", "venv.py", "ensurepip.py", "gates.py", "gates/__init__.py", "sitecustomize.py",
                  "usercustomize.py"]
"""Committed modules that shadow what the action runs (`-m venv`, `-m pip`, ensurepip, gates) or that
Python imports by itself; each leaves a marker if it ever runs."""
MARK = """\
import os, pathlib, runpy, sys
pathlib.Path({markers!r}, {name!r}).write_text("ran")
# Then hide: leave the workspace off sys.path and hand over to the module shadowed, so all looks normal.
if {module!r} in ("venv", "pip", "ensurepip", "gates"):
    workspace = os.path.dirname(os.path.abspath(__file__)).removesuffix(os.sep + "gates")
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != workspace]
    sys.modules.pop({module!r}, None)
    if __name__ == "__main__":
        runpy.run_module({module!r}, run_name="__main__", alter_sys=True)
    else:
        import importlib
        sys.modules[{module!r}] = importlib.import_module({module!r})
"""
"""A hostile module that leaves a marker, then runs the module it shadows: only the marker tells."""
HOSTILE_TARGETS = ["--config=evil.toml", "-x", "*", "my app.yaml", "$(touch pwned).yaml"]
EVIL_CONFIG = '[[waivers]]\nrule = "*"\npath = "*"\nreason = "anything goes"\n'
"""Read as `--config=evil.toml`, the first target would waive every finding."""

LATER = "2026-12-24"
"""GATES_NOW of the failing base-image step: a month after NOW, so the report shows which date it judged."""

CONFIG = """\
[registry]
cache-dir = "none"
[base-image]
allowed = ["{host}/act-bi/*"]
[patch-level]
advisories = "{advisories}"
"""


@dataclass(frozen=True)
class ActRun:
    code: int
    log: str
    out: Path
    steps: dict[str, Any]
    images: dict[str, str]
    markers: Path
    outside: Path

    def report(self, name: str) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads((self.out / name).read_text(encoding="utf-8"))
        return doc

    def result(self, name: str, target: str) -> dict[str, Any]:
        """The result for `target` in the JSON report `name` (relative to the copied reports)."""
        found: list[dict[str, Any]] = [r for r in self.report(name)["results"] if r["target"] == self.images[target]]
        assert len(found) == 1, found
        return found[0]


@pytest.fixture(scope="module")
def act_run(tmp_path_factory: pytest.TempPathFactory, registry: RegistryServer) -> ActRun:  # noqa: F811
    act = require("act")
    require("git")
    advisories = require_corpus("osv", "records")
    base = tmp_path_factory.mktemp("act")
    source = copy_action_source(base / "gates-action")
    repo, out, isolated = base / "project", base / "out", base / "isolated"
    markers, outside = base / "markers", base / "outside"
    (repo / "k8s").mkdir(parents=True)
    (repo / "ci").mkdir()
    out.mkdir()
    markers.mkdir()
    outside.mkdir()
    (repo / "gates").mkdir()
    for name in HOSTILE_PYTHON:
        module = name.removesuffix(".py").removesuffix("/__init__")
        (repo / name).write_text(MARK.format(markers=str(markers), name=name.replace("/", "_"), module=module),
                                 encoding="utf-8")
    (repo / "evil.toml").write_text(EVIL_CONFIG, encoding="utf-8")
    for target in HOSTILE_TARGETS:
        (repo / target).write_text(BAD_DEPLOYMENT, encoding="utf-8")
    (repo / "gates-links.sarif").symlink_to(outside / "written-through.sarif")  # dangling, out of the workspace
    (repo / "gates-links-junit.xml").symlink_to("k8s")  # a link to a folder
    (isolated / "docker-config").mkdir(parents=True)  # no credentials of this machine's user
    (repo / "k8s" / "deploy.yaml").write_text(BAD_DEPLOYMENT, encoding="utf-8")
    (repo / "k8s" / "good.yaml").write_text(GOOD_POD, encoding="utf-8")
    signatures = push_signature_images(registry.host, repo / "sigstore")
    bases = push_base_images(registry.host)
    images = {**vars(signatures), **vars(bases)}
    (repo / "Dockerfile").write_text(f"FROM {bases.alpine_base}\nCOPY app /app\n", encoding="utf-8")
    (repo / "ci" / "broken.toml").write_text('fail-on = "hgh"\n', encoding="utf-8")
    (repo / "ci" / "gates.toml").write_text(CONFIG.format(host=registry.host, advisories=advisories),
                                            encoding="utf-8")
    (repo / ".github" / "workflows").mkdir(parents=True)
    workflow = WORKFLOW.format(out=out, isolated=isolated, issuer=ISSUER, now=NOW, later=LATER, **images)
    (repo / ".github" / "workflows" / "gates.yml").write_text(workflow, encoding="utf-8")
    env = tool_env()
    git = ["git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "sample"]):
        subprocess.run([*git, *args], cwd=repo, check=True, env=env)
    proc = subprocess.run(
        [act, "push", "-P", "ubuntu-latest=-self-hosted", "--local-repository", f"example/gates@v1={source}"],
        cwd=repo, capture_output=True, text=True, env=env, timeout=480, check=False,
    )
    log = proc.stdout + proc.stderr
    steps_file = out / "steps.json"
    assert steps_file.exists(), log[-6000:]
    return ActRun(proc.returncode, log, out, json.loads(steps_file.read_text(encoding="utf-8")), images, markers,
                  outside)


def test_job_succeeds(act_run: ActRun) -> None:
    assert act_run.code == 0, act_run.log[-6000:]
    assert "Job succeeded" in act_run.log


def test_root_action_passes_with_outputs(act_run: ActRun) -> None:
    root = act_run.steps["root"]
    assert root["outcome"] == "success"
    outputs = root["outputs"]
    assert outputs["outcome"] == "passed" and outputs["exit-code"] == "0"
    assert (outputs["passed"], outputs["failed"], outputs["findings"]) == ("1", "0", "0")
    assert (outputs["sarif-file"], outputs["junit-file"]) == ("gates.sarif", "gates-junit.xml")


def test_manifests_sub_action_fails_the_step(act_run: ActRun) -> None:
    step = act_run.steps["manifests"]
    assert step["outcome"] == "failure" and step["conclusion"] == "success"  # continue-on-error
    outputs = step["outputs"]
    assert outputs["outcome"] == "failed" and outputs["exit-code"] == "1"
    assert int(outputs["blocking"]) >= 4 and int(outputs["findings"]) > int(outputs["blocking"])  # fail-on high
    assert "::error file=k8s/deploy.yaml,line=14,col=13,title=pss-privileged" in act_run.log
    assert "Summary - ## ❌ gates: failed" in act_run.log


def test_reports_are_written_and_valid(act_run: ActRun) -> None:
    sarif = json.loads((act_run.out / "gates-manifests.sarif").read_text(encoding="utf-8"))
    schema = load_schema("sarif-schema-2.1.0.json")
    jsonschema.validators.validator_for(schema)(schema).validate(sarif)
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]
            for loc in r["locations"]}
    assert uris == {"k8s/deploy.yaml"}
    junit = (act_run.out / "gates-manifests-junit.xml").read_text(encoding="utf-8")
    assert "<failure" in junit and "pss-privileged" in junit
    report = json.loads((act_run.out / "gates-manifests-report.json").read_text(encoding="utf-8"))
    assert report["outcome"] == "failed"


def test_fail_false_reports_without_failing(act_run: ActRun) -> None:
    step = act_run.steps["advisory"]
    assert step["outcome"] == "success"
    assert step["outputs"]["outcome"] == "failed" and step["outputs"]["sarif-file"] == ""
    assert act_run.report("reports/advisory.json")["outcome"] == "failed"


def test_an_input_cannot_inject_a_command(act_run: ActRun) -> None:
    step = act_run.steps["inject"]
    assert not (act_run.out / "pwned").exists()
    assert step["outcome"] == "failure"
    assert step["outputs"]["exit-code"] == "2"  # gates: no such file or directory, taken literally
    assert step["outputs"]["outcome"] == "error" and step["outputs"]["json-file"] == ""


def _valid_sarif(act_run: ActRun, name: str) -> dict[str, Any]:
    sarif: dict[str, Any] = json.loads((act_run.out / name).read_text(encoding="utf-8"))
    schema = load_schema("sarif-schema-2.1.0.json")
    jsonschema.validators.validator_for(schema)(schema).validate(sarif)
    return sarif


def _junit_cases(act_run: ActRun, name: str) -> dict[str, list[str]]:
    """Each JUnit test case's name -> the `type` of its failures."""
    root = ET.parse(act_run.out / name).getroot()
    return {case.get("name", ""): [f.get("type", "") for f in case.iter("failure")] for case in root.iter("testcase")}


def _rules(result: dict[str, Any]) -> set[str]:
    return {f["rule"] for f in result["findings"]}


def test_signature_sub_action_passes_a_key_signed_image(act_run: ActRun) -> None:
    step = act_run.steps["signed"]
    assert step["outcome"] == "success"
    outputs = step["outputs"]
    assert (outputs["outcome"], outputs["exit-code"], outputs["passed"], outputs["failed"]) == ("passed", "0", "1", "0")
    assert (outputs["findings"], outputs["blocking"], outputs["errors"]) == ("0", "0", "0")
    assert (outputs["sarif-file"], outputs["junit-file"], outputs["json-file"]) == (
        "reports/signed.sarif", "reports/signed.xml", "reports/signed.json")
    result = act_run.result("reports/signed.json", "signed")
    assert result["outcome"] == "passed"
    assert "verified by ECDSA P-256 key" in result["details"][1] and "(sigstore/cosign.pub)" in result["details"][1]
    assert _valid_sarif(act_run, "reports/signed.sarif")["runs"][0]["results"] == []
    [(case, failures)] = _junit_cases(act_run, "reports/signed.xml").items()
    assert act_run.images["signed"] in case and failures == []


def test_signature_sub_action_keyless_inputs(act_run: ActRun) -> None:
    step = act_run.steps["keyless"]
    assert step["outcome"] == "success"
    outputs = step["outputs"]
    assert (outputs["outcome"], outputs["passed"]) == ("passed", "1")
    assert (outputs["sarif-file"], outputs["junit-file"]) == ("", "")
    result = act_run.result("reports/keyless.json", "keyless")
    assert result["outcome"] == "passed"
    assert result["details"][1].endswith(  # the regexp and the issuer inputs made the policy
        r"verified by keyless /https://github\.com/acme/app/\.github/workflows/.+/ from " + ISSUER)
    assert re.fullmatch(r"https://github\.com/acme/app/\.github/workflows/.+", SIGNING_WORKFLOW)  # the signer


def test_signature_sub_action_fails_on_unsigned_and_wrongly_signed_images(act_run: ActRun) -> None:
    step = act_run.steps["unsigned"]
    assert step["outcome"] == "failure" and step["conclusion"] == "success"  # continue-on-error
    outputs = step["outputs"]
    assert (outputs["outcome"], outputs["exit-code"]) == ("failed", "1")
    assert (outputs["passed"], outputs["failed"], outputs["errors"], outputs["blocking"]) == ("1", "2", "0", "2")
    assert (outputs["sarif-file"], outputs["junit-file"], outputs["json-file"]) == (
        "gates-signature.sarif", "gates-signature-junit.xml", "gates-signature-report.json")
    report = "gates-signature-report.json"
    assert act_run.result(report, "signed")["outcome"] == "passed"
    assert _rules(act_run.result(report, "unsigned")) == {"signature-missing"}
    invalid = act_run.result(report, "other_key")
    assert _rules(invalid) == {"signature-invalid"} and "does not verify" in invalid["findings"][0]["message"]
    assert "::error title=signature-missing" in act_run.log and "::error title=signature-invalid" in act_run.log

    results = _valid_sarif(act_run, "gates-signature.sarif")["runs"][0]["results"]
    located = {(r["ruleId"], r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]) for r in results}
    assert located == {("signature-missing", act_run.images["unsigned"]),
                       ("signature-invalid", act_run.images["other_key"])}
    cases = _junit_cases(act_run, "gates-signature-junit.xml")
    by_image = {image: next(f for name, f in cases.items() if act_run.images[image] in name)
                for image in ("signed", "unsigned", "other_key")}
    assert by_image == {"signed": [], "unsigned": ["signature-missing"], "other_key": ["signature-invalid"]}


def test_base_image_sub_action_passes_a_current_base(act_run: ActRun) -> None:
    step = act_run.steps["base"]
    assert step["outcome"] == "success"
    outputs = step["outputs"]
    assert (outputs["outcome"], outputs["exit-code"]) == ("passed", "0")
    assert (outputs["passed"], outputs["findings"]) == ("1", "0")
    assert (outputs["sarif-file"], outputs["junit-file"], outputs["json-file"]) == (
        "reports/base.sarif", "reports/base.xml", "reports/base.json")
    details = act_run.result("reports/base.json", "current")["details"]
    assert "linux/amd64: image created 2026-11-20 (6 days ago)" in details  # judged as of the `now` input
    assert any(d.startswith("linux/arm64: 2 dpkg packages checked against Debian:13: 0 affected") for d in details)
    assert _valid_sarif(act_run, "reports/base.sarif")["runs"][0]["results"] == []
    assert list(_junit_cases(act_run, "reports/base.xml").values()) == [[]]


def test_base_image_sub_action_fails_with_dockerfile_findings(act_run: ActRun) -> None:
    step = act_run.steps["base-failing"]
    assert step["outcome"] == "failure" and step["conclusion"] == "success"
    outputs = step["outputs"]
    assert (outputs["outcome"], outputs["exit-code"], outputs["passed"], outputs["failed"]) == ("failed", "1", "0", "1")
    assert (outputs["findings"], outputs["blocking"]) == ("5", "5")
    assert outputs["sarif-file"] == "gates-base-image.sarif" and outputs["junit-file"] == "gates-base-image-junit.xml"
    result = act_run.result("gates-base-image-report.json", "alpine")
    assert _rules(result) == {"base-image-pinning", "base-image-point-release-lag", "base-image-vulnerable-package",
                              "base-image-non-root", "base-image-dockerfile-root"}  # the Dockerfile has no USER
    assert f"base {act_run.images['alpine_base']} (from Dockerfile:1)" in result["details"]
    assert "image created 2026-11-20 (34 days ago)" in result["details"]  # GATES_NOW from the step's env
    assert "::error file=Dockerfile,line=1,title=base-image-pinning" in act_run.log

    results = _valid_sarif(act_run, "gates-base-image.sarif")["runs"][0]["results"]
    [pinning] = [r for r in results if r["ruleId"] == "base-image-pinning"]
    physical = pinning["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": "Dockerfile", "uriBaseId": "%SRCROOT%"}
    assert physical["region"]["startLine"] == 1
    [root] = [r for r in results if r["ruleId"] == "base-image-dockerfile-root"]
    assert root["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "Dockerfile"
    others = [r for r in results if r["ruleId"] not in ("base-image-pinning", "base-image-dockerfile-root")]
    assert len(others) == 3 and all(r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
                                    == act_run.images["alpine"] for r in others)
    cases = _junit_cases(act_run, "gates-base-image-junit.xml")
    assert all(act_run.images["alpine"] in name for name in cases)
    assert sorted(t for failures in cases.values() for t in failures) == sorted(f["rule"] for f in result["findings"])


def test_base_image_sub_action_reports_an_end_of_life_base_without_failing(act_run: ActRun) -> None:
    step = act_run.steps["base-eol"]
    assert step["outcome"] == "success"  # fail: "false"
    outputs = step["outputs"]
    assert (outputs["outcome"], outputs["exit-code"], outputs["failed"], outputs["junit-file"]) == (
        "failed", "1", "1", "")
    result = act_run.result("reports/eol.json", "old")
    assert _rules(result) == {"base-image-base-age", "base-image-os-eol", "base-image-point-release-lag",
                              "base-image-vulnerable-package"}
    assert any(f["message"].startswith("openssl 1.1.0l-1~deb9u5 is affected by DLA-3008-1")
               for f in result["findings"])
    rules = {r["ruleId"] for r in _valid_sarif(act_run, "reports/eol.sarif")["runs"][0]["results"]}
    assert rules == _rules(result)


def test_nothing_from_the_workspace_runs(act_run: ActRun) -> None:
    """venv.py, pip.py, gates/, sitecustomize.py... in the workspace, PYTHONPATH=. in the env: never imported."""
    assert sorted(p.name for p in act_run.markers.iterdir()) == []
    assert act_run.steps["root"]["outputs"]["outcome"] == "passed"  # the real gates ran, and judged


def test_targets_named_like_options_are_files(act_run: ActRun) -> None:
    step = act_run.steps["hostile"]
    assert step["outcome"] == "failure"
    assert (step["outputs"]["outcome"], step["outputs"]["exit-code"]) == ("failed", "1")
    report = act_run.report("reports/hostile.json")
    assert report["summary"]["waived"] == 0  # evil.toml was never read as the configuration
    assert {r["target"].partition("#")[0]: r["outcome"] for r in report["results"]} == dict.fromkeys(
        HOSTILE_TARGETS, "failed")
    assert not (act_run.out / "pwned-in-workspace").exists()


def test_a_committed_symlink_at_a_report_path_is_replaced_never_followed(act_run: ActRun) -> None:
    step = act_run.steps["links"]
    assert step["outcome"] == "success" and step["outputs"]["outcome"] == "passed"
    assert list(act_run.outside.iterdir()) == []
    entries = (act_run.out / "report-entries.txt").read_text(encoding="utf-8").splitlines()
    assert len(entries) == 2 and all(line.startswith("-") for line in entries), entries  # regular files now
    assert _valid_sarif(act_run, "gates-links.sarif")["runs"][0]["results"] == []
    assert list(_junit_cases(act_run, "gates-links-junit.xml").values()) == [[]]


@pytest.mark.parametrize(("step", "why"), [
    ("bad-input", "input fail-on: expected one of info, low, medium, high, critical, got 'hgh'"),
    ("bad-config", "gates: configuration error: ci/broken.toml: fail-on"),
])
def test_a_step_that_stops_without_a_verdict_says_why(act_run: ActRun, step: str, why: str) -> None:
    """Both outputs are set, and an annotation and a job summary line give the reason."""
    outputs = act_run.steps[step]["outputs"]
    assert act_run.steps[step]["outcome"] == "failure"
    assert (outputs["exit-code"], outputs["outcome"], outputs["json-file"]) == ("2", "error", "")
    assert f"::error title=gates action::{why}" in act_run.log
    assert f"**gates** stopped: `{why}" in act_run.log  # act echoes the job summary into its log
    if step == "bad-config":
        lines = [x for x in act_run.log.splitlines() if f"::error title=gates action::{why}" in x]
        assert lines and all(line.endswith("'hgh'") for line in lines), lines


def test_an_input_gates_refuses_is_annotated(act_run: ActRun) -> None:
    """The `inject` step's exit 2 (no such file, the name taken literally) is said, not only logged."""
    assert "::error title=gates action::gates: error: no such file or directory: k8s/$(touch" in act_run.log
