"""BuildKit's unsigned provenance names the base when annotations do not: believed only on the layers.

Images are pushed to the real registry as BuildKit stores them: an index whose `attestation-manifest`
entry (platform unknown/unknown, `vnd.docker.reference.digest` = the platform manifest) holds an in-toto
statement with SLSA provenance v0.2 (`materials`) or v1 (`resolvedDependencies`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gates.checks.base_image.gate import scan
from gates.checks.base_image.options import BaseImageOptions
from gates.checks.base_image.provenance import (
    PROVENANCE_SOURCE,
    SLSA_V02,
    SLSA_V1,
    attestation_for,
    parse_provenance,
)
from gates.errors import InputError
from gates.model import Outcome, Result
from gates.oci import mediatypes
from gates.oci.cache import DigestCache
from gates.oci.client import RegistryClient
from gates.oci.credentials import StaticCredentials
from gates.oci.digest import Digest
from gates.oci.manifest import Descriptor, ImageIndex, Platform
from tests.checks_base_image.images import APP, BASE_DIGEST, BASE_NAME, DEBIAN_13, ref
from tests.conftest import require_corpus
from tests.support import oci_images as oi
from tests.support.registry import RegistryServer

TODAY = dt.date(2026, 11, 24)
EVIL = oi.layer({"etc/os-release": 'ID=debian\nVERSION_ID="13"\n', "usr/bin/miner": "#!/bin/sh\n"})
TOOLCHAIN = oi.layer({"usr/local/go/VERSION": "go1.21\n"})
ONLY_BASE = frozenset({"base-image-os-eol", "base-image-os-unknown", "base-image-point-release-lag",
                       "base-image-vulnerable-package", "base-image-non-root", "base-image-pinning",
                       "base-image-age"})
_counter = itertools.count()


def _purl(reference: str, digest: Digest) -> str:
    """`host/path:tag` as BuildKit writes a resolved image: pkg:docker/host/path@tag?digest=...&platform=..."""
    name, _, tag = reference.rpartition(":")
    return f"pkg:docker/{name}@{tag}?digest={digest}&platform=linux%2Famd64"


def statement(version: str, subject: Digest, images: Sequence[tuple[str, Digest]],
              frontend: tuple[str, Digest] | None = None) -> dict[str, Any]:
    """A BuildKit-shaped provenance about `subject` that resolved `images` (and a frontend and a git source)."""
    dependencies = [{"uri": _purl(name, digest), "digest": {"sha256": digest.hex}} for name, digest in images]
    if frontend is not None:
        dependencies.insert(0, {"uri": _purl(*frontend), "digest": {"sha256": frontend[1].hex}})
    dependencies.append({"uri": "https://github.com/acme/app.git#4d329c75e7ec1725f7c9ce917a8799d408d06be3",
                         "digest": {"sha1": "4d329c75e7ec1725f7c9ce917a8799d408d06be3"}})
    request = {"frontend": "gateway.v0", "args": {"source": frontend[0]}} if frontend else \
        {"frontend": "dockerfile.v0", "args": {}}
    if version == SLSA_V02:
        predicate: dict[str, Any] = {
            "builder": {"id": ""}, "buildType": "https://mobyproject.org/buildkit@v1", "materials": dependencies,
            "invocation": {"configSource": {"entryPoint": "Dockerfile"}, "parameters": request},
        }
        kind = "https://in-toto.io/Statement/v0.1"
    else:
        predicate = {"buildDefinition": {
            "buildType": "https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md",
            "externalParameters": {"configSource": {"path": "Dockerfile"}, "request": request},
            "resolvedDependencies": dependencies,
        }, "runDetails": {"builder": {"id": ""}}}
        kind = "https://in-toto.io/Statement/v1"
    return {"_type": kind, "predicateType": version, "predicate": predicate,
            "subject": [{"name": "pkg:docker/acme/app@1?platform=linux%2Famd64", "digest": {"sha256": subject.hex}}]}


def push_buildkit_index(client: RegistryClient, target: str, image: oi.Image, provenance: bytes | None,
                        predicate_type: str = SLSA_V1, extra_layers: Sequence[tuple[bytes, str]] = ()) -> str:
    """Push `image` in an index with a BuildKit attestation manifest whose layer is `provenance`."""
    reference = ref(target)
    oi.push_image(client, reference.repo_only().with_digest(image.digest), image)
    entries = [Descriptor(image.media_type, image.digest, len(image.manifest),
                          platform=Platform("linux", "amd64")).to_json()]
    if provenance is not None:
        layers = [(provenance, predicate_type), *extra_layers]
        attestation = oi.image([blob for blob, _ in layers], os="unknown", architecture="unknown",
                               layer_media_type="application/vnd.in-toto+json")
        manifest = json.loads(attestation.manifest)
        for descriptor, (_, kind) in zip(manifest["layers"], layers, strict=True):
            descriptor["annotations"] = {"in-toto.io/predicate-type": kind}
        body = json.dumps(manifest).encode()
        attestation = oi.Image(body, attestation.config, attestation.layers)
        oi.push_image(client, reference.repo_only().with_digest(attestation.digest), attestation)
        entries.append({**Descriptor(attestation.media_type, attestation.digest, len(body),
                                     platform=Platform("unknown", "unknown")).to_json(),
                        "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                                        "vnd.docker.reference.digest": str(image.digest)}})
    doc = {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": entries}
    client.put_manifest(reference, json.dumps(doc).encode(), mediatypes.OCI_INDEX)
    return target


class Lab:
    """Bases and the apps built on them, in one registry."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.client = RegistryClient(StaticCredentials({}))
        self.debian = f"{host}/approved/debian:13"
        self.debian_digest = oi.push_image(self.client, ref(self.debian),
                                           oi.image([DEBIAN_13], created="2026-11-10T08:00:00Z"))
        self.golang = f"{host}/builders/golang:1.21"
        self.golang_digest = oi.push_image(self.client, ref(self.golang),
                                           oi.image([DEBIAN_13, TOOLCHAIN], created="2026-11-01T00:00:00Z"))
        self.frontend = f"{host}/docker/dockerfile:1"  # never pushed: reading it would be an error
        self.frontend_digest = oi.image([oi.layer({"bin/frontend": "x"})]).digest

    def app(self, layers: Sequence[bytes], annotations: Mapping[str, str] | None = None) -> oi.Image:
        return oi.image([*layers, APP], created="2026-11-20T00:00:00Z", user="1000", annotations=annotations)

    def target(self) -> str:
        return f"{self.host}/provenance/app:{next(_counter)}"


