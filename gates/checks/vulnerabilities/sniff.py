"""Which format a report is, from its content alone: a file name is the pull request's word, not the file's.

Each format is recognised by keys only it has at the top level; a file that looks like two formats,
or like a format this gate does not read (SARIF, SPDX, OpenVEX passed as a report), is refused by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gates.checks.vulnerabilities import cyclonedx, gitlab, grype, trivy
from gates.checks.vulnerabilities.jsondoc import JsonDocument
from gates.checks.vulnerabilities.record import ScannedReport
from gates.errors import InputError

Parser = Callable[[JsonDocument], ScannedReport]

_READ: tuple[tuple[str, Callable[[Mapping[str, Any]], bool], Parser], ...] = (
    (trivy.FORMAT, lambda top: "SchemaVersion" in top and ("ArtifactName" in top or "Results" in top), trivy.parse),
    (grype.FORMAT, lambda top: "matches" in top and ("source" in top or "descriptor" in top), grype.parse),
    (gitlab.FORMAT, lambda top: isinstance(top.get("scan"), dict) and "vulnerabilities" in top, gitlab.parse),
    (cyclonedx.FORMAT, lambda top: top.get("bomFormat") == "CycloneDX", cyclonedx.parse),
)

_REFUSED: tuple[tuple[str, Callable[[Mapping[str, Any]], bool]], ...] = (
    ("an OpenVEX document (pass it with --vex or [vulnerabilities] vex)",
     lambda top: "openvex" in str(top.get("@context", ""))),
    ("SARIF (it carries no installed and fixed versions; use the scanner's JSON report)",
     lambda top: "runs" in top and "sarif" in str(top.get("$schema", "")) + str(top.get("version", ""))),
    ("an SPDX SBOM (not a scan result)", lambda top: "spdxVersion" in top),
)

KNOWN = ", ".join(name for name, _, _ in _READ)


def detect(doc: JsonDocument) -> Parser:
    """The parser for this document; an `InputError` when no format, or more than one, claims it."""
    top = doc.content
    if not isinstance(top, dict):
        raise InputError(f"a JSON {type(top).__name__}, not a scanner report ({KNOWN})")
    refused = [name for name, looks in _REFUSED if looks(top)]
    claims = [(name, parser) for name, looks, parser in _READ if looks(top)]
    if len(claims) + len(refused) > 1:
        names = [name for name, _ in claims] + refused
        raise InputError("ambiguous: the report looks like " + " and ".join(names) + "; refused")
    if refused:
        raise InputError(f"{refused[0]}: not a vulnerability report this gate reads ({KNOWN})")
    if not claims:
        raise InputError(f"not a vulnerability report this gate reads ({KNOWN})")
    return claims[0][1]
