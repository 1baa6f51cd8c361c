"""The examples of docs/ci.md that run as processes: the `console` ones in a real git repository (the
output shown is the output gates prints) and the scanner-reports configuration."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tests.checks_vulnerabilities.reports import DIGEST, trivy, trivy_vuln
from tests.ci_surfaces.tools import require, tool_env
from tests.conftest import REPO, run_process
from tests.reporters.conftest import GOOD_POD

DOC = REPO / "docs" / "ci.md"


def console_examples() -> list[tuple[str, list[str]]]:
    """Each `$ command` of a console block with the lines it prints."""
    found: list[tuple[str, list[str]]] = []
    for block in re.findall(r"^```console\n(.*?)^```$", DOC.read_text(encoding="utf-8"), flags=re.M | re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            else:
                found[-1][1].append(line)
    return found


def test_the_console_examples_print_what_the_docs_show(tmp_path: Path) -> None:
    require("git")
    examples = console_examples()
    assert [command for command, _ in examples] == ["gates install-hook"]
    env = tool_env()
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, env=env)
    old = tmp_path / ".git" / "hooks" / "pre-push"  # the example keeps a hook already there
    old.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    old.chmod(0o755)
    for command, expected in examples:
        proc = subprocess.run(command.split(), cwd=tmp_path, capture_output=True, text=True, env=env, timeout=60,
                              check=False)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.splitlines() == expected


def _subsection(heading: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"\n### {heading}\n")
    return text[start:text.index("\n## ", start + 1)]


def test_the_scanner_reports_configuration_runs(tmp_path: Path) -> None:
    """docs/ci.md's `gates = [..., "vulnerabilities"]` example as gates.toml, with the report and the VEX
    document it names: `gates run` judges the manifests and the report, the VEX statement applied."""
    [example] = re.findall(r"^```toml\n(.*?)^```$", _subsection("Scanner reports (vulnerabilities)"),
                           flags=re.M | re.S)
    (tmp_path / "gates.toml").write_text(example, encoding="utf-8")
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "pod.yaml").write_text(GOOD_POD, encoding="utf-8")
    vulns = [trivy_vuln(cve, "libssl3", "3.0.8-r3", "3.0.10-r0", "HIGH", "pkg:apk/alpine/libssl3@3.0.8-r3")
             for cve in ("CVE-2023-1255", "CVE-2023-3446")]
    (tmp_path / "trivy-report.json").write_text(trivy(*vulns), encoding="utf-8")
    (tmp_path / ".vex").mkdir()
    (tmp_path / ".vex" / "app.openvex.json").write_text(json.dumps({
        "@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.invalid/vex/1", "author": "acme",
        "timestamp": "2026-11-01T00:00:00Z", "version": 1,
        "statements": [{"vulnerability": {"name": "CVE-2023-1255"}, "products": [{"@id": f"pkg:oci/web@{DIGEST}"}],
                        "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}],
    }), encoding="utf-8")
    run = run_process(["run", "-f", "json"], tmp_path)
    assert run.code == 1, run.err  # the other advisory still fails
    report = json.loads(run.out)
    assert report["gates"] == ["manifests", "vulnerabilities"]
    findings = [f for r in report["results"] if r["gate"] == "vulnerabilities" for f in r["findings"]]
    [waived] = [f for f in findings if f["waived"]]
    assert "CVE-2023-1255" in waived["message"] and len(findings) == 2, findings
    assert waived["waived"]["source"].startswith(".vex/app.openvex.json")
    assert {r["outcome"] for r in report["results"] if r["gate"] == "manifests"} == {"passed"}
