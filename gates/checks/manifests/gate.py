"""Run the manifest gate over files: discovery -> documents -> objects -> findings.

One result per judged object (`file#Kind/namespace/name`: workloads, and RBAC, Secret and Ingress
objects when hardening checks are on), one `error` result per unreadable file, folder or ill-typed
object, one `skipped` result per walked entry that is never opened (a pipe, a link out of the tree) and
per network policy of another API group. Kustomizations and Helm charts are rendered first where their
program is on PATH (`rendering`), else said as skipped with the command that renders them.
Network-policy coverage and Rollouts by `workloadRef` are judged last, once every document has been read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import os
import re
import signal
import sys
from collections.abc import Callable, Iterator, Sequence

from gates import interrupts
from gates.checks.manifests import access, gateway, hardening, network_policy, pod_hardening, rendering, secrets
from gates.checks.manifests.options import LEVELS
from gates.checks.manifests.pss import Violation, checks_for
from gates.checks.manifests.rules import GATE, RULES
from gates.checks.manifests.workloads import PODLESS_KINDS, FieldTypeError, Pod, Workload, workloads
from gates.errors import InputError, UsageError
from gates.model import Finding, Location, Outcome, Result, Severity, decided_result, error_result
from gates.record import field, record, replace
from gates.rules import Rule
from gates.targets.files import (
    DEFAULT_MAX_FILE_BYTES,
    KUSTOMIZATION_FILES,
    STDIN,
    Discovery,
    HelmChart,
    Kustomization,
    SourceFile,
    WalkProblem,
    discover,
    read_text,
)
from gates.targets.yaml_docs import Document, PosDict, Unconverted, load_documents, locate, render_path
from gates.typecheck import TYPE_CHECKING
from gates.waivers import INLINE_PREFIX, WaiverRule, apply_waivers, note_ignored_waivers, read_inline
from gates.wording import counted

if TYPE_CHECKING:
    from typing import Any

    from gates.shard import Shard

PodCheck = Callable[[Pod], Iterator[Violation]]
ObjectCheck = Callable[[Workload], Iterator[Violation]]


@record
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
    """Every workload must be in default deny, for ingress and egress, by a network policy among the scanned files."""
    exposed_service_types: tuple[str, ...] = ("NodePort", "LoadBalancer")
    """Service types that `k8s-service-exposed` reports (`exposed-service-types`)."""
    stdin_name: str = "<stdin>"
    inline_waivers: bool = True
    """Whether `gates.dev/waive.*` annotations waive (false: they only become notes, see `inline-waivers`)."""
    today: dt.date = field(default_factory=dt.date.today)
    ignore_non_kubernetes: bool = False
    """A named file (not stdin) holding no Kubernetes object passes with a note (pre-commit passes every YAML
    file that changed): it was read and parsed, and holds nothing to judge. Malformed files stay errors."""
    enable_rules: tuple[str, ...] = ()
    """Rules off by default (`rules.OPT_IN_RULES`) that this scan evaluates, with hardening on."""
    resource_limits_severity: Severity | None = None
    """The severity of `k8s-resource-limits` findings, instead of the rule's own."""
    render: bool = True
    """Render kustomizations and charts when their program is on PATH (false: say them as skipped)."""
    render_timeout: float = 60
    """Seconds a `kubectl kustomize` or `helm template` child may run."""
    helm_values: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(real chart folder, real paths of its values files) for `helm template`."""
    shard: Shard | None = None
    """`--shard K/N`: read only the files this shard owns (the engine keeps only its results in any case)."""


@record
class _Plan:
    """The checks to run, chosen once per scan."""

    pod: dict[str, PodCheck]
    objects: dict[str, ObjectCheck]
    every: dict[str, ObjectCheck]
    """Checks of every judged object, pod carriers included."""
    rules: dict[str, Rule]
    skip: frozenset[str]
    carriers: dict[str, ObjectCheck] = field(default_factory=dict)
    """Checks of the object that carries pods (its own metadata), run beside its pod checks."""

    def wanted(self, kind: str) -> bool:
        """Kinds worth converting: any that may carry a pod (custom kinds too, found by shape), or that a
        check judges; only built-in kinds known never to hold a pod are left as they are."""
        if kind in hardening.OBJECT_KINDS or kind in access.OBJECT_KINDS:
            return bool(self.objects)
        return kind not in PODLESS_KINDS

    def judges(self, obj: Workload) -> bool:
        """Objects that get a result: pod carriers, network policies, and what the object checks read."""
        return (obj.carries_pod or bool(obj.not_understood) or network_policy.is_network_policy(obj)
                or network_policy.is_foreign_policy(obj.kind, obj.api_version) or _unread(obj, self) is not None
                or (bool(self.objects) and (obj.kind in hardening.OBJECT_KINDS or access.judged(obj.kind,
                                                                                              obj.api_version))))


@record
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
    """A network policy gates does not judge (`apiVersion Kind/namespace/name`): of another API group, or with a
    selector or rule it cannot read. Said, never counted."""
    http_listeners: tuple[gateway.Listener, ...] = ()
    """A Gateway's plain-HTTP listeners, in the order of their provisional `k8s-gateway-plain-http` findings."""
    route: gateway.Route | None = None
    """An HTTPRoute's or GRPCRoute's attachments, for the plain-HTTP listeners it may redirect."""
    workload_ref: str | None = None
    """The resource an Argo Rollout takes its pods from, judged in that resource's own result."""
    waiver_errors: tuple[Result, ...] = ()
    """One error per inline waiver that waives nothing (no reason, bad expiry, no known rule), reported
    beside the resource's own result so its findings still show."""