@pytest.fixture(scope="module")
def lab(registry: RegistryServer) -> Iterator[Lab]:
    built = Lab(registry.host)
    yield built
    built.client.close()


def judge(image: str, allowed: tuple[str, ...] = ()) -> tuple[Result, int]:
    """The result on `image`, and the registry requests it cost (a fresh client and cache)."""
    options = BaseImageOptions(images=(image,), allowed=allowed, skip_rules=ONLY_BASE, today=TODAY,
                               now=dt.datetime.combine(TODAY, dt.time(), dt.timezone.utc))
    with RegistryClient(StaticCredentials({}), cache=DigestCache()) as client:
        [result] = scan(options, client)
        return result, client.request_count


@pytest.mark.parametrize("version", [SLSA_V02, SLSA_V1])
def test_base_from_provenance_is_verified_by_layers(lab: Lab, version: str) -> None:
    """A multi-stage build: the frontend, a golang build stage and the debian final stage; the layers
    show debian is the base (golang's toolchain layer is not in the image)."""
    app = lab.app([DEBIAN_13])
    provenance = statement(version, app.digest, [(lab.golang, lab.golang_digest), (lab.debian, lab.debian_digest)],
                           frontend=(lab.frontend, lab.frontend_digest))
    image = push_buildkit_index(lab.client, lab.target(), app, json.dumps(provenance).encode(), version)
    result, _ = judge(image, allowed=(f"{lab.host}/approved/*",))
    assert result.outcome is Outcome.PASSED, (result.findings, result.error)
    [named] = [d for d in result.details if d.startswith("linux/amd64: base ") and "(from" in d]
    assert f"base {lab.debian} (from {PROVENANCE_SOURCE}, attestation sha256:" in named
    assert any("verified by layers: its layers (1," in d for d in result.details)
    assert not any("could not be read" in d for d in result.details)


