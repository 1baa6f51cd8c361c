"""Run the manifest gate over files: discovery -> documents -> objects -> findings.

One result per judged object (`file#Kind/namespace/name`: workloads, and RBAC, Secret and Ingress
objects when hardening checks are on), one `error` result per unreadable file, folder or ill-typed
object, one `skipped` result per Helm chart whose templates need rendering first, per kustomization
(its files are judged as written, its patches are not applied), per walked entry
that is never opened (a pipe, a link out of the tree) and per network policy of another API group.
Network-policy coverage and Rollouts by `workloadRef` are judged last, once every document has been read.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gc
import os
import shlex
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from gates import interrupts
from gates.checks.manifests import hardening, network_policy, secrets
from gates.checks.manifests.options import LEVELS
from gates.checks.manifests.pss import Violation, checks_for
from gates.checks.manifests.rules import GATE, RULES
from gates.checks.manifests.workloads import PODLESS_KINDS, FieldTypeError, Pod, Workload, workloads
from gates.errors import InputError, UsageError
from gates.model import Finding, Location, Outcome, Result, decided_result, error_result
from gates.rules import Rule
from gates.targets.files import (
    DEFAULT_MAX_FILE_BYTES,
    KUSTOMIZATION_FILES,
    STDIN,
    HelmChart,
    Kustomization,
    SourceFile,
    WalkProblem,
    discover,
    read_text,
)
from gates.targets.yaml_docs import Document, PosDict, Unconverted, load_documents, locate, render_path
from gates.waivers import INLINE_PREFIX, WaiverRule, apply_waivers, note_ignored_waivers, read_inline
from gates.wording import counted

PodCheck = Callable[[Pod], Iterator[Violation]]
ObjectCheck = Callable[[Workload], Iterator[Violation]]


@dataclass(frozen=True)
class ManifestOptions:
    """What the manifest gate scans and how strictly."""

    paths: tuple[str, ...]
    level: str = "restricted"
    exclude: tuple[str, ...] = ()
    """Globs over paths that the folder walk leaves out."""
    skip_rules: tuple[str, ...] = ()
    """Rule IDs not evaluated at all (prefer waivers, which stay visible)."""
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    hardening: bool = True
    """Also run the checks beyond the Pod Security Standards (images, secrets, RBAC, TLS)."""
    allowed_registries: tuple[str, ...] = ()
    """Globs over image repositories; empty means any registry."""
    credential_name_allowlist: tuple[str, ...] = ()
    """Globs over variable names whose literal values are not credentials, beyond `secrets.SAFE_NAMES`."""
    require_network_policy: bool = False
    """Every workload must be selected by a NetworkPolicy of its namespace among the scanned files."""
    stdin_name: str = "<stdin>"
    inline_waivers: bool = True
    """Whether `gates.dev/waive.*` annotations waive (false: they only become notes, see `inline-waivers`)."""
    today: dt.date = field(default_factory=dt.date.today)
    ignore_non_kubernetes: bool = False
    """A named file (not stdin) holding no Kubernetes object passes with a note (pre-commit passes every YAML
    file that changed): it was read and parsed, and holds nothing to judge. Malformed files stay errors."""


@dataclass
class _Plan:
    """The checks to run, chosen once per scan."""

    pod: dict[str, PodCheck]
    objects: dict[str, ObjectCheck]
    every: dict[str, ObjectCheck]
    """Checks of every judged object, pod carriers included."""
    rules: dict[str, Rule]
    skip: frozenset[str]

    def wanted(self, kind: str) -> bool:
        """Kinds worth converting: any that may carry a pod (custom kinds too, found by shape), or that a
        check judges; only built-in kinds known never to hold a pod are left as they are."""
        if kind in hardening.OBJECT_KINDS:
            return bool(self.objects)
        return kind not in PODLESS_KINDS

    def judges(self, obj: Workload) -> bool:
        """Objects that get a result: pod carriers, network policies, and what the object checks read."""
        return (obj.carries_pod or bool(obj.not_understood) or network_policy.is_network_policy(obj)
                or network_policy.is_foreign_policy(obj.kind, obj.api_version)
                or (bool(self.objects) and obj.kind in hardening.OBJECT_KINDS))


@dataclass(frozen=True)
class _Judged:
    """A result still open to the end-of-scan checks, with what they and the waivers need.

    Small and picklable on purpose: worker processes send these back instead of whole documents.
    """

    result: Result
    resource: str
    namespace: str | None = None
    inline: tuple[WaiverRule, ...] = ()
    pod_labels: tuple[dict[str, str], ...] | None = None
    """The labels of the object's pods, per pod template, for objects that carry one."""
    policy: network_policy.Policy | None = None
    """The scope of a NetworkPolicy object."""
    foreign_policy: str | None = None
    """A network policy of another API group (`apiVersion Kind/namespace/name`): said, never counted."""
    workload_ref: str | None = None
    """The resource an Argo Rollout takes its pods from, judged in that resource's own result."""
    waiver_errors: tuple[Result, ...] = ()
    """One error per inline waiver that waives nothing (no reason, bad expiry, no known rule), reported
    beside the resource's own result so its findings still show."""


