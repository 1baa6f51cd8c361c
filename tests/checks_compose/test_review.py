"""Findings of an adversarial review, each through the CLI as a real process: a compose file that hid a
privilege (or waived its own findings) must now fail, or be an `error` saying why it was not judged."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliRun, run_process

HARDENED = """\
    image: nginx:1.27@sha256:0000000000000000000000000000000000000000000000000000000000000000
    user: "10001"
    read_only: true
    security_opt: ["no-new-privileges:true"]
"""
SELF_WAIVED = """\
services:
  web:
    image: nginx:1.27
    privileged: true
    labels:
      gates.dev/waive.*: "legacy; expires=2099-01-01"
"""
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid", "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def _report(run: CliRun) -> dict[str, Any]:
    assert not run.err, run.err
    report: dict[str, Any] = json.loads(run.out)
    return report


def _compose(root: Path, *args: str) -> tuple[int, dict[str, Any]]:
    run = run_process(["compose", *args, "--format", "json"], cwd=root)
    return run.code, _report(run)


def _findings(report: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """target -> its findings."""
    return {r["target"]: r["findings"] for r in report["results"]}


def _rules(report: dict[str, Any]) -> dict[str, set[str]]:
    return {target: {f["rule"] for f in found} for target, found in _findings(report).items()}


# H1: inline waivers follow `inline-waivers`

def _assert_not_waived(run: CliRun) -> None:
    assert run.code == 1, run.out + run.err
    [found] = _findings(_report(run)).values()
    privileged = next(f for f in found if f["rule"] == "compose-privileged")
    assert privileged["waived"] is None
    assert any("inline waiver ignored (inline-waivers = false)" in note for note in privileged["notes"])


def test_inline_waivers_false_turns_labels_into_notes(tmp_path: Path) -> None:
    _write(tmp_path, {"compose.yaml": SELF_WAIVED, "gates.toml": 'gates = ["compose"]\ninline-waivers = false\n'})
    _assert_not_waived(run_process(["run", "--format", "json"], cwd=tmp_path))


def test_labels_still_waive_by_default(tmp_path: Path) -> None:
    _write(tmp_path, {"compose.yaml": SELF_WAIVED, "gates.toml": 'gates = ["compose"]\n'})
    run = run_process(["run", "--format", "json"], cwd=tmp_path)
    assert run.code == 0, run.out + run.err


@pytest.mark.skipif(shutil.which("git") is None, reason="needs the git binary")
def test_inline_waivers_false_from_the_trusted_ref(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, env={**os.environ, **GIT_ENV}, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    _write(tmp_path, {"gates.toml": 'gates = ["compose"]\ninline-waivers = false\n'})
    git("add", "-A")
    git("commit", "-qm", "policy")
    git("checkout", "-qb", "pr")
    _write(tmp_path, {"gates.toml": 'gates = ["compose"]\n', "compose.yaml": SELF_WAIVED})
    git("add", "-A")
    git("commit", "-qm", "pr")
    _assert_not_waived(run_process(["run", "--config-ref", "main", "--format", "json"], cwd=tmp_path))


# Low: the loader's merge-key error names no Kubernetes tool for a compose file

def test_a_key_merged_twice_is_an_error_that_speaks_of_yaml_parsers(tmp_path: Path) -> None:
    _write(tmp_path, {"compose.yaml": """\
        x-a: &a {privileged: false}
        x-b: &b {privileged: true}
        services:
          web:
            <<: [*a, *b]
            image: nginx:1.27
        """})
    code, report = _compose(tmp_path, "compose.yaml")
    assert code == 1
    [result] = report["results"]
    assert result["outcome"] == "error"
    assert "merged twice" in result["error"] and "YAML parsers disagree" in result["error"]
    assert "Kubernetes" not in result["error"]


# M2: nesting of `${X:-...}` is bounded

def test_deeply_nested_defaults_are_an_error_for_the_service_not_a_crash(tmp_path: Path) -> None:
    deep = "${X:-" * 1000 + "nginx:1" + "}" * 1000
    shallow = "${X:-" * 3 + "nginx:1" + "}" * 3
    _write(tmp_path, {"compose.yaml": f'services:\n  deep:\n    image: "{deep}"\n'
                                      f'  shallow:\n    image: "{shallow}"\n'})
    code, report = _compose(tmp_path, "compose.yaml")
    assert code == 1
    outcomes = {r["target"]: r for r in report["results"]}
    deep_result = outcomes["compose.yaml#service/deep"]
    assert deep_result["outcome"] == "error"
    assert "nested more than 32 levels" in deep_result["error"] and "compose.yaml:3" in deep_result["error"]
    assert outcomes["compose.yaml#service/shallow"]["outcome"] == "failed"


# H4: host access through fields the rules did not read

def _service(name: str, fields: str, *, user: str = '"10001"', security: str = '["no-new-privileges:true"]') -> str:
    head = f"  {name}:\n    <<: *base\n    user: {user}\n    security_opt: {security}\n"
    return head + textwrap.indent(fields, "    ")


HOST_ACCESS = "".join([
    "x-base: &base\n  image: nginx:1.27@sha256:" + "0" * 64 + "\n  read_only: true\nservices:\n",
    _service("secret-socket", "secrets: [sock]\n"),
    _service("config-shadow", "configs: [{source: shadow, target: /x}]\n"),
    _service("project-secret", "secrets: [local]\n"),
    _service("host-network", "networks: [hostnet]\n"),
    _service("external-host", "networks: {host: {}}\n"),
    _service("own-network", "networks: [back]\n"),
    _service("all-devices", 'device_cgroup_rules: ["a *:* rwm"]\n'),
    _service("systempaths", "", security='["no-new-privileges:true", "systempaths=unconfined"]'),
    _service("rbind-etc", 'volumes: ["rb:/x"]\n'),
    _service("var", 'volumes: ["/var:/host-var", "/usr:/host-usr", "/lib:/host-lib", "/srv/data:/data"]\n'),
    _service("plus-zero", "", user='"+0"'),
    _service("zero-zero", "", user='"00:0"'),
    _service("hook", 'post_start: [{command: ["id"], user: root, privileged: true}]\n'
                     'pre_stop: [{command: ["id"], user: "10001", privileged: false}]\n'),
    """\
