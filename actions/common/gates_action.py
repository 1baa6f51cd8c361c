"""The one script behind every gates GitHub Action (root and sub-actions); standard library only.

It runs on the runner's own Python, before gates exists: it installs gates from the action's own
checkout into a virtualenv under $RUNNER_TEMP (so the action's ref pins the tool version, and a
second gates step in the job reuses it), runs one gates command with the reports the action
promises, and writes the step outputs. Inputs arrive only as environment variables (`GATES_ACTION_*`,
set from `env:` in action.yml) and become argv items, never shell text, so an input can't inject
a command.

Usage: python gates_action.py run|manifests|signature|base-image
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

ACTION_ROOT = Path(__file__).resolve().parents[2]
"""The action repository checkout: actions/common/ is two levels below it."""
COMMANDS = ("run", "manifests", "signature", "base-image")
FAIL_ON = ("info", "low", "medium", "high", "critical")
EXIT_FAILED = 1
GATE_OPTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "signature": (
        ("GATES_ACTION_KEY", "--key"),
        ("GATES_ACTION_CERTIFICATE_IDENTITY", "--certificate-identity"),
        ("GATES_ACTION_CERTIFICATE_IDENTITY_REGEXP", "--certificate-identity-regexp"),
        ("GATES_ACTION_CERTIFICATE_OIDC_ISSUER", "--certificate-oidc-issuer"),
        ("GATES_ACTION_CERTIFICATE_OIDC_ISSUER_REGEXP", "--certificate-oidc-issuer-regexp"),
        ("GATES_ACTION_TRUSTED_ROOT", "--trusted-root"),
    ),
    "base-image": (
        ("GATES_ACTION_DOCKERFILE", "--dockerfile"),
        ("GATES_ACTION_NOW", "--now"),
    ),
}
"""Single-value inputs of one gate's sub-action: environment variable -> gates option."""


class ActionError(Exception):
    """An input the action cannot use: reported as an ::error:: and exit code 2."""


def lines(value: str) -> list[str]:
    """A multi-line input as items: one per line, blank lines and surrounding spaces dropped."""
    return [line.strip() for line in value.splitlines() if line.strip()]


def truthy(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "yes", "1", ""):
        return True
    if lowered in ("false", "no", "0"):
        return False
    raise ActionError(f"input {name}: expected true or false, got {value!r}")


def build_args(command: str, env: Mapping[str, str], json_path: str) -> list[str]:
    """The gates argv (after the program name) for `command`, from the action's inputs."""
    if command not in COMMANDS:
        raise ActionError(f"unknown command {command!r} (known: {', '.join(COMMANDS)})")
    targets = lines(env.get("GATES_ACTION_TARGETS", ""))
    args = [command]
    if command == "run":
        if len(targets) > 1:
            raise ActionError("input path: `gates run` takes one path (use the manifests sub-action for several)")
    elif not targets:
        what = "paths" if command == "manifests" else "images"
        raise ActionError(f"input {what}: nothing to check")
    for target in targets:
        if target.startswith("-"):
            raise ActionError(f"target {target!r} looks like an option; prefix a path with ./")
    args += targets
    config = env.get("GATES_ACTION_CONFIG", "").strip()
    if config:
        args += ["--config", config]
    fail_on = env.get("GATES_ACTION_FAIL_ON", "").strip()
    if fail_on:
        if fail_on not in FAIL_ON:
            raise ActionError(f"input fail-on: expected one of {', '.join(FAIL_ON)}, got {fail_on!r}")
        args += ["--fail-on", fail_on]
    level = env.get("GATES_ACTION_LEVEL", "").strip()
    if level and command in ("run", "manifests"):
        args += ["--level", level]
    for key, option in GATE_OPTIONS.get(command, ()):
        value = env.get(key, "").strip()
        if "\n" in value or "\r" in value:
            raise ActionError(f"input {option[2:]}: one value expected, got several lines")
        if value:
            args.append(f"{option}={value}")  # one argv item: a value starting with "-" stays a value
    args += ["--format", "console", "--output", f"json={json_path}"]
    for fmt, key in (("sarif", "GATES_ACTION_SARIF"), ("junit", "GATES_ACTION_JUNIT")):
        path = env.get(key, "").strip()
        if path:
            args += ["--output", f"{fmt}={path}"]
    args += lines(env.get("GATES_ACTION_EXTRA_ARGS", ""))
    return args


