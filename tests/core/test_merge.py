"""`gates merge`: the shards' JSON reports fold into the report an unsharded run writes, or are refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gates.shard import shard_of
from tests.conftest import require_corpus
from tests.core.reports_support import CI_VARIABLES

SHARDS = 4


@pytest.fixture(autouse=True)
def _outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shards' reports go to the test's own folder: this test suite's CI (if any) is not the runs'."""
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def _results(report: dict[str, Any]) -> list[str]:
    """Every result as one canonical line, in a canonical order (shards interleave the walk's order)."""
    return sorted(json.dumps(r, sort_keys=True) for r in report["results"])


def _shards(cli: Any, args: list[str], where: Path, total: int = SHARDS) -> list[Path]:
    paths = []
    for k in range(1, total + 1):
        target = where / f"shard-{k}.json"
        run = cli([*args[:1], "--shard", f"{k}/{total}", "-o", f"json={target}", "-f", "console", *args[1:]])
        assert run.code in (0, 1), run.err
        paths.append(target)
    return paths


@pytest.mark.parametrize("tree", [("pss",), ("extras", "kubernetes-examples")])
def test_merged_shards_hold_what_an_unsharded_run_holds(cli: Any, tmp_path: Path, tree: tuple[str, ...]) -> None:
    root = str(require_corpus(*tree))
    whole = cli(["manifests", "-f", "json", root])
    shards = _shards(cli, ["manifests", root], tmp_path)
    sizes = [len(json.loads(p.read_text())["results"]) for p in shards]
    assert len([s for s in sizes if s]) > 1  # the work was really split
    merged = cli(["merge", "-f", "json", *map(str, shards)])
    expected, got = json.loads(whole.out), json.loads(merged.out)
    assert _results(got) == _results(expected)
    assert (got["outcome"], got["summary"], got["gates"]) == (expected["outcome"], expected["summary"],
                                                             expected["gates"])
    assert merged.code == whole.code and "shard" not in got


DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "registry.example/web@sha256:%s"}]
""" % ("b" * 64)
POLICY = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec: {podSelector: {matchLabels: {app: web}}, policyTypes: [Ingress]}
"""
ROLLOUT = """apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: r, namespace: shop}
spec:
  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web}
"""


def _apart(names: list[str]) -> list[str]:
    """File names for these objects, each in a shard of its own (found by numbering them)."""
    chosen: list[str] = []
    for name in names:
        n = 0
        while shard_of(f"k8s/{name}-{n}.yaml", SHARDS) in {shard_of(f"k8s/{c}", SHARDS) for c in chosen}:
            n += 1
        chosen.append(f"{name}-{n}.yaml")
    return chosen


