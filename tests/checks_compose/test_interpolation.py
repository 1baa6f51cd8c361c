"""`${VAR}` as the Compose specification reads it, and a field that depends on an unset variable: never guessed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gates.checks.compose.interpolate import TemplateError, Unresolved, interpolate
from gates.model import Outcome
from tests.support.rule_cases import findings_of, gate_report

ENV = {"SET": "value", "EMPTY": ""}


@pytest.mark.parametrize(("text", "expected"), [
    ("plain", "plain"),
    ("$SET/${SET}", "value/value"),
    ("$$SET costs $$5", "$SET costs $5"),
    ("${UNSET:-fallback}", "fallback"),
    ("${EMPTY:-fallback}", "fallback"),
    ("${EMPTY-fallback}", ""),
    ("${SET:-fallback}", "value"),
    ("${UNSET-fallback}", "fallback"),
    ("${UNSET:-${SET}}", "value"),
    ("${SET:-${UNSET}}", "value"),
    ("${SET:+alt}", "alt"),
    ("${EMPTY:+alt}", ""),
    ("${EMPTY+alt}", "alt"),
    ("${UNSET+alt}", ""),
    ("${SET:?must be set}", "value"),
    ("${EMPTY?must be set}", ""),
    ("a}b", "a}b"),
])
def test_resolved(text: str, expected: str) -> None:
    assert interpolate(text, ENV) == expected


@pytest.mark.parametrize(("text", "variables", "required"), [
    ("$UNSET", ("UNSET",), False),
    ("${UNSET}:/x", ("UNSET",), False),
    ("${EMPTY:?needed}", ("EMPTY",), True),
    ("${UNSET?needed}", ("UNSET",), True),
    ("${UNSET:-${ALSO}}", ("ALSO",), False),
    ("${A}${B}${A}", ("A", "B"), False),
])
def test_unresolved(text: str, variables: tuple[str, ...], required: bool) -> None:
    assert interpolate(text, ENV) == Unresolved(variables, required)


@pytest.mark.parametrize("text", ["$", "a $ b", "${", "${}", "${1A}", "${SET", "${SET:-x", "${SET:x}", "$-"])
def test_invalid_templates_are_refused(text: str) -> None:
    with pytest.raises(TemplateError):
        interpolate(text, ENV)


@given(st.text())
def test_escaped_text_comes_back_as_written(text: str) -> None:
    assert interpolate(text.replace("$", "$$"), ENV) == text


@given(st.text(alphabet="${}:-?+AB_ \n", max_size=30))
def test_any_text_is_resolved_unresolved_or_refused(text: str) -> None:
    try:
        value = interpolate(text, {"A": "a", "B": ""})
    except TemplateError:
        return
    assert isinstance(value, (str, Unresolved))
    if isinstance(value, Unresolved):
        assert value.variables and set(value.variables) <= set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))


SERVICE = """\
services:
  media:
    image: ${IMAGE:-nginx:1.27}
    user: "10001"
    read_only: true
    security_opt: ["no-new-privileges:true"]
    network_mode: host
    volumes:
      - ${MEDIA_PATH}:/media
"""


def test_an_unset_variable_leaves_its_field_undecided(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDIA_PATH", raising=False)
    monkeypatch.delenv("IMAGE", raising=False)
    report = gate_report(tmp_path, SERVICE, gate="compose", filename="compose.yaml")
    (result,) = report.results
    assert result.outcome is Outcome.ERROR
    assert result.error is not None and "volumes[0]" in result.error and "MEDIA_PATH" in result.error
    assert f"{tmp_path / 'compose.yaml'}:9" in result.error
    assert [(f.rule, f.location.line) for f in result.findings] == [("compose-host-namespaces", 7)]


def test_a_set_variable_is_judged_and_never_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIA_PATH", "/var/run/docker.sock")
    monkeypatch.setenv("IMAGE", "registry.example/secret-token-xyz")
    report = gate_report(tmp_path, SERVICE, gate="compose", filename="compose.yaml")
    assert {(rule, where) for rule, _, where in findings_of(report)} == {
        ("compose-host-namespaces", "7:5"), ("compose-runtime-socket", "9:9"), ("compose-image-latest", "3:5")}
    messages = " ".join(f.message for r in report.results for f in r.findings)
    assert "secret-token-xyz" not in messages and "${IMAGE:-nginx:1.27}" in messages


def test_a_default_decides_when_the_variable_is_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE", raising=False)
    text = SERVICE.replace("${MEDIA_PATH}", "${SOURCE:-/etc}").replace("    network_mode: host\n", "")
    report = gate_report(tmp_path, text, gate="compose", filename="compose.yaml")
    assert findings_of(report) == {("compose-host-path", "service/media", "8:9")}


def test_an_invalid_template_is_an_error_with_its_line(tmp_path: Path) -> None:
    text = SERVICE.replace("${MEDIA_PATH}:/media", "${MEDIA_PATH:-/media")
    (result,) = gate_report(tmp_path, text, gate="compose", filename="compose.yaml").results
    assert result.outcome is Outcome.ERROR and ":9)" in (result.error or "") and "never closed" in (
        result.error or "")
