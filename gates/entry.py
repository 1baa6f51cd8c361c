"""The console-script entry point, kept tiny so the commonest runs never import the CLI framework.

`gates --version` and a plain `gates manifests [OPTIONS] [--] PATH...` (the pre-push and pipeline
case; the CI surfaces always put `--` before their targets) are parsed here; anything else,
including every malformed or unusual command line, goes to the full CLI, which parses and reports
it the usual way. Both paths run the same `gates.runner` code.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence

_VALUE_FLAGS = {"--level": "level", "--config": "config", "--format": "formats", "-f": "formats",
                "--output": "outputs", "-o": "outputs", "--fail-on": "fail_on",
                "--config-ref": "config_ref", "--color": "color", "--shard": "shard",
                "--baseline": "baseline"}
_REPEATABLE = {"formats", "outputs"}


def parse_manifests_args(args: Sequence[str]) -> dict[str, object] | None:
    """The options of a simple `manifests` command line, or None to leave it to the full CLI."""
    if not args or args[0] != "manifests":
        return None
    parsed: dict[str, object] = {"paths": [], "formats": [], "outputs": [], "verbose": False}
    args_left = list(args[1:])
    while args_left:
        arg = args_left.pop(0)
        name, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if arg == "--":  # as in the full CLI: whatever follows is a path, even `--config=x.toml` or `-x`
            parsed["paths"].extend(args_left)  # type: ignore[attr-defined]
            break
        if arg in ("--verbose", "-v"):
            parsed["verbose"] = True
        elif arg == "--allow-output-outside-workspace":
            parsed["allow_output_outside_workspace"] = True
        elif arg in ("--no-config-outputs", "--ignore-non-kubernetes"):
            parsed[arg[2:].replace("-", "_")] = True
        elif name in _VALUE_FLAGS:
            if eq:
                value = inline
            elif args_left and not args_left[0].startswith("-"):
                value = args_left.pop(0)
            else:
                return None
            key = _VALUE_FLAGS[name]
            if key in _REPEATABLE:
                parsed[key].append(value)  # type: ignore[attr-defined]
            elif key in parsed:
                return None
            else:
                parsed[key] = value
        elif arg == "-" or not arg.startswith("-"):
            parsed["paths"].append(arg)  # type: ignore[attr-defined]
        else:
            return None  # help, or a flag only the full CLI knows
    return parsed if parsed["paths"] else None


def _fast_manifests(parsed: dict[str, object]) -> int | None:
    from pathlib import Path

    from gates import runner
    from gates.model import Severity

    fail_on = parsed.get("fail_on")
    if fail_on is not None and str(fail_on).lower() not in {s.value for s in Severity}:
        return None
    color = str(parsed.get("color", "auto")).lower()
    if color not in ("auto", "always", "never"):
        return None  # the full CLI says what is wrong
    verbose = bool(parsed["verbose"])
    config = parsed.get("config")
    common = runner.CommonOptions(
        config=Path(str(config)) if config is not None else None,
        formats=list(parsed["formats"]) or None,  # type: ignore[call-overload]
        outputs=list(parsed["outputs"]) or None,  # type: ignore[call-overload]
        fail_on=Severity(fail_on) if fail_on is not None else None,
        verbose=verbose,
        allow_output_outside_workspace=bool(parsed.get("allow_output_outside_workspace")),
        config_ref=str(parsed["config_ref"]) if parsed.get("config_ref") is not None else None,
        color=color,
        config_outputs=not parsed.get("no_config_outputs"),
        shard=str(parsed["shard"]) if parsed.get("shard") is not None else None,
        baseline=Path(str(parsed["baseline"])) if parsed.get("baseline") is not None else None,
    )
    paths = [str(p) for p in parsed["paths"]]  # type: ignore[attr-defined]
    level = parsed.get("level")
    ignore_non_kubernetes = bool(parsed.get("ignore_non_kubernetes"))

    def command() -> int:
        from gates.checks.manifests.job import manifest_job

        chosen = str(level) if level is not None else None
        return runner.execute(runner.Invocation(
            common, lambda cfg: manifest_job(cfg, paths, chosen, ignore_non_kubernetes)))

    return runner.guarded(command, verbose)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        from gates import __version__

        print(f"gates {__version__}")
        return 0
    from gates import interrupts

    with interrupts.trapped():
        try:
            return _main(args)
        except interrupts.Interrupted as exc:  # a signal outside any command, e.g. while importing the CLI
            return interrupts.report(exc)


def _main(args: list[str]) -> int:
    # A run allocates hundreds of thousands of small acyclic objects (documents, findings) and is over in
    # seconds: collecting the youngest generation every 700 allocations only burns time.
    gc.set_threshold(100_000, 50, 100)
    from gates.shard import remember_arguments

    remember_arguments(args)
    parsed = parse_manifests_args(args)
    if parsed is not None:
        code = _fast_manifests(parsed)
        if code is not None:
            return code
    from gates.cli import main as cli_main

    return cli_main(args)


def run() -> None:
    """Console script target: exit with the code `main` returns."""
    code = main()
    interrupts = sys.modules.get("gates.interrupts")  # not imported by `--version`, which nothing interrupts
    if interrupts is not None:
        interrupts.exit_process(code)
    sys.exit(code)
