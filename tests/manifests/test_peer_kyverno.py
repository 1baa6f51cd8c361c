"""The manifest gate against a peer's own test suite: Kyverno's policies and their `.kyverno-test` results.

Each Kyverno (policy, rule) is mapped to the gates rule that judges the same thing, and every expected
result of Kyverno's tests is compared with gates' verdict on the same resource. Every disagreement is
held below with its class (`gates wrong`, `peer laxer`, `peer stricter`) and a one-line reason, so any
change in agreement fails this test; policies with no gates counterpart are listed with why.

Needs the corpus (`policies/kyverno`, `policies/expected.json`).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gates.checks.manifests.gate import ManifestOptions, scan
from gates.model import Outcome, Result
from tests.conftest import require_corpus


@dataclass(frozen=True)
class Counterpart:
    """The gates rule judging what a Kyverno rule judges, at a level, optionally one kind of its findings."""

    level: str
    rules: frozenset[str]
    message: str | None = None
    """Only findings whose message holds this text (a gates rule covering two Kyverno rules)."""
    options: tuple[tuple[str, Any], ...] = ()


def _c(level: str, *rules: str, message: str | None = None, **options: Any) -> Counterpart:
    return Counterpart(level, frozenset(rules), message, tuple(sorted(options.items())))


_BASELINE_PSS = ("pss-host-process", "pss-host-namespaces", "pss-privileged", "pss-capabilities", "pss-host-path",
                 "pss-host-ports", "pss-apparmor", "pss-selinux", "pss-proc-mount", "pss-seccomp", "pss-sysctls",
                 "pss-host-probes")
_RESTRICTED_PSS = (*_BASELINE_PSS, "pss-volume-types", "pss-privilege-escalation", "pss-run-as-non-root",
                   "pss-run-as-user", "pss-seccomp-restricted", "pss-capabilities-restricted",
                   "pss-proc-mount-restricted")

COUNTERPARTS: dict[tuple[str, str], Counterpart] = {
    ("disallow-capabilities", "adding-capabilities"): _c("baseline", "pss-capabilities"),
    ("disallow-host-namespaces", "host-namespaces"): _c("baseline", "pss-host-namespaces"),
    ("disallow-host-path", "host-path"): _c("baseline", "pss-host-path"),
    ("disallow-host-ports-range", "host-port-range"): _c("baseline", "pss-host-ports"),
    ("disallow-host-ports", "host-ports-none"): _c("baseline", "pss-host-ports"),
    ("disallow-host-process", "host-process-containers"): _c("baseline", "pss-host-process"),
    ("disallow-privileged-containers", "privileged-containers"): _c("baseline", "pss-privileged"),
    ("disallow-proc-mount", "check-proc-mount"): _c("baseline", "pss-proc-mount"),
    ("disallow-selinux", "selinux-type"): _c("baseline", "pss-selinux"),
    ("disallow-selinux", "selinux-user-role"): _c("baseline", "pss-selinux"),
    ("restrict-apparmor-profiles", "app-armor"): _c("baseline", "pss-apparmor"),
    ("restrict-seccomp", "check-seccomp"): _c("baseline", "pss-seccomp"),
    ("restrict-sysctls", "check-sysctls"): _c("baseline", "pss-sysctls"),
    ("disallow-capabilities-strict", "adding-capabilities-strict"):
        _c("restricted", "pss-capabilities-restricted", message="adds capability"),
    ("disallow-capabilities-strict", "require-drop-all"):
        _c("restricted", "pss-capabilities-restricted", message='drop=["ALL"]'),
    ("disallow-privilege-escalation", "privilege-escalation"): _c("restricted", "pss-privilege-escalation"),
    ("require-run-as-non-root-user", "run-as-non-root-user"): _c("restricted", "pss-run-as-user"),
    ("require-run-as-nonroot", "run-as-non-root"): _c("restricted", "pss-run-as-non-root"),
    ("restrict-seccomp-strict", "check-seccomp-strict"): _c("restricted", "pss-seccomp-restricted"),
    ("restrict-volume-types", "restricted-volumes"): _c("restricted", "pss-volume-types"),
    ("podsecurity-subrule-baseline", "baseline"): _c("baseline", *_BASELINE_PSS),
    ("podsecurity-subrule-restricted", "restricted"): _c("restricted", *_RESTRICTED_PSS),
    ("podsecurity-subrule-restricted-capabilities", "restricted-exempt-capabilities"):
        _c("restricted", *_RESTRICTED_PSS),
    ("podsecurity-subrule-restricted-seccomp", "restricted-exempt-seccomp"): _c("restricted", *_RESTRICTED_PSS),
    ("drop-all-capabilities", "require-drop-all"):
        _c("restricted", "pss-capabilities-restricted", message='drop=["ALL"]'),
    ("drop-cap-net-raw", "require-drop-cap-net-raw"):
        _c("restricted", "pss-capabilities-restricted", message='drop=["ALL"]'),
    ("disallow-latest-tag", "require-image-tag"): _c("baseline", "k8s-image-latest"),
    ("disallow-latest-tag", "validate-image-tag"): _c("baseline", "k8s-image-latest"),
    ("restrict-image-registries", "validate-registries"):
        _c("baseline", "k8s-image-registry", allowed_registries=("eu.foo.io/*", "bar.io/*")),
    **{("disallow-container-sock-mounts", f"validate-{runtime}-sock-mount"):
       _c("baseline", "k8s-runtime-socket", message=f"{runtime}.sock")
       for runtime in ("docker", "containerd", "crio")},
    ("disallow-default-namespace", "validate-namespace"): _c("baseline", "k8s-default-namespace"),
    ("disallow-default-namespace", "validate-podcontroller-namespace"): _c("baseline", "k8s-default-namespace"),
    ("require-requests-limits", "validate-resources"):
        _c("baseline", "k8s-resource-limits", enable_rules=("k8s-resource-limits",)),
    ("require-ro-rootfs", "validate-readOnlyRootFilesystem"):
        _c("baseline", "k8s-read-only-root", enable_rules=("k8s-read-only-root",)),
    ("restrict-nodeport", "validate-nodeport"):
        _c("baseline", "k8s-service-exposed", exposed_service_types=("NodePort",)),
    ("restrict-external-ips", "check-ips"): _c("baseline", "k8s-service-external-ips"),
}

NO_COUNTERPART: dict[str, str] = {
    "add-networkpolicy": "generates objects in the cluster; gates judges what a repository ships",
    "add-ns-quota": "generates objects in the cluster; gates judges what a repository ships",
    "add-safe-to-evict": "a mutation (an annotation for the cluster autoscaler), not a check",
    "check-deprecated-apis": "API removals per Kubernetes version: version data, not a manifest rule",
    "disallow-empty-ingress-host": "an Ingress rule without a host is a routing choice, not a security control",
    "disallow-helm-tiller": "Tiller is Helm 2, removed in 2020",
    "require-labels": "an organisation's labelling convention, not a security control",
    "require-pod-probes": "liveness and readiness probes are reliability, not security",
}

GATES_WRONG, PEER_LAXER, PEER_STRICTER = "gates wrong", "peer laxer", "peer stricter"
_RANGE = "its policy admits host ports 5000-6000; the Pod Security Standards admit none"
_NET_RAW = "it asks only that NET_RAW be dropped; restricted drops ALL, as this gate checks"
DISAGREEMENTS: dict[tuple[str, str, str], tuple[str, str]] = {
    **{("disallow-host-ports-range", kind, f"good{kind.lower()}{n:02d}"): (PEER_LAXER, _RANGE)
       for kind in ("Pod", "Deployment", "CronJob") for n in (2, 3, 5, 6, 8, 9, 10)},
    ("drop-cap-net-raw", "Pod", "drop-good"): (PEER_LAXER, _NET_RAW),
    ("disallow-default-namespace", "Deployment", "baddeployment01"):
        (PEER_STRICTER, "it takes an object without a namespace as `default`; gates judges what the manifest says,"
                        " and the namespace is the applier's (kustomize, Helm, kubectl -n)"),
    **{("require-requests-limits", "Pod", name):
       (PEER_LAXER, "its policy asks a memory limit only; gates asks a CPU limit too")
       for name in ("goodpod01", "goodpod02")},
    ("podsecurity-subrule-restricted-capabilities", "Pod", "goodpod01"):
        (PEER_LAXER, "its policy exempts these images from the Capabilities control (in gates: a waiver)"),
    ("podsecurity-subrule-restricted-seccomp", "Pod", "goodpod01"):
        (PEER_LAXER, "its policy exempts the pod's seccomp from the restricted level (in gates: a waiver)"),
}
"""(policy, kind, resource) -> (class, why) for every result where gates and Kyverno disagree."""


@dataclass(frozen=True)
class Case:
    policy: str
    rule: str
    kind: str
    resource: str
    expected: str
    files: tuple[Path, ...]


def _cases() -> list[Case]:
    root = require_corpus("policies")
    data = json.loads((root / "expected.json").read_text())["kyverno"]
    cases = []
    for test in data["tests"]:
        files = tuple(root / "kyverno" / f for f in test["resources"])
        for r in test["results"]:
            cases.append(Case(r["policy"], r["rule"], r["kind"], r["resource"], r["result"], files))
    return cases


def _verdict(results: list[Result], case: Case, counterpart: Counterpart) -> str:
    named = [r for r in results if r.target.rsplit("#", 1)[-1].split("/")[0] == case.kind
             and r.target.rsplit("/", 1)[-1] == case.resource]
    if len(named) != 1:
        return f"resource found {len(named)} times"
    result = named[0]
    if result.outcome is Outcome.ERROR:
        return f"error: {result.error}"
    hits = [f for f in result.findings if f.rule in counterpart.rules
            and (counterpart.message is None or counterpart.message in f.message)]
    return "fail" if hits else "pass"


def compare() -> tuple[Counter[str], dict[tuple[str, str, str], str], Counter[str]]:
    """(agreements per policy, disagreements by (policy, kind, resource), unmapped results per policy)."""
    cases = _cases()
    scans: dict[tuple[tuple[Path, ...], Counterpart], list[Result]] = {}
    agreement: Counter[str] = Counter()
    found: dict[tuple[str, str, str], str] = {}
    unmapped: Counter[str] = Counter()
    for case in cases:
        if case.expected == "skip":
            agreement["skipped by the peer"] += 1
            continue
        counterpart = COUNTERPARTS.get((case.policy, case.rule))
        if counterpart is None:
            assert case.policy in NO_COUNTERPART, f"{case.policy}/{case.rule}: neither mapped nor said why not"
            unmapped[case.policy] += 1
            continue
        key = (case.files, Counterpart(counterpart.level, frozenset(), None, counterpart.options))
        if key not in scans:
            scans[key] = scan(ManifestOptions(paths=tuple(map(str, case.files)), level=counterpart.level,
                                              **dict(counterpart.options)))
        verdict = _verdict(scans[key], case, counterpart)
        if verdict == case.expected:
            agreement[case.policy] += 1
        else:
            found[(case.policy, case.kind, case.resource)] = f"kyverno {case.expected}, gates {verdict}"
    return agreement, found, unmapped


def test_agreement_with_kyverno_policy_tests() -> None:
    agreement, found, unmapped = compare()
    new = {k: v for k, v in found.items() if k not in DISAGREEMENTS}
    assert new == {}, f"new disagreements: {new}"
    assert sorted(k for k in DISAGREEMENTS if k not in found) == [], "held disagreements that now agree"
    assert all(cls in (GATES_WRONG, PEER_LAXER, PEER_STRICTER) and why for cls, why in DISAGREEMENTS.values())
    compared = sum(v for k, v in agreement.items() if k != "skipped by the peer") + len(found)
    assert compared > 900 and set(unmapped) <= set(NO_COUNTERPART)


@pytest.mark.parametrize("policy", sorted(NO_COUNTERPART))
def test_every_unmapped_policy_exists_in_the_peer_suite(policy: str) -> None:
    assert policy in {c.policy for c in _cases()}
