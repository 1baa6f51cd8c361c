"""Bounded memory: a document over the node budget is refused while it is composed, not after.

Each scan runs as a real process under an address-space limit (RLIMIT_AS) far below what composing
the whole document costs (1.6 GB for the 10 MiB list, 2 GB for the List of Pods before the budget was
enforced during composition), so a scan that held the document would die of MemoryError instead of
reporting the file. The error must name the file and the real reason: too many nodes, or aliases.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from gates.checks.manifests.gate import PARALLEL_MIN_FILES
from tests.conftest import REPO

LIMIT = 512 * 1024 * 1024
"""Address space for one gates process (each worker of a pool has its own): a few times the inputs."""

MIB = 1024 * 1024
POD = """  - apiVersion: v1
    kind: Pod
    metadata:
      name: pod-{n}
      labels: {{app: web}}
    spec:
      containers:
      - name: app
        image: registry.example.com/shop/web:1.4
        securityContext: {{runAsNonRoot: true, allowPrivilegeEscalation: false}}
"""

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS as Linux applies it")


def _long_flow_list(path: Path, size: int = 10 * MIB - 4096) -> Path:
    """A Pod within the default max-file-size whose container has five million two-byte arguments."""
    head = "apiVersion: v1\nkind: Pod\nmetadata: {name: big}\nspec:\n  containers:\n  - name: app\n    args: ["
    path.write_text(head + "a," * ((size - len(head)) // 2) + "a]\n")
    return path


def _pod_list(path: Path, pods: int) -> Path:
    with path.open("w") as out:
        out.write("apiVersion: v1\nkind: List\nitems:\n")
        out.writelines(POD.format(n=n) for n in range(pods))
    return path


def _scan(args: list[str], cwd: Path, limit: int = LIMIT) -> tuple[int, dict[str, str], str]:
    """`gates manifests ARGS --format json` under `limit`: exit code, error of each target, stderr."""
    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = {k: v for k, v in os.environ.items() if not k.startswith("GATES_")}
    env.update(NO_COLOR="1", PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "gates", "manifests", *args, "--format", "json"], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300, preexec_fn=limit_memory)
    errors: dict[str, str] = {}
    if proc.stdout:
        report = json.loads(proc.stdout)
        errors = {r["target"]: r["error"] for r in report["results"] if r["outcome"] == "error"}
    return proc.returncode, errors, proc.stderr


def test_a_10_mib_long_list_is_refused_while_composing(tmp_path: Path) -> None:
    _long_flow_list(tmp_path / "long.yaml")
    code, errors, stderr = _scan(["long.yaml"], tmp_path)
    assert (code, stderr) == (1, "")
    assert errors == {"long.yaml": "long.yaml: line 7: document has more than 500000 YAML nodes (too large to"
                                   " be a manifest); not read further"}


def test_a_kind_list_of_ordinary_pods_over_the_budget_says_too_many_nodes_not_alias_bomb(tmp_path: Path) -> None:
    (tmp_path / "gates.toml").write_text(f"[manifests]\nmax-file-size = {32 * MIB}\n")
    _pod_list(tmp_path / "pods.yaml", pods=60_000)  # about 20 MB, ten nodes a Pod besides its keys
    code, errors, stderr = _scan(["pods.yaml"], tmp_path)
    assert (code, stderr) == (1, "")
    [(target, error)] = errors.items()
    assert target == "pods.yaml"
    assert error.startswith("pods.yaml: line ") and "more than 500000 YAML nodes" in error
    assert "alias" not in error


def test_an_alias_bomb_is_named_as_such(tmp_path: Path) -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]" for i in range(8)]
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\nkind: Pod\napiVersion: v1\n")
    code, errors, _ = _scan(["bomb.yaml"], tmp_path)
    assert code == 1
    assert errors["bomb.yaml"].startswith("bomb.yaml: line ")
    assert "aliases expand the document to more than 500000 YAML nodes (alias bomb)" in errors["bomb.yaml"]


def test_an_alias_bomb_costs_memory_only_for_what_the_file_spells_out(tmp_path: Path) -> None:
    """Half a kilobyte whose aliases expand to 500,000 mappings: shared, not copied, so a small scan's
    address space suffices (converting each expansion took 200-300 MB)."""
    lines = ["apiVersion: v1", "kind: Pod", "metadata:", "  a: &a {k: {k: {k: {k: v}}}}"]
    lines += [f"  b{i}: &b{i} [" + ",".join([f"*{'a' if i == 0 else f'b{i - 1}'}"] * 9) + "]" for i in range(8)]
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\n")
    code, errors, stderr = _scan(["bomb.yaml"], tmp_path, limit=160 * MIB)
    assert (code, stderr) == (1, "")
    assert errors == {"bomb.yaml": "bomb.yaml: line 9: aliases expand the document to more than 500000 YAML"
                                   " nodes (alias bomb)"}


def test_each_pool_worker_stays_bounded(tmp_path: Path) -> None:
    """Enough files for the worker pool, two of them long lists far apart so both workers meet one."""
    if (os.cpu_count() or 1) < 2:
        pytest.skip("needs two cores: the manifest gate starts no worker pool on one")
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    small = POD.replace("\n    ", "\n").replace("  - apiVersion", "apiVersion")
    count = PARALLEL_MIN_FILES + 20  # over the pool's threshold, whatever it is set to
    for n in range(count):
        (deploy / f"pod-{n:03d}.yaml").write_text(small.format(n=n))
    last = f"pod-{count - 1:03d}.yaml"
    _long_flow_list(deploy / "pod-000.yaml")
    _long_flow_list(deploy / last)
    code, errors, stderr = _scan(["deploy"], tmp_path)
    assert (code, stderr) == (1, "")
    assert sorted(errors) == ["deploy/pod-000.yaml", f"deploy/{last}"]
    assert all("more than 500000 YAML nodes" in e for e in errors.values())


def test_both_composers_read_a_document_alike() -> None:
    """Texts past C_COMPOSER_MAX_CHARS are composed by the counting composer: same content, same positions."""
    from gates.targets.yaml_docs import C_COMPOSER_MAX_CHARS, load_documents

    text = ("apiVersion: v1\nkind: Pod\nmetadata: &meta {name: web, labels: {app: web}}\nspec:\n"
            "  containers:\n  - name: app\n    image: 'nginx:1'\n    args: [a, 1, true, null, 1.5]\n"
            "  template: {metadata: *meta}\n---\nkind: Secret\napiVersion: v1\n<<: {extra: x}\n")
    small = list(load_documents(text))
    large = list(load_documents(text + "#" * C_COMPOSER_MAX_CHARS + "\n"))

    def shape(value: object) -> object:
        if isinstance(value, dict):
            return {k: (getattr(value, "key_pos", {}).get(k), shape(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [(p, shape(v)) for p, v in zip(getattr(value, "item_pos", []), value, strict=True)]
        return value

    assert [(d.index, d.pos, shape(d.content)) for d in small] == [(d.index, d.pos, shape(d.content)) for d in large]
    assert len(small) == 2
