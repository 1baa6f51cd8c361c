"""The cluster gate against Checkov's control-plane fixtures and their expected verdicts (needs the corpus:
`cluster-config/`, see its PROVENANCE.md).

Each fixture varies one flag of a static pod; Checkov's check says PASSED or FAILED for it. The gate
runs all its rules, so only the rule (and, where one rule covers several flags, the flag) of the
mapped check is compared. Every disagreement is listed below with its class, and the list is exact:
a disagreement that goes away, or a new one, fails the test.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from gates.checks.cluster.gate import ClusterOptions, scan
from gates.model import Outcome
from tests.checks_cluster.checkov import CHECKS
from tests.conftest import require_corpus

DEFAULT_ON = "Checkov reads a default-on admission plugin as off when another plugin list is given"
DEFAULT_TRUE = "the flag is unset and kube-apiserver defaults to the safe value (kube-bench agrees)"
FILE_NAME = "Checkov judges the file name's extension (.pem); a key's name says nothing of its content"
UNSET_IS_UNSAFE = "the flag is unset and the component's default is the unsafe one: gates fails it"
NO_LOG = "retention is moot without --audit-log-path (its own finding): an unset maxage/backup/size is not"

DISAGREEMENTS: dict[tuple[str, str], str] = {
    ("CKV_K8S_74", "ApiServerAuthorizationModeNotAlwaysAllow/ApiServer-PASSED-2.yaml"): UNSET_IS_UNSAFE,
    ("CKV_K8S_82", "ApiServerServiceAccountPlugin/ApiServerServiceAccountPlugin-FAILED.yaml"): DEFAULT_ON,
    ("CKV_K8S_83", "ApiServerNamespaceLifecyclePlugin/ApiServerNamespaceLifecyclePlugin-FAILED.yaml"): DEFAULT_ON,
    ("CKV_K8S_93", "ApiServerAuditLogMaxBackup/ApiServer-FAILED.yaml"): NO_LOG,
    ("CKV_K8S_94", "ApiServerAuditLogMaxSize/ApiServer-FAILED.yaml"): NO_LOG,
    ("CKV_K8S_96", "ApiServerServiceAccountLookup/ApiServer-FAILED-2.yaml"): DEFAULT_TRUE,
    ("CKV_K8S_97", "ApiServerServiceAccountKeyFile/ApiServerServiceAccountKeyFile-FAILED.yaml"): FILE_NAME,
    ("CKV_K8S_110", "KubeControllerManagerServiceAccountPrivateKeyFile/ApiServer-FAILED.yaml"): FILE_NAME,
    ("CKV_K8S_110", "KubeControllerManagerServiceAccountPrivateKeyFile/ApiServer-PASSED-2.yaml"): UNSET_IS_UNSAFE,
    ("CKV_K8S_111", "KubeControllerManagerRootCAFile/ApiServer-FAILED.yaml"): FILE_NAME,
    ("CKV_K8S_111", "KubeControllerManagerRootCAFile/ApiServer-PASSED_2.yaml"): UNSET_IS_UNSAFE,
}


def _resource(checkov_id: str) -> str:
    """`Pod.kube-system.name` -> `Pod/kube-system/name`; Checkov names a namespace-less object `default`."""
    kind, namespace, name = checkov_id.split(".", 2)
    return f"{kind}/{namespace}/{name}"


def _verdicts(path: Path, rule: str, needle: str | None) -> dict[str, str]:
    """Resource -> FAILED (a finding of `rule` naming the flag), ERROR (undecided) or PASSED."""
    verdicts: dict[str, str] = {}
    for result in scan(ClusterOptions(paths=(str(path),))):
        resource = result.target.partition("#")[2]
        if resource.count("/") == 1:
            kind, name = resource.split("/")
            resource = f"{kind}/default/{name}"
        hits = [f for f in result.findings if f.rule == rule
                and (needle is None or any(n in f.message for n in needle.split("|")))]
        verdicts[resource] = ("FAILED" if hits else "ERROR" if result.outcome is Outcome.ERROR else "PASSED")
    return verdicts


def _comparisons() -> list[tuple[str, str, str, str, str]]:
    """(check id, fixture, resource, Checkov's verdict, the gate's) for every mapped fixture."""
    root = require_corpus("cluster-config")
    expected: dict[str, Any] = json.loads((root / "expected.json").read_text(encoding="utf-8"))
    rows = []
    for test in expected["checkov"]["tests"]:
        mapped = CHECKS[test["check_id"]]
        if isinstance(mapped, str):
            continue
        folder = root / test["example_dir"]
        for fixture in test["files"]:
            verdicts = _verdicts(folder / fixture["file"], *mapped)
            short = f"{folder.name.removeprefix('example_')}/{fixture['file']}"
            for resource in fixture["resources"]:
                ours = verdicts.get(_resource(resource), "NOT FOUND")
                rows.append((test["check_id"], short, resource, fixture["name_says"], ours))
    return rows


@pytest.fixture(scope="module")
def comparisons() -> list[tuple[str, str, str, str, str]]:
    return _comparisons()


def test_every_checkov_check_is_mapped_or_left_out_with_a_reason() -> None:
    root = require_corpus("cluster-config")
    expected = json.loads((root / "expected.json").read_text(encoding="utf-8"))
    ids = {test["check_id"] for test in expected["checkov"]["tests"]}
    assert ids == set(CHECKS)


def test_agreement_with_checkov_except_the_classified_disagreements(
        comparisons: list[tuple[str, str, str, str, str]]) -> None:
    found = {(check, fixture): (theirs, ours) for check, fixture, _, theirs, ours in comparisons if theirs != ours}
    assert set(found) == set(DISAGREEMENTS), {k: found.get(k) for k in set(found) ^ set(DISAGREEMENTS)}
    agreed = sum(1 for *_, theirs, ours in comparisons if theirs == ours)
    assert agreed == len(comparisons) - len(DISAGREEMENTS)
    print(f"agreement: {agreed}/{len(comparisons)}; disagreements by class: {Counter(DISAGREEMENTS.values())}")


def test_every_resource_checkov_judges_is_found(comparisons: list[tuple[str, str, str, str, str]]) -> None:
    assert not [row for row in comparisons if row[4] == "NOT FOUND"]
