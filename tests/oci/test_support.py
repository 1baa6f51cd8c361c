"""The registry fixture's contract when the binary is missing: skip locally, fail under CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import registry as registry_support


def test_missing_binary_skips_outside_ci_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry_support, "REGISTRY_BINARY", Path("/nonexistent/docker-registry"))
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="/nonexistent/docker-registry is not installed"):
        registry_support.require_registry_binary()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must install it"):
        registry_support.require_registry_binary()