def _plan(options: ManifestOptions) -> _Plan:
    pod: dict[str, PodCheck] = dict(checks_for(options.level))
    objects: dict[str, ObjectCheck] = {}
    every: dict[str, ObjectCheck] = {}
    carriers: dict[str, ObjectCheck] = {}
    skip = frozenset(options.skip_rules)
    if options.hardening:
        every.update(hardening.EVERY_OBJECT_CHECKS)
        pod.update(hardening.POD_CHECKS)
        pod["k8s-image-tag"] = hardening.image_tags(skip)
        pod["k8s-image-registry"] = hardening.image_registries(options.allowed_registries)
        if options.credential_name_allowlist:
            pod["k8s-secret-env-literal"] = secrets.env_credentials(
                (*secrets.SAFE_NAMES, *options.credential_name_allowlist))
        pod.update(pod_hardening.POD_CHECKS)
        pod.update({rule: pod_hardening.OPT_IN[rule] for rule in options.enable_rules})
        objects.update(hardening.OBJECT_CHECKS)
        objects.update(access.object_checks(options.exposed_service_types))
        carriers.update(pod_hardening.CARRIER_CHECKS)
    rules = {r.id: r for r in RULES}
    if options.resource_limits_severity is not None:
        rules["k8s-resource-limits"] = replace(rules["k8s-resource-limits"],
                                                           severity=options.resource_limits_severity)
    return _Plan(
        pod={k: v for k, v in pod.items() if not {k, *hardening.SHARED_RULES.get(k, ())} <= skip}, objects=objects,
        every={k: v for k, v in every.items() if k not in skip},
        rules=rules, skip=skip, carriers={k: v for k, v in carriers.items() if k not in skip},
    )