secrets: {sock: {file: /var/run/docker.sock}, local: {file: ./secret.txt}}
configs: {shadow: {file: /etc/shadow}}
networks: {hostnet: {name: host, external: true}, host: {external: true}, back: {}}
volumes: {rb: {driver_opts: {type: none, o: rbind, device: /etc}}}
"""])


def test_host_access_through_secrets_networks_cgroups_hooks_and_parents_of_sensitive_paths(tmp_path: Path) -> None:
    _write(tmp_path, {"compose.yaml": HOST_ACCESS})
    code, report = _compose(tmp_path, "compose.yaml")
    assert code == 1
    rules = {target.removeprefix("compose.yaml#service/"): found for target, found in _rules(report).items()}
    assert rules == {
        "secret-socket": {"compose-runtime-socket"}, "config-shadow": {"compose-host-path"},
        "project-secret": set(), "host-network": {"compose-host-namespaces"},
        "external-host": {"compose-host-namespaces"}, "own-network": set(),
        "all-devices": {"compose-devices"}, "systempaths": {"compose-unconfined"},
        "rbind-etc": {"compose-host-path"}, "var": {"compose-host-path"},
        "plus-zero": {"compose-user-root"}, "zero-zero": {"compose-user-root"},
        "hook": {"compose-privileged", "compose-user-root"},
    }
    found = _findings(report)
    parents = [f["message"] for f in found["compose.yaml#service/var"]]
    assert len(parents) == 3 and "it holds /var/run" in parents[0] and "/lib/modules" in parents[2]
    hook = {f["rule"]: f["location"]["line"] for f in found["compose.yaml#service/hook"]}
    assert hook == {"compose-privileged": 66, "compose-user-root": 66}


# H3: relative bind sources are judged where they land

def test_relative_sources_that_climb_out_are_judged_where_they_land(tmp_path: Path) -> None:
    up = "../" * 40
    app = tmp_path / "app"
    volumes = f"""\
    volumes:
      - {up}var/run/docker.sock:/var/run/docker.sock
      - {up.rstrip("/")}:/host
      - type: bind
        source: {up}etc
        target: /host-etc
      - ./data:/data
      - ../shared:/shared
      - ./link:/linked
      - {{type: bind, source: data, target: /data2}}
    secrets: [up]
