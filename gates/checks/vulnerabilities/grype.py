"""Grype's JSON report (`grype IMAGE -o json`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from gates.checks.vulnerabilities.jsondoc import JsonDocument
from gates.checks.vulnerabilities.record import Fields, ScannedReport, Vulnerability, date_of, severity_of, text

FORMAT = "Grype JSON"


def parse(doc: JsonDocument) -> ScannedReport:
    top = Fields(doc.content, "report", 1)
    source = Fields(top.mapping("source"), "source", None)
    target = source.obj.get("target")
    digests: set[str] = set()
    if isinstance(target, dict):
        described = Fields(target, "source.target", None)
        image = described.string("userInput") or "(unnamed image)"
        digests |= {d for d in (described.string("imageID"), described.string("manifestDigest")) if d}
        digests |= {item[item.index("sha256:"):] for item in described.items("repoDigests")
                    if isinstance(item, str) and "sha256:" in item}
    else:
        image = target if isinstance(target, str) and target else "(unnamed source)"
    found = [_match(doc, entry, text(image)) for entry in top.objects("matches")]
    descriptor = top.mapping("descriptor")
    scanner = f"grype {text(descriptor.get('version') or '?')}"
    details = [f"{FORMAT} ({scanner}) of {text(image)}"]
    ignored = top.items("ignoredMatches")
    if ignored:
        details.append(f"{len(ignored)} matches grype itself ignored (its ignore rules or VEX) are not judged")
    return ScannedReport(FORMAT, scanner, text(image), tuple(found), frozenset(digests), tuple(details))


def _match(doc: JsonDocument, entry: Mapping[str, Any], image: str) -> Vulnerability:
    position = doc.position(entry)
    line = position[0] if position else None
    match = Fields(entry, "matches[]", line)
    vulnerability = Fields(match.mapping("vulnerability"), "matches[].vulnerability", line)
    artifact = Fields(match.mapping("artifact"), "matches[].artifact", line)
    fix = Fields(vulnerability.mapping("fix"), "matches[].vulnerability.fix", line)
    versions = [v for v in fix.items("versions") if isinstance(v, str) and v]
    rating = vulnerability.string("severity") or ""
    related = [r.get("id") for r in match.objects("relatedVulnerabilities")]
    aliases = tuple(text(a) for a in related if isinstance(a, str))
    state = fix.string("state")
    return Vulnerability(
        advisory=text(vulnerability.required("id")),
        package=text(artifact.required("name")),
        installed=text(artifact.string("version") or "?"),
        position=position,
        severity=severity_of(rating),
        rating=text(rating),
        fixed=text(", ".join(versions)) if versions else None,
        fix_date=_fix_date(fix, versions),
        purl=artifact.string("purl"),
        aliases=aliases,
        image=image,
        notes=(f"grype fix state: {text(state)}",) if state and state not in ("fixed", "not-fixed") else (),
    )


def _fix_date(fix: Fields, versions: list[str]) -> dt.date | None:
    """When the first fixed version was published, from `fix.available` (grype 0.92 and later)."""
    dates = [date_of(item.get("date")) for item in fix.objects("available")
             if not versions or item.get("version") in versions]
    known = [d for d in dates if d is not None]
    return min(known) if known else None