def scan(options: ManifestOptions) -> list[Result]:
    """Every result of the gate over `options.paths`; raises `UsageError` for paths that do not exist."""
    if options.level not in LEVELS:
        raise UsageError(f"unknown level {options.level!r}: choose baseline or restricted")
    found = discover(options.paths, options.exclude)
    if found.missing:
        raise UsageError(f"no such file or directory: {', '.join(found.missing)}")
    plan = _plan(options)
    coverage = options.require_network_policy and "k8s-network-policy" not in plan.skip
    others: tuple[SourceFile, ...] = ()
    whole = found
    if options.shard is not None and not coverage:  # coverage needs every policy: all files are read then
        found, others = _share(found, options.shard, options.stdin_name)
    judged: list[_Judged | Result] = []
    collecting = gc.isenabled()
    gc.disable()  # documents are acyclic: a scan creates millions of objects and frees none in cycles
    try:
        # every kustomization and chart of the walk, not only this shard's: each shard must know which files
        # a render consumes, or it would judge them as written (the engine keeps only the results it owns)
        prepared = _prepare_renders(whole.kustomizations, whole.charts, options)
        judged.extend(prepared.results)
        judged.extend(_walk_problems(found.problems))
        files = [f for f in found.files if f.explicit or os.path.realpath(f.path) not in prepared.inputs] \
            if prepared.inputs else list(found.files)
        if found.kustomizations:  # a kustomization file named on the command line holds instructions, said above
            said = {k.file for k in found.kustomizations}
            files = [replace(f, explicit=False) if f.path in said else f for f in files]
        judged.extend(_scan_files(files, options, plan))
        for stream in prepared.streams:
            judged.extend(_scan_stream(stream, options, plan))
    finally:
        if collecting:
            gc.enable()
    if coverage:
        _check_network_policies(judged, plan)
    _check_plain_http(judged)
    unresolved = any(isinstance(item, _Judged) and item.workload_ref is not None for item in judged)
    elsewhere = _scan_files(others, options, plan) if unresolved and others else []  # the workloads refs name
    _resolve_workload_refs(judged, elsewhere)
    return [_close(item, options) for item in judged]


def _prepare_renders(kustomizations: Sequence[Kustomization], charts: Sequence[HelmChart],
                     options: ManifestOptions) -> rendering.Prepared:
    """Nothing to render costs nothing: the rendering modules are imported only for a tree that needs them."""
    if not kustomizations and not charts:
        return rendering.Prepared()
    settings = rendering.RenderSettings(timeout=options.render_timeout, max_bytes=options.max_file_bytes,
                                        helm_values=dict(options.helm_values), render=options.render)
    return rendering.prepare(kustomizations, charts, settings)


def _share(found: Discovery, shard: Shard, stdin_name: str) -> tuple[Discovery, tuple[SourceFile, ...]]:
    """This shard's part of a walk (by the path each result is placed at), and the files of the others."""
    def owned(source: SourceFile) -> bool:
        return shard.owns(stdin_name if source.path == STDIN else source.path)

    mine = replace(
        found, files=tuple(f for f in found.files if owned(f)),
        charts=tuple(c for c in found.charts if shard.owns(f"{c.path}/Chart.yaml")),
        kustomizations=tuple(k for k in found.kustomizations if shard.owns(k.file)),
        problems=tuple(p for p in found.problems if shard.owns(p.path)))
    return mine, tuple(f for f in found.files if not owned(f))


def _scan_stream(stream: rendering.Stream, options: ManifestOptions, plan: _Plan) -> Iterator[_Judged | Result]:
    """A rendered kustomization or chart, judged as one file named by it; each result points at the object's
    source file where it could be told (else the kustomization or Chart.yaml), since the lines of the
    rendered text are nowhere in the tree: messages say them as lines of the rendered output."""
    rendered_line = re.compile(rf"^{re.escape(stream.display)}:(\d+)(?=[: ])")

    def said_as_rendered(text: str) -> str:
        return rendered_line.sub(rf"{stream.display} (rendered, line \1)", text)

    said = False
    for item in _scan_text(stream.display, stream.text, False, False, options, plan):
        said = True
        result = item.result if isinstance(item, _Judged) else item
        resource = item.resource if isinstance(item, _Judged) else result.target.partition("#")[2].split(" ")[0]
        source = stream.sources.get(resource)
        where = source or Location(stream.display)
        detail = f"rendered by `{stream.said}`" + (f"; from {source.path}" if source else "")
        result = replace(
            result, location=where, details=(*result.details, detail),
            findings=tuple(replace(f, location=where) for f in result.findings),
            error=said_as_rendered(result.error) if result.error else None)
        if isinstance(item, _Judged):
            inline = tuple(replace(w, source=said_as_rendered(w.source)) for w in item.inline)
            yield replace(item, result=result, inline=inline)
        else:
            yield result
    if not said:
        yield Result(gate=GATE, target=stream.display, outcome=Outcome.PASSED, location=Location(stream.display),
                     details=(f"`{stream.said}` renders no Kubernetes object",))


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
"""Below this many files splitting a scan over forked children costs more than it saves, even with a
core to spare: each fork, the children's pickled results and the import of `pickle` (~3 ms) are paid
before a share's work is won back. Measured with both cores idle (`bench/pool_threshold.py --repeat 5`,
three runs, 2 cores), the split with pickle's import is 0.82-1.44x one process at 64 files, 1.05-1.49x at
128, 0.86-1.23x at 192 and 1.28-1.36x at 256 (57-61 ms one process, 42-45 ms split), then 1.43-1.51x at
384-512 files and 1.32-1.49x at 1,024; small trees vary most from run to run, so the threshold is where
every run paid.
"""


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity where the OS has one (a CI job pinned to one core of
    a large host must not fork a worker per core of the host), else the machine's count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1  # pragma: no cover - macOS, Windows


