"""`--shard K/N`: a partition of the targets by a stable hash, from the flag or GitLab's parallel job."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gates import shard
from gates.entry import parse_manifests_args
from gates.errors import UsageError

POD = """apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: default}}
spec:
  containers:
  - name: app
    image: registry.example/app@sha256:{digest}
"""
DIGEST = "a" * 64


@given(st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=60, unique=True),
       st.lists(st.text(min_size=1, max_size=40), max_size=30), st.integers(1, 9))
def test_every_target_is_in_exactly_one_shard_and_keeps_it_when_others_come(
        ids: list[str], added: list[str], total: int) -> None:
    shards = [shard.Shard(k, total) for k in range(1, total + 1)]
    owners = {i: [s.index for s in shards if s.owns(i)] for i in ids}
    assert all(len(owner) == 1 for owner in owners.values())
    grown = ids + added  # the owner depends on the id alone: nothing that is added moves a target
    assert {i: shard.shard_of(i, total) for i in ids} == {i: shard.shard_of(i, total) for i in grown if i in owners}
    assert len([i for s in shards for i in s.select(grown, str)]) == len(grown)


def test_the_partition_is_the_same_on_every_machine_and_version() -> None:
    # A known answer: a change to the hash would move every file of every sharded pipeline to another job,
    # and shards of two gates versions would no longer agree.
    assert [shard.shard_of(f"k8s/app-{n}.yaml", 4) for n in range(8)] == [1, 1, 4, 2, 1, 2, 2, 4]


@pytest.mark.parametrize("text", ["", "1", "0/4", "5/4", "1/0", "a/b", "-1/4", "1/4/2", "1/5000"])
def test_a_malformed_shard_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="--shard"):
        shard.parse(text)


def test_gitlab_parallel_is_read_only_under_gitlab_and_the_flag_wins() -> None:
    gitlab = {"GITLAB_CI": "true", "CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "3"}
    assert shard.chosen(None, gitlab) == shard.Shard(2, 3)
    assert shard.chosen("1/4", gitlab) == shard.Shard(1, 4)
    assert shard.chosen(None, {**gitlab, "GITLAB_CI": "false"}) is None
    assert shard.chosen(None, {"GITLAB_CI": "true"}) is None  # a job without parallel
    with pytest.raises(UsageError, match="CI_NODE_INDEX"):
        shard.chosen(None, {**gitlab, "CI_NODE_INDEX": "4"})


def test_the_fast_path_takes_the_shard_and_the_baseline() -> None:
    parsed = parse_manifests_args(["manifests", "--shard", "2/4", "--baseline=b.json", "--", "k8s"])
    assert parsed is not None and parsed["shard"] == "2/4" and parsed["baseline"] == "b.json"


def test_only_the_flags_that_decide_verdicts_are_compared() -> None:
    args = ["manifests", "--shard", "1/4", "-o", "json=a.json", "--output=sarif=b", "-fjson", "--verbose",
            "--config", "x.toml", "--level", "baseline", "k8s", "--", "--shard", "-o"]
    assert shard.verdict_arguments(args) == ("manifests", "--level", "baseline", "k8s", "--", "--shard", "-o")


def _tree(root: Path, count: int) -> None:
    for n in range(count):
        (root / f"app-{n}.yaml").write_text(POD.format(name=f"app-{n}", digest=DIGEST), encoding="utf-8")


def _json(text: str) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(text)
    return report


def test_each_shard_judges_its_own_files_and_an_empty_shard_passes(cli: Any, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "k8s").mkdir()
    _tree(tmp_path / "k8s", 12)
    judged: list[str] = []
    for k in (1, 2, 3):
        run = cli(["manifests", "--shard", f"{k}/3", "-f", "json", "k8s"])
        report = _json(run.out)
        assert report["shard"]["index"] == k and report["shard"]["total"] == 3
        paths = [r["location"]["path"] for r in report["results"]]
        assert all(shard.shard_of(p, 3) == k for p in paths)
        judged += paths
    assert sorted(judged) == sorted(f"k8s/app-{n}.yaml" for n in range(12))
    lonely = tmp_path / "one"
    lonely.mkdir()
    _tree(lonely, 1)
    owner = shard.shard_of("one/app-0.yaml", 2)
    empty = cli(["manifests", "--shard", f"{3 - owner}/2", "-f", "json", "one"])
    assert empty.code == 0 and _json(empty.out)["results"] == []  # "checked nothing" is the merge's to say


def test_gitlab_parallel_shards_a_real_process(tmp_path: Path) -> None:
    from tests.conftest import run_process

    _tree(tmp_path, 6)
    env = {"GITLAB_CI": "true", "CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "2"}
    run = run_process(["manifests", "-f", "json", "--", "."], tmp_path, env=env)
    report = _json(run.out)
    assert report["shard"]["index"] == 2
    assert {r["location"]["path"] for r in report["results"]} == \
        {f"app-{n}.yaml" for n in range(6) if shard.shard_of(f"app-{n}.yaml", 2) == 2}
