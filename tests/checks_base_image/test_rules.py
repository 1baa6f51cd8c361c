"""Every base-image rule is documented and has a stable, unique id."""

from __future__ import annotations

import re

from gates.checks.base_image import rules
from gates.model import Severity


def test_rules_are_complete_and_unique() -> None:
    ids = [rule.id for rule in rules.RULES]
    assert len(ids) == len(set(ids)) == 17
    for rule in rules.RULES:
        assert rule.gate == "base-image"
        assert re.match(r"^base-image(-[a-z]+)+$", rule.id)
        assert isinstance(rule.severity, Severity)
        assert rule.title and rule.rationale and rule.remediation
    constants = {v for k, v in vars(rules).items() if k.isupper() and isinstance(v, str) and k != "GATE"}
    assert constants == set(ids)