secrets: {{up: {{file: {up}var/run/docker.sock}}}}
"""
    app.mkdir()
    (app / "compose.yaml").write_text("services:\n  web:\n" + HARDENED + volumes, encoding="utf-8")
    (app / "link").symlink_to("/etc")
    code, report = _compose(app, "compose.yaml")
    assert code == 1
    [found] = _findings(report).values()
    assert [(f["rule"], f["location"]["line"]) for f in found] == [
        ("compose-runtime-socket", 8), ("compose-host-path", 9), ("compose-host-path", 11),
        ("compose-host-path", 15), ("compose-runtime-socket", 17)]
    assert "it resolves to /: the host's root filesystem" in found[1]["message"]


# H7: `include` is followed, or an error

def test_included_files_are_judged_and_an_include_that_cannot_be_followed_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path / "repo", {
        "compose.yaml": "include:\n  - sub/evil.yml\n  - {path: [sub/other.yml], project_directory: sub}\n"
                        "  - ../outside.yml\n  - https://example.invalid/x.yml\n"
                        "  - {path: sub/evil.yml, env_file: sub/.env}\nservices:\n  web:\n" + HARDENED,
        "sub/evil.yml": "services:\n  evil:\n" + HARDENED + "    privileged: true\n",
        "sub/other.yml": "services:\n  other:\n" + HARDENED + "    volumes: ['../../../../../../../..:/host']\n",
    })
    _write(tmp_path, {"outside.yml": "services: {x: {image: a:1}}\n"})
    code, report = _compose(tmp_path / "repo", "compose.yaml")
    assert code == 1
    results = {r["target"]: r for r in report["results"]}
    assert {f["rule"] for f in results["sub/evil.yml#service/evil"]["findings"]} == {"compose-privileged"}
    assert {f["rule"] for f in results["sub/other.yml#service/other"]["findings"]} == {"compose-host-path"}
    errors = {target: r["error"] for target, r in results.items() if r["outcome"] == "error"}
    assert sorted(errors) == ["compose.yaml#include[2]", "compose.yaml#include[3]", "compose.yaml#include[4]"]
    assert "lies outside" in errors["compose.yaml#include[2]"]
    assert "remote" in errors["compose.yaml#include[3]"]
    assert "env_file" in errors["compose.yaml#include[4]"]
    assert results["compose.yaml#service/web"]["outcome"] == "passed"


# M4: a file that is not a compose file is never quoted; configured paths stay in the tree

SHADOW_LIKE = "root:$6$SECRETHASH:20228:0:99999:7:::\ndaemon:*:20228:0:99999:7:::\n"


def test_configured_paths_outside_the_configuration_folder_are_a_configuration_error(tmp_path: Path) -> None:
    _write(tmp_path, {"secret/shadow": SHADOW_LIKE,
                      "repo/gates.toml": f'gates = ["compose"]\n[compose]\npaths = ["{tmp_path}/secret/shadow"]\n'})
    run = run_process(["run"], cwd=tmp_path / "repo")
    assert run.code == 2, run.out + run.err
    assert "[compose] paths" in run.err and "lies outside the configuration's folder" in run.err
    assert "SECRETHASH" not in run.out + run.err
    _write(tmp_path, {"repo/gates.toml": 'gates = ["compose"]\n[compose]\npaths = ["../secret"]\n'})
    assert run_process(["run"], cwd=tmp_path / "repo").code == 2


def test_a_file_that_is_not_a_compose_file_is_not_quoted(tmp_path: Path) -> None:
    _write(tmp_path, {"shadow": SHADOW_LIKE})
    code, report = _compose(tmp_path, "shadow")
    assert code == 1
    [result] = report["results"]
    assert result["outcome"] == "error"
    assert "line 1, column 1: a top-level key the Compose specification does not know: not a compose file" in (
        result["error"])
    assert "SECRETHASH" not in json.dumps(report) and "root" not in result["error"]


# H2: the files `docker compose` merges by itself

OVERRIDE = "services:\n  web:\n    privileged: true\n    volumes: ['/var/run/docker.sock:/var/run/docker.sock']\n"


@pytest.mark.parametrize("named", [".", "compose.yaml"])
def test_an_override_file_is_judged_merged_onto_its_base(tmp_path: Path, named: str) -> None:
    _write(tmp_path, {"compose.yaml": "services:\n  web:\n" + HARDENED, "compose.override.yaml": OVERRIDE})
    code, report = _compose(tmp_path, named)
    assert code == 1
    results = {r["target"]: r for r in report["results"]}
    assert results["compose.yaml#service/web"]["outcome"] == "passed"
    merged = results["compose.override.yaml#service/web"]
    assert merged["details"] == ["merged onto compose.yaml#web, as docker compose merges its files"]
    assert {f["rule"] for f in merged["findings"]} == {"compose-privileged", "compose-runtime-socket"}


def test_compose_file_in_dot_env_is_followed_within_the_tree(tmp_path: Path) -> None:
    _write(tmp_path / "repo", {
        ".env": "# the files compose reads\nCOMPOSE_PATH_SEPARATOR=;\n"
                "export COMPOSE_FILE='deploy/base.yml;deploy/prod.yml;../up.yml'\n",
        "deploy/base.yml": "services:\n  web:\n" + HARDENED,
        "deploy/prod.yml": "services:\n  web:\n    user: '0'\n",
    })
    _write(tmp_path, {"up.yml": "services: {x: {image: a:1}}\n"})
    code, report = _compose(tmp_path / "repo", ".")
    assert code == 1
    results = {r["target"]: r for r in report["results"]}
    assert results["deploy/base.yml#service/web"]["outcome"] == "passed"
    prod = results["deploy/prod.yml#service/web"]
    assert {f["rule"] for f in prod["findings"]} == {"compose-user-root"}
    assert prod["details"] == ["merged onto deploy/base.yml#web, as docker compose merges its files"]
    error = results[".env#COMPOSE_FILE"]
    assert error["outcome"] == "error" and error["location"]["line"] == 3
    assert "'../up.yml' lies outside" in error["error"] and "compose reads 'deploy/base.yml'" in error["error"]


def test_an_override_that_cannot_be_read_is_an_error_even_when_only_the_base_is_named(tmp_path: Path) -> None:
    _write(tmp_path, {"compose.yaml": "services:\n  web:\n" + HARDENED, "compose.override.yml": "services: [\n"})
    code, report = _compose(tmp_path, "compose.yaml")
    assert code == 1
    results = {r["target"]: r for r in report["results"]}
    assert results["compose.override.yml"]["outcome"] == "error"
    assert "merged by docker compose: compose.override.yml: line 2" in results["compose.override.yml"]["error"]
