"""One report file -> a `ScannedReport`, or an `InputError` saying in one line why it cannot be judged."""

from __future__ import annotations

from gates.checks.vulnerabilities import jsondoc
from gates.checks.vulnerabilities.record import ScannedReport
from gates.checks.vulnerabilities.sniff import detect


def read_report(path: str, max_bytes: int) -> ScannedReport:
    doc = jsondoc.load(path, max_bytes)
    return detect(doc)(doc)
