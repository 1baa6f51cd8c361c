"""`gates export admission`: every exported CEL expression gives the manifest gate's own verdict, object by
object, evaluated by a CEL implementation (cel-python) on the fixtures the gate judges.

Needs the corpus (`pss`, `extras/kubernetes-examples`) and cel-python (the dev extra).
"""

from __future__ import annotations

import copy
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gates.checks.manifests.admission import AdmissionCheck, admission_checks, namespace_check
from gates.checks.manifests.gate import ManifestOptions, scan
from gates.checks.manifests.rules import ACCESS_RULES, HARDENING_RULES, WORKLOAD_HARDENING_RULES
from gates.model import Outcome
from tests.conftest import CliRun, require_corpus
from tests.manifests.helpers import IMAGE, compliant_pod_spec, wrap
from tests.manifests.test_secrets import CREDENTIALS
from tests.support.cel import CelError, admits

IMAGES = [
    "nginx", "nginx:latest", "nginx:1.27", "nginx:", "registry.example:5000/team/app",
    "registry.example:5000/team/app:1.2", "registry.example:5000/team/app:latest", "a:b:latest", "a/b:c:d",
    IMAGE, "nginx@sha256:" + "0" * 64, "nginx@", "nginx:1@", "nginx:latest@", "localhost/app@sha256:x",
    "app:1@sha256:" + "A" * 64, "app@sha512:" + "e" * 128, "app:latest@sha256:12", "a@b@sha256:" + "0" * 64,
    "ghcr.io/o/r:latest@sha256:" + "1" * 64, "",
]
ENV = [
    ("DB_PASSWORD", "hunter2"), ("DB_PASSWORD", "$(FROM_SECRET)"), ("DB_PASSWORD", " ${X} "), ("LOG_LEVEL", "x"),
    ("TOKEN_FILE", "/run/t"), ("GITHUB_PAT", "abc"), ("SIGNING_KEY", "k"), ("JWT_PUBLIC_KEY", "k"),
    ("AUTH_ENABLED", "true"), ("api_key", "k"), ("SETTING", CREDENTIALS["a GitHub token"]), ("X", ""),
    ("URL", "postgres://u:${P}@h/db"), ("URL", "postgres://u:xX*@h/db"), ("URL", "postgres://u:xXy@h/db"),
    ("URL", "redis://:{{pw}}@h"), ("API_TOKEN", CREDENTIALS["a JSON Web Token"]),
    ("SETTING", "{{a}}" + CREDENTIALS["a GitHub token"] + "{{b}}"), ("DB_PASSWORD", "{{a}}hunter2{{b}}"),
]


ALL_HARDENING = (*HARDENING_RULES, *WORKLOAD_HARDENING_RULES, *ACCESS_RULES)
HOST_PATHS = ["/var/run/docker.sock", "/var/run", "/run/", "/", "/var/lib/data", "/run/containerd/containerd.sock",
              "/var/run/crio", "/srv", "/run/k3s", "/var/run/docker.sock.bak", "relative/docker.sock"]


