"""Release hygiene: the licence pyproject declares is there in full, the changelog is kept, and the
version is written in one place only (gates/__init__.py), so a release bumps one line."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import version

import gates
from tests.conftest import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

_ELSEWHERE_ALLOWED = {
    "CHANGELOG.md": re.compile(r"^## \[|^\[[0-9.]+\]: "),  # release headings and their links
    "README.md": re.compile(r'^\s*"tool": \{"name": "gates", "version": '),  # the sample JSON report
    "bench/README.md": re.compile(r"^\| gates \| "),  # the version each benchmark row measured
    "examples/shop/charts/shop/Chart.yaml": re.compile(r"^version: "),  # the example chart's own version
}
"""Files that may spell the version, and the only lines where they may: none of them declares it."""


def _tracked_text_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    return [name for name in listed.decode().split("\0") if name]


def test_the_version_is_written_only_in_gates_init() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "gates.__version__"}
    assert version("gates") == gates.__version__  # the installed metadata reads the same line
    pattern = re.compile(rf"(?<![\w.]){re.escape(gates.__version__)}(?![\w.])")
    strays = []
    for name in _tracked_text_files():
        if name == "gates/__init__.py":
            continue
        try:
            text = (REPO / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        allowed = _ELSEWHERE_ALLOWED.get(name)
        strays += [f"{name}:{number}: {line.strip()}" for number, line in enumerate(text.splitlines(), 1)
                   if pattern.search(line) and not (allowed and allowed.search(line))]
    assert strays == []


def test_license_is_the_apache_text_pyproject_declares() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["license"] == "Apache-2.0"
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    sections = re.findall(r"^\s+(\d)\. (\w[\w ]+)\.", text, re.M)
    assert [int(n) for n, _ in sections] == list(range(1, 10))  # all nine sections, in order
    assert "END OF TERMS AND CONDITIONS" in text and "APPENDIX: How to apply" in text


def test_changelog_keeps_an_unreleased_section_and_links_the_release_guide() -> None:
    text = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings and headings[0] == "[Unreleased]"
    assert all(re.fullmatch(r"\[\d+\.\d+\.\d+\] - \d{4}-\d{2}-\d{2}", h) for h in headings[1:])
    assert re.search(r"^### (Added|Changed|Deprecated|Removed|Fixed|Security)$", text, re.M)
    assert "docs/releases.md" in text


def test_release_guide_is_linked_from_the_readme_and_names_how_to_pin() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "(docs/releases.md)" in readme and "(LICENSE)" in readme and "(CHANGELOG.md)" in readme
    guide = (REPO / "docs" / "releases.md").read_text(encoding="utf-8")
    assert "gates/__init__.py" in guide
    for surface in ("GitHub Actions", "pre-commit", "GitLab"):
        assert f"**{surface}**" in guide
    assert "commit SHA" in guide
