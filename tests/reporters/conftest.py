"""Reports for the CI reporters: one built by hand from model objects, one from a real manifest run."""

from __future__ import annotations

import datetime as dt
import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from gates.checks import all_rules
from gates.checks.manifests.gate import ManifestOptions, scan
from gates.engine import GateJob, run
from gates.model import Finding, Location, Outcome, Report, Result, Severity, Waiver, error_result
from gates.reporters import RenderContext
from tests.conftest import REPO

jsonschema: Any = importlib.import_module("jsonschema")
"""Imported untyped: the dev dependencies carry no jsonschema stubs (types-jsonschema)."""

SCHEMAS = REPO.parent / "shared" / "schemas"

BAD_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
spec:
  template:
    spec:
      hostNetwork: true
      containers:
        - name: app
          image: nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000
          securityContext:
            privileged: true
"""

GOOD_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: ok
spec:
  securityContext:
    runAsNonRoot: true
    seccompProfile: {type: RuntimeDefault}
  containers:
    - name: app
      image: nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000
      securityContext:
        allowPrivilegeEscalation: false
        capabilities: {drop: [ALL]}
"""


def load_schema(name: str) -> dict[str, Any]:
    path = SCHEMAS / name
    if not path.exists():
        pytest.fail(f"vendored schema missing: {path} (see /work/shared/schemas/PROVENANCE.md)")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def context(root: Path) -> RenderContext:
    return RenderContext(root=root, version="9.9.9", rules=all_rules())


def hand_report(root: Path) -> Report:
    """Every shape a reporter meets: blocking, advisory, waived, duplicate, undecided, skipped, image."""
    (root / "k8s").mkdir(parents=True, exist_ok=True)
    (root / "k8s" / "app.yaml").write_text("# placeholder\n", encoding="utf-8")
    loc = Location("k8s/app.yaml", 12, 7)
    blocking = Finding("pss-privileged", Severity.CRITICAL, 'container "app" is privileged', loc,
                       resource="Deployment/prod/web", container="app")
    tricky = Finding("pss-host-path", Severity.HIGH, "50% of volumes: a,b\nsecond line ::error::injected",
                     Location("k8s/app.yaml", 20, 3), resource="Deployment/prod/web",
                     notes=("a waiver matched but expired on 2020-01-01",))
    duplicate = Finding("pss-host-path", Severity.HIGH, "50% of volumes: a,b\nsecond line ::error::injected",
                        Location("k8s/app.yaml", 30, 3), resource="Deployment/prod/web",
                        notes=("a waiver matched but expired on 2020-01-01",))
    advisory = Finding("pss-seccomp-restricted", Severity.MEDIUM, "seccomp profile not set", loc,
                       resource="Deployment/prod/web")
    waived = Finding("pss-run-as-non-root", Severity.HIGH, "must run as non-root", loc,
                     resource="Deployment/prod/web",
                     waiver=Waiver("legacy image, tracked in JIRA-1", "gates.toml waivers[1]", dt.date(2031, 1, 1)))
    image = Finding("pss-privileged", Severity.HIGH, "image is not signed", Location("ghcr.io/acme/app:1.0"),
                    resource="ghcr.io/acme/app:1.0")
    return Report(
        results=(
            Result("manifests", "k8s/app.yaml#Deployment/prod/web", Outcome.FAILED,
                   (blocking, tricky, duplicate, advisory, waived), location=Location("k8s/app.yaml", 1, 1)),
            error_result("manifests", "k8s/broken.yaml", "line 2: invalid YAML", Location("k8s/broken.yaml")),
            Result("manifests", "chart/templates", Outcome.SKIPPED, error="Helm chart: render it first",
                   location=Location("chart/Chart.yaml")),
            Result("manifests", "ghcr.io/acme/app:1.0", Outcome.FAILED, (image,),
                   location=Location("ghcr.io/acme/app:1.0")),
            Result("manifests", "k8s/ok.yaml#Pod/default/ok", Outcome.PASSED, location=Location("k8s/ok.yaml", 1, 1)),
        ),
        gates=("manifests",),
        fail_on=Severity.HIGH,
        generated=dt.datetime(2030, 5, 1, 12, 0, tzinfo=dt.timezone.utc),
    )


def manifest_report(paths: tuple[str, ...] = ("k8s",)) -> Report:
    """A real run of the manifest gate through the engine, from the working directory."""
    options = ManifestOptions(paths=paths)
    return run([GateJob("manifests", lambda: scan(options))])


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small repository with a failing Deployment, a passing Pod and a broken file; it is the cwd."""
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "deploy.yaml").write_text(BAD_DEPLOYMENT, encoding="utf-8")
    (tmp_path / "k8s" / "good.yaml").write_text(GOOD_POD, encoding="utf-8")
    (tmp_path / "k8s" / "broken.yaml").write_text("a: [\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path
