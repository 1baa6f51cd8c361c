"""The hardening rules against Kyverno's own tests of the same practice (`kyverno test` expectations in
`../shared/corpus/policies/expected.json`): per resource, Kyverno's verdict for the policy against
whether gates finds the rule. Every disagreement is listed with its class and reason; any other fails.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest

from gates.checks.manifests.gate import ManifestOptions, scan
from gates.checks.manifests.rules import OPT_IN_RULES
from tests.conftest import require_corpus

POLICY_TO_RULE = {
    "best-practices/disallow-cri-sock-mount": "k8s-runtime-socket",
    "best-practices/disallow-default-namespace": "k8s-default-namespace",
    "best-practices/require-pod-requests-limits": "k8s-resource-limits",
    "best-practices/require-ro-rootfs": "k8s-read-only-root",
    "best-practices/disallow-latest-tag": "k8s-image-latest",
}

DISAGREEMENTS = {
    ("best-practices/disallow-default-namespace", "Deployment", "baddeployment01"):
        "peer stricter: it has no namespace, which Kyverno's CLI takes as `default`; gates judges what the"
        " manifest says, and the namespace is the applier's (kustomize, Helm, kubectl -n)",
    ("best-practices/require-pod-requests-limits", "Pod", "goodpod01"):
        "peer laxer: Kyverno's policy asks a memory limit only; gates asks a CPU limit too",
    ("best-practices/require-pod-requests-limits", "Pod", "goodpod02"):
        "peer laxer: Kyverno's policy asks a memory limit only; gates asks a CPU limit too",
}
"""(policy folder, kind, name) -> class and reason."""


def _tests() -> list[dict[str, Any]]:
    root = require_corpus("policies")
    tests: list[dict[str, Any]] = json.loads((root / "expected.json").read_text())["kyverno"]["tests"]
    return [t for t in tests if str(t["test"]).split("/.kyverno-test")[0] in POLICY_TO_RULE]


@pytest.mark.parametrize("policy", sorted(POLICY_TO_RULE))
def test_agreement_with_kyverno(policy: str) -> None:
    root = require_corpus("policies", "kyverno")
    [case] = [t for t in _tests() if str(t["test"]).startswith(policy + "/")]
    peer: dict[tuple[str, str], set[str]] = defaultdict(set)
    for expected in case["results"]:
        peer[(expected["kind"], expected["resource"])].add(expected["result"])
    paths = tuple(str(root / p) for p in case["resources"])
    ours: dict[tuple[str, str], set[str]] = {}
    for result in scan(ManifestOptions(paths=paths, enable_rules=OPT_IN_RULES)):
        kind, _, rest = result.target.partition("#")[2].partition("/")
        ours[(kind, rest.rpartition("/")[2])] = {f.rule for f in result.findings}
    rule = POLICY_TO_RULE[policy]
    disagree = {(policy, *key) for key, verdicts in peer.items()
                if ("fail" in verdicts) != (rule in ours[key])}
    assert disagree == {key for key in DISAGREEMENTS if key[0] == policy}
    assert len(peer) >= 2  # the policy's test has cases both ways to agree on
