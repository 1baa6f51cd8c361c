"""Which images a report passes, and the SLSA VSA v1 in-toto statement that says so for each.

An image passes when every result about it (one per image gate that judged it) passed and all of them
judged the same digest: a result that failed, could not decide or was skipped, or a tag that moved
between two gates, leaves the image without a summary, never with a doubtful one. `verifiedLevels`
names the gates that passed it (`GATES_SIGNATURE_PASSED`, ...), as the VSA format allows custom values:
gates verifies no SLSA build provenance, so it claims no `SLSA_BUILD_LEVEL_*`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gates import __version__
from gates.errors import ConfigError
from gates.model import Outcome, Report, Result
from gates.vsa.policy import PolicyRef

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/verification_summary/v1"
PASSED = "PASSED"
VERIFIER_ENV = "GATES_VSA_VERIFIER_ID"
DEFAULT_VERIFIER_ID = "https://gates.dev/verifier"
"""`verifier.id` unless `GATES_VSA_VERIFIER_ID` names the pipeline's own; admission policies match it."""
_MAX_VERIFIER_ID = 512


@dataclass(frozen=True)
class PassedImage:
    """An image every image gate that judged it passed, at one digest (under one name or more)."""

    names: tuple[str, ...]
    """`registry/repository` of each reference the pipeline gave for it (never from the registry)."""
    sha256: str
    """The hex of the digest the gates judged."""
    gates: tuple[str, ...]
    """The gates that passed it, in report order."""


def verifier_id(environ: Mapping[str, str]) -> str:
    """The verifier's id: `GATES_VSA_VERIFIER_ID` (a URI without spaces or control characters) or the default."""
    value = environ.get(VERIFIER_ENV, "")
    if not value:
        return DEFAULT_VERIFIER_ID
    if len(value) > _MAX_VERIFIER_ID or not value.isprintable() or any(c.isspace() for c in value) \
            or ":" not in value:
        raise ConfigError(f"environment variable {VERIFIER_ENV}: expected a URI of at most {_MAX_VERIFIER_ID}"
                          f" characters, without spaces, found {value[:80]!r}")
    return value


def passed_images(report: Report) -> list[PassedImage]:
    """The images `report` passes, in the order their first result appears."""
    from gates.oci.errors import InvalidReferenceError
    from gates.oci.reference import parse_reference

    by_target: dict[str, list[Result]] = {}
    for result in report.results:
        by_target.setdefault(result.target, []).append(result)
    names: dict[str, list[str]] = {}
    gates: dict[str, list[str]] = {}
    for target, results in by_target.items():
        subjects = {r.subject for r in results}
        if len(subjects) != 1 or None in subjects or any(r.outcome is not Outcome.PASSED for r in results):
            continue
        algorithm, _, hex_digest = str(next(iter(subjects))).partition(":")
        if algorithm != "sha256":
            continue  # the bundle formats that carry a VSA name sha256 subjects only
        try:
            name = parse_reference(target).name
        except InvalidReferenceError:
            continue
        names.setdefault(hex_digest, []).append(name)
        gates.setdefault(hex_digest, []).extend(r.gate for r in results)
    return [PassedImage(tuple(dict.fromkeys(names[hex_digest])), hex_digest, tuple(dict.fromkeys(gates[hex_digest])))
            for hex_digest in names]


def level(gate: str) -> str:
    """The `verifiedLevels` value saying `gate` passed the image."""
    return "GATES_" + gate.upper().replace("-", "_") + "_PASSED"


def statement(image: PassedImage, policy: PolicyRef, verifier: str, verified_at: dt.datetime) -> dict[str, Any]:
    """The in-toto statement: subject the image's digest, predicate a passing VSA by `verifier`."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": image.sha256}} for name in image.names],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "verifier": {"id": verifier, "version": {"gates": __version__}},
            "timeVerified": verified_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "resourceUri": resource_uri(image),
            "policy": {"uri": policy.uri, "digest": {"sha256": policy.sha256}},
            "verificationResult": PASSED,
            "verifiedLevels": [level(gate) for gate in image.gates],
            "slsaVersion": "1.0",
        },
    }


def resource_uri(image: PassedImage) -> str:
    """The image (by its first name) as a package URL, `pkg:oci/NAME@sha256%3A...?repository_url=...`, as
    purl-spec writes OCI images."""
    from packageurl import PackageURL

    first = image.names[0]
    return PackageURL(type="oci", name=first.rsplit("/", 1)[-1].lower(), version=f"sha256:{image.sha256}",
                      qualifiers={"repository_url": first}).to_string()


def encode(document: Mapping[str, Any]) -> bytes:
    """The statement's bytes: compact ASCII JSON, what is written, signed and attached."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=True).encode("ascii")
