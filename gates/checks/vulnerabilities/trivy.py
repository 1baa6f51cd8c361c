"""Trivy's JSON report (`trivy image --format json`, SchemaVersion 2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gates.checks.vulnerabilities.jsondoc import JsonDocument
from gates.checks.vulnerabilities.record import Fields, ScannedReport, Vulnerability, severity_of, text
from gates.errors import InputError
from gates.wording import counted

FORMAT = "Trivy JSON"


def parse(doc: JsonDocument) -> ScannedReport:
    top = Fields(doc.content, "report", 1)
    schema = doc.content.get("SchemaVersion")
    if schema != 2:
        raise InputError(f"Trivy SchemaVersion {text(schema)!s} is not read (only 2, Trivy 0.20 and later)")
    image = top.string("ArtifactName") or "(unnamed artifact)"
    metadata = top.mapping("Metadata")
    digests = _digests(metadata)
    found: list[Vulnerability] = []
    misconfigurations = secrets = licenses = suppressed = 0
    for result in top.objects("Results"):
        fields = Fields(result, "Results[]", _line(doc, result))
        misconfigurations += len(fields.items("Misconfigurations"))
        secrets += len(fields.items("Secrets"))
        licenses += len(fields.items("Licenses"))
        suppressed += len(fields.items("ExperimentalModifiedFindings"))
        for entry in fields.objects("Vulnerabilities"):
            found.append(_vulnerability(doc, entry, image))
    version = text(top.mapping("Trivy").get("Version") or "?")
    details = [f"{FORMAT} (Trivy {version}) of {text(image)}"]
    if misconfigurations or secrets or licenses:
        details.append(f"not judged by this gate: {counted(misconfigurations, 'misconfiguration')},"
                       f" {counted(secrets, 'secret')}, {counted(licenses, 'license finding')} in the report")
    if suppressed:
        details.append(f"{counted(suppressed, 'finding')} Trivy itself suppressed (its VEX or ignore files)"
                       f" {'is' if suppressed == 1 else 'are'} not judged")
    return ScannedReport(FORMAT, f"Trivy {version}", text(image), tuple(found), digests, tuple(details))


def _line(doc: JsonDocument, obj: object) -> int | None:
    position = doc.position(obj)
    return position[0] if position else None


def _digests(metadata: Mapping[str, Any]) -> frozenset[str]:
    digests: set[str] = set()
    for key in ("ImageID", "RepoDigests"):
        value = metadata.get(key)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and "sha256:" in item:
                digests.add(item[item.index("sha256:"):])
    return frozenset(digests)


def _vulnerability(doc: JsonDocument, entry: Mapping[str, Any], image: str) -> Vulnerability:
    position = doc.position(entry)
    fields = Fields(entry, "Vulnerabilities[]", position[0] if position else None)
    rating = fields.string("Severity") or ""
    identifier = fields.mapping("PkgIdentifier")
    purl = identifier.get("PURL")
    return Vulnerability(
        advisory=text(fields.required("VulnerabilityID")),
        package=text(fields.required("PkgName")),
        installed=text(fields.string("InstalledVersion") or "?"),
        position=position,
        severity=severity_of(rating),
        rating=text(rating),
        fixed=text(fields.string("FixedVersion")) if fields.string("FixedVersion") else None,
        purl=purl if isinstance(purl, str) else None,
        image=text(image),
        notes=(f"Trivy status: {text(fields.string('Status'))}",) if fields.string("Status") not in (None, "fixed",
                                                                                                    "affected")
        else (),
    )
