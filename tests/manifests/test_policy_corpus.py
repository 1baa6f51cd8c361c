"""Needs the corpus: Calico, Cilium and Gateway API examples and Kyverno's Service tests, against expected.json.

The Calico and Cilium summaries of expected.json are flags derived from each policy's text; every place gates
reads a policy otherwise is listed here with the reason, so a new disagreement (or a fixed one) fails.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gates.checks.manifests import network_policy
from gates.checks.manifests.gate import ManifestOptions, scan
from gates.checks.manifests.policy_model import ALLOW_ALL, DENY, RESTRICTED, UNJUDGED
from gates.checks.manifests.workloads import workloads
from gates.errors import InputError
from gates.model import Outcome
from gates.targets.yaml_docs import load_documents
from tests.conftest import require_corpus

Stances = dict[str, str] | str
"""A policy's stance per direction (its parts together), or why it is not read ("error", "unjudged")."""


def _expected() -> dict[str, Any]:
    return json.loads(require_corpus("policies", "expected.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _policies(path: Path) -> dict[str | None, Stances]:
    found: dict[str | None, Stances] = {}
    for document in load_documents(path.read_text(encoding="utf-8"), lambda kind: True):
        for obj in workloads(document.content):
            if not network_policy.is_network_policy(obj):
                continue
            name = None if obj.name == "<unnamed>" else obj.name
            try:
                policy = network_policy.policy_of(obj)
            except InputError:
                found[name] = "error"
                continue
            assert policy is not None
            if policy.unjudged is not None:
                found[name] = "unjudged"
                continue
            merged: dict[str, str] = {}
            for part in policy.parts:
                merged.update(part.stances)
            found[name] = merged
    return found


CALICO_DISAGREEMENTS = {
    ("docs-extracted/enforce-policy-istio-01.yaml", "customer", "ingress"):
        "the summary counts an Allow that only matches HTTP methods as allow-all; gates counts the match",
    ("docs-extracted/http-methods-01.yaml", "customer", "ingress"): "the same HTTP-method rule",
    ("manifests/app-policy-config-demo-30-policy.yaml", "customer", "ingress"): "the same HTTP-method rule",
    ("manifests/docs-app-layer-policy-30-policy.yaml", "customer", "ingress"): "the same HTTP-method rule",
    ("docs-extracted/external-ips-policy-03.yaml", "forward-default-allow", "ingress"):
        "doNotTrack and preDNAT policies apply to host endpoints only: gates reads them as selecting no pod",
    ("docs-extracted/services-cluster-ips-03.yaml", "allow-traffic-hostendpoints", "ingress"):
        "the document is malformed upstream (rules indented under types): an error for gates, as for the API server",
}
"""(file, policy, direction) -> why gates' stance differs from the summary's allow-all/default-deny flags."""


def test_calico_policies_read_as_the_summary_flags_them() -> None:
    root = require_corpus("policies", "calico")
    disagreements: dict[tuple[str, str, str], str] = {}
    judged = 0
    for rel, entries in _expected()["calico"]["files"].items():
        mine = _policies(root / rel)
        for entry in entries:
            if not entry["kind"].endswith("NetworkPolicy"):
                continue
            stances = mine[entry.get("name")]
            flags = set(entry.get("flags", ()))
            for direction in ("ingress", "egress"):
                stance = stances if isinstance(stances, str) else stances.get(direction)
                if stance == "unjudged":
                    continue  # said as not judged, counted nowhere: checked below
                judged += 1
                agrees = (stance == ALLOW_ALL) == (f"allow-all-{direction}" in flags) and (
                    f"default-deny-{direction}" not in flags or stance == DENY)
                if not agrees:
                    disagreements[(rel, entry["name"], direction)] = str(stance)
    assert judged > 100
    assert set(disagreements) == set(CALICO_DISAGREEMENTS), disagreements


def test_calico_policies_gates_cannot_judge_are_the_ones_it_says() -> None:
    root = require_corpus("policies", "calico", "docs-extracted")
    assert _policies(root / "namespace-policy-03.yaml") == {"restrict-development-access": "unjudged"}
    assert _policies(root / "service-accounts-03.yaml") == {"restrict-intern-access": "unjudged"}


_CILIUM_FLAGS = {
    "default-deny-egress (empty egress)": ("egress", DENY),
    "toEntities:all": ("egress", ALLOW_ALL),
    "fromEntities:world": ("ingress", ALLOW_ALL),
    "fromEndpoints: null": ("ingress", UNJUDGED),
    "fromRequires": ("ingress", DENY),
}
"""What a summary flag means for gates' stance; a direction with rules and no such flag is restricted."""


def test_cilium_policies_read_as_the_summary_flags_them() -> None:
    root = require_corpus("policies", "cilium")
    compared = 0
    for rel, entry in _expected()["cilium"]["files"].items():
        mine = _policies(root / rel)
        for policy in entry["policies"]:
            [spec] = policy["specs"]
            expected: dict[str, str] = {}
            if "host-policy (nodeSelector)" not in spec["flags"]:
                expected = {d: RESTRICTED for d in ("ingress", "egress") if d in spec}
                expected.update(_CILIUM_FLAGS[f] for f in spec["flags"] if f in _CILIUM_FLAGS)
            assert mine[policy["name"]] == expected, rel
            compared += 1
    assert compared == 21


def _results(*paths: Path, **options: Any) -> dict[str, Any]:
    return {r.target: r for r in scan(ManifestOptions(paths=tuple(str(p) for p in paths), **options))}


def test_no_tls_listener_of_the_gateway_examples_lacks_a_certificate() -> None:
    root = require_corpus("policies", "gateway-api", "examples")
    listeners = [listener for entries in _expected()["gateway-api"]["files"].values() for entry in entries
                 for listener in entry.get("listeners") or ()]
    tls = [x for x in listeners if x["protocol"] in ("HTTPS", "TLS") and x["tls_mode"] != "Passthrough"]
    assert len(tls) == 16 and all(x["certificateRefs"] for x in tls)  # 14 of Gateways, 2 of ListenerSets
    findings = [f for r in _results(root).values() for f in r.findings]
    assert not [f for f in findings if f.rule == "k8s-gateway-tls-certificate"]


def test_each_http_listener_is_found_unless_an_https_redirect_is_all_it_serves() -> None:
    root = require_corpus("policies", "gateway-api")
    expected = _expected()["gateway-api"]["files"]
    http = [(rel, entry["name"]) for rel, entries in expected.items() for entry in entries
            for listener in entry.get("listeners") or () if listener["protocol"] == "HTTP"]
    assert len(http) == 12
    redirected = {"examples/standard/simple-http-https/gateway.yaml"}  # its folder attaches only the https redirect
    for rel, name in http:
        folder = (root / rel).parent
        results = _results(*sorted(folder.glob("*.yaml")))
        [gateway] = [r for t, r in results.items() if t.startswith(str(root / rel)) and t.endswith(f"/{name}")]
        plain = [f for f in gateway.findings if f.rule == "k8s-gateway-plain-http"]
        if rel in redirected:
            assert gateway.outcome is Outcome.PASSED and not plain, rel
            assert "plain HTTP only redirects to https (bar.example.com, foo.example.com)" in gateway.details[0]
        else:
            assert len(plain) == 1, rel


def test_the_redirect_example_passes_alone_and_fails_beside_routes_that_are_not_https_redirects() -> None:
    folder = require_corpus("policies", "gateway-api", "examples", "standard", "http-redirect-rewrite")
    gateway = folder / "gateway-redirect-http-https.yaml"
    target = f"{gateway}#Gateway/redirect-gateway"
    pair = _results(gateway, folder / "httproute-redirect-http.yaml", folder / "httproute-redirect-https.yaml")
    assert pair[target].outcome is Outcome.PASSED
    [finding] = _results(folder)[target].findings
    names = {entry["name"] for rel in ("httproute-redirect-303.yaml", "httproute-redirect-307.yaml",
                                       "httproute-redirect-308.yaml")
             for entry in _expected()["gateway-api"]["files"][f"examples/standard/http-redirect-rewrite/{rel}"]}
    assert finding.message.startswith("Gateway redirect-gateway listener http serves 3 routes in plain HTTP")
    assert all(f"HTTPRoute/{name}" in finding.message for name in names)


def _kyverno(test: str) -> tuple[Path, dict[str, str]]:
    [entry] = [t for t in _expected()["kyverno"]["tests"] if t["test"].startswith(f"best-practices/{test}/")]
    [resources] = entry["resources"]
    return (require_corpus("policies", "kyverno", resources),
            {r["resource"]: r["result"] for r in entry["results"]})


@pytest.mark.parametrize(("test", "rule", "options", "disagree"), [
    ("restrict-service-external-ips", "k8s-service-external-ips", {}, set()),
    ("restrict-node-port", "k8s-service-exposed", {"exposed_service_types": ("NodePort",)}, set()),
    # by default gates also reports LoadBalancers, which allocate a node port on every node too: stricter
    ("restrict-node-port", "k8s-service-exposed", {}, {"goodservice02"}),
])
def test_kyverno_service_verdicts(test: str, rule: str, options: dict[str, Any], disagree: set[str]) -> None:
    path, verdicts = _kyverno(test)
    results = _results(path, **options)
    mine = {t.rpartition("/")[2]: "fail" if any(f.rule == rule for f in r.findings) else "pass"
            for t, r in results.items()}
    assert {name for name, verdict in verdicts.items() if mine[name] != verdict} == disagree
