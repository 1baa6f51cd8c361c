"""A GitLab container-scanning report valid against GitLab's own schema (15.2.1) is read field by field.

Needs ../shared/schemas/gitlab-container-scanning-report-format-15.2.1.json; skipped without it.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from gates.checks.vulnerabilities import jsondoc
from gates.checks.vulnerabilities.sniff import detect
from tests.conftest import REPO

SCHEMA = REPO.parent / "shared" / "schemas" / "gitlab-container-scanning-report-format-15.2.1.json"


def _vulnerability(advisory: str, package: str, solution: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": f"{advisory}-{package}", "name": f"{package}: {advisory}", "severity": "Critical",
        "identifiers": [{"type": "cve", "name": advisory, "value": advisory}, {"type": "ghsa", "name": "GHSA-x",
                                                                                "value": "GHSA-xxxx-yyyy-zzzz"}],
        "location": {"dependency": {"package": {"name": package}, "version": "1.2.3-r0"},
                     "operating_system": "alpine 3.19", "image": "registry.gitlab.example/shop/web:1.4"},
    }
    if solution is not None:
        entry["solution"] = solution
    return entry


@pytest.mark.parametrize("scan_type", ["container_scanning", "container_scanning_for_registry"])
def test_schema_valid_report(tmp_path: Path, scan_type: str) -> None:
    if not SCHEMA.exists():
        pytest.skip(f"needs {SCHEMA}")
    analyzer = {"id": "gcs", "name": "GitLab Container Scanning", "version": "7.1.0", "vendor": {"name": "GitLab"}}
    report = {"version": "15.2.1", "scan": {"analyzer": analyzer, "scanner": {**analyzer, "id": "trivy",
                                                                              "name": "Trivy"},
                                            "start_time": "2025-01-01T10:00:00", "end_time": "2025-01-01T10:01:00",
                                            "status": "success", "type": scan_type},
              "vulnerabilities": [_vulnerability("CVE-2024-1", "openssl", "Upgrade openssl to 3.1.5-r0"),
                                  _vulnerability("CVE-2024-2", "busybox", "No solution provided"),
                                  _vulnerability("CVE-2024-3", "zlib", None)]}
    jsonschema: Any = importlib.import_module("jsonschema")
    jsonschema.validate(report, json.loads(SCHEMA.read_text(encoding="utf-8")))
    doc = jsondoc.parse(json.dumps(report, indent=2).encode())
    read = detect(doc)(doc)
    assert [(v.advisory, v.package, v.installed, v.fixed, v.severity and v.severity.value, v.aliases)
            for v in read.vulnerabilities] == [
        ("CVE-2024-1", "openssl", "1.2.3-r0", "3.1.5-r0", "critical", ("GHSA-xxxx-yyyy-zzzz",)),
        ("CVE-2024-2", "busybox", "1.2.3-r0", None, "critical", ("GHSA-xxxx-yyyy-zzzz",)),
        ("CVE-2024-3", "zlib", "1.2.3-r0", None, "critical", ("GHSA-xxxx-yyyy-zzzz",)),
    ]
    assert read.image == "registry.gitlab.example/shop/web:1.4"