def _scan_files(files: Sequence[SourceFile], options: ManifestOptions, plan: _Plan) -> list[_Judged | Result]:
    """Scan files in order; large sets are split over this process and forked children, one per usable core."""
    workers = min(usable_cores(), 8)
    if (workers < 2 or len(files) < PARALLEL_MIN_FILES or not hasattr(os, "fork")
            or any(f.path == STDIN for f in files)):
        return [item for source in files for item in _scan_file(source, options, plan)]
    return _scan_forked(_shares(files, workers), options, plan)


def _shares(files: Sequence[SourceFile], count: int) -> list[Sequence[SourceFile]]:
    """`count` contiguous runs of files (walk order kept), of about equal file counts."""
    bounds = [len(files) * k // count for k in range(count + 1)]
    return [files[bounds[k]:bounds[k + 1]] for k in range(count)]


def _scan_forked(shares: Sequence[Sequence[SourceFile]], options: ManifestOptions,
                 plan: _Plan) -> list[_Judged | Result]:
    """The first share scanned here, each other one in a forked child that pickles its results into a pipe.

    No pool and no import of multiprocessing: a child inherits the plan and the imported modules through
    fork, and this process works too instead of waiting. Results come back in share order, so in walk
    order. A child that fails says why through its pipe; one that dies (a signal, EOF before a whole
    pickle, a non-zero status) is an error here too, never lost results. On any exception here (an
    interrupt included) every child is killed and reaped before it propagates.
    """
    import pickle  # noqa: F401 - here, before the fork, so that no child loads it again

    pids: list[int] = []  # children not reaped yet, in share order
    pipes: list[int] = []  # the read ends of their pipes not closed yet
    try:
        with interrupts.deferred():  # a signal must not land in an at-fork hook; children unblock it
            for share in shares[1:]:
                pid, pipe = _fork_child(share, options, plan, pipes)
                pids.append(pid)
                pipes.append(pipe)
        judged = [item for source in shares[0] for item in _scan_file(source, options, plan)]
        for pid, pipe in list(zip(pids, pipes, strict=True)):
            payload = _read_to_end(pipe)  # a child blocks on its full pipe only once its scan is done
            pipes.remove(pipe)
            os.close(pipe)
            status = os.waitpid(pid, 0)[1]
            pids.remove(pid)
            judged.extend(_results(pid, status, payload))
    except BaseException:  # SIGINT/SIGTERM (gates.interrupts), a child's failure, or this share's: stop them all
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for pipe in pipes:
            with contextlib.suppress(OSError):
                os.close(pipe)
        for pid in pids:
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)
        raise
    return judged


def _fork_child(share: Sequence[SourceFile], options: ManifestOptions, plan: _Plan,
                inherited: Sequence[int]) -> tuple[int, int]:
    """Fork a child that scans `share`, sends its results and exits: (its pid, the read end of its pipe)."""
    parent = os.getpid()
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except BaseException:
        os.close(read_end)
        os.close(write_end)
        raise
    if pid == 0:  # pragma: no cover - the child (coverage does not follow it): the tests check its results
        code = 1
        try:
            for fd in (read_end, *inherited):  # its siblings' pipes are the parent's to read
                os.close(fd)
            _child(share, options, plan, parent, write_end)
            code = 0
        finally:
            os._exit(code)  # never the parent's atexit handlers, finalisers or buffered output
    os.close(write_end)
    return pid, read_end


