"""The `[vulnerabilities]` table: which reports and VEX documents, and how strictly to judge them."""

from __future__ import annotations

from gates.checks.vulnerabilities.jsondoc import DEFAULT_MAX_BYTES
from gates.model import Severity
from gates.validators import Schema, boolean, non_negative_int, positive_int, severity, str_list

TABLE: Schema = {
    "reports": (str_list, ()),
    "vex": (str_list, ()),
    "ignore-unfixed": (boolean, False),
    "min-severity": (severity, Severity.INFO),
    "unrated-severity": (severity, Severity.HIGH),
    "fix-grace-days": (non_negative_int, 0),
    "max-report-bytes": (positive_int, DEFAULT_MAX_BYTES),
}
