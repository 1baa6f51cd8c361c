"""Helm charts: rendered with `helm template` when helm is on PATH. No real helm can be installed where these
tests run, and a fake one would prove nothing, so they test the two paths a user without helm meets: the
chart said as skipped with the command (its configured values files included), and that command's output
piped in on standard input."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliRun, run_process


@pytest.fixture
def no_helm(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {"PATH": str(tmp_path_factory.mktemp("empty-path"))}


def _results(run: CliRun) -> dict[str, dict[str, Any]]:
    assert "Traceback" not in run.out + run.err, run.err
    return {r["target"]: r for r in json.loads(run.out)["results"]}


def _chart(root: Path) -> Path:
    chart = root / "deploy/chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: shop\nversion: 1.0.0\n")
    (chart / "values.yaml").write_text("replicas: 1\n")
    (chart / "values-prod.yaml").write_text("replicas: 3\n")
    (chart / "templates/deploy.yaml").write_text("kind: Deployment\nspec: {replicas: {{ .Values.replicas }}}\n")
    return chart


def test_without_helm_a_chart_is_skipped_with_the_command_and_its_values(tmp_path: Path,
                                                                         no_helm: dict[str, str]) -> None:
    _chart(tmp_path)
    values = '[manifests.helm-values]\n"deploy/chart" = ["deploy/chart/values-prod.yaml"]\n'
    (tmp_path / "gates.toml").write_text(values)
    run = run_process(["manifests", "deploy", "--format", "json"], cwd=tmp_path, env=no_helm)
    said = _results(run)["deploy/chart/templates"]
    assert said["outcome"] == "skipped"
    assert said["error"].endswith("`helm template deploy/chart --values deploy/chart/values-prod.yaml"
                                  " | gates manifests -`")
    assert run.code == 1  # nothing else was checked: no pass


HELM_OUTPUT = """
    ---
    # Source: shop/templates/serviceaccount.yaml
    apiVersion: v1
    kind: ServiceAccount
    metadata: {name: shop}
    ---
    # Source: shop/templates/deployment.yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: release-shop, namespace: shop}
    spec:
      template:
        spec:
          containers:
          - name: app
            image: registry.example/shop:1.0
            securityContext: {privileged: true}
"""


def test_helm_template_output_on_standard_input_is_judged(tmp_path: Path, no_helm: dict[str, str]) -> None:
    run = run_process(["manifests", "-", "--format", "json"], cwd=tmp_path, env=no_helm,
                      stdin=textwrap.dedent(HELM_OUTPUT).lstrip())
    result = _results(run)["<stdin>#Deployment/shop/release-shop"]
    assert run.code == 1
    rules = {f["rule"]: f for f in result["findings"]}
    assert "pss-privileged" in rules and rules["pss-privileged"]["location"] == {"path": "<stdin>", "line": 17,
                                                                                "column": 27}


@pytest.mark.parametrize(("table", "said"), [
    ('[manifests.helm-values]\n"deploy/chart" = ["../../etc/passwd"]\n', "lies outside the configuration's folder"),
    ('[manifests]\nhelm-values = ["values.yaml"]\n', "helm-values"),
    ('[manifests.helm-values]\n"deploy/chart" = [1]\n', "helm-values"),
])
def test_helm_values_are_checked_before_anything_runs(tmp_path: Path, no_helm: dict[str, str], table: str,
                                                      said: str) -> None:
    _chart(tmp_path)
    (tmp_path / "gates.toml").write_text(table)
    run = run_process(["manifests", "deploy"], cwd=tmp_path, env=no_helm)
    assert run.code == 2 and said in run.out + run.err