def _child(share: Sequence[SourceFile], options: ManifestOptions, plan: _Plan, parent: int, pipe: int) -> None:
    """A forked child's work: its share's results, or the exception that stopped it, pickled into `pipe`."""
    import pickle  # imported by the parent before the fork: nothing to load here

    try:
        _worker_started(parent)
        gc.disable()  # as in the parent's scan (inherited too, unless this is the end-of-scan look-up)
        results = [item for source in share for item in _scan_file(source, options, plan)]
        payload = pickle.dumps(("ok", results), pickle.HIGHEST_PROTOCOL)
    except BaseException as exc:  # every failure goes to the parent, which raises it
        payload = _pickled_error(exc)
    view = memoryview(payload)
    while view:
        view = view[os.write(pipe, view):]


def _pickled_error(exc: BaseException) -> bytes:
    """A child's exception, with its traceback, as the parent can unpickle it; a RuntimeError naming it
    where it does not survive pickling, or is no `Exception` (a child's SystemExit must not end the parent)."""
    import pickle
    import traceback

    said = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    if isinstance(exc, Exception):
        try:
            payload = pickle.dumps(("error", exc, said), pickle.HIGHEST_PROTOCOL)
            pickle.loads(payload)  # noqa: S301 - this process's own pickle
            return payload
        except Exception:  # noqa: S110 - not picklable, or not rebuilt from its pickle: said below
            pass
    stand_in = RuntimeError(f"{type(exc).__name__}: {exc}")
    return pickle.dumps(("error", stand_in, said), pickle.HIGHEST_PROTOCOL)


class _ChildTraceback(Exception):
    """The traceback of an exception raised in a forked child: the cause of its copy raised here."""

    def __str__(self) -> str:
        return f"\n{self.args[0]}"


