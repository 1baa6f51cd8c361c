"""The README's claims, checked against what gates does: a first reader copies them verbatim."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from gates.checks import GATES
from gates.reporters import Format
from tests.conftest import REPO, run_process

README = (REPO / "README.md").read_text(encoding="utf-8")

_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}


def _section(title: str) -> str:
    start = README.index(f"\n## {title}")
    end = README.find("\n## ", start + 1)
    return README[start:end if end != -1 else None]


def _try_it_command() -> list[str]:
    """The gates invocation of the "Try it" one-liner, as a user would run it after the install."""
    block = re.search(r"```sh\n(.*?)\n```", _section("Try it"), re.S)
    assert block is not None
    last = block.group(1).split("&&")[-1].strip()
    argv = shlex.split(last)
    assert argv[0] == ".venv/bin/gates", last
    return argv[1:]


def test_try_it_numbers_are_what_the_example_prints() -> None:
    """Runs the README's example from the repository root and holds every number the README states
    about it (the summary line it quotes, the resources and waivers it counts, the exit code) to the run."""
    section = _section("Try it")
    run = run_process(_try_it_command(), cwd=REPO)
    as_json = run_process([*_try_it_command(), "--format", "json"], cwd=REPO)
    quoted = re.search(r"summary line reads `([^`]+)`, and the run exits (\d)", section)
    assert quoted is not None, "the Try it section quotes the summary line and the exit code"
    assert run.code == int(quoted.group(2)), run.err
    assert quoted.group(1) in run.out
    report = json.loads(as_json.out)
    summary = report["summary"]
    counts = re.search(r"(\w+) resources pass .*? on (\w+) waivers", section, re.S)
    assert counts is not None
    assert _WORDS[counts.group(1)] == summary["results"]["passed"]
    assert _WORDS[counts.group(2)] == summary["waived"]
    stated = {word: int(n) for n, word in re.findall(r"(\d+) (passed|skipped|findings|waived)", quoted.group(1))}
    assert stated == {"passed": summary["results"]["passed"], "skipped": summary["results"]["skipped"],
                      "findings": summary["findings"], "waived": summary["waived"]}


def test_readme_lists_every_output_format() -> None:
    flags = README[README.index("Flags every gate command takes"):]
    listed = re.search(r"`--format FORMAT` \(repeatable: ([^;]+);", flags)
    assert listed is not None
    assert set(re.findall(r"`([a-z-]+)`", listed.group(1))) == {f.value for f in Format}


def test_readme_intro_names_every_gate_as_there() -> None:
    """The intro once said the image gates were still to land; it names what the registry holds."""
    intro = README[:README.index("\n## ")]
    assert "land" not in intro
    for name in GATES:
        assert f"`{name}`" in intro, name


def test_readme_ci_token_paragraph_names_the_conditions_the_code_checks(tmp_path: Path) -> None:
    from gates.oci.credentials import DefaultCredentials

    paragraph = _section("Registries and credentials")
    env = {"CI_REGISTRY": "gitlab.example.com", "CI_REGISTRY_USER": "u", "CI_REGISTRY_PASSWORD": "p",
           "GITHUB_TOKEN": "t"}
    for variable, host in (("GITLAB_CI", "gitlab.example.com"), ("GITHUB_ACTIONS", "ghcr.io")):
        assert f"`{variable}=true`" in paragraph
        assert DefaultCredentials(env=env, config_dir=tmp_path).get(host) is None
        assert DefaultCredentials(env={**env, variable: "true"}, config_dir=tmp_path).get(host) is not None
