"""A kustomization without kubectl or kustomize on PATH is said, never silently ignored: what a cluster
receives is its output, not its files.

Through the CLI as a real process, with a PATH holding no renderer: the folder's files are judged as
written, and the kustomization gets a `skipped` result naming the command that renders it. Rendering with
a real kubectl is tested in test_kustomize_rendering.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliRun, run_process
from tests.manifests.helpers import compliant_pod_spec, wrap, write

KUSTOMIZATION = """apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [pod.yaml]
patches:
- target: {kind: Pod, name: web}
  patch: |
    - {op: replace, path: /spec/containers/0/securityContext, value: {privileged: true}}
"""
"""Patches that make the judged Pod privileged once rendered."""


@pytest.fixture
def no_renderer(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment whose PATH has no kubectl and no kustomize (the machine may have either)."""
    return {"PATH": str(tmp_path_factory.mktemp("empty-path"))}


def _results(run: CliRun) -> dict[str, dict[str, Any]]:
    assert "Traceback" not in run.out + run.err and "internal error" not in run.out + run.err, run.err
    return {r["target"]: r for r in json.loads(run.out)["results"]}


def _folder(tmp_path: Path, name: str, file_name: str = "kustomization.yaml") -> Path:
    folder = tmp_path / name
    folder.mkdir(parents=True)
    write(folder, "pod.yaml", wrap("Pod", compliant_pod_spec()))
    (folder / file_name).write_text(KUSTOMIZATION, encoding="utf-8")
    return folder


@pytest.mark.parametrize("file_name", ["kustomization.yaml", "kustomization.yml", "Kustomization"])
def test_a_walked_kustomization_is_said_with_the_command_that_renders_it(tmp_path: Path, file_name: str,
                                                                       no_renderer: dict[str, str]) -> None:
    _folder(tmp_path, "deploy/overlays/prod", file_name)
    run = run_process(["manifests", "deploy", "--format", "json"], cwd=tmp_path, env=no_renderer)
    results = _results(run)
    assert run.code == 0, run.err
    said = results[f"deploy/overlays/prod/{file_name}"]
    assert said["outcome"] == "skipped"
    assert said["error"] == ("a kustomization: its patches, generators and overlays are not applied here (the files"
                             " of this folder are judged as written): scan what it renders with"
                             " `kubectl kustomize deploy/overlays/prod | gates manifests -`")
    assert said["location"]["path"] == f"deploy/overlays/prod/{file_name}"
    assert results["deploy/overlays/prod/pod.yaml#Pod/shop/web"]["outcome"] == "passed"  # judged as today


def test_a_kustomization_named_directly_and_walked_is_said_once(tmp_path: Path, no_renderer: dict[str, str]) -> None:
    _folder(tmp_path, "kust")
    run = run_process(["manifests", "kust", "kust/kustomization.yaml", "--format", "json"], cwd=tmp_path,
                      env=no_renderer)
    results = _results(run)
    assert run.code == 0, run.err
    assert sorted(results) == ["kust/kustomization.yaml", "kust/pod.yaml#Pod/shop/web"]


def test_the_command_quotes_a_hostile_folder_name(tmp_path: Path, no_renderer: dict[str, str]) -> None:
    _folder(tmp_path, "$(touch pwned); x")
    run = run_process(["manifests", ".", "--format", "json"], cwd=tmp_path, env=no_renderer)
    said = _results(run)["$(touch pwned); x/kustomization.yaml"]
    assert said["error"].endswith("`kubectl kustomize '$(touch pwned); x' | gates manifests -`")


def test_a_kustomization_on_standard_input_is_said_not_passed(tmp_path: Path, no_renderer: dict[str, str]) -> None:
    run = run_process(["manifests", "-", "--format", "json"], cwd=tmp_path, stdin=KUSTOMIZATION, env=no_renderer)
    results = _results(run)
    assert run.code == 1, run.err  # nothing else was checked: no pass
    said = results["<stdin>#Kustomization/<unnamed>"]
    assert said["outcome"] == "skipped"
    assert said["error"].startswith("kustomize.config.k8s.io/v1beta1 Kustomization is a kustomization, not an"
                                    " object a cluster receives")
    assert said["error"].endswith("`kubectl kustomize DIR | gates manifests -`")
