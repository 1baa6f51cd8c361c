"""The simple-signing payload of legacy cosign signatures, checked against the image being verified.

A signature only proves that its payload was signed; the payload is what binds it to one image digest
and one repository. Checked as strictly as containers/image (exact `critical` keys, exact `type`), since
a verifier that is lenient here accepts payloads no cosign ever wrote.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gates.cosign import reasons
from gates.cosign.errors import Rejected
from gates.cosign.reference import ReferenceMatch, reference_matches
from gates.cosign.signed_identity import SignedIdentity, identity_problem

SIGNATURE_TYPE = "cosign container image signature"


@dataclass(frozen=True)
class SimpleSigningPayload:
    """The fields of `critical` that verification uses."""

    docker_reference: str
    manifest_digest: str
    type: str
    optional: dict[str, Any] | None


def parse_payload(data: bytes) -> SimpleSigningPayload:
    """Parse the exact payload bytes; raises `Rejected(signature-payload-mismatch)` on any deviation."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise Rejected(reasons.PAYLOAD_MISMATCH, f"payload is not JSON ({exc.__class__.__name__})") from exc
    if not isinstance(doc, dict):
        raise Rejected(reasons.PAYLOAD_MISMATCH, "payload is not a JSON object")
    critical = doc.get("critical")
    _require_keys(critical, "critical", {"identity", "image", "type"})
    assert isinstance(critical, dict)
    identity, image = critical["identity"], critical["image"]
    _require_keys(identity, "critical.identity", {"docker-reference"})
    _require_keys(image, "critical.image", {"docker-manifest-digest"})
    kind, reference, digest = critical["type"], identity["docker-reference"], image["docker-manifest-digest"]
    for name, value in (("type", kind), ("docker-reference", reference), ("docker-manifest-digest", digest)):
        if not isinstance(value, str):
            raise Rejected(reasons.PAYLOAD_MISMATCH, f"payload field {name} is not a string")
    optional = doc.get("optional")
    if optional is not None and not isinstance(optional, dict):
        raise Rejected(reasons.PAYLOAD_MISMATCH, "payload field optional is neither an object nor null")
    return SimpleSigningPayload(docker_reference=reference, manifest_digest=digest, type=kind, optional=optional)


def check_payload(
    payload: SimpleSigningPayload,
    image_digest: str,
    repository: str,
    match: ReferenceMatch = ReferenceMatch.REPOSITORY,
    identity: SignedIdentity | None = None,
) -> None:
    """Bind the payload to the image: type, digest, reference; says what was expected and found.

    `identity` (a policy's `signed-identity`), when given, decides the reference instead of `match`.
    """
    if payload.type != SIGNATURE_TYPE:
        raise Rejected(
            reasons.PAYLOAD_MISMATCH,
            f"payload type is {payload.type!r}, expected {SIGNATURE_TYPE!r}",
        )
    if payload.manifest_digest != image_digest:
        raise Rejected(
            reasons.PAYLOAD_MISMATCH,
            f"payload signs digest {payload.manifest_digest}, expected {image_digest}",
        )
    if identity is not None:
        problem = identity_problem(repository, payload.docker_reference, identity, "docker-reference")
        if problem is not None:
            raise Rejected(reasons.PAYLOAD_MISMATCH, f"payload {problem} ({identity.describe()})")
    elif not reference_matches(payload.docker_reference, repository, match):
        raise Rejected(
            reasons.PAYLOAD_MISMATCH,
            f"payload docker-reference {payload.docker_reference!r} does not match {repository!r} ({match.value})",
        )


def _require_keys(value: object, where: str, keys: set[str]) -> None:
    if not isinstance(value, dict):
        raise Rejected(reasons.PAYLOAD_MISMATCH, f"payload {where} is missing or not an object")
    found = set(value)
    if found != keys:
        missing, extra = sorted(keys - found), sorted(found - keys)
        detail = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing)}" if missing else "",
                f"unexpected {', '.join(extra)}" if extra else "",
            )
            if part
        )
        raise Rejected(reasons.PAYLOAD_MISMATCH, f"payload {where} has the wrong keys: {detail}")
