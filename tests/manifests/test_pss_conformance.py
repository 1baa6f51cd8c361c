"""Conformance: every Pod Security Admission fixture gets Kubernetes' own verdict, at its level.

Allowed fixtures must produce no finding at all; denied fixtures must fail with the rule that maps
to the fixture's check (after restricted-level overrides, as PSA applies them).
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from gates.checks.manifests.gate import ManifestOptions, scan
from gates.checks.manifests.rules import BASELINE_OVERRIDDEN_AT_RESTRICTED, PSS_RULES
from gates.model import Outcome
from tests.conftest import require_corpus

CHECK_TO_RULE = {
    "windowshostprocess": "pss-host-process",
    "hostnamespaces": "pss-host-namespaces",
    "privileged": "pss-privileged",
    "capabilities_baseline": "pss-capabilities",
    "hostpathvolumes": "pss-host-path",
    "hostports": "pss-host-ports",
    "apparmorprofile": "pss-apparmor",
    "selinuxoptions": "pss-selinux",
    "procmount": "pss-proc-mount",
    "seccompprofile_baseline": "pss-seccomp",
    "sysctls": "pss-sysctls",
    "hostprobesandhostlifecycle": "pss-host-probes",
    "restrictedvolumes": "pss-volume-types",
    "allowprivilegeescalation": "pss-privilege-escalation",
    "runasnonroot": "pss-run-as-non-root",
    "runasuser": "pss-run-as-user",
    "seccompprofile_restricted": "pss-seccomp-restricted",
    "capabilities_restricted": "pss-capabilities-restricted",
    "procmount_restricted": "pss-proc-mount-restricted",
}


def _expected_rule(check: str, level: str) -> str:
    rule = CHECK_TO_RULE[check]
    return BASELINE_OVERRIDDEN_AT_RESTRICTED.get(rule, rule) if level == "restricted" else rule


def _index() -> dict[str, dict[str, str]]:
    root = require_corpus("pss")
    data: dict[str, dict[str, str]] = json.loads((root / "index.json").read_text())
    return data


def test_every_fixture_gets_kubernetes_verdict() -> None:
    root = require_corpus("pss")
    index = _index()
    disagreements = []
    for relative, case in index.items():
        results = scan(ManifestOptions(paths=(str(root / relative),), level=case["level"], hardening=False))
        assert len(results) == 1, relative
        result = results[0]
        rules = {f.rule for f in result.findings}
        if case["expect"] == "allowed":
            agrees = result.outcome is Outcome.PASSED and not rules
        else:
            agrees = result.outcome is Outcome.FAILED and _expected_rule(case["check"], case["level"]) in rules
        if not agrees:
            disagreements.append((relative, case["expect"], result.outcome.value, sorted(rules), result.error))
    assert disagreements == [], f"{len(disagreements)} of {len(index)} fixtures disagree"
    assert len(index) == 148


def test_fixtures_cover_every_rule_at_both_levels() -> None:
    index = _index()
    denied = Counter(
        (case["level"], _expected_rule(case["check"], case["level"]))
        for case in index.values() if case["expect"] == "denied"
    )
    baseline_rules = {r.id for r in PSS_RULES if r.level == "baseline"}
    restricted_rules = {r.id for r in PSS_RULES} - set(BASELINE_OVERRIDDEN_AT_RESTRICTED)
    assert {rule for level, rule in denied if level == "baseline"} == baseline_rules
    assert {rule for level, rule in denied if level == "restricted"} == restricted_rules


@pytest.mark.parametrize("level", ["baseline", "restricted"])
def test_denied_fixture_findings_point_into_the_file(level: str) -> None:
    root = require_corpus("pss")
    for relative, case in _index().items():
        if case["level"] != level or case["expect"] != "denied":
            continue
        path = root / relative
        lines = path.read_text().splitlines()
        for result in scan(ManifestOptions(paths=(str(path),), level=level, hardening=False)):
            for finding in result.findings:
                assert finding.location.line is not None and 1 <= finding.location.line <= len(lines)
                assert finding.location.column is not None and finding.location.column >= 1
