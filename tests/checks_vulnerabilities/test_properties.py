"""Property: a real-shaped report or OpenVEX document with any of its fields replaced by any JSON value is
read or refused with the gate's own one-line `InputError`, never another exception."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gates.checks.vulnerabilities import jsondoc, vex
from gates.checks.vulnerabilities.sniff import detect
from gates.errors import InputError
from tests.checks_vulnerabilities.reports import DIGEST, grype, grype_match, trivy, trivy_vuln

_CDX = {"bomFormat": "CycloneDX", "specVersion": "1.5",
        "metadata": {"component": {"bom-ref": "img", "name": "web", "version": DIGEST},
                     "tools": {"components": [{"name": "trivy", "version": "0.58"}]}},
        "components": [{"bom-ref": "pkg:npm/a@1", "name": "a", "version": "1", "purl": "pkg:npm/a@1",
                        "components": [{"bom-ref": "b", "name": "b", "group": "g"}]}],
        "vulnerabilities": [{"id": "CVE-1", "source": {"name": "nvd"}, "references": [{"id": "GHSA-1"}],
                             "ratings": [{"source": {"name": "nvd"}, "severity": "high"}],
                             "recommendation": "Upgrade a to version 2",
                             "affects": [{"ref": "urn:cdx:x/1#pkg:npm/a@1"}],
                             "analysis": {"state": "not_affected", "justification": "code_not_reachable"}}]}
_GITLAB = {"version": "15.0.7", "scan": {"type": "container_scanning", "status": "success",
                                         "scanner": {"name": "Trivy", "version": "0.58"}},
           "vulnerabilities": [{"id": "1", "severity": "High", "solution": "Upgrade a to 2",
                                "identifiers": [{"type": "cve", "name": "CVE-1", "value": "CVE-1"}],
                                "location": {"dependency": {"package": {"name": "a"}, "version": "1"},
                                             "image": "web:1"}}]}
_VEX = {"@context": "https://openvex.dev/ns/v0.2.0", "timestamp": "2024-01-01T00:00:00.123456789Z",
        "statements": [{"vulnerability": {"name": "CVE-1", "aliases": ["GHSA-1"]}, "timestamp": "2024-02-01T00:00:00Z",
                        "products": [{"@id": f"pkg:oci/web@{DIGEST}", "identifiers": {"purl": "pkg:npm/a@1"},
                                      "subcomponents": [{"@id": "pkg:npm/a@1"}]}],
                        "subcomponents": ["pkg:npm/b@1"], "status": "not_affected",
                        "justification": "vulnerable_code_not_present", "impact_statement": "not used"}]}
SAMPLES: list[Any] = [
    json.loads(trivy(trivy_vuln("CVE-1", "a", "1", "2", purl="pkg:apk/alpine/a@1"))),
    json.loads(grype(grype_match("CVE-1", "a", "1", "2", fix_date="2024-01-01"))),
    _CDX, _GITLAB,
]

_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=6)
    | st.sampled_from(["sha256:ab", "pkg:npm/%zz", "pkg:", "urn:cdx:#", "2024-13-45", "fixed", "HIGH"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=10)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _mutate(sample: Any, picks: list[tuple[int, Any]]) -> Any:
    data: Any = json.loads(json.dumps(sample))
    for index, value in picks:
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        *parents, last = paths[index % len(paths)]
        holder = data
        for step in parents:
            holder = holder[step]
        holder[last] = value
    return data


def _refusal(call: Callable[[], object]) -> str:
    """The `InputError` text of `call`, or "" when it reads the input; any other exception fails the test."""
    try:
        call()
    except InputError as exc:
        return str(exc)
    return ""


_picks = st.lists(st.tuples(st.integers(0, 10_000), _values), min_size=1, max_size=3)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample=st.sampled_from(range(len(SAMPLES))), picks=_picks)
def test_mutated_reports_are_read_or_refused(sample: int, picks: list[tuple[int, Any]]) -> None:
    doc = jsondoc.parse(json.dumps(_mutate(SAMPLES[sample], picks), indent=1).encode())
    assert "\n" not in _refusal(lambda: detect(doc)(doc))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(picks=_picks)
def test_mutated_vex_is_read_or_refused(tmp_path: Path, picks: list[tuple[int, Any]]) -> None:
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(_mutate(_VEX, picks), indent=1), encoding="utf-8")
    assert "\n" not in _refusal(lambda: vex.load(str(path), "doc.json", 1 << 20))


def test_a_scalar_where_grype_lists_digests_is_refused() -> None:
    """Found while fuzzing: `repoDigests: 3` once raised TypeError (an internal error, exit 3)."""
    data = _mutate(SAMPLES[1], [])
    data["source"]["target"]["repoDigests"] = 3
    doc = jsondoc.parse(json.dumps(data, indent=1).encode())
    with pytest.raises(InputError, match=r"^source\.target\.repoDigests must be an array$"):
        detect(doc)(doc)