def _constructed() -> Iterator[dict[str, Any]]:
    """Objects that exercise each exported rule both ways."""
    for index, image in enumerate(IMAGES):
        spec = compliant_pod_spec()
        spec["containers"][0]["image"] = image
        spec["initContainers"] = [{**copy.deepcopy(spec["containers"][0]), "name": "init", "image": IMAGE}]
        for kind in ("Pod", "Deployment", "CronJob", "Job", "PodTemplate"):
            yield wrap(kind, spec, name=f"img{index}")
    for index, (name, value) in enumerate(ENV):
        spec = compliant_pod_spec()
        spec["containers"][0]["env"] = [{"name": name, "value": value}]
        yield wrap("StatefulSet", spec, name=f"env{index}")
        args_spec = compliant_pod_spec()
        args_spec["containers"][0]["args"] = ["--x", value]
        yield wrap("DaemonSet", args_spec, name=f"arg{index}", annotations={"note": value})
        yield {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm{index}", "namespace": "shop",
                                                                   "annotations": {"a": value}},
               "data": {"k": value}}
    for index, host_path in enumerate(HOST_PATHS):
        spec = compliant_pod_spec()
        spec["volumes"] = [{"name": "v", "hostPath": {"path": host_path}}]
        yield wrap("Deployment", spec, name=f"vol{index}")
    for index, (pod_group, container_group) in enumerate([(0, None), (None, 0), (1000, None), (None, 1000),
                                                          (None, None)]):
        spec = compliant_pod_spec()
        if pod_group is not None:
            spec["securityContext"]["runAsGroup"] = pod_group
        if container_group is not None:
            spec["containers"][0]["securityContext"]["runAsGroup"] = container_group
        yield wrap("Pod", spec, name=f"grp{index}")
    for namespace in ("default", "shop", None):
        yield wrap("Deployment", compliant_pod_spec(), name=f"ns-{namespace}", namespace=namespace)
    services: list[dict[str, Any]] = [{"type": "NodePort"}, {"type": "LoadBalancer"}, {"type": "ClusterIP"}, {},
                                      {"externalIPs": ["203.0.113.7"]}, {"externalIPs": []}]
    for index, service in enumerate(services):
        yield {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"svc{index}", "namespace": "shop"},
               "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}], **service}}
    for index, notes in enumerate([{"nginx.ingress.kubernetes.io/configuration-snippet": "x"},
                                         {"nginx.ingress.kubernetes.io/rewrite-target": "/"}, {}]):
        yield {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
               "metadata": {"name": f"ing{index}", "namespace": "shop", "annotations": notes},
               "spec": {"tls": [{"hosts": ["a.example"]}], "rules": [{"host": "a.example"}]}}
    rules: list[dict[str, Any]] = [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
        {"apiGroups": ["*"], "resources": ["pods"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["*"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]},
        {"apiGroups": [""], "resources": ["secrets", "*"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["bind", "escalate"]},
        {"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["one"]},
        {"apiGroups": ["apps"], "resources": ["secrets"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["*"]},
        {"apiGroups": ["authentication.k8s.io"], "resources": ["userextras/scopes"], "verbs": ["*"]},
        {"apiGroups": ["authentication.k8s.io"], "resources": ["userextras/*"], "verbs": ["*"]},
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["*"], "verbs": ["*"]},
        {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["pods/*"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["*/attach"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["create"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["create"], "resourceNames": ["x"]},
        {"apiGroups": ["batch"], "resources": ["cronjobs"], "verbs": ["update"]},
        {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"], "resourceNames": ["a"]},
        {"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["nodes/*"], "verbs": ["list"]},
        {"apiGroups": ["admissionregistration.k8s.io"], "resources": ["mutatingwebhookconfigurations"],
         "verbs": ["patch"]},
        {"apiGroups": ["admissionregistration.k8s.io"], "resources": ["validatingwebhookconfigurations"],
         "verbs": ["get", "list"]},
        {"apiGroups": [""], "resources": ["services/status"], "verbs": ["update"]},
        {"apiGroups": [""], "resources": ["persistentvolumes"], "verbs": ["create"]},
        {"apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests/approval"],
         "verbs": ["update"]},
        {"apiGroups": ["certificates.k8s.io"], "resources": ["signers"], "verbs": ["approve"]},
    ]
    for index, rule in enumerate(rules):
        for kind in ("Role", "ClusterRole"):
            metadata = {"name": f"r{index}", **({"namespace": "shop"} if kind == "Role" else {})}
            yield {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": metadata, "rules": [rule]}
    yield {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "approver"},
           "rules": rules[-2:]}  # CSR approval needs both grants in one role
    subjects = [{"kind": "User", "name": "u"}, {"kind": "Group", "name": "system:authenticated"},
                {"kind": "User", "name": "system:anonymous"}, {"kind": "ServiceAccount", "name": "default",
                                                               "namespace": "shop"},
                {"kind": "ServiceAccount", "name": "app", "namespace": "shop"},
                {"kind": "Group", "name": "system:serviceaccounts"}]
    for index, (ref_kind, ref_name) in enumerate([("ClusterRole", "cluster-admin"), ("Role", "cluster-admin"),
                                                  ("ClusterRole", "view")]):
        for number, subject in enumerate(subjects):
            yield {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                   "metadata": {"name": f"b{index}-{number}"}, "subjects": [subject],
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": ref_kind, "name": ref_name}}


def _objects(document: Any) -> Iterator[dict[str, Any]]:
    if isinstance(document, dict) and document.get("kind") == "List":
        yield from (item for item in document.get("items") or () if isinstance(item, dict))
    elif isinstance(document, dict):
        yield document


def _resource(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace")
    return f"{obj['kind']}/{namespace}/{meta.get('name')}" if namespace else f"{obj['kind']}/{meta.get('name')}"


def _fixture_files(tmp_path: Path) -> list[Path]:
    corpus = require_corpus("pss")
    examples = require_corpus("extras", "kubernetes-examples")
    built = tmp_path / "constructed.yaml"
    built.write_text(yaml.safe_dump_all(list(_constructed()), sort_keys=False))
    return [*sorted(corpus.rglob("*.yaml")), *sorted(examples.rglob("*.yaml")), built]


def _agreement(tmp_path: Path, checks: list[AdmissionCheck], options: dict[str, Any]) -> Counter[str]:
    """Per rule: objects agreed on; every disagreement fails the test with the object and both verdicts."""
    exported = {c.rule for c in checks}
    tally: Counter[str] = Counter()
    disagreements = []
    for path in _fixture_files(tmp_path):
        results = scan(ManifestOptions(paths=(str(path),), **options))
        by_resource = {r.target.split("#", 1)[1]: r for r in results if "#" in r.target}
        try:
            documents = list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError:
            continue
        for obj in (o for d in documents for o in _objects(d)):
            if not isinstance(obj.get("kind"), str):
                continue
            result = by_resource.get(_resource(obj))
            if result is None or result.outcome is Outcome.ERROR:
                tally["not judged by the gate"] += 1
                continue
            gate_says = {f.rule for f in result.findings} & exported
            cel_says: set[str] = set()
            for check in checks:
                if obj["kind"] not in {r.kind for r in check.resources}:
                    continue
                try:
                    if not admits(check, obj):
                        cel_says.add(check.rule)
                except CelError as exc:
                    disagreements.append((path.name, _resource(obj), check.rule, f"CEL error: {exc}"))
            for rule in exported:
                if (rule in gate_says) != (rule in cel_says):
                    disagreements.append((path.name, _resource(obj), rule,
                                          f"gate {'fails' if rule in gate_says else 'passes'},"
                                          f" CEL {'denies' if rule in cel_says else 'admits'}"))
                elif any(obj["kind"] in {r.kind for r in c.resources} for c in checks if c.rule == rule):
                    tally[rule] += 1
    assert disagreements == [], disagreements[:20]
    return tally


def test_every_exported_expression_agrees_with_the_gate(tmp_path: Path) -> None:
    checks = [c for c in admission_checks("restricted", (), (), ())[0] if c.rule != "pss-level"]
    tally = _agreement(tmp_path, checks, {})
    exported = {c.rule for c in checks}
    assert all(tally[rule] >= 3 for rule in exported), tally  # each rule was judged on several objects
    denied = Counter(f.rule for path in _fixture_files(tmp_path)
                     for r in scan(ManifestOptions(paths=(str(path),))) for f in r.findings)
    assert all(denied[rule] > 0 for rule in exported), denied  # and each rule failed some of them


def test_the_configured_allowlist_is_exported_as_the_gate_applies_it(tmp_path: Path) -> None:
    checks = [c for c in admission_checks("restricted", (), (), ("GITHUB_*", "SIGNING_KEY"))[0]
              if c.rule == "k8s-secret-env-literal"]
    _agreement(tmp_path, checks, {"credential_name_allowlist": ("GITHUB_*", "SIGNING_KEY")})


def test_skipping_the_latest_rule_moves_moving_tags_to_the_digest_rule(tmp_path: Path) -> None:
    exported = admission_checks("restricted", ("k8s-image-latest",), (), ())[0]
    checks = [c for c in exported if c.rule == "k8s-image-digest"]
    _agreement(tmp_path, checks, {"skip_rules": ("k8s-image-latest",)})


def test_every_hardening_rule_is_exported_or_said_why_not() -> None:
    checks, left_out = admission_checks("restricted", (), (), ())
    named = {c.rule for c in checks} | {n.rule for n in left_out}
    assert {r.id for r in ALL_HARDENING} <= named
    assert all(n.reason for n in left_out)
    skipped_checks, skipped = admission_checks("restricted", ("k8s-image-digest",), (), ())
    assert "k8s-image-digest" not in {c.rule for c in skipped_checks}
    assert ("k8s-image-digest", "skipped by skip-rules") in {(n.rule, n.reason) for n in skipped}
    none, all_left = admission_checks("baseline", (), (), (), hardening=False)
    assert [c.rule for c in none] == ["pss-level"] and {n.rule for n in all_left} == {r.id for r in ALL_HARDENING}


@pytest.mark.parametrize(("level", "label", "admitted"), [
    ("restricted", "restricted", True), ("restricted", "baseline", False), ("restricted", None, False),
    ("baseline", "baseline", True), ("baseline", "restricted", True), ("baseline", "privileged", False),
])
def test_namespaces_must_carry_the_pod_security_level(level: str, label: str | None, admitted: bool) -> None:
    labels = {"pod-security.kubernetes.io/enforce": label} if label else {"team": "shop"}
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": labels}}
    assert admits(namespace_check(level), namespace) is admitted
    assert admits(namespace_check(level), {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}) is False


def _documents(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


def test_vap_documents(tmp_path: Path, cli: Callable[[list[str]], CliRun], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gates.toml").write_text('[manifests]\nlevel = "baseline"\nskip-rules = ["k8s-image-digest"]\n')
    run = cli(["export", "admission", "--format", "vap", "--output", "policy.yaml"])
    assert run.code == 0, run.err
    text = (tmp_path / "policy.yaml").read_text()
    assert "k8s-image-digest: skipped by skip-rules" in text and "k8s-network-policy:" in text
    documents = _documents(text)
    policies = [d for d in documents if d["kind"] == "ValidatingAdmissionPolicy"]
    bindings = {d["spec"]["policyName"]: d for d in documents if d["kind"] == "ValidatingAdmissionPolicyBinding"}
    assert {p["metadata"]["name"] for p in policies} == set(bindings)
    assert all(b["spec"]["validationActions"] == ["Deny"] for b in bindings.values())
    rules = {p["metadata"]["annotations"]["gates.dev/rule"] for p in policies}
    assert "k8s-image-digest" not in rules and {"pss-level", "k8s-image-latest", "k8s-rbac-wildcard"} <= rules
    namespace = next(p for p in policies if p["metadata"]["annotations"]["gates.dev/rule"] == "pss-level")
    assert "'baseline', 'restricted'" in namespace["spec"]["validations"][0]["expression"]
    for policy in policies:
        spec = policy["spec"]
        assert spec["failurePolicy"] == "Fail"
        assert all(r["operations"] == ["CREATE", "UPDATE"] for r in spec["matchConstraints"]["resourceRules"])


def test_kyverno_policy(cli: Callable[[list[str]], CliRun], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = cli(["export", "admission", "--format", "kyverno"])
    assert run.code == 0, run.err
    [policy] = _documents(run.out)
    assert policy["apiVersion"] == "kyverno.io/v1" and policy["kind"] == "ClusterPolicy"
    assert policy["spec"]["validationFailureAction"] == "Enforce"
    names = [r["name"] for r in policy["spec"]["rules"]]
    assert len(names) == len(set(names)) and all(len(n) <= 63 for n in names)
    for rule in policy["spec"]["rules"]:
        assert rule["validate"]["cel"]["expressions"][0]["expression"]
        assert rule["match"]["any"][0]["resources"]["kinds"]


def test_bad_format_and_bad_config_are_usage_errors(cli: Callable[[list[str]], CliRun], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = cli(["export", "admission", "--format", "opa"])
    assert run.code == 2 and "vap or kyverno" in run.err
    (tmp_path / "gates.toml").write_text('[manifests]\nlevel = "strict"\n')
    assert cli(["export", "admission"]).code == 2


def test_an_output_that_is_no_regular_file_is_one_line(cli: Callable[[list[str]], CliRun], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "folder").mkdir()
    for target in ("pipe", "folder", "missing/policy.yaml"):
        run = cli(["export", "admission", "--output", target])
        assert run.code == 2 and run.err.count("\n") == 1 and "cannot write" in run.err and target in run.err, run.err
    assert not (tmp_path / "missing").exists()
