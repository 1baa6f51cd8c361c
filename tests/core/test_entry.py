"""The fast path of the console script parses only simple `manifests` command lines, exactly as the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gates.entry import main as entry_main
from gates.entry import parse_manifests_args
from tests.manifests.helpers import compliant_pod_spec, wrap, write


@pytest.mark.parametrize("args", [
    ["manifests"],                      # no path: the CLI reports the usage error
    ["manifests", "--help"],
    ["manifests", "x.yaml", "--level"],  # a flag without its value
    ["manifests", "x.yaml", "--unknown"],
    ["manifests", "x.yaml", "--level", "baseline", "--level", "restricted"],
    ["run", "x.yaml"],
])
def test_unusual_command_lines_go_to_the_full_cli(args: list[str]) -> None:
    assert parse_manifests_args(args) is None


def test_simple_command_line_is_parsed() -> None:
    parsed = parse_manifests_args(["manifests", "a.yaml", "-", "--level=baseline", "-f", "json", "--format",
                                   "junit", "-o", "junit=r.xml", "--fail-on", "high", "-v", "--config", "g.toml"])
    assert parsed == {"paths": ["a.yaml", "-"], "formats": ["json", "junit"], "outputs": ["junit=r.xml"],
                      "verbose": True, "level": "baseline", "fail_on": "high", "config": "g.toml"}


@pytest.mark.parametrize("extra", [
    [], ["--level", "baseline"], ["--fail-on", "critical"], ["--fail-on", "bogus"], ["--level", "strict"],
    ["--format", "yaml"], ["--output", "nonsense"],
])
def test_fast_path_and_full_cli_agree(cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str], extra: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    spec = compliant_pod_spec()
    spec["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    write(tmp_path, "p.yaml", wrap("Pod", spec))
    args = ["manifests", "p.yaml", "--format", "json", *extra]
    full = cli(args)
    capsys.readouterr()
    fast_code = entry_main(args)
    fast = capsys.readouterr()
    assert fast_code == full.code
    if full.code in (0, 1):
        strip = [{k: v for k, v in json.loads(text).items() if k != "generated"} for text in (full.out, fast.out)]
        assert strip[0] == strip[1]
    else:
        assert fast.err == full.err
