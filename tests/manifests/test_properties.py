"""Property-based tests: the YAML-to-findings path never crashes, and agrees with simple oracles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gates.checks.manifests.gate import ManifestOptions, scan
from gates.errors import InputError
from gates.model import Outcome
from gates.targets.yaml_docs import load_documents, locate
from tests.manifests.helpers import IMAGE

PRIVILEGED_VALUES = st.sampled_from(["absent", True, False, "true", None, 1])
CONTAINER_LISTS = st.sampled_from(["containers", "initContainers", "ephemeralContainers"])


@st.composite
def pods(draw: st.DrawFn) -> tuple[dict[str, Any], list[Any]]:
    values = draw(st.lists(st.tuples(CONTAINER_LISTS, PRIVILEGED_VALUES), min_size=1, max_size=6))
    spec: dict[str, Any] = {}
    for index, (where, value) in enumerate(values):
        container: dict[str, Any] = {"name": f"c{index}", "image": IMAGE}
        if value != "absent":
            container["securityContext"] = {"privileged": value}
        spec.setdefault(where, []).append(container)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}, [v for _, v in values]


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(case=pods())
def test_privileged_oracle(tmp_path: Path, case: tuple[dict[str, Any], list[Any]]) -> None:
    document, values = case
    path = tmp_path / "pod.yaml"
    path.write_text(yaml.safe_dump(document))
    [result] = scan(ManifestOptions(paths=(str(path),), level="baseline"))
    wrong_type = any(not (v is True or v is False or v is None or v == "absent") for v in values)
    if wrong_type:
        assert result.outcome is Outcome.ERROR
        assert result.error is not None and "privileged must be a boolean" in result.error
        return
    flagged = sorted(f.container or "" for f in result.findings if f.rule == "pss-privileged")
    expected = sorted(f"c{i}" for i, v in enumerate(values) if v is True)  # identity: 1 is not True
    assert flagged == expected
    assert result.outcome is (Outcome.FAILED if expected else Outcome.PASSED)
    lines = path.read_text().splitlines()
    for finding in result.findings:
        assert finding.location.line is not None
        assert "privileged: true" in lines[finding.location.line - 1]


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!|>'\"#\n \t,?%@`0")), max_size=200))
def test_loader_never_crashes_on_arbitrary_text(text: str) -> None:
    try:
        for document in load_documents(text):
            locate(document.content, ("a", 0, "b"))
    except InputError as exc:
        assert "\n" not in str(exc)  # noqa: PT017 - the property is about every error raised


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_scan_never_crashes_on_arbitrary_bytes(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(b"apiVersion: v1\nkind: Pod\n" + data)
    for result in scan(ManifestOptions(paths=(str(path),))):
        assert result.outcome in (Outcome.PASSED, Outcome.FAILED, Outcome.ERROR)
        if result.outcome is Outcome.ERROR:
            assert result.error is not None and "\n" not in result.error
