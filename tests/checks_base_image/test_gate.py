"""The base-image gate end to end: the CLI against the real registry and images the tests pushed."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.checks_base_image.images import NOW, World
from tests.conftest import CliRun, require_corpus, run_process

Cli = Callable[[Sequence[str]], CliRun]


def _config(tmp_path: Path, extra: str = "") -> Path:
    """A gates.toml with a cache directory of this test and a small layer cap (bombs fail fast)."""
    path = tmp_path / "gates.toml"
    text = f'[registry]\ncache-dir = "{tmp_path / "cache"}"\n[base-image]\nmax-layer-bytes = 8388608\n{extra}'
    path.write_text(text, encoding="utf-8")
    return path


def _gate(cli: Cli, tmp_path: Path, images: Sequence[str], *args: str, extra: str = "",
          advisories: bool = True) -> tuple[CliRun, dict[str, Any]]:
    argv = ["base-image", *images, "--config", str(_config(tmp_path, extra)), "--format", "json", "--now", NOW]
    if advisories:
        argv += ["--advisories", str(require_corpus("osv", "records"))]
    run = cli([*argv, *args])
    assert run.code in (0, 1), run.err
    return run, json.loads(run.out)


def _rules(result: dict[str, Any]) -> set[str]:
    return {f["rule"] for f in result["findings"]}


def test_old_debian_base_fails_on_age_eol_lag_and_an_unpatched_openssl(cli: Cli, tmp_path: Path,
                                                                      world: World) -> None:
    run, report = _gate(cli, tmp_path, [world.app_old])
    assert run.code == 1
    [result] = report["results"]
    assert (result["gate"], result["target"], result["outcome"]) == ("base-image", world.app_old, "failed")
    assert _rules(result) == {"base-image-base-age", "base-image-os-eol", "base-image-point-release-lag",
                              "base-image-vulnerable-package"}
    vulnerable = [f["message"] for f in result["findings"] if f["rule"] == "base-image-vulnerable-package"]
    assert any(m.startswith("openssl 1.1.0l-1~deb9u5 is affected by DLA-3008-1") and "fixed in 1.1.0l-1~deb9u6" in m
               for m in vulnerable)
    assert not any("dpkg" in m or "tzdata" in m for m in vulnerable)  # at the fixed version: not affected
    eol = next(f for f in result["findings"] if f["rule"] == "base-image-os-eol")
    assert "debian 9.11" in eol["message"] and "2020-07-18" in eol["message"]
    assert any(d.startswith("digest sha256:") for d in result["details"])
    assert any("base " + world.debian9 in d for d in result["details"])


def test_current_multi_platform_image_passes_and_names_each_platform(cli: Cli, tmp_path: Path,
                                                                   world: World) -> None:
    run, report = _gate(cli, tmp_path, [world.app_current], "--allowed", f"{world.registry}/bi/*")
    assert run.code == 0, run.out
    [result] = report["results"]
    assert result["outcome"] == "passed" and result["findings"] == []
    for platform in ("linux/amd64", "linux/arm64"):
        assert any(d.startswith(f"{platform}: OS Debian GNU/Linux 13") for d in result["details"])
        assert any(d.startswith(f"{platform}: 2 dpkg packages checked against Debian:13: 0 affected")
                   for d in result["details"])


def test_distroless_status_d_unfixed_advisory_and_support_phase(cli: Cli, tmp_path: Path, world: World) -> None:
    _, report = _gate(cli, tmp_path, [world.app_distroless])
    [result] = report["results"]
    assert _rules(result) == {"base-image-age", "base-image-base-age", "base-image-os-eol",
                              "base-image-vulnerable-package"}
    assert any("age unknown" in f["message"] and "reproducible" in f["message"] for f in result["findings"])
    wget = next(f for f in result["findings"] if f["rule"] == "base-image-vulnerable-package")
    assert "wget 1.21.3-1+b2 is affected by CVE-2024-10524: no fix published yet" in wget["message"]

    _, lenient = _gate(cli, tmp_path, [world.app_distroless], "--ignore-unfixed",
                       extra='eol-phase = "extended"\nskip-rules = ["base-image-age", "base-image-base-age"]\n')
    [result] = lenient["results"]
    assert result["outcome"] == "passed", result
    assert any("extended support for debian 12 runs until 2028-06-30" in d for d in result["details"])


def test_unknown_age_can_be_an_error(cli: Cli, tmp_path: Path, world: World) -> None:
    run, report = _gate(cli, tmp_path, [world.app_distroless], extra='unknown-age = "error"\n', advisories=False)
    [result] = report["results"]
    assert run.code == 1 and result["outcome"] == "error"
    assert result["error"].startswith(world.app_distroless + ": image age unknown")


def test_alpine_with_dockerfile_pinning_approval_and_root(cli: Cli, tmp_path: Path, world: World) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        f"ARG BASE={world.alpine}\n"
        f"FROM {world.registry}/bi/debian AS tools\n"
        "FROM --platform=$BUILDPLATFORM ${BASE} AS build\n"
        "RUN echo building\n"
        "FROM build\n"
        "COPY --from=tools /bin/true /bin/true\n",
        encoding="utf-8",
    )
    run, report = _gate(cli, tmp_path, [world.app_alpine], "--dockerfile", str(dockerfile),
                        "--allowed", "docker.io/library/*")
    assert run.code == 1
    [result] = report["results"]
    assert _rules(result) == {"base-image-pinning", "base-image-approved-base", "base-image-non-root",
                              "base-image-point-release-lag", "base-image-vulnerable-package",
                              "base-image-dockerfile-root"}
    no_user = next(f for f in result["findings"] if f["rule"] == "base-image-dockerfile-root")
    assert (no_user["location"]["path"], no_user["location"]["line"]) == (str(dockerfile), 5)  # FROM build
    assert "sets no USER" in no_user["message"]
    pinning = sorted((f["location"]["line"], f["message"]) for f in result["findings"]
                     if f["rule"] == "base-image-pinning")
    assert [line for line, _ in pinning] == [2, 2, 3]
    assert any("has no tag" in m for _, m in pinning) and any("not pinned by digest" in m for _, m in pinning)
    assert all(f["location"]["path"] == str(dockerfile) for f in result["findings"]
               if f["rule"] == "base-image-pinning")
    assert any(f"base {world.alpine} (from {dockerfile}:3)" in d for d in result["details"])
    musl = next(f for f in result["findings"] if f["rule"] == "base-image-vulnerable-package")
    assert "musl 1.2.5-r9 is affected by ALPINE-CVE-2025-26519" in musl["message"]
    assert "fixed in 1.2.5-r10" in musl["message"] and musl["severity"] == "high"  # CVSS 3.1 base score 7.0
    assert any("OS Alpine Linux v3.22 (alpine 3.22.2, from etc/os-release)" in d for d in result["details"])


def test_base_drift_after_the_base_tag_moved(cli: Cli, tmp_path: Path, world: World) -> None:
    _, report = _gate(cli, tmp_path, [world.app_drift], advisories=False)
    [result] = report["results"]
    assert _rules(result) == {"base-image-base-drift"}
    assert f"base {world.drift_base} now points at sha256:" in result["findings"][0]["message"]


def test_unknown_base_is_not_approved(cli: Cli, tmp_path: Path, world: World) -> None:
    _, report = _gate(cli, tmp_path, [world.app_alpine], "--allowed", "*", advisories=False)
    [result] = report["results"]
    approved = [f for f in result["findings"] if f["rule"] == "base-image-approved-base"]
    assert len(approved) == 1 and "base image unknown" in approved[0]["message"]


@pytest.mark.parametrize(
    ("attr", "problem"),
    [
        ("traversal", "entry '../../etc/cron.d/evil' points outside the image root"),
        ("hardlink_escape", "hard link target '../../etc/os-release' points outside the image root"),
        ("bomb", "inflates to more than 8388608 bytes"),
        ("bad_config", "not JSON"),
    ],
)
def test_hostile_images_are_errors_never_passes(cli: Cli, tmp_path: Path, world: World, attr: str,
                                                problem: str) -> None:
    image = getattr(world, attr)
    run, report = _gate(cli, tmp_path, [image])
    [result] = report["results"]
    assert run.code == 1 and result["outcome"] == "error" and report["outcome"] == "error"
    assert result["error"].startswith(image + ": ") and problem in result["error"]
    assert "\n" not in result["error"]


def test_symlink_out_of_the_root_lands_inside_it(cli: Cli, tmp_path: Path, world: World) -> None:
    _, report = _gate(cli, tmp_path, [world.symlink_escape], advisories=False)
    [result] = report["results"]
    unknown = next(f for f in result["findings"] if f["rule"] == "base-image-os-unknown")
    assert "'gatesos'" in unknown["message"]  # the image's own host/etc/os-release, never the machine's
    _, strict = _gate(cli, tmp_path, [world.symlink_escape], extra='unknown-os = "error"\n', advisories=False)
    assert strict["results"][0]["outcome"] == "error"
    assert "OS support unknown: no end-of-life data for 'gatesos'" in strict["results"][0]["error"]


def test_a_deleted_package_database_is_an_error_not_a_pass(cli: Cli, tmp_path: Path, world: World) -> None:
    """Hardened images often delete dpkg's database; the patch level is then unknown, never clean."""
    run, report = _gate(cli, tmp_path, [world.stripped])
    [result] = report["results"]
    assert run.code == 1 and result["outcome"] == "error"
    assert "no dpkg, apk or rpm package database in a debian 13" in result["error"]
    assert "its patch level cannot be judged" in result["error"]


