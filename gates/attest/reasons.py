"""Why an attestation requirement is not met: the vocabulary the signature gate names its rules by."""

from __future__ import annotations

MISSING = "attestation-missing"
"""No attestation of the required predicate type is attached to the digest."""
INVALID = "attestation-invalid"
"""Attestations of the type exist, but none verifies with the requirement's authorities (signature,
transparency, identity, subject), or one does not parse."""
CONDITION = "attestation-condition"
"""An attestation verified, but its predicate does not satisfy a condition."""
