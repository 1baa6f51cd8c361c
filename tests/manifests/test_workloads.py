"""Every workload kind, List objects, multi-document YAML and JSON reach the same checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gates.checks.manifests.workloads import POD_SPEC_PATHS
from gates.model import Outcome
from tests.manifests.helpers import compliant_pod_spec, scan_file, wrap, write


def _privileged_spec() -> dict[str, object]:
    spec = compliant_pod_spec()
    spec["containers"][0]["securityContext"]["privileged"] = True
    return spec


@pytest.mark.parametrize("kind", sorted(POD_SPEC_PATHS))
def test_each_workload_kind(tmp_path: Path, kind: str) -> None:
    path = write(tmp_path, "w.yaml", wrap(kind, _privileged_spec()))
    [result] = scan_file(path)
    assert result.target == f"{path}#{kind}/shop/web"
    assert [f.rule for f in result.findings] == ["pss-privileged"]
    assert result.findings[0].container == "app"


def test_list_multi_document_and_non_workloads(tmp_path: Path) -> None:
    listing = {"apiVersion": "v1", "kind": "List", "items": [
        wrap("Pod", compliant_pod_spec(), name="good"), wrap("Pod", _privileged_spec(), name="bad")]}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}, "spec": {"ports": [{"port": 80}]}}
    path = write(tmp_path, "multi.yaml", listing, service, wrap("DaemonSet", _privileged_spec(), namespace=None))
    results = scan_file(path)
    assert [(r.target.split("#")[1], r.outcome) for r in results] == [
        ("Pod/shop/good", Outcome.PASSED), ("Pod/shop/bad", Outcome.FAILED), ("Service/svc", Outcome.PASSED),
        ("DaemonSet/web", Outcome.FAILED)]
    # the finding of the second List item points into that item, not the first one
    line = results[1].findings[0].location.line
    assert line is not None
    text = path.read_text().splitlines()
    assert "privileged: true" in text[line - 1]
    assert "\n".join(text[:line]).count("name: bad") == 1


def test_json_manifest(tmp_path: Path) -> None:
    path = tmp_path / "pod.json"
    path.write_text(json.dumps(wrap("Pod", _privileged_spec()), indent=2))
    [result] = scan_file(path)
    [finding] = result.findings
    assert finding.rule == "pss-privileged"
    assert finding.location.line is not None
    assert '"privileged": true' in path.read_text().splitlines()[finding.location.line - 1]


def test_documents_without_kind_are_ignored(tmp_path: Path) -> None:
    workflow = tmp_path / "ci.yml"
    workflow.write_text("on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n")
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  web:\n    image: nginx\n    privileged: true\n")
    assert scan_file(tmp_path) == []
