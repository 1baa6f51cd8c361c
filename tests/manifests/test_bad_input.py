"""Bad input: one error result per file with one line naming file, line and problem; others still scan."""

from __future__ import annotations

from pathlib import Path

import pytest

from gates.checks.manifests.gate import ManifestOptions, scan
from gates.model import Outcome
from tests.conftest import run_process
from tests.manifests.helpers import compliant_pod_spec, wrap, write

ALIAS_BOMB = "\n".join(
    ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]" for i in range(8)]
) + "\nkind: Pod\napiVersion: v1\n"

BAD_FILES: dict[str, tuple[bytes, str]] = {
    "malformed.yaml": (b"apiVersion: v1\nkind: Pod\nmetadata: [\n", "line 4"),
    "duplicate.yaml": (b"apiVersion: v1\nkind: Pod\nspec:\n  hostPID: false\n  hostPID: true\n",
                       "line 5: duplicate key 'hostPID' (first set at line 4)"),
    "bomb.yaml": (ALIAS_BOMB.encode(), "alias bomb"),
    "binary.yaml": (b"\x7fELF\x02\x01\x01\x00\x00\x00garbage", "binary file"),
    "latin1.yaml": (b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: caf\xe9\n", "line 4: not valid UTF-8"),
    "deep.yaml": (b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n", "nesting depth"),
    "list.yaml": (b"- apiVersion: v1\n  kind: Pod\n", "is a list, not a Kubernetes object"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_is_one_error_line(tmp_path: Path, name: str) -> None:
    content, expected = BAD_FILES[name]
    (tmp_path / name).write_bytes(content)
    good = write(tmp_path, "good.yaml", wrap("Pod", compliant_pod_spec()))
    results = scan(ManifestOptions(paths=(str(tmp_path / name), str(good))))
    errors = [r for r in results if r.outcome is Outcome.ERROR]
    assert len(errors) == 1
    error = errors[0].error
    assert error is not None and "\n" not in error
    assert error.startswith(str(tmp_path / name)) and expected in error
    assert any(r.outcome is Outcome.PASSED and r.target.startswith(str(good)) for r in results)


def test_oversized_file(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# padding\n" * 2000)
    [result] = scan(ManifestOptions(paths=(str(big),), max_file_bytes=1000))
    assert result.outcome is Outcome.ERROR and result.error is not None
    assert "larger than the 1000 byte limit" in result.error


def test_cli_reports_bad_input_without_traceback(tmp_path: Path) -> None:
    for name, (content, _) in BAD_FILES.items():
        (tmp_path / name).write_bytes(content)
    write(tmp_path, "good.yaml", wrap("Pod", compliant_pod_spec()))
    run = run_process(["manifests", ".", "--format", "json"], cwd=tmp_path)
    assert run.code == 1
    assert "Traceback" not in run.err + run.out
    import json

    report = json.loads(run.out)
    outcomes = {r["target"].split("#")[0]: r["outcome"] for r in report["results"]}
    assert outcomes["good.yaml"] == "passed"
    assert report["outcome"] == "error"
    for name in BAD_FILES:
        if name != "list.yaml":  # a directory walk ignores list documents in files with no Kubernetes object
            assert outcomes[name] == "error", name


@pytest.mark.parametrize("stdin", ["", "# only a comment\n", "---\n...\n", "services:\n  web: {image: nginx}\n"])
def test_stdin_without_kubernetes_objects_is_an_error(tmp_path: Path, stdin: str) -> None:
    run = run_process(["manifests", "-"], cwd=tmp_path, stdin=stdin)
    assert run.code == 1
    assert "no Kubernetes object on standard input" in run.out
    assert "Traceback" not in run.err


@pytest.mark.parametrize(("text", "problem"), [
    ("spec:\n  hostNetwork: false\n  <<: {hostNetwork: true}\n", "key 'hostNetwork' is set both directly"),
    ("spec:\n  <<: [{hostNetwork: false}, {hostNetwork: true}]\n", "key 'hostNetwork' is merged twice"),
    ("kind: ConfigMap\n<<: {kind: Pod}\nspec: {hostNetwork: true}\n", "key 'kind' is set both directly"),
])
def test_ambiguous_merge_keys_are_errors(tmp_path: Path, text: str, problem: str) -> None:
    """Kubernetes' decoder applies `<<` in document order, YAML 1.1 lets explicit keys win: never guess."""
    path = tmp_path / "merge.yaml"
    path.write_text("apiVersion: v1\n" + ("kind: Pod\nmetadata: {name: p}\n" if "kind:" not in text else
                                          "metadata: {name: p}\n") + text)
    [result] = scan(ManifestOptions(paths=(str(path),)))
    assert result.outcome is Outcome.ERROR
    assert result.error is not None and problem in result.error


def test_unambiguous_merge_keys_are_applied(tmp_path: Path) -> None:
    path = tmp_path / "merge.yaml"
    path.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
                    "x-defaults: &net {hostNetwork: true}\nspec:\n  <<: *net\n  containers: []\n")
    [result] = scan(ManifestOptions(paths=(str(path),), level="baseline"))
    assert [f.rule for f in result.findings] == ["pss-host-namespaces"]


@pytest.mark.parametrize(("name", "content"), [("zero.yaml", ""), ("values.yaml", "replicas: 2\n"),
                                               ("empty.json", "{}\n")])
def test_named_file_without_kubernetes_objects_fails_closed(tmp_path: Path, name: str, content: str) -> None:
    (tmp_path / name).write_text(content)
    run = run_process(["manifests", name, "--format", "json"], cwd=tmp_path)
    assert run.code == 1
    import json

    [result] = json.loads(run.out)["results"]
    assert result["outcome"] == "error" and result["error"] == f"{name}: no Kubernetes object in this file"


def test_a_tree_with_nothing_to_check_fails_closed(tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 1.0.0\n")
    (chart / "templates" / "d.yaml").write_text("kind: {{ .Values.kind }}\n")
    run = run_process(["manifests", "."], cwd=tmp_path)
    assert run.code == 1
    assert "the manifests gate checked nothing: its only target was skipped" in run.out
