"""GitLab's container-scanning report (`gl-container-scanning-report.json`, schema 15.x)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gates.checks.vulnerabilities.jsondoc import JsonDocument
from gates.checks.vulnerabilities.record import Fields, ScannedReport, Vulnerability, severity_of, text
from gates.errors import InputError

FORMAT = "GitLab container scanning"

NO_SOLUTION = "No solution provided"
"""What GitLab's analyzers (and Trivy's template) write when no fix exists."""

SCAN_TYPES = ("container_scanning", "container_scanning_for_registry")
"""The scan types of the container-scanning schema (15.x)."""

_UPGRADE = re.compile(r"Upgrade (?P<package>\S+) to (?:version )?(?P<version>\S+?)\.?", re.IGNORECASE)


def parse(doc: JsonDocument) -> ScannedReport:
    top = Fields(doc.content, "report", 1)
    scan = top.mapping("scan")
    kind = scan.get("type")
    if kind not in SCAN_TYPES:
        raise InputError(f"a GitLab security report of scan.type {text(kind)!r}, not container scanning: not read")
    if scan.get("status") not in (None, "success"):
        raise InputError(f"the GitLab report says the scan did not succeed (scan.status {text(scan.get('status'))!r})")
    analyzer = Fields(scan, "scan", None).mapping("scanner")
    scanner = f"{text(analyzer.get('name') or '?')} {text(analyzer.get('version') or '')}".strip()
    found = [_vulnerability(doc, entry) for entry in top.objects("vulnerabilities")]
    images = sorted({v.image for v in found}) or ["(no image named)"]
    details = [f"{FORMAT} report {text(top.string('version') or '?')} ({scanner}) of {', '.join(images)}"]
    if any(v.purl is None for v in found):
        details.append("GitLab reports carry no package URLs: OpenVEX statements cannot apply to their findings")
    return ScannedReport(FORMAT, scanner, ", ".join(images), tuple(found), frozenset(), tuple(details))


def _vulnerability(doc: JsonDocument, entry: Mapping[str, Any]) -> Vulnerability:
    position = doc.position(entry)
    line = position[0] if position else None
    fields = Fields(entry, "vulnerabilities[]", line)
    identifiers = fields.objects("identifiers")
    if not identifiers or not isinstance(identifiers[0].get("value"), str) or not identifiers[0]["value"]:
        raise InputError(f"line {line}: vulnerabilities[] has no primary identifier (identifiers[0].value)")
    location = Fields(fields.mapping("location"), "vulnerabilities[].location", line)
    dependency = Fields(location.mapping("dependency"), "vulnerabilities[].location.dependency", line)
    package = Fields(dependency.mapping("package"), "vulnerabilities[].location.dependency.package", line)
    solution = fields.string("solution")
    fixed: str | None = None
    if solution and solution.strip() != NO_SOLUTION:
        upgrade = _UPGRADE.fullmatch(solution.strip())
        fixed = text(upgrade["version"]) if upgrade else text(solution)
    rating = fields.string("severity") or ""
    aliases = tuple(text(i["value"]) for i in identifiers[1:] if isinstance(i.get("value"), str))
    return Vulnerability(
        advisory=text(identifiers[0]["value"]),
        package=text(package.required("name")),
        installed=text(dependency.string("version") or "?"),
        position=position,
        severity=severity_of(rating),
        rating=text(rating),
        fixed=fixed,
        aliases=aliases,
        image=text(location.string("image") or "(no image named)"),
    )
