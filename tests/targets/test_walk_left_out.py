"""A folder walk never hides a folder quietly: a file named `pyvenv.cfg` does not make a virtual
environment, and every folder left out (by name, or as a real virtual environment) that holds a file
named like a manifest is a `skipped` result saying how to have it judged. The CLI as a process, over
the three gates that walk folders.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_process
from tests.manifests.helpers import compliant_pod_spec, wrap, write

PRIVILEGED = compliant_pod_spec()
PRIVILEGED["hostPID"] = True
PRIVILEGED["containers"][0]["securityContext"]["privileged"] = True
PRIVILEGED_SERVICE = "services:\n  evil:\n    image: busybox\n    privileged: true\n"


def _results(args: list[str], cwd: Path) -> tuple[int, dict[str, dict[str, Any]]]:
    run = run_process([*args, "--format", "json"], cwd=cwd)
    assert "Traceback" not in run.err, run.err
    return run.code, {r["target"]: r for r in json.loads(run.out)["results"]}


def _tree(root: Path) -> Path:
    deploy = root / "deploy"
    deploy.mkdir()
    write(deploy, "ok.yaml", wrap("Pod", compliant_pod_spec(), name="ok"))
    return deploy


def _real_venv(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "pyvenv.cfg").write_text("home = /usr/bin\ninclude-system-site-packages = false\n")
    (folder / "bin").mkdir()
    (folder / "bin" / "python").symlink_to("/usr/bin/python3")


@pytest.mark.parametrize(("cfg", "layout"), [
    ("", ""),                                   # the review's case: an empty file
    ("home = /usr/bin\n", ""),                  # a home line, no interpreter beside it
    ("version = 3.12.1\n", "bin/python"),       # an interpreter, no home line
    ("#home = /usr/bin\n", "lib/python3.12/"),  # a home line commented out
])
def test_a_pyvenv_cfg_alone_does_not_hide_a_folder(tmp_path: Path, cfg: str, layout: str) -> None:
    deploy = _tree(tmp_path)
    prod = deploy / "prod"
    prod.mkdir()
    write(prod, "evil.yaml", wrap("Pod", PRIVILEGED, name="evil"))
    (prod / "pyvenv.cfg").write_text(cfg)
    if layout:
        (prod / layout).parent.mkdir(parents=True, exist_ok=True)
        if layout.endswith("/"):
            (prod / layout).mkdir(exist_ok=True)
        else:
            (prod / layout).write_text("")
    code, results = _results(["manifests", "deploy"], tmp_path)
    assert code == 1
    assert results["deploy/prod/evil.yaml#Pod/shop/evil"]["outcome"] == "failed", results


def test_a_real_virtualenv_is_left_out_and_said(tmp_path: Path) -> None:
    deploy = _tree(tmp_path)
    venv = deploy / "tools-env"
    _real_venv(venv)
    write(venv, "evil.yaml", wrap("Pod", PRIVILEGED, name="evil"))
    code, results = _results(["manifests", "deploy"], tmp_path)
    note = results["deploy/tools-env"]
    assert note["outcome"] == "skipped" and "virtual environment" in note["error"], note
    assert "name this folder as a path to scan" in note["error"]
    assert code == 0 and not any("evil" in t for t in results)
    code, results = _results(["manifests", "deploy", "deploy/tools-env"], tmp_path)  # named: judged
    assert code == 1 and results["deploy/tools-env/evil.yaml#Pod/shop/evil"]["outcome"] == "failed"
    assert "deploy/tools-env" not in results  # judged, so no longer a note


@pytest.mark.parametrize("name", ["vendor", "node_modules", ".venv", ".svn", "__pycache__"])
def test_a_dependency_folder_by_name_is_a_skipped_note(tmp_path: Path, name: str) -> None:
    deploy = _tree(tmp_path)
    (deploy / name).mkdir()
    write(deploy / name, "evil.yaml", wrap("Pod", PRIVILEGED, name="evil"))
    (deploy / ".git").mkdir()  # git cannot commit a .git folder: passed over without a note
    code, results = _results(["manifests", "deploy"], tmp_path)
    assert set(results) == {"deploy/ok.yaml#Pod/shop/ok", f"deploy/{name}"}, results
    note = results[f"deploy/{name}"]
    assert note["outcome"] == "skipped" and "dependency or tooling folder" in note["error"], note
    code, results = _results(["manifests", f"deploy/{name}"], tmp_path)
    assert code == 1 and results[f"deploy/{name}/evil.yaml#Pod/shop/evil"]["outcome"] == "failed"


def test_a_left_out_folder_holding_no_manifest_named_file_needs_no_note(tmp_path: Path) -> None:
    deploy = _tree(tmp_path)
    (deploy / "__pycache__").mkdir()
    (deploy / "__pycache__" / "x.cpython-312.pyc").write_bytes(b"\x00")
    (deploy / "vendor" / "lib").mkdir(parents=True)
    (deploy / "vendor" / "lib" / "main.go").write_text("package lib\n")
    (deploy / "node_modules" / "left-pad").mkdir(parents=True)
    (deploy / "node_modules" / "left-pad" / "package.json").write_text("{}")  # named like one: said
    code, results = _results(["manifests", "deploy"], tmp_path)
    assert code == 0 and set(results) == {"deploy/ok.yaml#Pod/shop/ok", "deploy/node_modules"}, results


def test_compose_walk_agrees(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: nginx:1.25\n    user: '1000'\n")
    for folder in ("prod", "vendor"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "compose.yaml").write_text(PRIVILEGED_SERVICE)
    (tmp_path / "prod" / "pyvenv.cfg").write_text("")
    code, results = _results(["compose", "."], tmp_path)
    assert code == 1 and results["prod/compose.yaml#service/evil"]["outcome"] == "failed", results
    assert results["vendor"]["outcome"] == "skipped" and "not walked" in results["vendor"]["error"]


def test_cluster_walk_agrees(tmp_path: Path) -> None:
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "kind.yaml").write_text("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n")
    _, results = _results(["cluster", "."], tmp_path)
    assert results["node_modules"]["outcome"] == "skipped", results
    assert "name this folder as a path to scan" in results["node_modules"]["error"]
