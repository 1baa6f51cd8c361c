"""Hostile images and signatures through the CLI, as a real process with a timeout: every hostile
target is an `error` or a `failed` result with one line naming it, never a pass; the sound target of
the same run is still judged; no traceback; bounded time."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.checks_signature.conftest import Signers
from tests.conftest import CliRun, run_process
from tests.cosign.factory import ISSUER, WORKFLOW
from tests.hostile.conftest import HostileWorld
from tests.hostile.images import NOW, HostileSignature

TIMEOUT = 60.0


def _run(args: list[str], tmp_path: Path) -> tuple[CliRun, list[dict[str, Any]], float]:
    env = {"GATES_CACHE_DIR": str(tmp_path / "cache"), "DOCKER_CONFIG": str(tmp_path),
           "XDG_DATA_HOME": str(tmp_path / "xdg")}
    started = time.monotonic()
    run = run_process(args, cwd=tmp_path, env=env, timeout=TIMEOUT)
    elapsed = time.monotonic() - started
    assert "Traceback" not in run.err + run.out and "internal error" not in run.err + run.out, run.err
    assert run.code == 1, run.err
    return run, json.loads(run.out)["results"], elapsed


def _one_line(result: dict[str, Any]) -> str:
    """The line that says why: the error, else the findings (each must be one line naming the target)."""
    if result["outcome"] == "error":
        assert "\n" not in result["error"]
        return str(result["error"])
    assert result["findings"]
    for finding in result["findings"]:
        assert "\n" not in finding["message"]
    return " | ".join(f"{f['rule']}: {f['message']}" for f in result["findings"])


def test_hostile_images_are_errors_and_the_sound_image_is_still_judged(tmp_path: Path,
                                                                      hostile: HostileWorld) -> None:
    config = tmp_path / "gates.toml"
    config.write_text('[base-image]\nmax-layer-bytes = 8388608\nunknown-os = "error"\n', encoding="utf-8")
    targets = [h.ref for h in hostile.images]
    _, results, elapsed = _run(["base-image", *targets, hostile.good_image, "--config", str(config),
                                "--now", NOW, "--format", "json"], tmp_path)
    assert [r["target"] for r in results] == [*targets, hostile.good_image]
    for case, result in zip(hostile.images, results, strict=False):
        assert result["outcome"] == "error", (case.name, result)
        line = _one_line(result)
        assert line.startswith(case.ref + ": "), (case.name, line)
        assert case.expect in line, (case.name, line)
    assert results[-1]["outcome"] == "passed", results[-1]
    assert elapsed < TIMEOUT


def _check_signatures(cases: list[HostileSignature], results: list[dict[str, Any]]) -> None:
    for case, result in zip(cases, results, strict=False):
        assert result["target"] == str(case.ref)
        assert result["outcome"] in ("error", "failed"), (case.name, result)
        line = _one_line(result)
        if result["outcome"] == "error":
            assert line.startswith(f"{case.ref}: "), (case.name, line)
        else:
            assert all(f["resource"] == str(case.ref) for f in result["findings"])
        assert case.expect in line, (case.name, line)


def test_broken_signature_manifests_and_payloads_never_pass(tmp_path: Path, hostile: HostileWorld,
                                                            signers: Signers) -> None:
    targets = [str(c.ref) for c in hostile.key_cases]
    _, results, elapsed = _run(["signature", "--key", str(signers.key_pem), "--trusted-root",
                                str(signers.trusted_root), "--format", "json", *targets, str(hostile.key_good)],
                               tmp_path)
    assert [r["target"] for r in results] == [*targets, str(hostile.key_good)]
    _check_signatures(hostile.key_cases, results)
    assert results[-1]["outcome"] == "passed", results[-1]
    assert elapsed < TIMEOUT


def test_expired_self_signed_and_foreign_certificates_never_pass(tmp_path: Path, hostile: HostileWorld,
                                                                 signers: Signers) -> None:
    targets = [str(c.ref) for c in hostile.keyless_cases]
    _, results, elapsed = _run(["signature", "--trusted-root", str(signers.trusted_root), "--certificate-identity",
                                WORKFLOW, "--certificate-oidc-issuer", ISSUER, "--format", "json", *targets,
                                str(hostile.keyless_good)], tmp_path)
    _check_signatures(hostile.keyless_cases, results)
    assert results[-1]["outcome"] == "passed", results[-1]
    assert elapsed < TIMEOUT
