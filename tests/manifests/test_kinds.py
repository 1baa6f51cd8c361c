"""Kinds gates does not know never pass quietly: pod templates are judged wherever a controller reads them,
and network policies of groups gates does not read never count as coverage.

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
"""Objects sharing the file: the Deployment, the ConfigMap (read for credentials) and the core Service (as a
Service: it carries no pod) are judged."""


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
    "advanced-cron-job": (_object("apps.kruise.io/v1alpha1", "AdvancedCronJob", {
        "schedule": "*/1 * * * *", "template": {"jobTemplate": {"spec": {"template": _template(PRIVILEGED)}}}}),
        "spec.template.jobTemplate.spec.template.spec"),
    "pod-template-key": (_object("example.com/v1", "Worker", {"podTemplate": _template(PRIVILEGED)}),
                         "spec.podTemplate.spec"),
    "nested-template": (_object("example.com/v1", "Runner",
                                {"template": {"spec": {"template": _template(PRIVILEGED)}}}),
                        "spec.template.spec.template.spec"),
    "pod-spec-in-a-list": (_object("elasticsearch.k8s.elastic.co/v1", "Elasticsearch", {
        "version": "8.0.0", "nodeSets": [{"name": "default", "count": 1, "podTemplate": _template(PRIVILEGED)}]}),
        "spec.nodeSets[0].podTemplate.spec"),
    "pod-spec-without-template": (_object("example.com/v1", "Sandbox", {"podSpec": PRIVILEGED}), "spec.podSpec"),
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
    assert set(results) == {
        target,
        "app.yaml#Deployment/shop/good",
        "app.yaml#ConfigMap/shop/settings",
        "app.yaml#Service/shop/front"}
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


def test_every_pod_spec_of_an_unknown_kind_is_judged(tmp_path: Path) -> None:
    """A kind with several pod templates (Kubeflow's TFJob: one per replica type): each is a pod, each judged."""
    tf_job = _object("kubeflow.org/v1", "TFJob", {"tfReplicaSpecs": {
        "PS": {"replicas": 1, "template": _template(compliant_pod_spec())},
        "Worker": {"replicas": 2, "template": _template(PRIVILEGED)}}})
    write(tmp_path, "app.yaml", tf_job, *NEIGHBOURS)
    run, results = _scan(tmp_path, ".")
    assert run.code == 1, run.err
    result = results["app.yaml#TFJob/shop/web"]
    [finding] = result["findings"]
    assert finding["rule"] == "pss-privileged"
    assert finding["message"].endswith("(spec.tfReplicaSpecs.Worker.template.spec.containers[0].securityContext"
                                       ".privileged)")
    assert result["details"] == ["scanned by shape: kubeflow.org/v1 TFJob is not a kind gates knows, and its"
                                 " spec.tfReplicaSpecs.PS.template.spec, spec.tfReplicaSpecs.Worker.template.spec"
                                 " hold containers, so they were read as pod specs"]


def test_a_waiver_on_a_pod_template_found_by_shape_waives_its_findings(tmp_path: Path) -> None:
    template = _template(PRIVILEGED)
    template["metadata"]["annotations"] = {"gates.dev/waive.pss-privileged": "node tuning; expires=2099-01-01"}
    elastic = _object("elasticsearch.k8s.elastic.co/v1", "Elasticsearch",
                      {"nodeSets": [{"name": "default", "podTemplate": template}]})
    write(tmp_path, "app.yaml", elastic)
    run, results = _scan(tmp_path, ".")
    assert run.code == 0, run.err
    [finding] = results["app.yaml#Elasticsearch/shop/web"]["findings"]
    assert finding["waived"]["reason"] == "node tuning"
    assert finding["waived"]["source"].startswith("app.yaml:")


def test_each_pod_template_of_an_unknown_kind_needs_its_network_policy(tmp_path: Path) -> None:
    def template(labels: dict[str, str]) -> dict[str, Any]:
        return {"metadata": {"labels": labels}, "spec": compliant_pod_spec()}

    tf_job = _object("kubeflow.org/v1", "TFJob", {"tfReplicaSpecs": {
        "PS": {"template": template({"app": "web"})}, "Worker": {"template": template({"role": "worker"})}}})
    policy = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": {"name": "web", "namespace": "shop"},
              "spec": {"podSelector": {"matchLabels": {"app": "web"}}}}
    write(tmp_path, "app.yaml", tf_job, policy)
    (tmp_path / "gates.toml").write_text("[manifests]\nrequire-network-policy = true\n", encoding="utf-8")
    run, results = _scan(tmp_path, "app.yaml", "--config", "gates.toml")
    assert run.code == 1, run.err
    [finding] = results["app.yaml#TFJob/shop/web"]["findings"]
    assert finding["rule"] == "k8s-network-policy"


@pytest.mark.parametrize(("spec", "path", "problem"), [
    ({"nodeSets": [{"podTemplate": {"spec": {"hostPID": True, "containers": [{"name": "es"}]}}}]},
     "spec.nodeSets[0].podTemplate.spec.containers", "is not a list of containers with an image"),
    ({"runner": {"containers": "app"}}, "spec.runner.containers", "is not a list of containers with an image"),
    ({"runner": {"containers": []}}, "spec.runner.containers", "is not a list of containers with an image"),
    (json.loads('{"a":' * 40 + '{"containers": [{"image": "x"}]}' + "}" * 40),
     "spec" + ".a" * 32, "nests more than 32 levels under spec, deeper than gates searches"),
])
def test_an_unknown_kind_with_containers_that_are_no_pod_spec_is_an_error(
    tmp_path: Path, spec: dict[str, Any], path: str, problem: str
) -> None:
    write(tmp_path, "app.yaml", _object("example.com/v1", "Thing", spec), *NEIGHBOURS)
    run, results = _scan(tmp_path, ".")
    assert run.code == 1, run.err
    result = results["app.yaml#Thing/shop/web"]
    assert result["outcome"] == "error"
    line = result["error"].split(":")[1]
    assert result["error"] == (f"app.yaml:{line}: example.com/v1 Thing is not a kind gates knows, and its {path}"
                               f" {problem}: not understood, so the pods it may make were not checked")
    assert int(line) > 5 and results["app.yaml#Deployment/shop/good"]["outcome"] == "passed"