def test_future_dates_named_root_users_and_digest_only_bases(cli: Cli, tmp_path: Path, world: World) -> None:
    """Review findings: a build "from 2099" is no fresh build, `toor` is uid 0 even when no OS rule asks
    for the layers, and a base named by digest alone has no tag that could drift."""
    skip = 'skip-rules = ["base-image-os-eol", "base-image-os-unknown", "base-image-point-release-lag"]\n'
    _, report = _gate(cli, tmp_path, [world.future_toor], extra=skip, advisories=False)
    [result] = report["results"]
    messages = {f["rule"]: f["message"] for f in result["findings"]}
    assert "is in the future" in messages["base-image-age"]
    assert "toor" in messages["base-image-non-root"]
    assert any("named by digest only" in d for d in result["details"])
    assert "base-image-base-drift" not in messages


def test_unreadable_advisory_database_is_an_error(cli: Cli, tmp_path: Path, world: World) -> None:
    broken = tmp_path / "osv"
    broken.mkdir()
    (broken / "DSA-1.json").write_text("{not json", encoding="utf-8")
    run, report = _gate(cli, tmp_path, [world.app_current], "--advisories", str(broken), advisories=False)
    [result] = report["results"]
    assert run.code == 1 and result["outcome"] == "error"
    assert "advisory database:" in result["error"] and "DSA-1.json: not JSON" in result["error"]


