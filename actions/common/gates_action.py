"""The one script behind every gates GitHub Action (root and sub-actions); standard library only.

It runs on the runner's own Python, before gates exists: it installs gates from the action's own
checkout into a virtualenv under $RUNNER_TEMP (so the action's ref pins the tool version, and a
second gates step in the job reuses it), runs one gates command with the reports the action
promises, and writes the step outputs. Inputs arrive only as environment variables (`GATES_ACTION_*`,
set from `env:` in action.yml) and become argv items, never shell text, so an input can't inject
a command, and the targets come after `--`, so a file named like an option stays a file.

Nothing from the workspace may run: action.yml starts this script with `python -I`, and every Python
it starts runs isolated (`-I`, no PYTHON* variable an earlier step may have put in $GITHUB_ENV), the
installs from an empty directory of its own, so a venv.py, pip.py or gates/ in the pull request
never shadows the real module.

Usage: python gates_action.py run|manifests|signature|base-image|merge
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

ACTION_ROOT = Path(__file__).resolve().parents[2]
"""The action repository checkout: actions/common/ is two levels below it."""
COMMANDS = ("run", "manifests", "signature", "base-image", "merge")
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
        ("GATES_ACTION_BUILDER_ID", "--builder-id"),
        ("GATES_ACTION_SOURCE_URI", "--source-uri"),
        ("GATES_ACTION_NOTATION_TRUST_POLICY", "--notation-trust-policy"),
        ("GATES_ACTION_NOTATION_TRUST_STORE", "--notation-trust-store"),
    ),
    "base-image": (
        ("GATES_ACTION_DOCKERFILE", "--dockerfile"),
        ("GATES_ACTION_NOW", "--now"),
    ),
}
"""Single-value inputs of one gate's sub-action: environment variable -> gates option."""
GATE_LIST_OPTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "signature": (("GATES_ACTION_ATTESTATIONS", "--attestation"),),
}
"""Multi-line inputs of one gate's sub-action: one option per line (`--attestation=TYPE` each)."""


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
        what = {"manifests": "paths", "merge": "reports"}.get(command, "images")
        raise ActionError(f"input {what}: nothing to check")
    if "-" in targets:
        raise ActionError("target '-' would read standard input, which an action does not have")
    fail_on = single(env, "GATES_ACTION_FAIL_ON", "fail-on")
    if fail_on and fail_on not in FAIL_ON:
        raise ActionError(f"input fail-on: expected one of {', '.join(FAIL_ON)}, got {fail_on!r}")
    options = [("GATES_ACTION_CONFIG", "--config")]
    if command != "merge":  # the shards' reports carry the threshold they were judged by
        options.append(("GATES_ACTION_FAIL_ON", "--fail-on"))
    if command in ("run", "manifests"):
        options.append(("GATES_ACTION_LEVEL", "--level"))
    for key, option in (*options, *GATE_OPTIONS.get(command, ())):
        value = single(env, key, option[2:])
        if value:
            args.append(f"{option}={value}")  # one argv item: a value starting with "-" stays a value
    for key, option in GATE_LIST_OPTIONS.get(command, ()):
        args += [f"{option}={item}" for item in lines(env.get(key, ""))]
    args += ["--format", "console", "--output", f"json={json_path}"]
    for fmt, key in (("sarif", "GATES_ACTION_SARIF"), ("junit", "GATES_ACTION_JUNIT")):
        path = env.get(key, "").strip()
        if path:
            args += ["--output", f"{fmt}={path}"]
    extra = lines(env.get("GATES_ACTION_EXTRA_ARGS", ""))
    if "--" in extra:
        raise ActionError("input extra-args: no '--' please; the action puts it before the targets itself")
    return [*args, *extra, "--", *targets]  # after `--`, a file named `--config=x.toml` is just a file


def single(env: Mapping[str, str], key: str, name: str) -> str:
    """A one-value input, surrounding spaces dropped; several lines are refused, never half-used."""
    value = env.get(key, "").strip()
    if "\n" in value or "\r" in value:
        raise ActionError(f"input {name}: one value expected, got several lines")
    return value


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


def isolated_env(env: Mapping[str, str]) -> dict[str, str]:
    """`env` without the PYTHON* variables (PYTHONPATH, PYTHONHOME, PYTHONSTARTUP...) that would steer a Python.

    `-I` keeps them from the interpreter it is given to, but not from that interpreter's children
    (pip's build backend, venv's ensurepip), so they are dropped from the environment too.
    """
    return {k: v for k, v in env.items() if not k.upper().startswith("PYTHON")}