def test_provenance_naming_an_unapproved_base_says_where_the_base_came_from(lab: Lab) -> None:
    app = lab.app([DEBIAN_13, TOOLCHAIN])  # really built FROM golang
    provenance = statement(SLSA_V1, app.digest, [(lab.golang, lab.golang_digest), (lab.debian, lab.debian_digest)])
    image = push_buildkit_index(lab.client, lab.target(), app, json.dumps(provenance).encode())
    result, _ = judge(image, allowed=(f"{lab.host}/approved/*",))
    assert result.outcome is Outcome.FAILED
    [finding] = result.findings
    assert finding.rule == "base-image-approved-base"
    assert f"base {lab.golang} (named by {PROVENANCE_SOURCE}" in finding.message  # the nearest
    assert "does not match any allowed base" in finding.message


def test_lying_provenance_whose_base_layers_are_not_a_prefix_fails_the_claim(lab: Lab) -> None:
    app = lab.app([EVIL])
    provenance = statement(SLSA_V1, app.digest, [(lab.debian, lab.debian_digest)])
    image = push_buildkit_index(lab.client, lab.target(), app, json.dumps(provenance).encode())
    result, _ = judge(image, allowed=(f"{lab.host}/approved/*",))
    assert result.outcome is Outcome.FAILED
    [finding] = result.findings
    assert finding.rule == "base-image-approved-base"
    assert f"(named by {PROVENANCE_SOURCE}, attestation sha256:" in finding.message
    assert "is unverified: its layers (1," in finding.message and "are not the first" in finding.message


def test_several_named_images_none_under_the_layers_fails_saying_so(lab: Lab) -> None:
    app = lab.app([EVIL])
    provenance = statement(SLSA_V02, app.digest, [(lab.golang, lab.golang_digest), (lab.debian, lab.debian_digest)])
    image = push_buildkit_index(lab.client, lab.target(), app, json.dumps(provenance).encode(), SLSA_V02)
    result, _ = judge(image, allowed=(f"{lab.host}/approved/*",))
    [finding] = result.findings
    assert "nor are those of the 1 other image the provenance names" in finding.message


def test_annotations_naming_the_base_cost_no_request_for_the_provenance(lab: Lab) -> None:
    claim = {BASE_NAME: lab.debian, BASE_DIGEST: str(lab.debian_digest)}
    app = lab.app([DEBIAN_13], annotations=claim)
    lying = statement(SLSA_V1, app.digest, [(lab.golang, lab.golang_digest)])  # would fail if it were read
    with_attestation = push_buildkit_index(lab.client, lab.target(), app, json.dumps(lying).encode())
    without = push_buildkit_index(lab.client, lab.target(), app, None)
    unannotated = lab.app([DEBIAN_13])
    provenance = statement(SLSA_V1, unannotated.digest, [(lab.debian, lab.debian_digest)])
    from_provenance = push_buildkit_index(lab.client, lab.target(), unannotated, json.dumps(provenance).encode())
    allowed = (f"{lab.host}/approved/*",)
    (annotated, requests), (plain, plain_requests) = judge(with_attestation, allowed), judge(without, allowed)
    assert annotated.outcome is plain.outcome is Outcome.PASSED
    assert any("(from annotation)" in d for d in annotated.details)
    assert requests == plain_requests
    proven, proven_requests = judge(from_provenance, allowed)
    assert proven.outcome is Outcome.PASSED
    assert proven_requests == plain_requests + 2  # the attestation manifest and its provenance layer


