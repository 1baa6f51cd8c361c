"""Why a signature is not accepted: the vocabulary of every rejection this library raises.

The signature gate names its rules by these reasons (`gates/checks/signature/rules.py`), so a rejection
becomes a finding of the rule of the same id without the library knowing any gate.
"""

from __future__ import annotations

MISSING = "signature-missing"
INVALID = "signature-invalid"
IDENTITY_MISMATCH = "signature-identity-mismatch"
TLOG_MISSING = "signature-tlog-missing"
PAYLOAD_MISMATCH = "signature-payload-mismatch"
POLICY_UNMATCHED = "signature-policy-unmatched"
