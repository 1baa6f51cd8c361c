"""Dockerfiles per image (`[[base-image.builds]]`), Dockerfile paths as the user sees them, and what is
still reported about an image whose base cannot be reached. The CLI against the real registry."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from gates.oci.client import RegistryClient
from gates.oci.credentials import StaticCredentials
from gates.oci.reference import parse_reference
from tests.checks_base_image.images import BASE_DIGEST, BASE_NAME, DEBIAN_9, NOW, World
from tests.conftest import CliRun, require_corpus
from tests.support.oci_images import image, push_image
from tests.support.registry import free_port

Cli = Callable[[Sequence[str]], CliRun]


def _write(tmp_path: Path, config: str, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    path = tmp_path / "gates.toml"
    path.write_text(f'[registry]\ncache-dir = "{tmp_path / "cache"}"\n' + config, encoding="utf-8")
    return path


def _results(run: CliRun) -> dict[str, dict[str, Any]]:
    assert run.code in (0, 1), run.err
    return {r["target"]: r for r in json.loads(run.out)["results"]}


def _findings(result: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    return [f for f in result["findings"] if f["rule"] == rule]


def test_each_image_is_judged_against_the_dockerfile_its_build_names(
    cli: Cli, tmp_path: Path, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app built from docker/alpine.Dockerfile is judged against it, the other image against the
    `dockerfile` that no build overrides; paths are shown relative to the working directory."""
    config = _write(tmp_path, (
        '[base-image]\ndockerfile = "docker/debian.Dockerfile"\n'
        f'[[base-image.builds]]\nimage = "{world.registry}/bi/app:alpine"\ndockerfile = "docker/alpine.Dockerfile"\n'
    ), {"docker/alpine.Dockerfile": f"FROM {world.alpine}\n", "docker/debian.Dockerfile": f"FROM {world.debian9}\n"})
    monkeypatch.chdir(tmp_path)
    run = cli(["base-image", world.app_alpine, world.app_old, "--config", str(config), "--format", "json",
               "--now", NOW])
    results = _results(run)
    alpine, old = results[world.app_alpine], results[world.app_old]
    [alpine_pin] = _findings(alpine, "base-image-pinning")
    assert alpine_pin["location"] == {"path": "docker/alpine.Dockerfile", "line": 1, "column": None}
    assert f"base {world.alpine} (from docker/alpine.Dockerfile:1)" in alpine["details"]
    assert "Dockerfile docker/alpine.Dockerfile (from base-image.builds[1])" in alpine["details"]
    [old_pin] = _findings(old, "base-image-pinning")
    assert old_pin["location"]["path"] == "docker/debian.Dockerfile"
    assert not _findings(old, "base-image-approved-base")  # its annotation and its own Dockerfile agree
    assert "Dockerfile docker/debian.Dockerfile (from dockerfile, for the images no build names)" in old["details"]
    assert alpine["outcome"] == old["outcome"] == "failed"


def test_two_builds_that_name_one_image_differently_are_an_error(cli: Cli, tmp_path: Path, world: World) -> None:
    config = _write(tmp_path, (
        f'[[base-image.builds]]\nimage = "{world.registry}/bi/app"\ndockerfile = "a.Dockerfile"\n'
        f'[[base-image.builds]]\nimage = "{world.registry}/bi/*:alpine"\ndockerfile = "b.Dockerfile"\n'
    ), {"a.Dockerfile": f"FROM {world.alpine}\n", "b.Dockerfile": f"FROM {world.debian9}\n"})
    run = cli(["base-image", world.app_alpine, "--config", str(config), "--format", "json", "--now", NOW])
    [result] = _results(run).values()
    assert result["outcome"] == "error"
    assert "base-image.builds[1]" in result["error"] and "base-image.builds[2]" in result["error"]
    assert "ambiguous" in result["error"]


def test_an_image_no_build_names_says_it_has_no_dockerfile(cli: Cli, tmp_path: Path, world: World) -> None:
    config = _write(tmp_path, '[[base-image.builds]]\nimage = "other/*"\ndockerfile = "D"\n', {"D": "FROM scratch\n"})
    run = cli(["base-image", world.app_alpine, "--config", str(config), "--format", "json", "--now", NOW])
    [result] = _results(run).values()
    assert any(d.startswith("no Dockerfile: no [[base-image.builds]] image glob matches") for d in result["details"])
    assert not _findings(result, "base-image-pinning")


@pytest.mark.parametrize(("table", "problem"), [
    ('image = "x/app"\n', "base-image.builds: entry 1: dockerfile must be a non-empty string"),
    ('image = "x/app"\ndockerfile = "D"\ncontext = "."\n', "entry 1: context: unknown key"),
    ('image = "Bad/App"\ndockerfile = "D"\n', "entry 1: image: "),
])
def test_a_malformed_build_is_a_configuration_error(cli: Cli, tmp_path: Path, table: str, problem: str) -> None:
    config = _write(tmp_path, "[[base-image.builds]]\n" + table, {})
    run = cli(["base-image", "x/app:1", "--config", str(config)])
    assert run.code == 2 and problem in run.err and "Traceback" not in run.err


def test_an_unreadable_build_dockerfile_is_named_by_its_key(cli: Cli, tmp_path: Path, world: World) -> None:
    config = _write(tmp_path, '[[base-image.builds]]\nimage = "*"\ndockerfile = "missing/Dockerfile"\n', {})
    run = cli(["base-image", world.app_alpine, "--config", str(config), "--now", NOW])
    assert run.code == 2 and "base-image.builds[1].dockerfile" in run.err and "cannot read" in run.err


def test_an_unreachable_base_still_reports_every_check_that_does_not_need_it(
    cli: Cli, tmp_path: Path, world: World
) -> None:
    """Age, non-root, OS end of life and patch level need only the image: the base being down is an
    error of the result, never a reason to lose them."""
    gone = f"127.0.0.1:{free_port()}/gone/debian:9"
    app = f"{world.registry}/bi/app:orphan"
    built = image([DEBIAN_9], created="2026-01-01T00:00:00Z", user="",
                  annotations={BASE_NAME: gone, BASE_DIGEST: "sha256:" + "a" * 64})
    with RegistryClient(StaticCredentials({})) as client:
        push_image(client, parse_reference(app), built)
    config = _write(tmp_path, "", {})
    run = cli(["base-image", app, "--config", str(config), "--format", "json", "--now", NOW,
               "--advisories", str(require_corpus("osv", "records"))])
    [result] = _results(run).values()
    assert run.code == 1 and result["outcome"] == "error"
    assert result["error"].startswith(f"{app}: base image: ") and "127.0.0.1" in result["error"]
    rules = {f["rule"] for f in result["findings"]}
    assert {"base-image-age", "base-image-non-root", "base-image-os-eol",
            "base-image-vulnerable-package"} <= rules
    assert "base age, drift and approval not checked: the base could not be read" in result["details"]