def test_provenance_is_read_when_only_labels_name_the_base(lab: Lab) -> None:
    """Labels pass down every FROM (they may name an ancestor): the build's provenance is asked first."""
    inherited = {BASE_NAME: lab.golang, BASE_DIGEST: str(lab.golang_digest)}
    app = oi.image([DEBIAN_13, APP], created="2026-11-20T00:00:00Z", user="1000", labels=inherited)
    provenance = statement(SLSA_V1, app.digest, [(lab.debian, lab.debian_digest)])
    image = push_buildkit_index(lab.client, lab.target(), app, json.dumps(provenance).encode())
    result, _ = judge(image, allowed=(f"{lab.host}/approved/*",))
    assert result.outcome is Outcome.PASSED, result.findings
    assert any(f"base {lab.debian} (from {PROVENANCE_SOURCE}" in d for d in result.details)


def test_an_sbom_only_attestation_is_not_read_past_its_manifest(lab: Lab) -> None:
    app = lab.app([DEBIAN_13])
    sbom = json.dumps({"_type": "https://in-toto.io/Statement/v0.1", "predicateType": "https://spdx.dev/Document"})
    image = push_buildkit_index(lab.client, lab.target(), app, sbom.encode(), "https://spdx.dev/Document")
    plain = push_buildkit_index(lab.client, lab.target(), lab.app([DEBIAN_13]), None)
    result, requests = judge(image, allowed=(f"{lab.host}/approved/*",))
    _, plain_requests = judge(plain, allowed=(f"{lab.host}/approved/*",))
    assert result.outcome is Outcome.FAILED  # the base stays unknown: approval cannot be shown
    assert "base image unknown" in result.findings[0].message
    assert any("holds no provenance" in d for d in result.details)
    assert requests == plain_requests + 1  # its manifest only, never the SBOM layer


@pytest.mark.parametrize(
    ("provenance", "message"),
    [
        (b"{not json", "the provenance is not JSON"),
        (b'{"_type": "https://in-toto.io/Statement/v1", "_type": "x"}', "key \"_type\" appears twice"),
        (b"[]", "the provenance is not a JSON object"),
        (json.dumps({"_type": "https://in-toto.io/Statement/v1", "predicateType": SLSA_V02}).encode(),
         f"is not the layer's {SLSA_V1}"),
        (json.dumps({"_type": "https://in-toto.io/Statement/v1", "predicateType": SLSA_V1,
                     "subject": [{"digest": {"sha256": "ab" * 32}}]}).encode(),
         "the statement is about sha256:" + "ab" * 32 + ", not this image's manifest"),
        ("NOT_A_LIST", "resolvedDependencies is not a list"),
        ("PURL", "is not a package URL"),
        ("DIGESTS", "which one was built on is ambiguous"),
    ],
)
def test_malformed_provenance_is_an_error_of_one_line_never_a_pass(lab: Lab, provenance: bytes | str,
                                                                    message: str) -> None:
    app = lab.app([DEBIAN_13])
    if isinstance(provenance, str):
        doc = statement(SLSA_V1, app.digest, [(lab.debian, lab.debian_digest)])
        dependencies = doc["predicate"]["buildDefinition"]["resolvedDependencies"]
        if provenance == "NOT_A_LIST":
            doc["predicate"]["buildDefinition"]["resolvedDependencies"] = {"uri": "pkg:docker/x"}
        elif provenance == "PURL":
            dependencies[0]["uri"] = "pkg:docker/"
        else:
            dependencies[0]["digest"] = {"sha256": "cd" * 32}
        provenance = json.dumps(doc).encode()
    image = push_buildkit_index(lab.client, lab.target(), app, provenance)
    result, _ = judge(image, allowed=(f"{lab.host}/approved/*",))
    assert result.outcome is Outcome.ERROR
    assert result.error is not None and "\n" not in result.error
    assert message in result.error and "BuildKit attestation sha256:" in result.error


