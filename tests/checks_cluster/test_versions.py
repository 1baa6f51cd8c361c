"""Declared Kubernetes and etcd versions against the shipped endoflife.date data, on a fixed day."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from gates.checks.cluster import versions
from gates.checks.cluster.gate import ClusterOptions, scan
from gates.model import Finding
from tests.checks_cluster.inputs import COMPLIANT_APISERVER_FLAGS, static_pod

DAY = dt.date(2026, 9, 1)
"""After the shipped data was generated (2026-08-22): 1.36.4 is the newest 1.36, 1.31 ended in 2025."""


def _findings(tmp_path: Path, text: str, name: str = "input.yaml", day: dt.date = DAY) -> list[Finding]:
    (tmp_path / name).write_text(text)
    results = scan(ClusterOptions(paths=(str(tmp_path / name),), today=day,
                                  skip_rules=frozenset({"cluster-config-unchecked"})))
    return [f for r in results for f in r.findings if f.rule.startswith("cluster-version")]


def _with_image(image: str, name: str = "kube-apiserver") -> str:
    text = static_pod(COMPLIANT_APISERVER_FLAGS, name)
    return text.replace(f"    image: registry.k8s.io/{name}@sha256:{'0' * 64}\n", f"    image: {image}\n")


@pytest.mark.parametrize(("image", "expected"), [
    ("registry.k8s.io/kube-apiserver:v1.36.4", []),
    ("registry.k8s.io/kube-apiserver:v1.36.2", [("cluster-version-patch", "2 patch releases behind 1.36.4")]),
    ("registry.k8s.io/kube-apiserver:v1.31.14", [("cluster-version-eol", "support for kubernetes 1.31 ended on")]),
    ("gcr.io/google_containers/kube-apiserver-amd64:v1.6.0",
     [("cluster-version-eol", "older than every cycle the end-of-life data lists")]),
])
def test_control_plane_image_tags(tmp_path: Path, image: str, expected: list[tuple[str, str]]) -> None:
    found = _findings(tmp_path, _with_image(image))
    assert [(f.rule, f.location.line, f.location.column) for f in found] == [(r, 9, 5) for r, _ in expected]
    assert all(text in f.message for f, (_, text) in zip(found, expected, strict=True))


def test_the_same_version_is_judged_by_the_day(tmp_path: Path) -> None:
    text = _with_image("registry.k8s.io/kube-apiserver:v1.36.4")
    assert _findings(tmp_path, text, day=dt.date(2027, 7, 1))[0].rule == "cluster-version-eol"


def test_etcd_s_tag_is_an_etcd_version(tmp_path: Path) -> None:
    found = _findings(tmp_path, _with_image("registry.k8s.io/etcd:3.5.15-0", "etcd"))
    assert [f.rule for f in found] == ["cluster-version-patch"] and "etcd 3.5.15" in found[0].message
    found = _findings(tmp_path, _with_image("registry.k8s.io/etcd:3.4.20-0", "etcd"))
    assert [f.rule for f in found] == ["cluster-version-eol"], "3.4 ended on 2026-06-01"


def test_kubeadm_kubernetes_version_and_kind_node_images(tmp_path: Path) -> None:
    kubeadm = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: v1.30.2\n"
    assert [(f.rule, f.location.line) for f in _findings(tmp_path, kubeadm)] == [("cluster-version-eol", 3)]
    kind = ("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n"
            "  image: kindest/node:v1.35.8@sha256:" + "1" * 64 + "\n- role: worker\n  image: kindest/node:v1.35.1\n")
    found = _findings(tmp_path, kind, "kind.yaml")
    assert [(f.rule, f.location.line, f.resource) for f in found] == [
        ("cluster-version-patch", 7, "Cluster/kind/kube-apiserver")]


def test_a_version_label_is_said_not_judged(tmp_path: Path) -> None:
    (tmp_path / "k.yaml").write_text("apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n"
                                     "kubernetesVersion: stable\n")
    results = scan(ClusterOptions(paths=(str(tmp_path / "k.yaml"),), today=DAY))
    apiserver = next(r for r in results if r.target.endswith("kube-apiserver"))
    assert any("kubernetes version 'stable' is not a release number" in d for d in apiserver.details)


def test_a_refreshed_data_file_is_preferred_when_newer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = versions.database()
    data = json.loads((Path(versions.__file__).parents[2] / "data" / versions.DATA_FILE).read_text())
    data["generated"] = (shipped.generated or DAY).replace(year=2099).isoformat()
    for cycle in data["products"]["kubernetes"]["cycles"]:
        if cycle["cycle"] == "1.36":
            cycle["latest"] = "1.36.9"
    (tmp_path / "gates").mkdir()
    (tmp_path / "gates" / versions.DATA_FILE).write_text(json.dumps(data))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    found = _findings(tmp_path, _with_image("registry.k8s.io/kube-apiserver:v1.36.4"))
    assert [f.rule for f in found] == ["cluster-version-patch"] and "behind 1.36.9" in found[0].message


def test_the_shipped_data_is_rebuilt_byte_for_byte_from_the_corpus(tmp_path: Path) -> None:
    """scripts/build_cluster_eol_data.py over the corpus pages (needs the corpus) gives the shipped file."""
    import subprocess
    import sys

    from tests.conftest import REPO, require_corpus

    pages = [require_corpus("eol", "endoflife.date-products"),
             require_corpus("cluster-config", "endoflife.date-products")]
    out = tmp_path / versions.DATA_FILE
    subprocess.run([sys.executable, str(REPO / "scripts" / "build_cluster_eol_data.py"), *map(str, pages),
                    "-o", str(out), "--generated", "2026-08-22", "--commit",
                    "a70eca337600e7d721dc48112c271f98661d208b"], check=True, capture_output=True)
    assert out.read_bytes() == (REPO / "gates" / "data" / versions.DATA_FILE).read_bytes()
