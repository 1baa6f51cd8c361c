"""Run the base-image gate: one `Result` per image, every platform of an index judged inside it.

Per image: the manifest (or index), then per platform the config blob (age, user), the base (age,
drift, approval), and, only when a check needs them, the layers (OS end of life, point-release lag,
package patch level). Findings of a platform of an index start with that platform (`linux/arm64: ...`).
Anything the gate cannot decide (registry errors, hostile layers, a config blob that is not JSON, an
unreadable database, an unknown OS under `unknown-os = "error"`) makes the image an `error` result with
one line naming the image and the problem, never a pass; findings already made stay in that result.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

from gates.checks.base_image import rules as R
from gates.checks.base_image.base import (
    BaseImage,
    LayerCheck,
    Layers,
    Lookups,
    base_from_annotations,
    base_from_dockerfile,
    check_layers,
    claims_disagree,
)
from gates.checks.base_image.contents import ImageContents, inflated_digests, read_contents
from gates.checks.base_image.options import BaseImageOptions, Overrides, build_options
from gates.checks.base_image.provenance import PROVENANCE_SOURCE, attestation_for, read_provenance
from gates.checks.base_image.rolling import staleness
from gates.config import Config
from gates.distro.advisories import AdvisoryIndex, covered_ecosystems, ecosystems_for_release
from gates.distro.eol import EolDatabase, EolStatus, SupportPhase, load_preferred, point_version
from gates.distro.osv_data import load_advisories
from gates.distro.rolling import Rolling, release_from_packages, rolling_distribution
from gates.engine import GateJob
from gates.errors import GatesError, InputError, UsageError
from gates.interrupts import map_in_threads
from gates.model import Finding, Location, Outcome, Result, Severity, decided_result, one_line
from gates.oci.client import RegistryClient
from gates.oci.errors import ManifestError, RegistryError
from gates.oci.image_config import (
    ImageConfig,
    ManifestAnnotations,
    Timestamp,
    is_root_user,
    names_a_user,
    parse_manifest_annotations,
)
from gates.oci.manifest import Descriptor, ImageIndex, ImageManifest, Platform
from gates.oci.reference import Reference, parse_reference
from gates.paths import display_path
from gates.progress import Watch
from gates.targets.dockerfile import Dockerfile, parse_dockerfile
from gates.wording import counted

GATE = R.GATE
_RULES = {rule.id: rule for rule in R.RULES}
_ATTESTATION = "attestation-manifest"


@dataclass
class _Prepared:
    """What every image shares, loaded once before the workers start; a failure is kept as its message."""

    options: BaseImageOptions
    lookups: Lookups
    dockerfiles: dict[Path, Dockerfile | str] = field(default_factory=dict)
    """Every Dockerfile the options name, parsed, or the message saying why it does not parse."""
    eol: EolDatabase | None = None
    eol_problem: str | None = None
    eol_origin: str = ""
    advisories: AdvisoryIndex | None = None
    advisories_problem: str | None = None
    advisory_origins: dict[str, str] = field(default_factory=dict)
    """Base ecosystem (lower case) -> the downloaded OSV file and its date, named in every result using it."""


@dataclass
class _Verdict:
    """Findings, details and undecidable problems gathered for one image."""

    image: str
    findings: list[Finding] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    subject: str | None = None
    """The digest judged (the index's for a multi-arch image)."""

    def add(self, rule: str, message: str, label: str, severity: Severity | None = None,
            location: Location | None = None) -> None:
        text = f"{label}: {message}" if label else message
        self.findings.append(Finding(
            rule=rule, severity=severity or _RULES[rule].severity, message=text,
            location=location or Location(self.image), resource=self.image,
        ))

    def problem(self, message: str, label: str) -> None:
        self.problems.append(f"{label}: {message}" if label else message)


def scan(options: BaseImageOptions, client: RegistryClient, watch: Watch | None = None) -> list[Result]:
    """Judge every image of `options`, `concurrency` at a time, each under `watch` (for progress);
    results keep the order given."""
    prepared = prepare(options, client)
    if not options.images:
        return []

    def one(image: str) -> Result:
        if watch is None:
            return check_image(image, prepared)
        return watch(image, lambda: check_image(image, prepared))

    workers = max(1, min(options.concurrency, len(options.images)))
    return map_in_threads(one, options.images, workers, "base-image")


def prepare(options: BaseImageOptions, client: RegistryClient) -> _Prepared:
    """Load what all images share: the Dockerfile, the end-of-life data, the advisory database."""
    prepared = _Prepared(options, Lookups(client))
    named = [(options.dockerfile, "--dockerfile")] if options.dockerfile is not None else []
    for path, where in [*named, *((b.dockerfile, f"{b.where}.dockerfile") for b in options.builds)]:
        if path not in prepared.dockerfiles:
            prepared.dockerfiles[path] = _read_dockerfile(path, where)
    if any(options.enabled(r) for r in (R.OS_EOL, R.OS_UNKNOWN, R.POINT_RELEASE_LAG)):
        try:
            prepared.eol, prepared.eol_origin = load_preferred(options.eol_data)
        except InputError as exc:
            prepared.eol_problem = f"end-of-life data: {exc}"
    if options.patch_level:
        try:
            prepared.advisories, prepared.advisory_origins = load_advisories(options.advisories,
                                                                             options.downloaded_osv)
        except InputError as exc:
            prepared.advisories_problem = f"advisory database: {exc}"
    return prepared


MAX_DOCKERFILE_BYTES = 4 * 1024 * 1024
"""A Dockerfile larger than this is no Dockerfile anyone wrote: an error, never read into memory whole."""


def _read_dockerfile(path: Path, where: str) -> Dockerfile | str:
    """The parsed Dockerfile, shown by its path relative to the working directory as manifests are; a
    Dockerfile that does not parse is that message (an `error` of each image built from it)."""
    from gates.targets.files import NotRegularFile, read_regular

    try:
        text = read_regular(path, MAX_DOCKERFILE_BYTES + 1)
    except NotRegularFile:
        raise UsageError(f"{where} {display_path(path)}: not a regular file") from None
    except OSError as exc:
        raise UsageError(f"{where} {display_path(path)}: cannot read ({exc.strerror or exc})") from None
    if len(text) > MAX_DOCKERFILE_BYTES:
        return f"{display_path(path)}: larger than {MAX_DOCKERFILE_BYTES} bytes, not read as a Dockerfile"
    try:
        return parse_dockerfile(text, display_path(path))
    except InputError as exc:
        return str(exc)


def dockerfile_for(ref: Reference, options: BaseImageOptions) -> tuple[Path | None, str]:
    """The Dockerfile `ref` was built from, and why: the build that names it, else `dockerfile`.

    Two builds naming one image with different Dockerfiles cannot both be right: an `InputError`.
    """
    matching = [b for b in options.builds if base_is_allowed(ref, (b.image,))]
    chosen = {b.dockerfile for b in matching}
    if len(chosen) > 1:
        names = " and ".join(f"{b.where} ({display_path(b.dockerfile)})" for b in matching)
        raise InputError(f"the image matches {names}: which Dockerfile built it is ambiguous")
    if matching:
        return matching[0].dockerfile, matching[0].where
    return options.dockerfile, "dockerfile, for the images no build names"


def check_image(image: str, prepared: _Prepared) -> Result:
    """One image's result; every expected failure becomes an `error` result naming the image."""
    verdict = _Verdict(image)
    try:
        ref = parse_reference(image)
        _judge(ref, prepared, verdict)
    except (RegistryError, InputError) as exc:
        verdict.problems.insert(0, str(exc))
    except GatesError:
        raise
    return _result(verdict)


def _result(verdict: _Verdict) -> Result:
    location = Location(verdict.image)
    result = decided_result(GATE, verdict.image, verdict.findings, location)
    result = dataclasses.replace(result, details=tuple(verdict.details), subject=verdict.subject)
    if not verdict.problems:
        return result
    first = verdict.problems[0]
    more = f" (and {counted(len(verdict.problems) - 1, 'more problem')})" if len(verdict.problems) > 1 else ""
    line = first if first.startswith(verdict.image) else f"{verdict.image}: {first}"
    details = result.details + tuple(f"could not decide: {p}" for p in verdict.problems[1:])
    return dataclasses.replace(result, outcome=Outcome.ERROR, error=one_line(line + more), details=details)


def _judge(ref: Reference, prepared: _Prepared, verdict: _Verdict) -> None:
    client = prepared.lookups.client
    fetched = client.get_manifest(ref)
    parsed = fetched.parse()
    verdict.details.append(f"digest {fetched.digest}")
    verdict.subject = str(fetched.digest)
    if prepared.eol is not None and prepared.options.reads_layers:
        verdict.details.append(prepared.eol_origin)
    path, chosen_by = dockerfile_for(ref, prepared.options)
    dockerfile = prepared.dockerfiles[path] if path is not None else None
    if isinstance(dockerfile, str):
        verdict.problem(dockerfile, "")
        dockerfile = None
    elif dockerfile is not None:
        verdict.details.append(f"Dockerfile {dockerfile.path} (from {chosen_by})")
        if prepared.options.enabled(R.PINNING):
            _pinning(dockerfile, prepared.options, verdict)
        _dockerfile_rules(dockerfile, prepared.options, verdict)
    elif prepared.options.builds:  # a glob with a typo must not pass unnoticed
        verdict.details.append("no Dockerfile: no [[base-image.builds]] image glob matches this image, and no"
                               " dockerfile is set")
    if isinstance(parsed, ImageManifest):
        _judge_platform(ref, parsed, dict(parsed.annotations), None, "", prepared, dockerfile, verdict)
        return
    entries = [d for d in parsed.manifests if _wanted(d.platform, d.annotations, prepared.options.platforms)]
    if not entries:
        listed = ", ".join(str(d.platform) for d in parsed.manifests if d.platform) or "none"
        raise ManifestError(f"no platform of the index matches {list(prepared.options.platforms) or 'any'} "
                            f"(it lists: {listed})")
    for entry in entries:
        label = str(entry.platform) if entry.platform else str(entry.digest)
        manifest = client.get_manifest(ref.with_digest(entry.digest)).parse()
        if not isinstance(manifest, ImageManifest):
            raise ManifestError(f"{label}: index entry {entry.digest} is itself an index")
        annotations = {**_index_annotations(parsed), **entry.annotations, **manifest.annotations}
        verdict.details.append(f"{label}: digest {entry.digest}")
        _judge_platform(ref.with_digest(entry.digest), manifest, annotations, entry.platform, label, prepared,
                        dockerfile, verdict, attestation_for(parsed, entry.digest))


def _index_annotations(index: ImageIndex) -> dict[str, str]:
    return dict(index.annotations)


def _wanted(platform: Platform | None, annotations: object, globs: tuple[str, ...]) -> bool:
    """Real images of the index: not BuildKit's attestation manifests (`unknown/unknown`)."""
    if isinstance(annotations, dict) and annotations.get("vnd.docker.reference.type") == _ATTESTATION:
        return False
    if platform is not None and platform.os == "unknown":
        return False
    if not globs:
        return True
    return platform is not None and any(fnmatch.fnmatchcase(str(platform), g) for g in globs)


def _judge_platform(
    ref: Reference, manifest: ImageManifest, annotations: dict[str, str], platform: Platform | None,
    label: str, prepared: _Prepared, dockerfile: Dockerfile | None, verdict: _Verdict,
    attestation: Descriptor | None = None,
) -> None:
    """One platform's checks; `attestation` is its BuildKit attestation manifest in the index, if any."""
    options = prepared.options
    config = prepared.lookups.config_of(ref, manifest)
    marks = parse_manifest_annotations({"annotations": annotations}, f"manifest of {ref}", config.labels)
    if platform is None and config.os and config.architecture:
        platform = Platform(config.os, config.architecture)
    created = config.created if config.created.known or not marks.created.known else marks.created
    if options.enabled(R.IMAGE_AGE):
        _age(R.IMAGE_AGE, "image", created, options.max_age_days, options, label, verdict)
    try:
        _judge_base(ref, manifest, marks, config, platform, prepared, dockerfile, label, verdict, attestation)
    except (RegistryError, InputError) as exc:  # the checks below need only this image: still report them
        verdict.problem(f"base image: {exc}", label)
        verdict.details.append(_prefix(label, "base age, drift and approval not checked: the base could not be"
                                              " read"))
    contents = None
    needs_passwd = options.enabled(R.NON_ROOT) and names_a_user(config.user)  # a name may map to uid 0
    if options.reads_layers or needs_passwd:
        want_packages = options.patch_level
        contents = read_contents(prepared.lookups.client, ref, manifest, options.max_layer_bytes,
                                 packages=want_packages, passwd=options.enabled(R.NON_ROOT),
                                 package_files=options.reads_layers)
        if options.reads_layers:
            contents = _complete_release(contents, label, verdict)
            _os_checks(contents, created, prepared, label, verdict)
            if want_packages:
                _patch_level(contents, prepared, label, verdict)
    if options.enabled(R.NON_ROOT):
        _non_root(config, contents, label, verdict)


def _judge_base(ref: Reference, manifest: ImageManifest, marks: ManifestAnnotations, config: ImageConfig,
                platform: Platform | None, prepared: _Prepared, dockerfile: Dockerfile | None, label: str,
                verdict: _Verdict, attestation: Descriptor | None = None) -> None:
    """Base age, drift and approval: everything that needs the base from its registry."""
    options = prepared.options
    base, check = _establish_base(ref, manifest, marks, config, platform, prepared, dockerfile, label, verdict,
                                  attestation)
    verdict.details.append(_prefix(label, f"base {base or 'unknown'}"
                                          + (f" (from {base.source})" if base else " (no annotation, no Dockerfile)")))
    if base is not None and check is not None:
        state = "verified by layers" if check.verified else "unverified"
        inherited = ("; labels pass down every FROM, so it may be an ancestor rather than the last FROM"
                     if check.verified and base.source == "label" else "")
        verdict.details.append(_prefix(label, f"base {base} {state}: {check.reason}{inherited}"))
    if base is not None and not base.scratch:
        if check is None or check.verified:
            _base_checks(base, platform, prepared, label, verdict)
        else:
            verdict.details.append(_prefix(label, "base age and drift not checked: the base is unverified"))
    if options.enabled(R.APPROVED_BASE) and options.allowed:
        _approved(base, check, options.allowed, label, verdict)


def _prefix(label: str, text: str) -> str:
    return f"{label}: {text}" if label else text


def _age(rule: str, what: str, created: Timestamp, limit: int, options: BaseImageOptions, label: str,
         verdict: _Verdict) -> None:
    days = created.age_days(options.instant)
    if days is None:
        message = f"{what} age unknown: created is {created.unknown_reason} ({created.raw!r})"
        if options.unknown_age == "error":
            verdict.problem(message, label)
        else:
            verdict.add(rule, message, label)
        return
    assert created.value is not None
    if days < -1:  # a day of clock skew is tolerated; a build from the future is not a fresh build
        message = (f"{what} age unknown: created {created.value.date().isoformat()} is in the future"
                   f" ({created.raw!r})")
        if options.unknown_age == "error":
            verdict.problem(message, label)
        else:
            verdict.add(rule, message, label)
        return
    built = created.value.date().isoformat()
    verdict.details.append(_prefix(label, f"{what} created {built} ({counted(days, 'day')} ago)"))
    if days > limit:
        verdict.add(rule, f"{what} was built {counted(days, 'day')} ago ({created.value.date().isoformat()}), "
                          f"more than the {limit} allowed", label)


def _layers(manifest: ImageManifest, config: ImageConfig) -> Layers:
    return Layers(tuple(str(layer.digest) for layer in manifest.layers), config.diff_ids)


def _establish_base(ref: Reference, manifest: ImageManifest, marks: ManifestAnnotations, config: ImageConfig,
                    platform: Platform | None, prepared: _Prepared, dockerfile: Dockerfile | None, label: str,
                    verdict: _Verdict, attestation: Descriptor | None = None
                    ) -> tuple[BaseImage | None, LayerCheck | None]:
    """The base to judge, and how its layers bear the naming out (None: nothing to check, or scratch).

    Annotations and labels are the image's claim, BuildKit's unsigned provenance (read only when no
    annotation names the base) and the Dockerfile the build's: each names a base that is believed only
    when its layers are the image's first layers. A claim that contradicts the Dockerfile is a finding
    whichever is true; the first naming the layers bear out is judged. Of the images a provenance names
    (one per stage), the one with the most layers under this image is the base.
    """
    options = prepared.options
    claimed = base_from_annotations(marks)
    declared = base_from_dockerfile(dockerfile) if dockerfile is not None else None
    if claimed is not None and declared is not None and claims_disagree(claimed, declared) \
            and options.enabled(R.APPROVED_BASE):
        verdict.add(R.APPROVED_BASE, f"the image claims base {claimed} (by {claimed.source}), but the Dockerfile's "
                                     f"final stage is FROM {declared} ({declared.source})", label)
    needed = options.enabled(R.BASE_AGE) or options.enabled(R.BASE_DRIFT) or (
        options.enabled(R.APPROVED_BASE) and bool(options.allowed))
    provenance: tuple[BaseImage, ...] = ()
    if needed and attestation is not None and (claimed is None or claimed.source == "label"):
        provenance = _provenance_bases(ref, attestation, prepared, label, verdict)
    groups = [group for group in (provenance, (claimed,), (declared,)) if group and group[0] is not None]
    namings = [base for group in groups for base in group if base is not None]
    if not namings or not needed:
        return (namings[0] if namings else None), None

    def layer_check(base: BaseImage) -> tuple[LayerCheck, int]:
        digest, base_manifest, base_config = prepared.lookups.base_image(base, platform)
        where = f"{base.platform or platform or 'linux/amd64'} at {digest}"

        def inflated(count: int) -> tuple[str, ...]:
            return inflated_digests(prepared.lookups.client, ref, manifest.layers[:count], options.max_layer_bytes)

        check = check_layers(_layers(base_manifest, base_config), _layers(manifest, config), where, inflated)
        return check, len(base_manifest.layers)

    first: tuple[BaseImage, LayerCheck] | None = None
    for group in groups:
        checked: list[tuple[BaseImage, LayerCheck, int]] = []
        unread: list[tuple[BaseImage, GatesError]] = []
        for base in group:
            assert base is not None
            if base.scratch:
                return base, None  # nothing is pulled, so no layer can be compared
            try:
                checked.append((base, *layer_check(base)))
            except (RegistryError, InputError) as problem:
                if len(group) == 1:
                    raise
                unread.append((base, problem))  # a build stage's image may be private: another may settle it
        verified = [(base, check, count) for base, check, count in checked if check.verified]
        for skipped, why in unread:
            verdict.details.append(_prefix(label, f"{skipped} (from {skipped.source}) could not be read: {why}"))
        if verified:
            base, check, _ = max(verified, key=lambda item: item[2])  # the nearest: most layers under this image
            return base, check
        if unread:
            raise unread[0][1]  # it may have been the base: undecided, never unverified
        base, check, _ = checked[0]
        if base.built_on is None:  # the tag may have moved since the build: say how to make it checkable
            check = LayerCheck(False, f"{check.reason}; no base digest is recorded, so the tag's current digest"
                                      " was compared (record org.opencontainers.image.base.digest or pin FROM"
                                      " by digest)")
        if len(checked) > 1:
            others = counted(len(checked) - 1, "other image")
            check = LayerCheck(False, f"{check.reason}; nor are those of the {others} the provenance names")
        first = first or (base, check)
    assert first is not None
    return first


def _provenance_bases(ref: Reference, attestation: Descriptor, prepared: _Prepared, label: str,
                      verdict: _Verdict) -> tuple[BaseImage, ...]:
    """The images the platform's BuildKit provenance names (`InputError` when it is malformed)."""
    assert ref.digest is not None
    lookups = prepared.lookups
    subject = ref.digest
    found = lookups.once(("provenance", ref.name, str(attestation.digest)),
                         lambda: read_provenance(lookups.client, ref, attestation, subject))
    if found is None:
        verdict.details.append(_prefix(label, f"BuildKit attestation {attestation.digest} holds no provenance"))
        return ()
    if not found.candidates:
        verdict.details.append(_prefix(label, f"BuildKit provenance in {attestation.digest} names no image"))
    return found.candidates


def _base_checks(base: BaseImage, platform: Platform | None, prepared: _Prepared, label: str,
                 verdict: _Verdict) -> None:
    options = prepared.options
    lookups = prepared.lookups
    if options.enabled(R.BASE_AGE):
        digest, config = lookups.base_config(base, platform)
        verdict.details.append(_prefix(label, f"base manifest {digest}"))
        _age(R.BASE_AGE, "base image", config.created, options.max_base_age_days, options, label, verdict)
    if options.enabled(R.BASE_DRIFT):
        if base.built_on is None:
            verdict.details.append(_prefix(label, "base drift not checked: no base digest recorded"))
            return
        if base.ref is not None and base.ref.tag is None and base.ref.digest is not None:
            verdict.details.append(_prefix(label, "base drift not checked: the base is named by digest only,"
                                                  " with no tag that could move"))
            return
        moved = lookups.drift(base)
        if moved is not None:
            assert base.ref is not None
            tag = base.ref.repo_only().with_tag(base.ref.tag or "latest")
            verdict.add(R.BASE_DRIFT, f"base {tag} now points at {moved}, not at {base.built_on} that this "
                                      "image was built on: rebuild to pick up the base's updates", label)


def _approved(base: BaseImage | None, check: LayerCheck | None, allowed: tuple[str, ...], label: str,
              verdict: _Verdict) -> None:
    if base is None:
        verdict.add(R.APPROVED_BASE, "base image unknown (no base annotations, no --dockerfile): cannot be "
                                     "shown to match " + ", ".join(allowed), label)
        return
    if base.ref is None:
        return  # scratch: nothing is pulled
    if check is not None and not check.verified:
        verdict.add(R.APPROVED_BASE, f"base {base} (named by {base.source}) is unverified: {check.reason}, so "
                                     "the image cannot be shown to be built on it", label)
        return
    if not base_is_allowed(base.ref, allowed):
        named = f" (named by {base.source})" if base.source.startswith(PROVENANCE_SOURCE) else ""
        verdict.add(R.APPROVED_BASE, f"base {base.ref}{named} does not match any allowed base"
                                     f" ({', '.join(allowed)})", label)


def base_is_allowed(ref: Reference, allowed: tuple[str, ...]) -> bool:
    """Whether `ref` matches one of the (canonical) `allowed` globs, by full or short name, with or without tag."""
    bare = ref.repo_only()
    names = {bare.name, bare.familiar}
    if ref.tag:
        names |= {f"{name}:{ref.tag}" for name in list(names)}
    return any(fnmatch.fnmatchcase(name, glob) for name in names for glob in allowed)


def _pinning(dockerfile: Dockerfile, options: BaseImageOptions, verdict: _Verdict) -> None:
    for problem in dockerfile.pinning_problems(require_digest=options.require_digest):
        verdict.add(R.PINNING, f"FROM {problem.image} {problem.reason}", "",
                    location=Location(dockerfile.path, problem.line))


def _dockerfile_rules(dockerfile: Dockerfile, options: BaseImageOptions, verdict: _Verdict) -> None:
    from gates.checks.base_image.dockerfile_rules import check

    enabled = frozenset(r for r in R.DOCKERFILE_RULES if options.enabled(r))
    for finding in check(dockerfile, enabled):
        verdict.add(finding.rule, finding.message, "", location=Location(dockerfile.path, finding.line))


def _non_root(config: ImageConfig, contents: ImageContents | None, label: str, verdict: _Verdict) -> None:
    passwd = contents.passwd if contents is not None else None
    if is_root_user(config.user, passwd):
        shown = repr(config.user) if config.user else "not set"
        verdict.add(R.NON_ROOT, f"the image runs as root (config.User {shown})", label)


def _complete_release(contents: ImageContents, label: str, verdict: _Verdict) -> ImageContents:
    """A Debian os-release without VERSION_ID (distroless) completed from the `base-files` package."""
    release = contents.release
    if release is None or release.version_id or rolling_distribution(release) is not None:
        return contents
    db = contents.package_db()
    completed = release_from_packages(release, db.packages) if db is not None else None
    if completed is None:
        return contents
    verdict.details.append(_prefix(label, f"os-release names no VERSION_ID: the release is {completed.id} "
                                          f"{completed.version_id}, from {completed.source}"))
    return dataclasses.replace(contents, release=completed)


def _os_checks(contents: ImageContents, created: Timestamp, prepared: _Prepared, label: str,
               verdict: _Verdict) -> None:
    options = prepared.options
    release = contents.release
    if release is not None:
        pretty = release.pretty_name or f"{release.id} {release.version_id}"
        verdict.details.append(_prefix(label, f"OS {pretty} ({release.id} {release.version_id or '?'}, "
                                              f"from {release.source})"))
    else:
        verdict.details.append(_prefix(label, "OS not detected"))
    rolling = rolling_distribution(release)
    if rolling is not None:
        verdict.details.append(_prefix(label, f"{rolling.name} is a rolling distribution: no release reaches end "
                                              "of life, so it is judged by how old its packages are"))
        if options.enabled(R.ROLLING_STALE):
            _rolling_stale(rolling, contents, created, options, label, verdict)
        return
    if not any(options.enabled(r) for r in (R.OS_EOL, R.OS_UNKNOWN, R.POINT_RELEASE_LAG)):
        return
    if prepared.eol_problem is not None:
        verdict.problem(prepared.eol_problem, label)
        return
    db = prepared.eol
    assert db is not None
    if options.enabled(R.OS_EOL) or options.enabled(R.OS_UNKNOWN):
        answer = db.release_status(release, options.today, SupportPhase(options.eol_phase))
        if answer.status is EolStatus.END_OF_LIFE and options.enabled(R.OS_EOL):
            shown = f"{answer.distro} {answer.version}"
            if release is not None and release.pretty_name:
                shown += f" ({release.pretty_name})"
            verdict.add(R.OS_EOL, f"{shown} is end of life: {answer.reason}", label)
        elif answer.status is EolStatus.UNKNOWN and options.enabled(R.OS_UNKNOWN):
            message = f"OS support unknown: {answer.reason} ({prepared.eol_origin})"
            if options.unknown_os == "error":
                verdict.problem(message, label)
            else:
                verdict.add(R.OS_UNKNOWN, message, label)
        elif answer.status is EolStatus.SUPPORTED:
            verdict.details.append(_prefix(label, answer.reason))
    if options.enabled(R.POINT_RELEASE_LAG) and release is not None and release.id:
        version = point_version(release)
        lag = db.point_release_lag(release.id, version) if version else None
        if lag is not None and lag.behind > options.max_point_release_lag:
            behind = counted(lag.behind, "point release")
            verdict.add(R.POINT_RELEASE_LAG, f"{release.id} {lag.installed} is {behind} behind "
                                             f"{lag.latest} (at most {options.max_point_release_lag} allowed)",
                        label)


def _rolling_stale(rolling: Rolling, contents: ImageContents, created: Timestamp, options: BaseImageOptions,
                   label: str, verdict: _Verdict) -> None:
    measured = staleness(rolling, contents.package_db(), created, options.max_package_age_days, options.instant)
    if measured.days is None:
        if options.unknown_age == "error":
            verdict.problem(measured.said, label)
        else:
            verdict.add(R.ROLLING_STALE, measured.said, label)
    elif measured.too_old:
        verdict.add(R.ROLLING_STALE, measured.said, label)
    else:
        verdict.details.append(_prefix(label, measured.said))


def _patch_level(contents: ImageContents, prepared: _Prepared, label: str, verdict: _Verdict) -> None:
    options = prepared.options
    if prepared.advisories_problem is not None:
        verdict.problem(prepared.advisories_problem, label)
        return
    index = prepared.advisories
    assert index is not None
    db = contents.packages
    release = contents.release
    rolling = rolling_distribution(release)
    ecosystems = rolling.ecosystems if rolling else ecosystems_for_release(release) if release is not None else ()
    if rolling is not None and db is not None and db.packages and rolling.packages not in (None, db.manager.value):
        # an Arch os-release over a dpkg database: what the image is, nobody can tell, so no advisory source is
        # chosen by the claim (and its ages alone would pass packages no advisory was ever checked against)
        verdict.problem(f"its os-release names {rolling.name}, which ships {rolling.packages} packages, but the image"
                        f" holds {counted(len(db.packages), db.manager.value + ' package')}: the OS it claims is"
                        " not the one its packages are from, so no advisories can be matched", label)
        return
    if rolling is not None and not ecosystems and options.enabled(R.ROLLING_STALE):
        verdict.details.append(_prefix(label, f"no OSV ecosystem publishes {rolling.name}'s advisories: its patch "
                                              "level is judged by the age of its package builds alone"))
        return
    if db is None or not db.packages:
        if release is None:  # scratch or a static binary: no OS, no packages to patch
            verdict.details.append(_prefix(label, "no OS release and no dpkg, apk or rpm packages: patch level not "
                                                  "applicable"))
        elif ecosystems:  # an image of a known distribution whose package database was removed or emptied
            verdict.problem(f"no dpkg, apk or rpm package database in a {release.id} {release.version_id or ''}"
                            " image: its patch level cannot be judged", label)
        else:
            verdict.problem(f"the patch level of {release.id or 'this OS'} images cannot be judged (gates reads"
                            " dpkg, apk and rpm package databases)", label)
        return
    if not ecosystems:
        packages = counted(len(db.packages), db.manager.value + " package")
        if release is not None and release.id and release.version_id:  # Fedora, CentOS, Oracle Linux, ...
            verdict.problem(f"{packages}, but no OSV ecosystem is known for {release.id} {release.version_id},"
                            " so no advisories can be matched", label)
        else:
            verdict.problem(f"{packages}, but the OS release is unknown, so no advisories can be matched", label)
        return
    covered = covered_ecosystems(ecosystems, index.ecosystem_names())
    if not covered:
        hint = f" (gates data update --osv {ecosystems[0].split(':')[0]})" if options.downloaded_osv else ""
        verdict.problem(f"the advisory database has no records for {' or '.join(ecosystems)}{hint}", label)
        return
    for origin in dict.fromkeys(prepared.advisory_origins.get(e.split(":")[0].lower(), "") for e in covered):
        if origin:
            verdict.details.append(_prefix(label, origin))
    matched = 0
    reported: set[tuple[str, str, str]] = set()
    for ecosystem in covered:
        report = index.match(ecosystem, db.packages, ignore_unfixed=options.ignore_unfixed,
                             min_severity=options.min_severity)
        for line in report.undecided:
            verdict.problem(f"cannot compare versions: {line}", label)
        for match in report.matches:
            key = (match.advisory_id, match.package, match.installed_version)
            if key in reported:  # one advisory published for several products of a release (SUSE, Red Hat)
                continue
            reported.add(key)
            matched += 1
            names = ", ".join(match.aliases[:3])
            advisory = f"{match.advisory_id} ({names})" if names else match.advisory_id
            fix = f"fixed in {match.fixed_version}" if match.fixed_version else "no fix published yet"
            package = match.package if match.package == match.source_package else \
                f"{match.package} (source {match.source_package})"
            verdict.add(R.VULNERABLE_PACKAGE, f"{package} {match.installed_version} is affected by {advisory}: "
                                              f"{fix}", label, severity=match.severity)
    verdict.details.append(_prefix(label, f"{counted(len(db.packages), db.manager.value + ' package')} checked against "
                                          f"{', '.join(covered)}: {matched} affected (read from "
                                          f"{', '.join(db.files[:3])}{', ...' if len(db.files) > 3 else ''})"))



def base_image_job(config: Config, flags: Overrides | None = None) -> GateJob:
    """The gate as a job; options are built when it runs, from config and flags."""
    return GateJob(GATE, lambda: scan_config(config, flags))


def scan_config(config: Config, flags: Overrides | None = None) -> list[Result]:
    """The gate as `gates base-image` and `gates run` use it: options from config and flags, a client
    from `[registry]` (with its on-disk digest cache), closed afterwards."""
    from gates.progress import Progress
    from gates.registry_client import client_from_config

    base = config.source.parent if config.source else Path.cwd()
    options = build_options(
        config.section("base-image"), config.section("patch-level"), config.section("registry"),
        config_dir=base, today=config.today, injected_today=config.now is not None, flags=flags,
    )
    if config.shard is not None:  # each image is its own target: this shard fetches only its own
        options = dataclasses.replace(options, images=tuple(config.shard.select(options.images, str)))
    with Progress(GATE, len(options.images)) as progress, \
            client_from_config(config, on_retry=progress.retry) as client:
        return scan(options, client, progress.track)