def _plan(options: ManifestOptions) -> _Plan:
    pod: dict[str, PodCheck] = dict(checks_for(options.level))
    objects: dict[str, ObjectCheck] = {}
    every: dict[str, ObjectCheck] = {}
    if options.hardening:
        every.update(hardening.EVERY_OBJECT_CHECKS)
        pod.update(hardening.POD_CHECKS)
        pod["k8s-image-registry"] = hardening.image_registries(options.allowed_registries)
        if options.credential_name_allowlist:
            pod["k8s-secret-env-literal"] = secrets.env_credentials(
                (*secrets.SAFE_NAMES, *options.credential_name_allowlist))
        objects.update(hardening.OBJECT_CHECKS)
    skip = frozenset(options.skip_rules)
    return _Plan(
        pod={k: v for k, v in pod.items() if not {k, *hardening.SHARED_RULES.get(k, ())} <= skip}, objects=objects,
        every={k: v for k, v in every.items() if k not in skip},
        rules={r.id: r for r in RULES}, skip=skip,
    )


def scan(options: ManifestOptions) -> list[Result]:
    """Every result of the gate over `options.paths`; raises `UsageError` for paths that do not exist."""
    if options.level not in LEVELS:
        raise UsageError(f"unknown level {options.level!r}: choose baseline or restricted")
    found = discover(options.paths, options.exclude)
    if found.missing:
        raise UsageError(f"no such file or directory: {', '.join(found.missing)}")
    plan = _plan(options)
    judged: list[_Judged | Result] = []
    collecting = gc.isenabled()
    gc.disable()  # documents are acyclic: a scan creates millions of objects and frees none in cycles
    try:
        judged.extend(_charts(found.charts))
        judged.extend(_kustomizations(found.kustomizations))
        judged.extend(_walk_problems(found.problems))
        judged.extend(_scan_files(found.files, options, plan))
    finally:
        if collecting:
            gc.enable()
    if options.require_network_policy and "k8s-network-policy" not in plan.skip:
        _check_network_policies(judged, plan)
    _resolve_workload_refs(judged)
    return [_close(item, options) for item in judged]


def _charts(charts: Sequence[HelmChart]) -> Iterator[Result]:
    for chart in charts:
        files = f"{chart.templates} file" + ("s" if chart.templates != 1 else "")
        yield Result(
            gate=GATE, target=f"{chart.path}/templates", outcome=Outcome.SKIPPED,
            error=(f"Helm chart templates are not YAML until rendered ({files}): scan them"
                   f" with `helm template {chart.path} | gates manifests -`"),
            location=Location(f"{chart.path}/Chart.yaml"),
        )


def _kustomizations(kustomizations: Sequence[Kustomization]) -> Iterator[Result]:
    """What a cluster gets from a kustomization is its output, which gates does not render: said, per folder."""
    for found in kustomizations:
        yield Result(
            gate=GATE, target=found.file, outcome=Outcome.SKIPPED, location=Location(found.file),
            error=(f"a kustomization: its patches, generators and overlays are not applied here (the files of"
                   f" this folder are judged as written): scan what it renders with"
                   f" `{_kustomize_command(found.folder)}`"),
        )


def _kustomize_command(folder: str) -> str:
    return f"kubectl kustomize {shlex.quote(folder)} | gates manifests -"


def _walk_problems(problems: Sequence[WalkProblem]) -> Iterator[Result]:
    """Entries the walk could not read are errors; pipes, devices and outside links are set aside, said."""
    for problem in problems:
        where = Location(problem.path)
        reason = f"{problem.path}: {problem.reason}"
        if problem.error:
            yield error_result(GATE, problem.path, reason, where)
        else:
            yield Result(gate=GATE, target=problem.path, outcome=Outcome.SKIPPED, error=reason, location=where)


