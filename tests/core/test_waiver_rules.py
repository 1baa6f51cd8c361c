"""A waiver must name a rule that exists; one bad inline waiver never hides its resource's findings.

Issue 12: `rule = "k8s-image-digst"` and `gates.dev/waive.pss-privilged` were ignored silently, and an
inline waiver without a reason turned its resource into an error that showed none of its findings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import CliRun, run_process
from tests.core.test_waivers import _host_path_daemonset
from tests.manifests.helpers import compliant_pod_spec, wrap


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "ds.yaml").write_text(yaml.safe_dump(_host_path_daemonset(), sort_keys=False))
    return tmp_path


def _results(run: CliRun) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = json.loads(run.out)["results"]
    return results


def _waiver(rule: str) -> str:
    return f'[[waivers]]\nrule = "{rule}"\nreason = "reads host /proc"\n'


def test_a_misspelled_config_waiver_is_a_configuration_error_with_did_you_mean(repo: Path) -> None:
    (repo / "gates.toml").write_text(_waiver("pss-volume-types") + _waiver("k8s-image-digst"), encoding="utf-8")
    run = run_process(["manifests", "ds.yaml"], cwd=repo)
    assert run.code == 2 and run.out == ""
    assert run.err.strip().startswith("gates: configuration error: gates.toml: waivers[2].rule: 'k8s-image-digst'"
                                      " matches no known rule (did you mean k8s-image-digest,")  # best first


def test_a_glob_matching_no_rule_points_to_the_rule_list(repo: Path) -> None:
    (repo / "pyproject.toml").write_text("[tool.gates]\n" + _waiver("no-such-*").replace("[[waivers]]",
                                                                                           "[[tool.gates.waivers]]"))
    run = run_process(["manifests", "ds.yaml"], cwd=repo)
    assert run.code == 2
    assert run.err.strip() == ("gates: configuration error: pyproject.toml: tool.gates.waivers[1].rule: 'no-such-*'"
                               " matches no known rule (see `gates list`)")


@pytest.mark.parametrize("rule", ["pss-*", "PSS-Volume-Types", "*-volume-types", "base-image-*"])
def test_globs_and_any_case_that_match_a_rule_are_accepted(repo: Path, rule: str) -> None:
    """Another gate's rule is known too: one configuration serves every gate."""
    (repo / "gates.toml").write_text(_waiver(rule), encoding="utf-8")
    run = run_process(["manifests", "ds.yaml", "--format", "json"], cwd=repo)
    waived = rule != "base-image-*"
    assert run.code == (0 if waived else 1), run.err
    [finding] = _results(run)[0]["findings"]
    assert (finding["waived"] is not None) is waived


def _two_daemonsets(repo: Path, annotations: dict[str, str]) -> None:
    first = _host_path_daemonset(annotations)
    first["spec"]["template"]["spec"]["hostNetwork"] = True
    second = _host_path_daemonset()
    second["metadata"]["name"] = "other"
    (repo / "ds.yaml").write_text(yaml.safe_dump_all([first, second], sort_keys=False))


def _line_of(repo: Path, text: str) -> int:
    lines = (repo / "ds.yaml").read_text().splitlines()
    return next(number for number, line in enumerate(lines, start=1) if text in line)


def test_a_misspelled_inline_waiver_is_an_error_naming_file_and_line(repo: Path) -> None:
    _two_daemonsets(repo, {"gates.dev/waive.pss-volume-typse": "reads host /proc",
                           "gates.dev/waive.pss-host-namespaces": "node metrics; expires=2099-01-01"})
    run = run_process(["manifests", "ds.yaml", "--format", "json"], cwd=repo)
    assert run.code == 1, run.err
    own, bad, other = _results(run)
    assert own["target"] == "ds.yaml#DaemonSet/monitoring/node-exporter" and own["outcome"] == "failed"
    findings = {f["rule"]: f["waived"] for f in own["findings"]}
    assert set(findings) == {"pss-volume-types", "pss-host-namespaces"}
    assert findings["pss-volume-types"] is None  # the misspelled waiver waives nothing
    assert findings["pss-host-namespaces"] is not None  # the good one beside it still does
    line = _line_of(repo, "gates.dev/waive.pss-volume-typse")
    assert bad["outcome"] == "error" and bad["location"]["line"] == line
    assert bad["error"] == (f"ds.yaml:{line}: gates.dev/waive.pss-volume-typse: waiver 'pss-volume-typse' matches no"
                            " known rule (did you mean pss-volume-types?)")
    assert other["target"] == "ds.yaml#DaemonSet/monitoring/other" and other["outcome"] == "failed"


def test_an_inline_waiver_without_reason_keeps_the_findings_and_names_its_rule_and_line(repo: Path) -> None:
    _two_daemonsets(repo, {"gates.dev/waive.pss-volume-types": "expires=2099-01-01"})
    run = run_process(["manifests", "ds.yaml", "--format", "json"], cwd=repo)
    assert run.code == 1, run.err
    own, bad, _ = _results(run)
    assert sorted(f["rule"] for f in own["findings"]) == ["pss-host-namespaces", "pss-volume-types"]
    assert all(f["waived"] is None for f in own["findings"])
    line = _line_of(repo, "gates.dev/waive.pss-volume-types")
    assert bad["outcome"] == "error"
    assert bad["error"].startswith(f"ds.yaml:{line}: gates.dev/waive.pss-volume-types: waiver has no reason")
    console = run_process(["manifests", "ds.yaml"], cwd=repo).out
    assert "pss-host-namespaces" in console and f"ds.yaml:{line}: gates.dev/waive.pss-volume-types" in console


def test_a_well_formed_inline_waiver_still_waives(repo: Path) -> None:
    pod = wrap("Pod", compliant_pod_spec(), annotations={"gates.dev/waive.PSS-Volume-Types": "not needed"})
    (repo / "pod.yaml").write_text(yaml.safe_dump(pod, sort_keys=False))
    run = run_process(["manifests", "pod.yaml", "--format", "json"], cwd=repo)
    assert run.code == 0, run.err
    assert [r["outcome"] for r in _results(run)] == ["passed"]
