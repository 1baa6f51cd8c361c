"""Predicate types by cosign's short names (`cosign attest --type`) or as any URI."""

from __future__ import annotations

from collections.abc import Iterable

SHORT_NAMES: dict[str, str] = {
    "slsaprovenance": "https://slsa.dev/provenance/v0.2",
    "slsaprovenance02": "https://slsa.dev/provenance/v0.2",
    "slsaprovenance1": "https://slsa.dev/provenance/v1",
    "spdx": "https://spdx.dev/Document",
    "spdxjson": "https://spdx.dev/Document",
    "cyclonedx": "https://cyclonedx.org/bom",
    "vuln": "https://cosign.sigstore.dev/attestation/vuln/v1",
    "openvex": "https://openvex.dev/ns",
    "vsa": "https://slsa.dev/verification_summary/v1",
    "custom": "https://cosign.sigstore.dev/attestation/v1",
}
"""cosign's `--type` names -> the predicate type URI its statements carry."""

SLSA_PROVENANCE = frozenset({"https://slsa.dev/provenance/v0.1", "https://slsa.dev/provenance/v0.2",
                             "https://slsa.dev/provenance/v1"})
SBOM_TYPES = frozenset({"https://spdx.dev/Document", "https://cyclonedx.org/bom"})
OPENVEX_PREFIX = "https://openvex.dev/ns"


def predicate_type(name: str) -> str:
    """The URI for a short name or a URI; raises `ValueError` for anything else (never guesses)."""
    if name in SHORT_NAMES:
        return SHORT_NAMES[name]
    if "://" in name and not any(c.isspace() for c in name):
        return name
    raise ValueError(f"unknown attestation type {name!r}: use a predicate type URI or one of"
                     f" {', '.join(sorted(SHORT_NAMES))}")


def matches(wanted: str, found: object) -> bool:
    """Whether a statement's predicate type is the wanted one (OpenVEX versions its URI: any version)."""
    if not isinstance(found, str):
        return False
    if wanted == OPENVEX_PREFIX:
        return found == wanted or found.startswith(wanted + "/")
    return found == wanted


def short_name(uri: str) -> str:
    """The short name for messages, or the URI itself."""
    return next((name for name, value in SHORT_NAMES.items() if value == uri and name != "slsaprovenance02"
                 and name != "spdx"), uri)


def shown_types(types: Iterable[object]) -> str:
    """Predicate types for a message: short names, each cut at 100 characters, at most 10 (they are untrusted)."""
    names = sorted({short_name(t)[:100] for t in types if isinstance(t, str)})
    more = f", and {len(names) - 10} more" if len(names) > 10 else ""
    return (", ".join(names[:10]) + more) or "none"
