"""Kinds gates does not know never pass quietly: pod templates are judged wherever a controller reads them,
and network policies of other API groups never count as Kubernetes NetworkPolicies.

Through the CLI as a real process, each object beside others of a file (a ConfigMap, a core Service,
a compliant Deployment), so a skipped object would leave the run green.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliRun, require_corpus, run_process
from tests.manifests.helpers import compliant_pod_spec, wrap, write

PRIVILEGED = compliant_pod_spec()
PRIVILEGED["containers"][0]["securityContext"]["privileged"] = True

NEIGHBOURS: list[dict[str, Any]] = [
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "shop"},
     "data": {"a": "b"}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "front", "namespace": "shop"},
     "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}},
    wrap("Deployment", compliant_pod_spec(), name="good"),
]
"""Objects sharing the file: only the Deployment is judged (a core Service carries no pod)."""


def _template(spec: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": "web"}}, "spec": spec}


def _object(api_version: str, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": "web", "namespace": "shop"}, "spec": spec}


POD_CARRIERS = {
    "deployment-config": (_object("apps.openshift.io/v1", "DeploymentConfig",
                                  {"replicas": 2, "selector": {"app": "web"}, "template": _template(PRIVILEGED)}),
                          None),
    "argo-rollout": (_object("argoproj.io/v1alpha1", "Rollout",
                             {"strategy": {"canary": {}}, "template": _template(PRIVILEGED)}), None),
    "knative-service": (_object("serving.knative.dev/v1", "Service", {"template": _template(PRIVILEGED)}),
                        "spec.template.spec"),
    "custom-template": (_object("apps.kruise.io/v1alpha1", "CloneSet", {"template": _template(PRIVILEGED)}),
                        "spec.template.spec"),
    "custom-job-template": (_object("keda.sh/v1alpha1", "ScaledJob",
                                    {"jobTemplate": {"spec": {"template": _template(PRIVILEGED)}}}),
                            "spec.jobTemplate.spec.template.spec"),
}


def _results(run: CliRun) -> dict[str, dict[str, Any]]:
    assert "Traceback" not in run.out + run.err and "internal error" not in run.out + run.err, run.err
    return {r["target"]: r for r in json.loads(run.out)["results"]}


def _scan(tmp_path: Path, *args: str) -> tuple[CliRun, dict[str, dict[str, Any]]]:
    run = run_process(["manifests", *args, "--format", "json"], cwd=tmp_path)
    return run, _results(run)


@pytest.mark.parametrize("case", sorted(POD_CARRIERS))
def test_an_object_carrying_a_pod_template_is_judged_beside_other_objects(tmp_path: Path, case: str) -> None:
    obj, shape = POD_CARRIERS[case]
    write(tmp_path, "app.yaml", NEIGHBOURS[0], obj, *NEIGHBOURS[1:])
    run, results = _scan(tmp_path, ".")
    assert run.code == 1, run.err
    target = f"app.yaml#{obj['kind']}/shop/web"
    assert set(results) == {target, "app.yaml#Deployment/shop/good"}
    assert results["app.yaml#Deployment/shop/good"]["outcome"] == "passed"
    result = results[target]
    assert result["outcome"] == "failed"
    [finding] = result["findings"]
    assert finding["rule"] == "pss-privileged" and finding["container"] == "app"
    assert finding["location"]["line"] > 9  # inside the object, after the ConfigMap
    if shape is None:
        assert result["details"] == []
    else:
        [detail] = result["details"]
        assert detail.startswith(f"scanned by shape: {obj['apiVersion']} {obj['kind']} is not a kind gates knows")
        assert f"its {shape} holds containers" in detail


def test_a_pod_template_shape_of_the_wrong_type_is_an_error_not_a_skip(tmp_path: Path) -> None:
    custom = _object("apps.kruise.io/v1alpha1", "CloneSet", {"template": {"spec": {"containers": "app"}}})
    write(tmp_path, "app.yaml", custom, *NEIGHBOURS)
    run, results = _scan(tmp_path, ".")
    assert run.code == 1, run.err
    result = results["app.yaml#CloneSet/shop/web"]
    assert result["outcome"] == "error"
    assert result["error"] == "app.yaml:9: spec.template.spec.containers must be a list, found str"


def _rollout_by_reference(deployment: str) -> dict[str, Any]:
    return _object("argoproj.io/v1alpha1", "Rollout", {
        "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
        "strategy": {"canary": {}}})


def test_a_rollout_by_workload_ref_is_vouched_for_by_its_deployment(tmp_path: Path) -> None:
    write(tmp_path, "rollout.yaml", _rollout_by_reference("good"), *NEIGHBOURS)
    write(tmp_path, "bad.yaml", _rollout_by_reference("bad"), wrap("Deployment", PRIVILEGED, name="bad"))
    run, results = _scan(tmp_path, "rollout.yaml", "bad.yaml")
    assert run.code == 1, run.err
    good = results["rollout.yaml#Rollout/shop/web"]
    assert good["outcome"] == "passed"
    assert good["details"] == ["its pods come from Deployment/shop/good (spec.workloadRef), judged in that"
                               " object's result"]
    assert results["bad.yaml#Deployment/shop/bad"]["outcome"] == "failed"


def test_a_rollout_whose_workload_ref_is_not_scanned_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "rollout.yaml", _rollout_by_reference("elsewhere"), *NEIGHBOURS)
    run, results = _scan(tmp_path, ".")
    assert run.code == 1, run.err
    result = results["rollout.yaml#Rollout/shop/web"]
    assert result["outcome"] == "error"
    assert result["error"] == ("Rollout/shop/web takes its pod template from Deployment/shop/elsewhere"
                               " (spec.workloadRef), which is not among the objects judged in this scan: its pods"
                               " were not checked")
    assert results["rollout.yaml#Deployment/shop/good"]["outcome"] == "passed"


def _deployment(namespace: str, labels: dict[str, str]) -> dict[str, Any]:
    obj = wrap("Deployment", compliant_pod_spec(), name="app", namespace=namespace)
    obj["spec"]["template"]["metadata"]["labels"] = labels
    return obj


def test_network_policies_of_other_api_groups_never_count_as_coverage(tmp_path: Path) -> None:
    calico = require_corpus("policies", "calico", "docs-extracted", "networkpolicy-01.yaml")
    cilium = require_corpus("policies", "cilium", "examples", "policies", "kubernetes", "namespace",
                            "isolate-namespaces.yaml")
    (tmp_path / "gates.toml").write_text("[manifests]\nrequire-network-policy = true\n", encoding="utf-8")
    write(tmp_path, "apps.yaml", _deployment("production", {"role": "database"}), _deployment("ns1", {"a": "b"}),
          _deployment("shop", {"app": "web"}))
    kubernetes = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                  "metadata": {"name": "all", "namespace": "shop"}, "spec": {"podSelector": {}}}
    write(tmp_path, "policy.yaml", kubernetes)
    run, results = _scan(tmp_path, "apps.yaml", "policy.yaml", str(calico), str(cilium), "--config", "gates.toml")
    assert run.code == 1, run.err
    assert results["apps.yaml#Deployment/shop/app"]["outcome"] == "passed"
    assert results["policy.yaml#NetworkPolicy/shop/all"]["outcome"] == "passed"
    for namespace, policy in (("production", "projectcalico.org/v3 NetworkPolicy/production/allow-tcp-6379"),
                              ("ns1", "cilium.io/v2 CiliumNetworkPolicy/ns1/isolate-ns1")):
        result = results[f"apps.yaml#Deployment/{namespace}/app"]
        assert result["outcome"] == "failed"
        [finding] = result["findings"]
        assert finding["rule"] == "k8s-network-policy"
        assert finding["message"].endswith(f"(1 network policy object(s) of another API group not counted: {policy})")
    foreign = {t: r for t, r in results.items() if r["outcome"] == "skipped"}
    assert len(foreign) == 3  # Calico's policy and both of Cilium's, each said
    assert all("not a Kubernetes NetworkPolicy (networking.k8s.io/v1): not read" in r["error"]
               for r in foreign.values())