def test_cross_file_checks_agree_under_shards(cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Network-policy coverage needs every policy, and a Rollout's workloadRef its Deployment, wherever
    each lies: a shard reads what it needs of the other files."""
    monkeypatch.chdir(tmp_path)
    tree = tmp_path / "k8s"
    tree.mkdir()
    for name, text in zip(_apart(["deployment", "policy", "rollout"]), (DEPLOYMENT, POLICY, ROLLOUT), strict=True):
        (tree / name).write_text(text, encoding="utf-8")
    (tmp_path / "covered.toml").write_text("[manifests]\nrequire-network-policy = true\n", encoding="utf-8")
    (tmp_path / "plain.toml").write_text("", encoding="utf-8")
    for config in ("covered.toml", "plain.toml"):
        whole = json.loads(cli(["manifests", "--config", config, "-f", "json", "k8s"]).out)
        assert not [r for r in whole["results"] if r["outcome"] == "error"]  # the Rollout's ref is resolved
        shards = _shards(cli, ["manifests", "--config", config, "k8s"], tmp_path)
        merged = json.loads(cli(["merge", "-f", "json", *map(str, shards)]).out)
        assert _results(merged) == _results(whole)


def test_a_gate_that_checked_nothing_in_any_shard_is_an_error_on_the_merge(cli: Any, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    shards = _shards(cli, ["manifests", "empty"], tmp_path, total=2)
    assert all(json.loads(p.read_text())["outcome"] == "passed" for p in shards)
    merged = cli(["merge", "-f", "json", *map(str, shards)])
    assert merged.code == 1
    errors = [r["error"] for r in json.loads(merged.out)["results"]]
    assert errors == ["the manifests gate checked nothing: it found no target"]


def test_the_vulnerability_gate_splits_its_reports(cli: Any, tmp_path: Path) -> None:
    reports = sorted(str(p) for p in require_corpus("scanner-reports", "trivy").rglob("*.json"))[:12]
    whole = cli(["vulnerabilities", "-f", "json", *reports])
    shards = _shards(cli, ["vulnerabilities", *reports], tmp_path, total=3)
    merged = cli(["merge", "-f", "json", *map(str, shards)])
    assert _results(json.loads(merged.out)) == _results(json.loads(whole.out))
    assert merged.code == whole.code


def _pair(cli: Any, tmp_path: Path, *extra: str) -> list[Path]:
    (tmp_path / "k8s").mkdir(exist_ok=True)
    for n in range(6):
        (tmp_path / "k8s" / f"p{n}.yaml").write_text(
            f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p{n}}}\nspec:\n  containers: [{{name: a, image: a}}]\n",
            encoding="utf-8")
    return _shards(cli, ["manifests", *extra, str(tmp_path / "k8s")], tmp_path, total=2)


def _refusal(cli: Any, paths: list[Path]) -> str:
    run = cli(["merge", *map(str, paths)])
    assert run.code == 2 and run.out == ""
    lines: list[str] = run.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gates: error: ") and "Traceback" not in run.err
    return lines[0]


def test_an_incomplete_or_mixed_set_is_refused_with_one_line(cli: Any, tmp_path: Path) -> None:
    one, two = _pair(cli, tmp_path)
    assert "shard 2 of 2 is missing" in _refusal(cli, [one])
    assert "both shard 1/2" in _refusal(cli, [one, one, two])
    other = tmp_path / "other"
    other.mkdir()
    strict = _pair(cli, other, "--fail-on", "critical")
    assert "different fail-on" in _refusal(cli, [one, strict[1]])
    three = _shards(cli, ["manifests", str(tmp_path / "k8s")], other, total=3)
    assert "split the run differently" in _refusal(cli, [one, three[1]])
    whole = tmp_path / "whole.json"
    cli(["manifests", "-o", f"json={whole}", str(tmp_path / "k8s")])
    assert "not a shard's report" in _refusal(cli, [whole])


def test_shards_of_another_configuration_are_refused(cli: Any, tmp_path: Path) -> None:
    one, _ = _pair(cli, tmp_path)
    config = tmp_path / "baseline.toml"
    config.write_text('[manifests]\nlevel = "baseline"\n', encoding="utf-8")
    other = tmp_path / "other"
    other.mkdir()
    _, two = _pair(cli, other, "--config", str(config))
    assert "different configurations" in _refusal(cli, [one, two])


def test_shards_given_other_targets_or_gate_flags_are_refused(cli: Any, tmp_path: Path) -> None:
    """A job of the matrix given another folder, or another --level, judged another run: merged, the
    targets no shard was given would pass unjudged."""
    one, _ = _pair(cli, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    narrower = _shards(cli, ["manifests", str(tmp_path / "k8s" / "p0.yaml")], elsewhere, total=2)
    assert "different configurations" in _refusal(cli, [one, narrower[1]])
    lenient = _shards(cli, ["manifests", "--level", "baseline", str(tmp_path / "k8s")], elsewhere, total=2)
    assert "different configurations" in _refusal(cli, [one, lenient[1]])
    again = _shards(cli, ["manifests", "--verbose", "--color", "never", str(tmp_path / "k8s")], elsewhere, total=2)
    assert cli(["merge", str(one), str(again[1])]).code in (0, 1)  # how a shard reports is its own affair


def _edited(path: Path, change: Any) -> Path:
    report = json.loads(path.read_text())
    change(report)
    path.write_text(json.dumps(report), encoding="utf-8")
    return path


def _refused_report(cli: Any, paths: list[Path]) -> str:
    run = cli(["merge", *map(str, paths)])
    assert run.code == 1 and run.out == ""
    lines: list[str] = run.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.err
    return lines[0]


def test_a_report_edited_or_malformed_is_refused(cli: Any, tmp_path: Path) -> None:
    one, two = _pair(cli, tmp_path)
    one_text, two_text = one.read_text(), two.read_text()
    failed = next(p for p in (one, two) if json.loads(p.read_text())["outcome"] == "failed")

    def unblock(report: dict[str, Any]) -> None:
        report["results"][0]["findings"][0]["blocking"] = False

    _edited(failed, unblock)
    assert "blocking" in _refused_report(cli, [one, two])
    two.write_text(two_text, encoding="utf-8")
    for change, said in [
        # the outcome flipped, whichever it was (which shard fails depends on where tmp_path lies)
        (lambda r: r.update(outcome="failed" if r["outcome"] == "passed" else "passed"), "outcome"),
        (lambda r: r.update(extra=1), "unknown key"),
        (lambda r: r["summary"]["results"].update(passed=99), "summary/results/passed"),
        (lambda r: r["shard"].update(index=3), "shard 3 of 2"),
        (lambda r: r.update(schema="gates/report/v2"), "gates/report/v1"),
    ]:
        one.write_text(one_text, encoding="utf-8")
        assert said in _refused_report(cli, [_edited(one, change), two])
    one.write_text("{" * 100_000, encoding="utf-8")
    assert "not a JSON document" in _refused_report(cli, [one, two])
    one.write_bytes(b"\xff\xfe")
    assert "not a JSON document" in _refused_report(cli, [one, two])
    assert "not a regular file" in _refused_report(cli, [tmp_path, two])


def test_hostile_text_in_a_report_is_escaped_on_output(cli: Any, tmp_path: Path) -> None:
    one, two = _pair(cli, tmp_path)

    def poison(report: dict[str, Any]) -> None:
        report["results"][0]["target"] = "\x1b[2J::error::owned\u202e"
        report["results"][0]["details"] = ["\n::add-mask::x"]

    target = one if json.loads(one.read_text())["results"] else two
    _edited(target, poison)
    run = cli(["merge", "--verbose", *map(str, (one, two))])
    assert run.code in (0, 1)
    assert "\x1b[2J" not in run.out and "\u202e" not in run.out
    assert not any(line.lstrip().startswith("::") for line in run.out.splitlines())


def test_an_internal_error_every_shard_met_is_one_result_and_an_empty_run_says_so() -> None:
    from gates.engine import GateJob, run
    from gates.merge import merge
    from gates.model import ShardStamp
    from gates.report_reader import ReadReport
    from gates.shard import Shard

    def boom() -> list[Any]:
        raise ZeroDivisionError("bug")

    shards = []
    for k in (1, 2):
        report = run([GateJob("manifests", boom), GateJob("compose", list)], shard=Shard(k, 2),
                     stamp=ShardStamp(k, 2, "sha256:" + "0" * 64))
        assert [r.gate for r in report.results] == ["manifests"]  # the empty compose gate is the merge's
        shards.append(ReadReport(report, "0", f"s{k}.json"))
    merged = merge(shards)
    assert [(r.gate, r.outcome.value) for r in merged.results] == [("manifests", "error"), ("compose", "error")]
    assert len(merged.internal_errors) == 1 and "ZeroDivisionError" in merged.internal_errors[0]
    assert merged.results[1].error == "the compose gate checked nothing: it found no target"
