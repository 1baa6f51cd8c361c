"""Base images named by BuildKit's provenance attestations: unsigned evidence, never verification.

BuildKit stores provenance in the image index itself: an `attestation-manifest` entry per platform
(`vnd.docker.reference.digest` names the platform manifest), whose `application/vnd.in-toto+json` layers
hold an in-toto statement with SLSA provenance (v0.2 `materials`, v1 `resolvedDependencies`). Nothing
signs it, so the images it names are only candidates: like an annotation, a base it names counts only
when its layers are this image's first layers. A multi-stage build names every stage's image; the
frontend image (`# syntax=`) is left out, and the layer check settles which image is the base.

Only the provenance layer is fetched (never an SBOM), bounded in size; anything malformed is an
`InputError` naming the attestation, never an image without a base.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gates.checks.base_image.base import BaseImage
from gates.errors import InputError
from gates.oci.client import RegistryClient
from gates.oci.digest import Digest
from gates.oci.errors import InvalidReferenceError
from gates.oci.manifest import Descriptor, ImageIndex, ImageManifest, Platform
from gates.oci.reference import Reference, parse_reference

REFERENCE_TYPE = "vnd.docker.reference.type"
REFERENCE_DIGEST = "vnd.docker.reference.digest"
ATTESTATION_MANIFEST = "attestation-manifest"
IN_TOTO_LAYER = "application/vnd.in-toto+json"
PREDICATE_ANNOTATION = "in-toto.io/predicate-type"
SLSA_V02 = "https://slsa.dev/provenance/v0.2"
SLSA_V1 = "https://slsa.dev/provenance/v1"
STATEMENT_TYPES = frozenset({"https://in-toto.io/Statement/v0.1", "https://in-toto.io/Statement/v1"})

PROVENANCE_SOURCE = "unsigned BuildKit provenance"
"""How a base named by provenance states its origin (`BaseImage.source` starts with it)."""
MAX_PROVENANCE_BYTES = 8 * 1024 * 1024
"""mode=max provenance carries the LLB and source maps: hundreds of kilobytes; far past this is not one."""
MAX_BASE_CANDIDATES = 16
"""Images a provenance may name (one per stage): each costs registry requests to check against the layers."""


@dataclass(frozen=True)
class Provenance:
    """What one provenance attestation says about the image's base: the images it was built from."""

    attestation: Digest
    """The attestation manifest, named in details and messages."""
    predicate_type: str
    candidates: tuple[BaseImage, ...]
    """Every image the build resolved (not the frontend), in the provenance's order."""


def attestation_for(index: ImageIndex, manifest: Digest) -> Descriptor | None:
    """The index's BuildKit attestation manifest for the platform manifest `manifest`, if it has one."""
    return next((entry for entry in index.manifests
                 if entry.annotations.get(REFERENCE_TYPE) == ATTESTATION_MANIFEST
                 and entry.annotations.get(REFERENCE_DIGEST) == str(manifest)), None)


def read_provenance(client: RegistryClient, ref: Reference, attestation: Descriptor,
                    subject: Digest) -> Provenance | None:
    """The provenance of the attestation manifest (None when it holds none, e.g. an SBOM only).

    Two requests: the attestation manifest, then its provenance layer (`MAX_PROVENANCE_BYTES` at most).
    """
    where = f"BuildKit attestation {attestation.digest}"
    manifest = client.get_manifest(ref.with_digest(attestation.digest)).parse()
    if not isinstance(manifest, ImageManifest):
        raise InputError(f"{where}: is an index, not an attestation manifest")
    layers = [layer for layer in manifest.layers if layer.media_type == IN_TOTO_LAYER
              and layer.annotations.get(PREDICATE_ANNOTATION) in (SLSA_V02, SLSA_V1)]
    if not layers:
        return None
    if len(layers) > 1:
        raise InputError(f"{where}: holds {len(layers)} provenance statements; which one describes the build is"
                         " ambiguous")
    [layer] = layers
    data = client.get_blob(ref, layer.digest, MAX_PROVENANCE_BYTES)
    expected = layer.annotations[PREDICATE_ANNOTATION]
    source = f"{PROVENANCE_SOURCE}, attestation {str(attestation.digest)[:19]}"
    return Provenance(attestation.digest, expected, parse_provenance(data, subject, expected, where, source))