def test_an_oversized_provenance_is_refused(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    from gates.checks.base_image import provenance as module

    monkeypatch.setattr(module, "MAX_PROVENANCE_BYTES", 64)
    app = lab.app([DEBIAN_13])
    doc = statement(SLSA_V1, app.digest, [(lab.debian, lab.debian_digest)])
    image = push_buildkit_index(lab.client, lab.target(), app, json.dumps(doc).encode())
    result, _ = judge(image, allowed=(f"{lab.host}/approved/*",))
    assert result.outcome is Outcome.ERROR and result.error is not None
    assert "over the cap of 64" in result.error and "\n" not in result.error


def test_corpus_buildkit_provenance_names_its_stage_images() -> None:
    """The BuildKit attestation in slsa-verifier's container test data: both stages' images, not the git source."""
    root = require_corpus("attestations")
    [record] = [r for r in json.loads((root / "expected.json").read_text()) if r["set"] == "buildkit"]
    layout = root / record["oci_layout"] / "blobs" / "sha256"
    subject = Digest.parse(record["index_entry_annotations"]["vnd.docker.reference.digest"])
    data = (layout / record["layer"]["digest"].removeprefix("sha256:")).read_bytes()
    bases = parse_provenance(data, subject, record["predicateType"], "corpus")
    images = [m for m in record["materials"] if m["uri"].startswith("pkg:docker/")]
    assert [b.built_on.hex if b.built_on else None for b in bases] == [m["digest"]["sha256"] for m in images]
    assert [str(b.ref.repo_only()) if b.ref else None for b in bases] == [
        "docker.io/library/golang", "gcr.io/distroless/static"]
    assert all(b.platform == Platform("linux", "amd64") for b in bases)
    with pytest.raises(InputError, match="not this image's manifest"):
        parse_provenance(data, Digest.parse(record["index"]), record["predicateType"], "corpus")


def test_corpus_index_lists_the_attestation_for_its_platform_manifest() -> None:
    from gates.oci.client import FetchedManifest

    root = require_corpus("attestations")
    [record] = [r for r in json.loads((root / "expected.json").read_text()) if r["set"] == "buildkit"]
    layout = root / record["oci_layout"] / "blobs" / "sha256"
    content = (layout / record["index"].removeprefix("sha256:")).read_bytes()
    parsed = FetchedManifest(Digest.of(content), mediatypes.OCI_INDEX, content).parse()
    assert isinstance(parsed, ImageIndex)
    subject = Digest.parse(record["index_entry_annotations"]["vnd.docker.reference.digest"])
    found = attestation_for(parsed, subject)
    assert found is not None and str(found.digest) == record["attestation_manifest"]
    assert attestation_for(parsed, Digest.parse(record["attestation_manifest"])) is None


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20)
    | st.sampled_from(["pkg:docker/", "pkg:docker/a@1", "pkg:docker/a?digest=sha256:zz", "sha256", SLSA_V1]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["uri", "digest", "sha256", "materials", "resolvedDependencies", "buildDefinition",
                         "invocation", "parameters", "frontend", "args", "source", "subject", "x"]),
        children, max_size=4),
    max_leaves=20,
)
_SUBJECT = Digest.parse("sha256:" + "ab" * 32)


@settings(max_examples=300, deadline=None)
@given(predicate=_JSON, version=st.sampled_from([SLSA_V02, SLSA_V1]))
def test_any_provenance_gives_images_or_one_line_error(predicate: Any, version: str) -> None:
    doc = {"_type": "https://in-toto.io/Statement/v1", "predicateType": version, "predicate": predicate,
           "subject": [{"digest": {"sha256": _SUBJECT.hex}}]}
    for data in (json.dumps(doc).encode(), json.dumps(predicate).encode()):
        problem = ""
        try:
            bases = parse_provenance(data, _SUBJECT, version, "attestation")
        except InputError as exc:
            problem = str(exc)
        if problem:
            assert "\n" not in problem and problem.startswith("attestation: ")
        else:
            assert all(base.ref is not None for base in bases)