def test_registry_that_does_not_answer_is_an_error(cli: Cli, tmp_path: Path, world: World) -> None:
    from tests.support.registry import free_port

    image = f"127.0.0.1:{free_port()}/bi/app:gone"
    run, report = _gate(cli, tmp_path, [image, world.app_current], extra="", advisories=False)
    first, second = report["results"]
    assert first["outcome"] == "error" and first["error"].startswith(image)
    assert second["outcome"] == "passed"  # one broken image does not stop the others
    assert run.code == 1


def test_invalid_reference_and_usage_errors(cli: Cli, tmp_path: Path, world: World) -> None:
    _, report = _gate(cli, tmp_path, ["Not/A:Valid@Ref"], advisories=False)
    assert report["results"][0]["outcome"] == "error"
    assert cli(["base-image", world.app_current, "--now", "yesterday"]).code == 2
    bad = _config(tmp_path, "max-age-dayz = 3\n")
    run = cli(["base-image", world.app_current, "--config", str(bad)])
    assert run.code == 2 and "base-image.max-age-dayz: unknown key" in run.err
    bad.write_text('[base-image]\nskip-rules = ["base-image-nope"]\n', encoding="utf-8")
    run = cli(["base-image", world.app_current, "--config", str(bad)])
    assert run.code == 2 and "unknown rule 'base-image-nope'" in run.err


def test_gates_run_reads_images_from_the_config_and_now_from_the_environment(tmp_path: Path,
                                                                             world: World) -> None:
    config = _config(tmp_path, f'images = ["{world.app_drift}"]\n')
    config.write_text('gates = ["base-image"]\n' + config.read_text(encoding="utf-8"), encoding="utf-8")
    run = run_process(["run", "--config", str(config), "--format", "json"], cwd=tmp_path,
                      env={"GATES_NOW": NOW, "XDG_DATA_HOME": str(tmp_path / "xdg")})
    assert run.code == 1, run.err
    assert "Traceback" not in run.err
    report = json.loads(run.out)
    assert report["gates"] == ["base-image"]
    assert _rules(report["results"][0]) == {"base-image-base-drift"}
    later = run_process(["run", "--config", str(config), "--format", "json"], cwd=tmp_path,
                        env={"GATES_NOW": "2027-06-01", "XDG_DATA_HOME": str(tmp_path / "xdg")})
    assert "base-image-age" in _rules(json.loads(later.out)["results"][0])  # "today" moved: the image aged
