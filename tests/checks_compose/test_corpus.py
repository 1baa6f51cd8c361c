"""The gate against real compose files and the corpus's hand-checked expectations (needs the corpus):
`compose/expected.json` states, per service, the security settings as written; every one must come out
as the finding it implies, and nothing more, through the CLI as a process and its JSON report."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from tests.conftest import require_corpus, run_process

NAMESPACE_FLAGS = ("network_mode:host", "pid:host", "ipc:host", "uts:host", "userns_mode:host", "cgroup:host")
UNCONFINED_FLAGS = ("seccomp:unconfined", "apparmor:unconfined", "label:disable")
JUDGED_ELSEWHERE = {"compose-image-latest"}
"""expected.json records no image tags; the image rule has its own cases in test_rules.py."""
KNOWN_DIFFERENCES = {
    ("compose-go/loader/full-example.yml", "foo"): Counter({"compose-host-path": 1, "compose-devices": 2}),
    ("awesome-compose/minecraft/compose.yaml", "minecraft"): Counter({"compose-host-path": 1}),
}
"""Where gates is stricter than the expectations, each for a stated reason: `~/configs` and
`~/minecraft_data` lie in a home folder (`/home/USER` or `/root`, both on the sensitive list), and
expected.json does not expand `~`; its two `device_cgroup_rules` let the container create device nodes,
which expected.json does not record as devices."""


def _implied(service: dict[str, Any]) -> Counter[str]:
    """The findings a service's recorded settings imply."""
    flags = service.get("flags", [])
    implied: Counter[str] = Counter()
    implied["compose-privileged"] = int("privileged" in flags)
    implied["compose-capabilities"] = sum(f.startswith("cap_add:") for f in flags)
    implied["compose-host-namespaces"] = sum(f in NAMESPACE_FLAGS for f in flags)
    implied["compose-user-root"] = int("user:root" in flags)
    implied["compose-user-unset"] = int("user" not in service)
    mounts = service.get("bind_mounts", [])
    implied["compose-runtime-socket"] = sum(bool(m.get("docker_sock")) for m in mounts)
    implied["compose-host-path"] = sum(bool(m.get("host_root") or m.get("sensitive_host_path"))
                                       and not m.get("docker_sock") for m in mounts)
    implied["compose-devices"] = len(service.get("devices", []))
    implied["compose-unconfined"] = sum(f in UNCONFINED_FLAGS for f in flags)
    implied["compose-read-only"] = int("read_only" not in flags)
    options = [o.replace("=", ":") for o in service.get("security_opt", [])]
    implied["compose-no-new-privileges"] = int(not any(o in ("no-new-privileges", "no-new-privileges:true")
                                                       for o in options))
    return +implied


def _expected_files() -> dict[str, Any]:
    files: dict[str, Any] = json.loads(require_corpus("compose", "expected.json").read_text(encoding="utf-8"))[
        "files"]
    return files


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    root = require_corpus("compose")
    named = [path for path, entry in _expected_files().items() if entry.get("services")]
    run = run_process(["compose", "--format", "json", *named], cwd=root, env={"PLEX_MEDIA_PATH": "/srv/media"})
    assert run.code == 1 and not run.err, run.err
    loaded: dict[str, Any] = json.loads(run.out)
    return loaded


def test_every_recorded_setting_is_found_and_nothing_else(report: dict[str, Any]) -> None:
    by_target = {r["target"]: r for r in report["results"]}
    compared = 0
    for path, entry in _expected_files().items():
        if entry.get("extends") or entry.get("include"):
            continue  # values as written, not merged: the merged verdict is test_extends_in_the_corpus
        for name, service in entry.get("services", {}).items():
            result = by_target[f"{path}#service/{name}"]
            assert result["outcome"] != "error", result["error"]
            found = Counter(f["rule"] for f in result["findings"] if f["rule"] not in JUDGED_ELSEWHERE)
            assert found == _implied(service) + KNOWN_DIFFERENCES.get((path, name), Counter()), (path, name)
            compared += 1
    assert compared >= 120


def test_findings_point_at_the_field(report: dict[str, Any]) -> None:
    root = require_corpus("compose")
    for result in report["results"]:
        for finding in result["findings"]:
            where = finding["location"]
            lines = (root / where["path"]).read_text(encoding="utf-8").splitlines()
            line = lines[where["line"] - 1]
            words = {"compose-privileged": ("privileged",), "compose-devices": ("/dev", "device_cgroup_rules"),
                     "compose-capabilities": ("",), "compose-image-latest": ("image",)}.get(finding["rule"])
            if words is not None:
                context = "\n".join(lines[where["line"] - 3:where["line"]])
                assert any(word in context for word in words), (finding, line)
            assert where["column"] == len(line) - len(line.lstrip(" -")) + 1 or finding["rule"] in (
                "compose-capabilities", "compose-unconfined"), (finding, line)


def test_traps(report: dict[str, Any]) -> None:
    by_target = {r["target"]: r for r in report["results"]}
    build = by_target["docker-compose/pkg/e2e/fixtures/build-test/privileged/compose.yaml#service/privileged-service"]
    assert "compose-privileged" not in {f["rule"] for f in build["findings"]}  # a privileged build
    network = by_target["docker-compose/pkg/e2e/fixtures/network-test/compose.yaml#service/mydb"]
    assert "compose-host-namespaces" not in {f["rule"] for f in network["findings"]}


def test_extends_in_the_corpus() -> None:
    root = require_corpus("compose", "compose-go", "loader", "testdata")
    run = run_process(["compose", "--format", "json", "compose-test-extends.yaml", "extends/base.yaml",
                       "extends/nested.yaml"], cwd=root)
    results = {r["target"]: r for r in json.loads(run.out)["results"]}
    importer = results["compose-test-extends.yaml#service/importer"]
    assert importer["details"] == ["extends subdir/compose-test-extends-imported.yaml#imported"]
    places = {(f["rule"], f["location"]["path"], f["location"]["line"]) for f in importer["findings"]}
    assert ("compose-image-latest", "subdir/compose-test-extends-imported.yaml", 3) in places  # inherited
    assert ("compose-user-unset", "compose-test-extends.yaml", 3) in places  # absent: the service says
    base = results["extends/base.yaml"]
    assert base["outcome"] == "error" and base["location"]["line"] == 25 and "services.nil" in base["error"]
    assert results["extends/nested.yaml#service/with-build"]["details"] == ["extends extends/sibling.yaml#test"]