PARALLEL_MIN_FILES = 256
"""Below this many files a worker pool costs more than it saves, even with a core to spare: starting it
(importing multiprocessing, forking, collecting) costs about what one process scans 100 files in
(`bench/pool_threshold.py`; bench/README.md has the figures)."""


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity where the OS has one (a CI job pinned to one core of
    a large host must not fork a worker per core of the host), else the machine's count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1  # pragma: no cover - macOS, Windows


def _scan_files(files: Sequence[SourceFile], options: ManifestOptions, plan: _Plan) -> list[_Judged | Result]:
    """Scan files in order; large sets are spread over worker processes, one per usable core."""
    workers = min(usable_cores(), 8)
    if workers < 2 or len(files) < PARALLEL_MIN_FILES or any(f.path == STDIN for f in files):
        return [item for source in files for item in _scan_file(source, options, plan)]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    size = max(16, len(files) // (workers * 4))
    chunks = [tuple(files[i:i + size]) for i in range(0, len(files), size)]
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_started,
                               initargs=(os.getpid(),))
    try:
        with interrupts.deferred():  # the workers are forked on the first submit
            futures = [pool.submit(_scan_chunk, chunk, options) for chunk in chunks]
        judged = [item for future in futures for item in future.result()]
    except BaseException:  # SIGINT/SIGTERM (gates.interrupts) or a broken pool: stop now, not after the chunks
        for child in multiprocessing.active_children():  # only this pool starts processes in a scan
            child.kill()
        with contextlib.suppress(Exception):  # e.g. interrupted before its manager thread started
            pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    return judged