def parse_provenance(data: bytes, subject: Digest, predicate_type: str, where: str,
                     source: str = PROVENANCE_SOURCE) -> tuple[BaseImage, ...]:
    """The images an in-toto SLSA provenance statement about `subject` names as resolved dependencies;
    `source` is how each names its origin (`BaseImage.source`)."""
    doc = _json_object(data, where)
    if doc.get("_type") not in STATEMENT_TYPES:
        raise InputError(f"{where}: _type {_shown(doc.get('_type'))} is not an in-toto statement")
    if doc.get("predicateType") != predicate_type:
        raise InputError(f"{where}: predicateType {_shown(doc.get('predicateType'))} is not the layer's"
                         f" {predicate_type}")
    _check_subject(doc.get("subject"), subject, where)
    predicate = doc.get("predicate")
    if not isinstance(predicate, dict):
        raise InputError(f"{where}: predicate is not an object")
    if predicate_type == SLSA_V02:
        dependencies = predicate.get("materials", [])
        field_name, frontend = "materials", _frontend(predicate.get("invocation"), "parameters")
    else:
        definition = predicate.get("buildDefinition")
        if not isinstance(definition, dict):
            raise InputError(f"{where}: predicate.buildDefinition is not an object")
        dependencies = definition.get("resolvedDependencies", [])
        field_name, frontend = "resolvedDependencies", _frontend(definition, "externalParameters", "request")
    if not isinstance(dependencies, list):
        raise InputError(f"{where}: {field_name} is not a list")
    candidates: list[BaseImage] = []
    for number, item in enumerate(dependencies, start=1):
        base = _image(item, f"{where}: {field_name}[{number}]", source)
        if base is None or (frontend is not None and base.ref is not None
                            and base.ref.repo_only().name == frontend):
            continue
        candidates.append(base)
    if len(candidates) > MAX_BASE_CANDIDATES:
        raise InputError(f"{where}: names {len(candidates)} images, more than the {MAX_BASE_CANDIDATES} a build's"
                         " stages plausibly use")
    return tuple(candidates)


def _json_object(data: bytes, where: str) -> dict[str, Any]:
    from gates import jsonstrict

    try:
        doc = jsonstrict.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"{where}: the provenance is not JSON ({_reason(exc)})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{where}: the provenance is not a JSON object")
    return doc


def _check_subject(subjects: object, subject: Digest, where: str) -> None:
    """The statement must be about this platform manifest: provenance of another image names another base."""
    if not isinstance(subjects, list) or not subjects:
        raise InputError(f"{where}: subject is missing or not a list")
    found = [s.get("digest", {}).get(subject.algorithm) if isinstance(s, dict) and
             isinstance(s.get("digest"), dict) else None for s in subjects]
    if subject.hex not in found:
        named = ", ".join(f"{subject.algorithm}:{str(f)[:64]}" for f in found if isinstance(f, str)) or "none"
        raise InputError(f"{where}: the statement is about {named}, not this image's manifest {subject}")


def _frontend(node: object, *path: str) -> str | None:
    """The repository of a gateway frontend image (`# syntax=docker/dockerfile:1`), which builds nothing in."""
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    args = node.get("args") if isinstance(node, dict) else None
    if not isinstance(node, dict) or node.get("frontend") != "gateway.v0" or not isinstance(args, dict):
        return None
    source = args.get("source") or args.get("cmdline")
    if not isinstance(source, str):
        return None
    try:
        return parse_reference(source).repo_only().name
    except InvalidReferenceError:
        return None


def _image(item: object, where: str, source: str) -> BaseImage | None:
    """A `pkg:docker/...` dependency as a base; None for git, HTTP and other sources."""
    if not isinstance(item, dict) or not isinstance(item.get("uri"), str):
        raise InputError(f"{where}: not an object with a string uri")
    uri: str = item["uri"]
    if not uri.startswith("pkg:docker/"):
        return None
    from packageurl import PackageURL

    try:
        purl = PackageURL.from_string(uri)
    except ValueError as exc:
        raise InputError(f"{where}: {_shown(uri)} is not a package URL ({_reason(exc)})") from None
    qualifiers = purl.qualifiers if isinstance(purl.qualifiers, Mapping) else {}
    name = f"{purl.namespace}/{purl.name}" if purl.namespace else purl.name
    version = purl.version or ""
    text = name + (f"@{version}" if ":" in version else f":{version}" if version else "")
    try:
        ref = parse_reference(text)
        digest = _digest(item.get("digest"), qualifiers.get("digest"), ref.digest, where)
    except InvalidReferenceError as exc:
        raise InputError(f"{where}: {_shown(uri)}: {exc}") from None
    return BaseImage(ref, digest, source, _platform(qualifiers.get("platform")))


def _digest(recorded: object, qualifier: object, in_reference: Digest | None, where: str) -> Digest | None:
    """The digest the build resolved: the dependency's `digest.sha256`; a `?digest=` or `@digest` must agree."""
    if recorded is not None and not isinstance(recorded, dict):
        raise InputError(f"{where}: digest is not an object")
    found = Digest("sha256", recorded["sha256"]) if recorded and isinstance(recorded.get("sha256"), str) else None
    for other in (Digest.parse(qualifier) if isinstance(qualifier, str) else None, in_reference):
        if other is None:
            continue
        if found is not None and other != found:
            raise InputError(f"{where}: names digest {other} and {found}: which one was built on is ambiguous")
        found = other
    return found


def _platform(text: object) -> Platform | None:
    if not isinstance(text, str):
        return None
    parts = text.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        return None
    return Platform(parts[0], parts[1], parts[2] if len(parts) == 3 else None)


def _shown(value: object) -> str:
    return repr(value)[:120]


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return text[:160]
