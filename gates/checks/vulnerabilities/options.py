"""The `[vulnerabilities]` table: which reports and VEX documents, and how strictly to judge them."""

from __future__ import annotations

from gates.model import Severity
from gates.validators import Schema, boolean, non_negative_int, positive_int, severity, str_list

DEFAULT_MAX_REPORT_BYTES = 64 * 1024 * 1024

TABLE: Schema = {
    "reports": (str_list, ()),
    "vex": (str_list, ()),
    "ignore-unfixed": (boolean, False),
    "min-severity": (severity, Severity.INFO),
    "unrated-severity": (severity, Severity.HIGH),
    "fix-grace-days": (non_negative_int, 0),
    "max-report-bytes": (positive_int, DEFAULT_MAX_REPORT_BYTES),
}