def _worker_started(parent: int) -> None:
    """Worker-process set-up: never outlive the parent, never hold its terminal or CI pipes.

    Three layers, because each covers a case the others miss: the kernel kills a worker whose parent
    dies in any way, SIGKILL included (PR_SET_PDEATHSIG, Linux); a parent gone before that was armed is
    noticed by its pid; and with stdin, stdout and stderr on /dev/null even a worker that lingers (another
    OS) cannot keep the reader of gates' output waiting for end of file. Results and errors travel back
    through the pool's pipes, so nothing is lost. SIGINT is ignored (a terminal's Ctrl-C reaches the whole
    process group: the parent alone handles it, with one line instead of a traceback per worker), and
    SIGTERM is reset to its default, not the parent's handler inherited through fork.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, interrupts.SIGNALS)  # forked under `interrupts.deferred`
    _die_with_parent()
    if os.getppid() != parent:
        os._exit(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def _die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent exits (Linux only; elsewhere nothing)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1  # <linux/prctl.h>
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)


def _scan_chunk(files: tuple[SourceFile, ...], options: ManifestOptions) -> list[_Judged | Result]:
    """Worker-process entry: scan a run of files (the plan is rebuilt here, not pickled)."""
    gc.disable()
    plan = _plan(options)
    return [item for source in files for item in _scan_file(source, options, plan)]


def _close(item: _Judged | Result, options: ManifestOptions) -> Result:
    if isinstance(item, Result):
        return item
    if not options.inline_waivers:
        return note_ignored_waivers(item.result, item.inline)
    return apply_waivers(item.result, item.inline, options.today)


def _scan_file(source: SourceFile, options: ManifestOptions, plan: _Plan) -> Iterator[_Judged | Result]:
    display = options.stdin_name if source.path == STDIN else source.path
    try:
        text = read_text(source.path, options.max_file_bytes)
    except InputError as exc:
        yield error_result(GATE, display, f"{display}: {exc}", Location(display))
        return
    saw_kubernetes = False
    non_mapping: Document | None = None
    documents = load_documents(text, plan.wanted)
    while True:
        try:
            document = next(documents)
        except StopIteration:
            break
        except InputError as exc:
            yield error_result(GATE, display, f"{display}: {exc}", Location(display))
            return
        content = document.content
        if isinstance(content, Unconverted):
            saw_kubernetes = True
            continue
        if content is None and not display.endswith(".json"):
            continue  # an empty YAML document (`---` with nothing after it); JSON `null` is not an object
        if not isinstance(content, PosDict):
            non_mapping = non_mapping or document
            continue
        if "apiVersion" in content and "kind" in content:
            saw_kubernetes = True
        yield from _scan_document(display, document, plan)
    # With --ignore-non-kubernetes a named file is read as a walk reads it (stdin never is: an empty pipe fails).
    lenient = source.explicit and options.ignore_non_kubernetes and source.path != STDIN
    if non_mapping is not None and ((source.explicit and not lenient) or saw_kubernetes):
        line, column = non_mapping.pos
        yield error_result(
            GATE, display,
            f"{display}:{line}: document {non_mapping.index + 1} is a {_kind_of(non_mapping.content)},"
            " not a Kubernetes object (a mapping)",
            Location(display, line, column),
        )
    elif lenient and not saw_kubernetes:
        yield Result(gate=GATE, target=display, outcome=Outcome.PASSED, location=Location(display),
                     details=("no Kubernetes object in this file: nothing to judge (--ignore-non-kubernetes)",))
    elif source.explicit and not saw_kubernetes:
        # `helm template . | gates manifests -` (or `> out.yaml`) with a failing helm gives nothing: no pass.
        hint = " (did the command before the pipe fail?)" if source.path == STDIN else ""
        where = "on standard input" if source.path == STDIN else "in this file"
        yield error_result(GATE, display, f"{display}: no Kubernetes object {where}{hint}", Location(display))


def _kind_of(value: Any) -> str:
    return "list" if isinstance(value, list) else "null" if value is None else type(value).__name__


def _scan_document(display: str, document: Document, plan: _Plan) -> Iterator[_Judged | Result]:
    objects = workloads(document.content)
    while True:
        try:
            obj = next(objects)
        except StopIteration:
            return
        except FieldTypeError as exc:
            yield _type_error(display, document, None, exc)
            return
        if obj.api_version.startswith(KUSTOMIZE_GROUP) and display.rpartition("/")[2] not in KUSTOMIZATION_FILES:
            yield _kustomization_object(display, document, obj)  # a kustomization file's own name is said already
        elif plan.judges(obj):
            judged = _evaluate(display, document, obj, plan)
            yield judged
            if isinstance(judged, _Judged):
                yield from judged.waiver_errors


KUSTOMIZE_GROUP = "kustomize.config.k8s.io/"
"""Kustomization and Component: instructions to kustomize, never objects a cluster receives."""


def _kustomization_object(display: str, document: Document, obj: Workload) -> Result:
    where = Location(display, *(locate(document.content, obj.base) or document.pos))
    return Result(
        gate=GATE, target=f"{display}#{obj.resource}", outcome=Outcome.SKIPPED, location=where,
        error=(f"{obj.api_version} {obj.kind} is a kustomization, not an object a cluster receives: its patches and"
               f" generators are not applied here; scan what its folder renders with"
               f" `{_kustomize_command('DIR')}`"),
    )


def _type_error(display: str, document: Document, obj: Workload | None, exc: FieldTypeError) -> Result:
    line, column = locate(document.content, exc.path) or document.pos
    target = f"{display}#{obj.resource}" if obj else f"{display}#document{document.index + 1}"
    return error_result(GATE, target, f"{display}:{line}: {exc}", Location(display, line, column))


def _evaluate(display: str, document: Document, obj: Workload, plan: _Plan) -> _Judged | Result:
    root = document.content
    target = f"{display}#{obj.resource}"
    where = Location(display, *(locate(root, obj.base) or document.pos))
    if network_policy.is_foreign_policy(obj.kind, obj.api_version):
        said = Result(gate=GATE, target=target, outcome=Outcome.SKIPPED, location=where,
                      error=f"{obj.api_version} {obj.kind} is not a Kubernetes NetworkPolicy"
                            f" ({network_policy.KUBERNETES_POLICY}): not read, and never counted as covering a pod")
        return _Judged(result=said, resource=obj.resource, namespace=obj.namespace,
                       foreign_policy=f"{obj.api_version} {obj.resource}")
    if obj.not_understood:
        return _not_understood(display, root, obj, target, where)
    try:
        violations: list[Violation] = []
        reference = obj.workload_ref()
        if reference is None and obj.carries_pod:
            for pod in obj.pods():
                violations += [v for check in plan.pod.values() for v in check(pod)]
        elif reference is None:
            violations += [v for check in plan.objects.values() for v in check(obj)]
        violations += [v for check in plan.every.values() for v in check(obj)]
        places = {key: locate(root, path) for key, path in obj.annotation_paths.items()
                  if key.startswith(INLINE_PREFIX)}  # only waivers are ever placed: locate only them
        positions = {key: f"{display}:{place[0]}" if place else display for key, place in places.items()}
        inline = read_inline(obj.annotations, positions, obj.resource, plan.rules)
        policy = network_policy.policy_of(obj)  # validated here, so a broken policy is reported where it is
    except FieldTypeError as exc:
        return _type_error(display, document, obj, exc)
    except InputError as exc:
        return error_result(GATE, target, str(exc), where)
    findings = [_finding(v, obj, display, root, where, plan) for v in violations if v.rule not in plan.skip]
    result = decided_result(GATE, target, findings, where)
    if obj.by_shape:
        shapes = ", ".join(render_path(spec) for spec, _ in obj.pod_paths)
        read = "holds containers, so it was read as a pod spec" if len(obj.pod_paths) == 1 else \
            "hold containers, so they were read as pod specs"
        result = dataclasses.replace(result, details=(
            f"scanned by shape: {obj.api_version} {obj.kind} is not a kind gates knows, and its {shapes} {read}",))
    carries_own_pod = obj.carries_pod and reference is None
    waiver_errors = tuple(error_result(GATE, f"{target} {key}", problem, _placed(display, places.get(key), where))
                          for key, problem in inline.problems)
    return _Judged(
        result=result, resource=obj.resource, namespace=obj.namespace, inline=inline.waivers,
        pod_labels=network_policy.pod_labels(obj) if carries_own_pod else None, policy=policy,
        workload_ref=reference, waiver_errors=waiver_errors,
    )


def _not_understood(display: str, root: Any, obj: Workload, target: str, where: Location) -> Result:
    """An unknown kind with pod-like parts that do not read as pod specs: undecided, never passed."""
    path, problem = obj.not_understood[0]
    line, column = locate(root, (*obj.base, *path)) or (where.line, where.column)
    more = f" (and {counted(len(obj.not_understood) - 1, 'more such place')})" if len(obj.not_understood) > 1 else ""
    return error_result(
        GATE, target,
        f"{display}:{line}: {obj.api_version} {obj.kind} is not a kind gates knows, and its {render_path(path)}"
        f" {problem}{more}: not understood, so the pods it may make were not checked",
        Location(display, line, column))


def _finding(violation: Violation, obj: Workload, display: str, root: Any, where: Location, plan: _Plan) -> Finding:
    line, column = locate(root, violation.path) or (where.line, where.column)
    rule = plan.rules[violation.rule]
    return Finding(
        rule=rule.id, severity=rule.severity,
        message=f"{violation.message} ({render_path(violation.path[len(obj.base):])})",
        location=Location(display, line, column), resource=obj.resource, container=violation.container,
    )


def _check_network_policies(judged: list[_Judged | Result], plan: _Plan) -> None:
    """Add a finding to every workload that no NetworkPolicy of its namespace selects."""
    policies = [item.policy for item in judged if isinstance(item, _Judged) and item.policy is not None]
    foreign = [(item.namespace, item.foreign_policy) for item in judged
               if isinstance(item, _Judged) and item.foreign_policy is not None]
    rule = plan.rules["k8s-network-policy"]
    for index, item in enumerate(judged):
        if not isinstance(item, _Judged) or item.pod_labels is None:
            continue
        if all(network_policy.covered(item.namespace, labels, policies) for labels in item.pod_labels):
            continue
        where = item.result.location or Location(item.result.target)
        namespace = item.namespace or "(unspecified)"
        uncounted = [name for scope, name in foreign if scope in (item.namespace, None)]
        also = (f" ({counted(len(uncounted), 'network policy object')} of another API group not counted: "
                f"{', '.join(uncounted[:3])}{', ...' if len(uncounted) > 3 else ''})") if uncounted else ""
        finding = Finding(
            rule=rule.id, severity=rule.severity, location=where, resource=item.resource,
            message=f"no NetworkPolicy in namespace {namespace} selects the pods of {item.resource}: they accept"
                    f" traffic from anywhere in the cluster{also}",
        )
        result = item.result
        judged[index] = dataclasses.replace(item, result=dataclasses.replace(
            result, findings=(*result.findings, finding), outcome=Outcome.FAILED))


def _resolve_workload_refs(judged: list[_Judged | Result]) -> None:
    """A Rollout with a workloadRef is vouched for only by its Deployment's result: that must be here."""
    carriers = {item.resource for item in judged if isinstance(item, _Judged) and item.pod_labels is not None}
    for index, item in enumerate(judged):
        if not isinstance(item, _Judged) or item.workload_ref is None:
            continue
        result = item.result
        if item.workload_ref in carriers:
            detail = f"its pods come from {item.workload_ref} (spec.workloadRef), judged in that object's result"
            judged[index] = dataclasses.replace(item, result=dataclasses.replace(
                result, details=(*result.details, detail)))
        else:
            judged[index] = error_result(
                GATE, result.target, f"{item.resource} takes its pod template from {item.workload_ref}"
                " (spec.workloadRef), which is not among the objects judged in this scan: its pods were not checked",
                result.location)


def _placed(display: str, place: tuple[int, int] | None, fallback: Location) -> Location:
    return Location(display, *place) if place else fallback
