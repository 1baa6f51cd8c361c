"""CycloneDX JSON with `vulnerabilities` (Trivy, grype and others write it; VEX BOMs too).

A CycloneDX file without a `vulnerabilities` array is an SBOM, not a scan result: nothing says it was
scanned, so it is refused rather than read as clean.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from gates.checks.vulnerabilities.jsondoc import JsonDocument
from gates.checks.vulnerabilities.record import (
    Analysis,
    Fields,
    ScannedReport,
    Vulnerability,
    severity_of,
    text,
)
from gates.errors import InputError
from gates.model import Severity

FORMAT = "CycloneDX"

_UPGRADE = re.compile(r"Upgrade \S+ to (?:version )?(?P<version>.+?)\.?", re.IGNORECASE)


def parse(doc: JsonDocument) -> ScannedReport:
    top = Fields(doc.content, "bom", 1)
    spec = text(top.string("specVersion") or "?")
    if "vulnerabilities" not in doc.content:
        raise InputError(f"a CycloneDX {spec} SBOM without vulnerabilities: nothing says it was scanned"
                         " (scan it, e.g. `trivy sbom --format cyclonedx`, and pass the result)")
    metadata = Fields(top.mapping("metadata"), "bom.metadata", None)
    subject = metadata.mapping("component")
    name = subject.get("name") if isinstance(subject.get("name"), str) else None
    version = subject.get("version") if isinstance(subject.get("version"), str) else None
    image = text(f"{name}@{version}" if name and version and version.startswith("sha256:") else
                 f"{name} {version}" if name and version else name or "(no subject component)")
    digests = frozenset(v for v in (version,) if v and v.startswith("sha256:"))
    components = dict(_components(top.objects("components")))
    if isinstance(subject.get("bom-ref"), str):
        components.setdefault(subject["bom-ref"], subject)
    found: list[Vulnerability] = []
    for entry in top.objects("vulnerabilities"):
        found.extend(_entries(doc, entry, components, image))
    tools = _tools(metadata)
    details = [f"{FORMAT} {spec}{f' ({tools})' if tools else ''} of {image}"]
    return ScannedReport(FORMAT, tools or FORMAT, image, tuple(found), digests, tuple(details))


def _tools(metadata: Fields) -> str:
    tools = metadata.obj.get("tools")
    listed = tools.get("components") if isinstance(tools, dict) else tools
    names = [f"{t.get('name')} {t.get('version') or ''}".strip() for t in listed
             if isinstance(t, dict) and isinstance(t.get("name"), str)] if isinstance(listed, list) else []
    return text(", ".join(names))


def _components(items: list[Mapping[str, Any]], depth: int = 0) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for component in items:
        if isinstance(component.get("bom-ref"), str):
            yield component["bom-ref"], component
        nested = component.get("components")
        if isinstance(nested, list) and depth < 32:
            yield from _components([c for c in nested if isinstance(c, dict)], depth + 1)


def _rating(entry: Fields) -> tuple[Severity | None, str]:
    """The rating of the advisory's own source where it gives one, else the most severe: never the mildest."""
    source = entry.mapping("source").get("name")
    rated = [(severity_of(r.get("severity")), text(r.get("severity") or ""), r) for r in entry.objects("ratings")]
    rated = [(s, w, r) for s, w, r in rated if s is not None]
    own = [(s, w) for s, w, r in rated if isinstance(source, str) and isinstance(r.get("source"), dict)
           and str(r["source"].get("name", "")).lower() == source.lower()]
    pool = own or [(s, w) for s, w, _ in rated]
    if not pool:
        return None, ""
    return max(pool, key=lambda item: item[0].rank if item[0] else -1)


def _entries(doc: JsonDocument, entry: Mapping[str, Any], components: Mapping[str, Mapping[str, Any]],
             image: str) -> Iterator[Vulnerability]:
    position = doc.position(entry)
    line = position[0] if position else None
    fields = Fields(entry, "vulnerabilities[]", line)
    advisory = text(fields.required("id"))
    severity, rating = _rating(fields)
    aliases = tuple(text(r["id"]) for r in fields.objects("references") if isinstance(r.get("id"), str)
                    and r["id"] != fields.obj["id"])
    analysis = _analysis(Fields(fields.mapping("analysis"), "vulnerabilities[].analysis", line))
    recommendation = fields.string("recommendation")
    affects = fields.objects("affects")
    if not affects:
        yield Vulnerability(advisory, "(no affected component named)", "?", position, severity, rating,
                            _fixed(recommendation), aliases=aliases, image=image, analysis=analysis)
        return
    for affected in affects:
        ref = affected.get("ref")
        if not isinstance(ref, str) or not ref:
            raise InputError(f"line {line}: vulnerabilities[].affects[].ref must be a non-empty string")
        local = ref.split("#", 1)[1] if ref.startswith("urn:cdx:") and "#" in ref else ref  # a BOM-Link
        component = components.get(ref) or components.get(local) or {}
        purl = component.get("purl") if isinstance(component.get("purl"), str) else (
            local if local.startswith("pkg:") else None)
        name, version = _name_version(component, purl, local)
        yield Vulnerability(advisory, name, version, position, severity, rating, _fixed(recommendation),
                            purl=purl, aliases=aliases, image=image, analysis=analysis)


def _name_version(component: Mapping[str, Any], purl: str | None, ref: str) -> tuple[str, str]:
    name, version = component.get("name"), component.get("version")
    if isinstance(name, str) and name:
        group = component.get("group")
        full = f"{group}:{name}" if isinstance(group, str) and group else name
        return text(full), text(version) if isinstance(version, str) and version else "?"
    if purl:
        from packageurl import PackageURL

        try:
            parsed = PackageURL.from_string(purl)
        except (ValueError, TypeError, KeyError):
            return text(ref), "?"
        distro = parsed.type in ("deb", "rpm", "apk")
        full = f"{parsed.namespace}/{parsed.name}" if parsed.namespace and not distro else parsed.name
        return text(full), text(parsed.version or "?")
    return text(ref), "?"


def _fixed(recommendation: str | None) -> str | None:
    """The fix, from `recommendation` (`affects[].versions` say which versions are unaffected, not fixed)."""
    if not recommendation:
        return None
    upgrade = _UPGRADE.fullmatch(recommendation.strip())
    return text(upgrade["version"]) if upgrade else text(recommendation)


def _analysis(fields: Fields) -> Analysis | None:
    state = fields.string("state")
    if state is None:
        return None
    detail = fields.string("detail")
    return Analysis(text(state), text(fields.string("justification")) if fields.string("justification") else None,
                    text(detail, 300) if detail else None)