LOCK = ACTION_ROOT / "actions" / "common" / "requirements.lock"
"""gates' dependencies (and its build backend), pinned with hashes: scripts/lock_action_requirements.py."""


def source_key() -> str:
    """A digest of the gates sources, the lock and the interpreter: same code, same virtualenv, whatever the path."""
    digest = hashlib.sha256(sys.version.encode())
    files = [ACTION_ROOT / "pyproject.toml", LOCK, *sorted((ACTION_ROOT / "gates").rglob("*"))]
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(ACTION_ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def pip_cache(env: Mapping[str, str]) -> list[str]:
    """pip's cache option: none with `pip-cache: false`; else pip's own choice (PIP_CACHE_DIR if set), or
    beside the runner's tool cache, which a self-hosted runner keeps between runs. Sharing it is safe:
    with --require-hashes every file pip takes from it is checked against the lock."""
    if not truthy(env.get("GATES_ACTION_PIP_CACHE", "true"), "pip-cache"):
        return ["--no-cache-dir"]
    tool_cache = env.get("RUNNER_TOOL_CACHE", "").strip()
    if env.get("PIP_CACHE_DIR") or env.get("PIP_NO_CACHE_DIR") or not tool_cache:
        return []
    return ["--cache-dir", str(Path(tool_cache) / "gates-pip-cache")]


def install(env: Mapping[str, str]) -> list[str]:
    """gates installed from ACTION_ROOT into a virtualenv; returns the command that runs it, isolated.

    The dependencies come from the hash-pinned lock (`--require-hashes --no-deps`: nothing is resolved,
    nothing unlisted is taken), then gates itself without build isolation, built by the locked setuptools.
    """
    temp = Path(env.get("RUNNER_TEMP") or tempfile.gettempdir())
    venv = temp / f"gates-action-{source_key()}"
    python = _venv_bin(venv) / ("python.exe" if os.name == "nt" else "python")
    command = [str(python), "-I", "-m", "gates"]  # -I: the workspace (cwd) is not on sys.path
    cache = pip_cache(env)
    if (_venv_bin(venv) / ("gates.exe" if os.name == "nt" else "gates")).exists():
        print(f"gates already installed in {venv}")
        return command
    print(f"::group::Install gates from {ACTION_ROOT}", flush=True)
    started = time.monotonic()
    clean = isolated_env(env)
    # --no-compile: pip would byte-compile every module of every dependency (half the install time); Python
    # compiles what a run imports, once, into the venv, and a manifest scan imports a small part of them.
    pip = [str(python), "-I", "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet",
           "--no-compile", *cache]
    # `-m venv`/`-m pip` (and venv's `-m ensurepip`) would import a venv.py from their working
    # directory: they start in an empty directory of our own, never in the workspace.
    with tempfile.TemporaryDirectory(prefix="gates-action-cwd-", dir=temp) as empty:
        subprocess.run([sys.executable, "-I", "-m", "venv", str(venv)], check=True, cwd=empty, env=clean)
        subprocess.run([*pip, "--require-hashes", "--no-deps", "-r", str(LOCK)], check=True, cwd=empty, env=clean)
        subprocess.run([*pip, "--no-deps", "--no-build-isolation", str(ACTION_ROOT)], check=True, cwd=empty,
                       env=clean)
    print(f"installed gates in {time.monotonic() - started:.1f} s")
    print("::endgroup::", flush=True)
    return command


def remove_stale(paths: Sequence[Path]) -> None:
    """Remove an earlier report at each path, so it is never passed off as this run's.

    A symlink (say one committed in the pull request) is removed itself, never followed, so gates
    then writes a new file there instead of writing through the link.
    """
    for path in paths:
        if os.path.lexists(path):
            try:
                path.unlink()
            except OSError as exc:
                raise ActionError(f"cannot remove the earlier report at {str(path)!r}: {exc.strerror}") from None


def shown(args: Sequence[str]) -> str:
    """The command line for the log: quoted, control characters escaped, so no value forges a log line."""
    return " ".join(shlex.quote(a) if a.isprintable() else repr(a) for a in args)


EXIT_REASONS = {2: "usage or configuration error", 3: "internal error"}
"""Exit codes of gates that carry no verdict: gates writes no annotation or job summary for them; the action does."""


def annotation_data(text: str) -> str:
    """`text` as the data of a workflow command: one line, `%`, CR and LF escaped as the runner reads them."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def summary_line(text: str) -> str:
    """One Markdown line, the reason in a code span: no link, image or HTML in it renders."""
    return "**gates** stopped: `" + " ".join(text.replace("`", "'").split()) + "`\n"


def stopped(reason: str, exit_code: int, env: Mapping[str, str], values: Mapping[str, str] | None = None) -> int:
    """Report an exit without a verdict: both outputs (`values`, else `error` and no report), an ::error
    annotation and a job summary line saying why."""
    print(f"::error title=gates action::{annotation_data(reason)}", flush=True)
    target = env.get("GITHUB_STEP_SUMMARY")
    try:
        if target:
            with open(target, "a", encoding="utf-8") as handle:
                handle.write(summary_line(f"{reason} (exit {exit_code})"))
        write_outputs(values or {"exit-code": str(exit_code), "outcome": "error", "json-file": "",
                                 "sarif-file": "", "junit-file": ""}, env)
    except (OSError, ActionError) as exc:
        print(f"::error title=gates action::cannot write the step outputs: {annotation_data(str(exc))}")
    return exit_code


def run_gates(command: Sequence[str], env: Mapping[str, str]) -> tuple[int, str]:
    """Run gates with stdout straight to the log, stderr passed through as it comes; returns the exit code
    and the line that says why it stopped (its last `gates: ...` line, else its last line)."""
    with subprocess.Popen(command, stderr=subprocess.PIPE, env=dict(env), text=True, encoding="utf-8",
                          errors="replace") as proc:
        assert proc.stderr is not None
        reason = last = ""
        for line in proc.stderr:
            sys.stderr.write(line)
            sys.stderr.flush()
            if line.strip():
                last = line.strip()
                if last.startswith("gates: "):
                    reason = last
    return proc.returncode, reason or last


def main(argv: Sequence[str], env: Mapping[str, str] | None = None) -> int:
    environ = dict(os.environ if env is None else env)
    if len(argv) != 1:
        return stopped(f"usage: gates_action.py {'|'.join(COMMANDS)}", 2, environ)
    temp = Path(environ.get("RUNNER_TEMP") or tempfile.gettempdir())
    json_path = Path(environ.get("GATES_ACTION_JSON", "").strip() or temp / "gates-report.json")
    reports = [json_path, *(Path(environ[k].strip()) for k in ("GATES_ACTION_SARIF", "GATES_ACTION_JUNIT")
                            if environ.get(k, "").strip())]
    try:
        args = build_args(argv[0], environ, str(json_path))
        # The report paths above come from the workflow's inputs, never from the pull request, so they may
        # lie outside the workspace (an empty json-file means $RUNNER_TEMP); [output] paths still may not.
        args.insert(1, "--allow-output-outside-workspace")
        fail = truthy(environ.get("GATES_ACTION_FAIL", "true"), "fail")
        gates = install(environ)
        remove_stale(reports)
    except ActionError as exc:
        return stopped(str(exc), 2, environ)
    except subprocess.CalledProcessError as exc:
        return stopped(f"installing gates failed (exit {exc.returncode})", 2, environ)
    print(f"gates {shown(args)}", flush=True)
    code, reason = run_gates([*gates, *args], isolated_env(environ))
    if code in EXIT_REASONS or not json_path.exists():
        # No verdict (or none on record): say why. gates may have written its report first (a report file it
        # could not write, an internal error); anything but 1 or 2 without one counts as an internal error.
        code = code if code in (EXIT_FAILED, *EXIT_REASONS) else 3
        what = EXIT_REASONS.get(code, "stopped without writing its report")
        why = reason if reason.startswith("gates: ") else f"gates: {what}" + (f": {reason}" if reason else "")
        return stopped(why, code, environ, outputs(json_path, code, environ) if json_path.exists() else None)
    try:
        write_outputs(outputs(json_path, code, environ), environ)
    except (OSError, ActionError) as exc:
        return stopped(f"cannot write the step outputs: {exc}", 2, environ)
    if code == EXIT_FAILED and not fail:
        print("::notice title=gates::a gate failed; the step passes because fail is false")
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