def _read_to_end(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _results(pid: int, status: int, payload: bytes) -> list[_Judged | Result]:
    """A reaped child's results, or its failure raised here: never a quiet pass or lost results."""
    import pickle

    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        raise RuntimeError(f"a manifest scan worker (pid {pid}) was killed by {signal.Signals(-code).name}")
    if code != 0:
        raise RuntimeError(f"a manifest scan worker (pid {pid}) exited with status {code}")
    try:
        message = pickle.loads(payload)  # noqa: S301 - written by this process's own fork
    except Exception as exc:
        raise RuntimeError(f"a manifest scan worker (pid {pid}) ended without sending all its results"
                           f" ({type(exc).__name__}: {exc})") from None
    if message[0] == "error":
        raise message[1] from _ChildTraceback(message[2])
    results: list[_Judged | Result] = message[1]
    return results


def _worker_started(parent: int) -> None:
    """A forked child's set-up: never outlive the parent, never hold its terminal or CI pipes.

    Three layers, because each covers a case the others miss: the kernel kills a worker whose parent
    dies in any way, SIGKILL included (PR_SET_PDEATHSIG, Linux); a parent gone before that was armed is
    noticed by its pid; and with stdin, stdout and stderr on /dev/null even a worker that lingers (another
    OS) cannot keep the reader of gates' output waiting for end of file. Results and errors travel back
    through its pipe, so nothing is lost. SIGINT is ignored (a terminal's Ctrl-C reaches the whole
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
    yield from _scan_text(display, text, source.explicit, source.path == STDIN, options, plan)


def _scan_text(display: str, text: str, explicit: bool, stdin: bool, options: ManifestOptions,
               plan: _Plan) -> Iterator[_Judged | Result]:
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
    lenient = explicit and options.ignore_non_kubernetes and not stdin
    if non_mapping is not None and ((explicit and not lenient) or saw_kubernetes):
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
    elif explicit and not saw_kubernetes:
        # `helm template . | gates manifests -` (or `> out.yaml`) with a failing helm gives nothing: no pass.
        hint = " (did the command before the pipe fail?)" if stdin else ""
        where = "on standard input" if stdin else "in this file"
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
               f" `{rendering.kustomize_command('DIR')}`"),
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
                      error=f"{obj.api_version} {obj.kind} is not a network policy gates reads"
                            f" ({network_policy.KUBERNETES_POLICY}, Calico, Cilium): not read, and never counted as"
                            " covering a pod")
        return _Judged(result=said, resource=obj.resource, namespace=obj.namespace,
                       foreign_policy=f"{obj.api_version} {obj.resource}")
    unread = _unread(obj, plan)
    if unread is not None:
        return Result(gate=GATE, target=target, outcome=Outcome.SKIPPED, location=where, error=unread)
    if obj.not_understood:
        return _not_understood(display, root, obj, target, where)
    try:
        violations: list[Violation] = []
        reference = obj.workload_ref()
        if reference is None and obj.carries_pod:
            for pod in obj.pods():
                violations += [v for check in plan.pod.values() for v in check(pod)]
            violations += [v for check in plan.carriers.values() for v in check(obj)]
        elif reference is None:
            violations += [v for check in plan.objects.values() for v in check(obj)]
        violations += [v for check in plan.every.values() for v in check(obj)]
        places = {key: locate(root, path) for key, path in obj.annotation_paths.items()
                  if key.startswith(INLINE_PREFIX)}  # only waivers are ever placed: locate only them
        positions = {key: f"{display}:{place[0]}" if place else display for key, place in places.items()}
        inline = read_inline(obj.annotations, positions, obj.resource, plan.rules)
        policy = network_policy.policy_of(obj)  # validated here, so a broken policy is reported where it is
        in_gateway_api = bool(plan.objects) and obj.kind in gateway.KINDS
        listeners = gateway.http_listeners(obj) if in_gateway_api else ()
        route = gateway.route_of(obj) if in_gateway_api else None
    except FieldTypeError as exc:
        return _type_error(display, document, obj, exc)
    except InputError as exc:
        return error_result(GATE, target, str(exc), where)
    if policy is not None and policy.unjudged is not None:
        said = Result(gate=GATE, target=target, outcome=Outcome.SKIPPED, location=where,
                      error=f"{obj.api_version} {obj.kind} not judged: {policy.unjudged}; never counted as"
                            " covering a pod")
        return _Judged(result=said, resource=obj.resource, namespace=policy.namespace,
                       foreign_policy=policy.resource)
    findings = [_finding(v, obj, display, root, where, plan) for v in violations if v.rule not in plan.skip]
    result = decided_result(GATE, target, findings, where)
    if plan.objects and (said_too := access.details(obj)):
        result = replace(result, details=(*result.details, *said_too))
    if obj.by_shape:
        shapes = ", ".join(render_path(spec) for spec, _ in obj.pod_paths)
        read = "holds containers, so it was read as a pod spec" if len(obj.pod_paths) == 1 else \
            "hold containers, so they were read as pod specs"
        result = replace(result, details=(
            f"scanned by shape: {obj.api_version} {obj.kind} is not a kind gates knows, and its {shapes} {read}",))
    carries_own_pod = obj.carries_pod and reference is None
    waiver_errors = tuple(error_result(GATE, f"{target} {key}", problem, _placed(display, places.get(key), where))
                          for key, problem in inline.problems)
    return _Judged(
        result=result, resource=obj.resource, namespace=obj.namespace, inline=inline.waivers,
        pod_labels=network_policy.pod_labels(obj) if carries_own_pod else None, policy=policy,
        workload_ref=reference, waiver_errors=waiver_errors, http_listeners=listeners, route=route,
    )


def _unread(obj: Workload, plan: _Plan) -> str | None:
    """Why an object of the RBAC, network or Gateway API families is set aside unjudged (said, never passed)."""
    if obj.api_version.partition("/")[0] not in access.FAMILY_GROUPS and obj.kind not in access.FAMILY_KINDS:
        return None  # the common case, decided in one look-up
    return network_policy.unread(obj.kind, obj.api_version) or (
        access.unread(obj.kind, obj.api_version) if plan.objects else None)


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
    """Add a finding to every workload that is not in default deny, for ingress and for egress, by the policies read."""
    policies = [item.policy for item in judged if isinstance(item, _Judged) and item.policy is not None]
    everywhere = [p for p in policies if p.cluster_wide]
    by_namespace: dict[str | None, list[network_policy.Policy]] = {}
    for policy in policies:
        if not policy.cluster_wide:
            by_namespace.setdefault(policy.namespace, []).append(policy)
    foreign = [(item.namespace, item.foreign_policy) for item in judged
               if isinstance(item, _Judged) and item.foreign_policy is not None]
    rule = plan.rules["k8s-network-policy"]
    for index, item in enumerate(judged):
        if not isinstance(item, _Judged) or item.pod_labels is None:
            continue
        scope = [*by_namespace.get(item.namespace, ()), *everywhere]
        gaps = {gap.said(): gap for labels in item.pod_labels
                for gap in network_policy.coverage(item.namespace, labels, scope)}
        if not gaps:
            continue
        where = item.result.location or Location(item.result.target)
        namespace = item.namespace or "(unspecified)"
        uncounted = [name for scope, name in foreign if scope in (item.namespace, None)]
        also = (f" ({counted(len(uncounted), 'network policy')} not judged, so not counted: "
                f"{', '.join(uncounted[:3])}{', ...' if len(uncounted) > 3 else ''})") if uncounted else ""
        finding = Finding(
            rule=rule.id, severity=rule.severity, location=where, resource=item.resource,
            message=f"the pods of {item.resource} (namespace {namespace}): {'; '.join(gaps)}{also}",
        )
        result = item.result
        judged[index] = replace(item, result=replace(
            result, findings=(*result.findings, finding), outcome=Outcome.FAILED))


def _check_plain_http(judged: list[_Judged | Result]) -> None:
    """Settle each plain-HTTP listener's provisional finding against the routes of the scan that attach to it."""
    routes = [item.route for item in judged if isinstance(item, _Judged) and item.route is not None]
    for index, item in enumerate(judged):
        if not isinstance(item, _Judged) or not item.http_listeners:
            continue
        result = item.result
        provisional = [f for f in result.findings if f.rule == "k8s-gateway-plain-http"]
        if not provisional:
            continue  # the rule is skipped
        kept = [f for f in result.findings if f.rule != "k8s-gateway-plain-http"]
        notes = list(result.details)
        for listener, finding in zip(item.http_listeners, provisional, strict=True):
            message, note = gateway.judge_listener(listener, routes)
            if message is not None:
                field_path = finding.message[finding.message.rfind(" ("):]  # where `_finding` said the field is
                kept.append(replace(finding, message=message + field_path))
            if note is not None:
                notes.append(note)
        outcome = Outcome.FAILED if kept else Outcome.PASSED
        judged[index] = replace(item, result=replace(
            result, findings=tuple(kept), outcome=outcome, details=tuple(notes)))


def _resolve_workload_refs(judged: list[_Judged | Result], elsewhere: Sequence[_Judged | Result] = ()) -> None:
    """A Rollout with a workloadRef is vouched for only by its Deployment's result: that must be here, or
    (under a shard) in a file another shard judges."""
    carriers = {item.resource for item in (*judged, *elsewhere)
                if isinstance(item, _Judged) and item.pod_labels is not None}
    for index, item in enumerate(judged):
        if not isinstance(item, _Judged) or item.workload_ref is None:
            continue
        result = item.result
        if item.workload_ref in carriers:
            detail = f"its pods come from {item.workload_ref} (spec.workloadRef), judged in that object's result"
            judged[index] = replace(item, result=replace(
                result, details=(*result.details, detail)))
        else:
            judged[index] = error_result(
                GATE, result.target, f"{item.resource} takes its pod template from {item.workload_ref}"
                " (spec.workloadRef), which is not among the objects judged in this scan: its pods were not checked",
                result.location)


def _placed(display: str, place: tuple[int, int] | None, fallback: Location) -> Location:
    return Location(display, *place) if place else fallback
