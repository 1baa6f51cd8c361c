"""Small, real-shaped scanner reports for the gate's tests, written as the scanners write them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DIGEST = "sha256:124c7d2707904eea7431fffe91522a01e5a861a624ee31d03372cc1d138a3126"
"""The image the corpus's OpenVEX v0.2.0 example speaks about."""


def trivy_vuln(advisory: str, package: str, installed: str, fixed: str | None, severity: str = "HIGH",
               purl: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"VulnerabilityID": advisory, "PkgName": package, "InstalledVersion": installed,
                             "Status": "fixed" if fixed else "affected", "Severity": severity}
    if fixed:
        entry["FixedVersion"] = fixed
    if purl:
        entry["PkgIdentifier"] = {"PURL": purl}
    return entry


def trivy(*vulns: dict[str, Any], image: str = "registry.example/shop/web:1.4", digest: str = DIGEST) -> str:
    report = {"SchemaVersion": 2, "Trivy": {"Version": "0.58.0"}, "ArtifactName": image,
              "ArtifactType": "container_image", "Metadata": {"ImageID": digest, "RepoDigests": [f"{image}@{digest}"]},
              "Results": [{"Target": f"{image} (alpine 3.18.0)", "Class": "os-pkgs", "Type": "alpine",
                           "Vulnerabilities": list(vulns)}]}
    return json.dumps(report, indent=2) + "\n"


def grype(*matches: dict[str, Any], image: str = "registry.example/shop/api:2.0", digest: str = DIGEST) -> str:
    target = {"userInput": image, "imageID": digest, "manifestDigest": digest, "repoDigests": [f"{image}@{digest}"]}
    report = {"matches": list(matches), "source": {"type": "image", "target": target},
              "distro": {"name": "debian", "version": "12"}, "descriptor": {"name": "grype", "version": "0.92.0"}}
    return json.dumps(report, indent=2) + "\n"


def grype_match(advisory: str, package: str, installed: str, fixed: str | None, fix_date: str | None = None,
                severity: str = "High") -> dict[str, Any]:
    fix: dict[str, Any] = {"versions": [fixed] if fixed else [], "state": "fixed" if fixed else "not-fixed"}
    if fixed and fix_date:
        fix["available"] = [{"version": fixed, "date": fix_date, "kind": "first-observed"}]
    return {"vulnerability": {"id": advisory, "severity": severity, "fix": fix},
            "artifact": {"name": package, "version": installed, "type": "deb",
                         "purl": f"pkg:deb/debian/{package}@{installed}"}}


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path
