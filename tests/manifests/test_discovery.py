"""What a folder walk reads: manifests yes; VCS, venvs, dependencies left out (said); Helm templates set aside."""

from __future__ import annotations

from pathlib import Path

from gates.model import Outcome
from tests.manifests.helpers import compliant_pod_spec, scan_file, wrap, write


def test_walk_skips_tooling_folders_and_sets_helm_templates_aside(tmp_path: Path) -> None:
    pod = wrap("Pod", compliant_pod_spec())
    write(tmp_path, "app.yaml", pod)
    for folder in (".git", "node_modules", "vendor"):
        (tmp_path / folder).mkdir()
        write(tmp_path / folder, "x.yaml", pod)
    venv = tmp_path / "env-py"
    venv.mkdir()
    (venv / "pyvenv.cfg").write_text("home = /usr\n")
    (venv / "bin").mkdir()
    (venv / "bin" / "python").write_text("")  # a real venv's layout: a pyvenv.cfg alone is not one
    write(venv, "x.yaml", pod)
    chart = tmp_path / "charts" / "shop"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: shop\nversion: 1.0.0\n")
    (chart / "values.yaml").write_text("replicas: 2\n")
    (chart / "templates" / "deployment.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n{{- if .Values.x }}\n")
    results = scan_file(tmp_path)
    by_target = {r.target: r for r in results}
    left_out = {f"{tmp_path}/{name}" for name in ("node_modules", "vendor", "env-py")}  # said; .git silently
    assert set(by_target) == {f"{tmp_path}/app.yaml#Pod/shop/web", f"{chart}/templates", *left_out}
    assert all(by_target[t].outcome is Outcome.SKIPPED for t in left_out)
    skipped = by_target[f"{chart}/templates"]
    assert skipped.outcome is Outcome.SKIPPED
    assert skipped.error is not None and f"helm template {chart} | gates manifests -" in skipped.error


def test_symlink_out_of_the_tree_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    bad = compliant_pod_spec()
    bad["hostPID"] = True
    target = write(outside, "secret.yaml", wrap("Pod", bad))
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "link.yaml").symlink_to(target)
    [result] = scan_file(tree)  # set aside and said, never read
    assert result.outcome is Outcome.SKIPPED and result.target == f"{tree}/link.yaml"
    assert result.error is not None and "outside the scanned tree" in result.error