KYVERNO_PATTERN = {"rules": [{"name": "no-latest", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                              "validate": {"pattern": {"spec": {"containers": [
                                  {"image": "!*:latest", "securityContext": {"privileged": True}}]}}}}]}
"""A policy's pattern has the shape of a pod spec: a `containers` list of mappings with an `image`."""


@pytest.mark.parametrize("api_version", ["kyverno.io/v1", "policies.kyverno.io/v1alpha1",
                                         "constraints.gatekeeper.sh/v1beta1"])
def test_admission_policies_hold_patterns_not_pods(tmp_path: Path, api_version: str) -> None:
    write(tmp_path, "policy.yaml", _object(api_version, "ClusterPolicy", KYVERNO_PATTERN), *NEIGHBOURS)
    run, results = _scan(tmp_path, ".")
    assert run.code == 0, run.err
    assert set(results) == {
        "policy.yaml#Deployment/shop/good",
        "policy.yaml#ConfigMap/shop/settings",
        "policy.yaml#Service/shop/front"}


def test_the_same_pattern_in_another_api_group_is_judged(tmp_path: Path) -> None:
    write(tmp_path, "policy.yaml", _object("policies.example.com/v1", "ClusterPolicy", KYVERNO_PATTERN), *NEIGHBOURS)
    run, results = _scan(tmp_path, ".")
    assert run.code == 1, run.err
    assert results["policy.yaml#ClusterPolicy/shop/web"]["outcome"] == "failed"


def test_kyverno_policies_of_the_corpus_are_not_workloads(tmp_path: Path) -> None:
    """Needs the corpus: Kyverno's own Pod Security policies, whose patterns hold `containers` lists."""
    folder = require_corpus("policies", "kyverno", "pod-security")
    policies = sorted(str(p) for p in folder.glob("*/*/*.yaml"))
    assert len(policies) > 10
    write(tmp_path, "app.yaml", *NEIGHBOURS)
    run, results = _scan(tmp_path, "app.yaml", *policies)
    assert run.code == 0, run.err
    assert set(results) == {
        "app.yaml#Deployment/shop/good",
        "app.yaml#ConfigMap/shop/settings",
        "app.yaml#Service/shop/front"}


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


def test_calico_and_cilium_policies_are_read_and_other_groups_are_said(tmp_path: Path) -> None:
    """Calico's and Cilium's policies of the corpus count where gates judges them; another group's never counts."""
    calico = require_corpus("policies", "calico", "docs-extracted", "networkpolicy-01.yaml")
    cilium = require_corpus("policies", "cilium", "examples", "policies", "kubernetes", "namespace",
                            "isolate-namespaces.yaml")
    (tmp_path / "gates.toml").write_text("[manifests]\nrequire-network-policy = true\n", encoding="utf-8")
    write(tmp_path, "apps.yaml", _deployment("production", {"role": "database"}), _deployment("ns1", {"a": "b"}),
          _deployment("shop", {"app": "web"}), _deployment("ops", {"app": "web"}))
    kubernetes = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                  "metadata": {"name": "all", "namespace": "shop"},
                  "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}
    admin = {"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy",
             "metadata": {"name": "ops", "namespace": "ops"}, "spec": {"priority": 1, "subject": {}}}
    write(tmp_path, "policy.yaml", kubernetes, admin)
    run, results = _scan(tmp_path, "apps.yaml", "policy.yaml", str(calico), str(cilium), "--config", "gates.toml")
    assert run.code == 1, run.err
    assert results["apps.yaml#Deployment/shop/app"]["outcome"] == "passed"
    assert results["policy.yaml#NetworkPolicy/shop/all"]["outcome"] == "passed"
    said = {
        "production": "egress allowed to anywhere by projectcalico.org/v3 NetworkPolicy/production/allow-tcp-6379"
                      " (an allow-all policy is not coverage)",
        "ns1": "egress not isolated (no policy puts them in default deny for egress)",
        "ops": "ingress not isolated (no policy puts them in default deny for ingress); egress not isolated (no"
               " policy puts them in default deny for egress) (1 network policy not judged, so not counted:"
               " policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy/ops/ops)",
    }
    for namespace, message in said.items():
        result = results[f"apps.yaml#Deployment/{namespace}/app"]
        assert result["outcome"] == "failed"
        [finding] = result["findings"]
        assert finding["rule"] == "k8s-network-policy"
        assert finding["message"] == f"the pods of Deployment/{namespace}/app (namespace {namespace}): {message}"
    skipped = {t: r for t, r in results.items() if r["outcome"] == "skipped"}
    assert list(skipped) == ["policy.yaml#AdminNetworkPolicy/ops/ops"]
    assert "is not a network policy gates reads" in skipped["policy.yaml#AdminNetworkPolicy/ops/ops"]["error"]
