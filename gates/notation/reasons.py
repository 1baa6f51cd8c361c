"""Why a Notary Project signature is not accepted: the ids the signature gate names its rules by."""

from __future__ import annotations

MISSING = "notation-signature-missing"
INVALID = "notation-signature-invalid"
IDENTITY_MISMATCH = "notation-identity-mismatch"
PAYLOAD_MISMATCH = "notation-payload-mismatch"
REVOCATION_UNCHECKED = "notation-revocation-unchecked"
POLICY_UNMATCHED = "notation-policy-unmatched"
CHECK_LOGGED = "notation-check-logged"
"""A check the trust policy sets to `log` failed: reported, not blocking."""
