"""Baselines: today's findings accepted (shown, counted, not blocking), new ones blocking, old debts again.

The fingerprint must survive what a tree goes through between two runs (lines moving, reformatting,
a file renamed or split) and must not survive a change to what is wrong.
"""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

BAD = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      hostPID: true
      containers:
      - name: web
        image: registry.example/web:latest
        securityContext:
          privileged: true
"""

REFORMATTED = """# the same Deployment, written by another hand
---
kind: Deployment
apiVersion: "apps/v1"
metadata: {namespace: shop, name: web, labels: {team: "a"}}


spec:
  template:
    spec:
      containers:
        - securityContext: {privileged: true}
          image: 'registry.example/web:latest'
          name: web
      hostPID: true
    metadata: {labels: {app: web}}
  selector: {matchLabels: {app: web}}
"""


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "web.yaml").write_text(BAD, encoding="utf-8")
    (tmp_path / "gates.toml").write_text("", encoding="utf-8")
    return tmp_path


def _report(cli: Any, *args: str) -> tuple[int, dict[str, Any]]:
    run = cli(["manifests", "-f", "json", *args, "k8s"])
    assert run.code in (0, 1), run.err
    report: dict[str, Any] = json.loads(run.out)
    return run.code, report


def _findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for r in report["results"] for f in r["findings"]]


def test_baselined_findings_are_shown_counted_and_do_not_block(cli: Any, tree: Path) -> None:
    code, before = _report(cli)
    assert code == 1 and _findings(before)
    written = cli(["baseline", "write", "baseline.json", "--path", "k8s"])
    assert written.code == 0 and f"{len(_findings(before))} findings accepted" in written.out
    code, after = _report(cli, "--baseline", "baseline.json")
    assert code == 0 and after["outcome"] == "passed"
    assert len(_findings(after)) == len(_findings(before))  # shown
    assert after["summary"]["baselined"] == len(_findings(before)) and after["summary"]["blocking"] == 0
    assert {f["baseline"]["state"] for f in _findings(after)} == {"unchanged"}
    console = cli(["manifests", "--baseline", "baseline.json", "k8s"])
    assert "baselined since" in console.out and f"({len(_findings(before))} baselined)" in console.out
    github = cli(["manifests", "-f", "github", "--baseline", "baseline.json", "k8s"])
    assert "::error" not in github.out and "::warning" not in github.out  # a backlog is not annotated


@pytest.mark.parametrize("change", ["move lines", "reformat", "rename", "split"])
def test_the_baseline_survives_what_a_tree_goes_through(cli: Any, tree: Path, change: str) -> None:
    cli(["baseline", "write", "baseline.json", "--path", "k8s"])
    before = {(f["location"]["path"], f["location"]["line"]) for f in _findings(_report(cli)[1])}
    web = tree / "k8s" / "web.yaml"
    if change == "move lines":
        web.write_text("# a comment\n\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n" + BAD)
    elif change == "reformat":
        web.write_text(REFORMATTED, encoding="utf-8")
    elif change == "rename":  # resource identity: the object, not the file, is what the cluster runs
        web.rename(tree / "k8s" / "deployment-web.yml")
    else:
        web.unlink()
        (tree / "k8s" / "apps").mkdir()
        (tree / "k8s" / "apps" / "web.yaml").write_text(REFORMATTED, encoding="utf-8")
        (tree / "k8s" / "apps" / "other.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    code, report = _report(cli, "--baseline", "baseline.json")
    after = {(f["location"]["path"], f["location"]["line"]) for f in _findings(report)}
    assert after != before  # the findings are elsewhere now (other lines or files)
    assert code == 0 and report["summary"]["blocking"] == 0, report
    assert report["summary"]["baselined"] == len(_findings(report)) > 0


def test_a_new_finding_blocks_beside_the_baselined_ones(cli: Any, tree: Path) -> None:
    cli(["baseline", "write", "baseline.json", "--path", "k8s"])
    worse = BAD.replace("      hostPID: true\n", "      hostPID: true\n      hostNetwork: true\n")
    (tree / "k8s" / "web.yaml").write_text(worse, encoding="utf-8")
    (tree / "k8s" / "api.yaml").write_text(BAD.replace("name: web\n  namespace", "name: api\n  namespace"))
    code, report = _report(cli, "--baseline", "baseline.json")
    assert code == 1
    new = [f for f in _findings(report) if f["baseline"]["state"] == "new"]
    assert new and all(f["blocking"] for f in new)
    assert {f["resource"] for f in new} == {"Deployment/shop/api", "Deployment/shop/web"}
    assert any("hostNetwork" in f["message"] for f in new if f["resource"] == "Deployment/shop/web")
    assert report["summary"]["blocking"] == len(new)
    sarif = json.loads(cli(["manifests", "-f", "sarif", "--baseline", "baseline.json", "k8s"]).out)
    states = {r["baselineState"] for r in sarif["runs"][0]["results"]}
    assert states == {"new", "unchanged"}
    junit = ET.fromstring(cli(["manifests", "-f", "junit", "--baseline", "baseline.json", "k8s"]).out)
    skipped = [c for c in junit.iter("testcase") if c.find("skipped") is not None]
    assert any("baselined since" in (c.find("skipped").get("message") or "") for c in skipped)  # type: ignore[union-attr]


def test_baselined_findings_block_again_after_max_age(cli: Any, tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tree / "gates.toml").write_text('[baseline]\npath = "baseline.json"\nmax-age-days = 30\n', encoding="utf-8")
    monkeypatch.setenv("GATES_NOW", "2026-01-01")
    cli(["baseline", "write", "baseline.json", "--path", "k8s"])
    monkeypatch.setenv("GATES_NOW", "2026-01-31")
    code, report = _report(cli)  # the configured baseline
    assert code == 0 and report["summary"]["baselined"] > 0
    monkeypatch.setenv("GATES_NOW", "2026-02-01")
    code, report = _report(cli)
    assert code == 1 and report["summary"]["baselined"] == 0
    assert all(f["baseline"]["expired"] and f["blocking"] for f in _findings(report))
    assert all(any("since 2026-01-01, longer than max-age-days (30)" in n for n in f["notes"])
               for f in _findings(report))
    rewritten = cli(["baseline", "write", "baseline.json", "--path", "k8s"])  # a rewrite keeps the old dates
    assert "kept the day they first entered" in rewritten.out
    assert {e["since"] for e in json.loads((tree / "baseline.json").read_text())["findings"]} == {"2026-01-01"}


def test_a_broken_or_missing_baseline_stops_the_run(cli: Any, tree: Path) -> None:
    for text, said in [(None, "no such file"), ("{", "not a gates baseline"),
                       ('{"schema": "gates/baseline/v1", "tool": {}, "written": "x", "findings": [1]}',
                        "findings[0]")]:
        path = tree / "baseline.json"
        path.unlink(missing_ok=True)
        if text is not None:
            path.write_text(text, encoding="utf-8")
        run = cli(["manifests", "--baseline", "baseline.json", "k8s"])
        assert run.code == 2 and said in run.err and len(run.err.strip().splitlines()) == 1, run.err
    refused = cli(["baseline", "write", "gates.toml"])  # a file that is no baseline is never overwritten
    assert refused.code == 2 and "not overwritten" in refused.err
    assert (tree / "gates.toml").read_text() == ""


def test_a_pull_request_cannot_grow_the_trusted_baseline(cli: Any, tree: Path) -> None:
    """Under --config-ref, the configured baseline must be as the trusted ref has it, like keys are."""
    (tree / "gates.toml").write_text('[baseline]\npath = "baseline.json"\n', encoding="utf-8")
    (tree / "baseline.json").write_text(
        '{"schema": "gates/baseline/v1", "tool": {"name": "gates", "version": "0"}, "written": "2026-01-01",'
        ' "findings": []}\n', encoding="utf-8")
    git = ["git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "policy"]):
        subprocess.run([*git, *args], cwd=tree, check=True, capture_output=True)
    assert _report(cli, "--config-ref", "main")[0] == 1
    cli(["baseline", "write", "baseline.json", "--path", "k8s"])  # the pull request accepts its own findings
    run = cli(["manifests", "--config-ref", "main", "k8s"])
    assert run.code == 2 and "baseline.json" in run.err, run.err


def test_baselines_and_shards_merge_to_the_unsharded_verdict(cli: Any, tree: Path) -> None:
    for n in range(8):
        (tree / "k8s" / f"app-{n}.yaml").write_text(BAD.replace("name: web\n  namespace", f"name: app{n}\n  namespace"))
    cli(["baseline", "write", "baseline.json", "--path", "k8s"])
    (tree / "k8s" / "new.yaml").write_text(BAD.replace("name: web\n  namespace", "name: fresh\n  namespace"))
    code, whole = _report(cli, "--baseline", "baseline.json")
    shards = []
    for k in (1, 2, 3):
        shards.append(str(tree / f"s{k}.json"))
        cli(["manifests", "--baseline", "baseline.json", "--shard", f"{k}/3", "-o", f"json={shards[-1]}", "k8s"])
    merged = cli(["merge", "-f", "json", *shards])
    assert merged.code == code == 1
    unbaselined = str(tree / "s3-without.json")
    cli(["manifests", "--shard", "3/3", "-o", f"json={unbaselined}", "k8s"])
    mixed = cli(["merge", *shards[:2], unbaselined])  # a shard judged without the baseline is another run
    assert mixed.code == 2 and "different configurations" in mixed.err
    assert sorted(map(json.dumps, json.loads(merged.out)["results"])) == sorted(map(json.dumps, whole["results"]))
    again = cli(["baseline", "write", "from-shards.json", *(arg for path in shards for arg in ("--from", path))])
    assert again.code == 0
    assert len(json.loads((tree / "from-shards.json").read_text())["findings"]) == len(_findings(whole))


def test_a_fixed_finding_is_absent_in_sarif_and_json_also_after_a_merge(cli: Any, tree: Path) -> None:
    from tests.reporters.test_sarif import validate

    cli(["baseline", "write", "baseline.json", "--path", "k8s"])
    for n in range(6):  # findings in other files, so that shards see only some of the baseline
        (tree / "k8s" / f"app-{n}.yaml").write_text(BAD.replace("name: web\n  namespace", f"name: app{n}\n  namespace"))
    cli(["baseline", "write", "baseline.json", "--path", "k8s"])
    fixed = BAD.replace("      hostPID: true\n", "")
    (tree / "k8s" / "web.yaml").write_text(fixed, encoding="utf-8")
    code, report = _report(cli, "--baseline", "baseline.json")
    [gone] = report["baseline_absent"]
    assert code == 0 and gone["rule"] == "pss-host-namespaces" and gone["resource"] == "Deployment/shop/web"
    assert "baseline: 1 entry no longer found" in cli(["manifests", "--baseline", "baseline.json", "k8s"]).out
    log = json.loads(cli(["manifests", "-f", "sarif", "--baseline", "baseline.json", "k8s"]).out)
    validate(log)
    absent = [r for r in log["runs"][0]["results"] if r["baselineState"] == "absent"]
    assert [(r["ruleId"], r["level"]) for r in absent] == [("pss-host-namespaces", "none")]
    shards = []
    for k in (1, 2, 3):
        shards.append(str(tree / f"s{k}.json"))
        cli(["manifests", "--baseline", "baseline.json", "--shard", f"{k}/3", "-o", f"json={shards[-1]}", "k8s"])
    assert any(len(json.loads(Path(s).read_text())["baseline_absent"]) > 1 for s in shards)  # others' findings
    merged = json.loads(cli(["merge", "-f", "json", *shards]).out)
    assert merged["baseline_absent"] == report["baseline_absent"]