def outputs(json_path: Path, exit_code: int, env: Mapping[str, str]) -> dict[str, str]:
    """Step outputs from the JSON report (`gates/report/v1`); `error` when no report was written."""
    values = {"exit-code": str(exit_code), "json-file": str(json_path),
              "sarif-file": env.get("GATES_ACTION_SARIF", "").strip(),
              "junit-file": env.get("GATES_ACTION_JUNIT", "").strip()}
    try:
        report = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {**values, "outcome": "error", "json-file": ""}
    summary = report.get("summary", {})
    results = summary.get("results", {})
    return {
        **values,
        "outcome": str(report.get("outcome", "error")),
        "passed": str(results.get("passed", 0)), "failed": str(results.get("failed", 0)),
        "errors": str(results.get("error", 0)), "skipped": str(results.get("skipped", 0)),
        "findings": str(summary.get("findings", 0)), "blocking": str(summary.get("blocking", 0)),
        "waived": str(summary.get("waived", 0)),
    }


def write_outputs(values: Mapping[str, str], env: Mapping[str, str]) -> None:
    target = env.get("GITHUB_OUTPUT")
    if not target:
        return
    with open(target, "a", encoding="utf-8") as handle:
        for key, value in values.items():
            if "\n" in value or "\r" in value:
                raise ActionError(f"output {key} spans lines")
            handle.write(f"{key}={value}\n")


def _venv_bin(venv: Path) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin")


def source_key() -> str:
    """A digest of the gates sources and the interpreter: same code, same virtualenv, whatever the path."""
    digest = hashlib.sha256(sys.version.encode())
    files = [ACTION_ROOT / "pyproject.toml", *sorted((ACTION_ROOT / "gates").rglob("*"))]
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(ACTION_ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def install(env: Mapping[str, str]) -> Path:
    """gates installed from ACTION_ROOT into a virtualenv; returns its `gates` executable."""
    temp = Path(env.get("RUNNER_TEMP") or tempfile.gettempdir())
    key = source_key()
    venv = temp / f"gates-action-{key}"
    gates = _venv_bin(venv) / ("gates.exe" if os.name == "nt" else "gates")
    if gates.exists():
        print(f"gates already installed in {venv}")
        return gates
    print(f"::group::Install gates from {ACTION_ROOT}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = _venv_bin(venv) / ("python.exe" if os.name == "nt" else "python")
    subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet",
                    str(ACTION_ROOT)], check=True)
    print("::endgroup::", flush=True)
    return gates


def main(argv: Sequence[str], env: Mapping[str, str] | None = None) -> int:
    environ = dict(os.environ if env is None else env)
    if len(argv) != 1:
        print(f"::error::usage: gates_action.py {'|'.join(COMMANDS)}")
        return 2
    temp = Path(environ.get("RUNNER_TEMP") or tempfile.gettempdir())
    json_path = Path(environ.get("GATES_ACTION_JSON", "").strip() or temp / "gates-report.json")
    try:
        args = build_args(argv[0], environ, str(json_path))
        # The report paths above come from the workflow's inputs, never from the pull request, so they may
        # lie outside the workspace (an empty json-file means $RUNNER_TEMP); [output] paths still may not.
        args.insert(1, "--allow-output-outside-workspace")
        fail = truthy(environ.get("GATES_ACTION_FAIL", "true"), "fail")
        gates = install(environ)
    except ActionError as exc:
        print(f"::error title=gates action::{exc}")
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"::error title=gates action::installing gates failed (exit {exc.returncode})")
        return 2
    for stale in (json_path, *(Path(environ.get(k, "").strip()) for k in ("GATES_ACTION_SARIF", "GATES_ACTION_JUNIT")
                               if environ.get(k, "").strip())):
        if stale.is_file():
            stale.unlink()  # never pass off an earlier step's report as this run's
    print(f"gates {' '.join(args)}", flush=True)
    code = subprocess.run([str(gates), *args], check=False, env=environ).returncode
    try:
        write_outputs(outputs(json_path, code, environ), environ)
    except (OSError, ActionError) as exc:
        print(f"::error title=gates action::cannot write the step outputs: {exc}")
        return 2
    if code == EXIT_FAILED and not fail:
        print("::notice title=gates::a gate failed; the step passes because fail is false")
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
