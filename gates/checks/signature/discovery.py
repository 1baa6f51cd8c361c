"""Find an image's signatures in the registry, fetching no more than verification needs.

Two places, both keyed by the signed digest (for a multi-arch tag: the index, as cosign signs it):

- cosign's legacy tag `sha256-<hex>.sig`: one simple-signing layer per signature, annotations on the
  layer descriptors. Read first and layer by layer, so a key-signed image costs three requests
  (resolve, `.sig` manifest, payload blob) and a later layer is fetched only if earlier ones fail.
- OCI 1.1 referrers of the digest (the referrers API, else the `sha256-<hex>` tag index): cosign v3's
  Sigstore bundles (one layer of type `application/vnd.dev.sigstore.bundle.v0.3+json`) and legacy
  signatures written with `--registry-referrers-mode=oci-1-1`. Read only when no legacy signature
  verified. Referrers that declare another artifact type (SBOMs, other tools' attestations), or whose
  `dev.sigstore.bundle.predicateType` annotation names another predicate than cosign's signature, are
  not fetched for signatures; entries without one, or with the empty/config type older tools wrote, are
  inspected. The listing is made once per image and shared with the attestations (`attestations()`).
  Notary Project signatures (`notation()`) come from the same listing.

Registry failures and malformed signature manifests raise: the gate turns them into `error` results,
never into a pass or a plain "unsigned".
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gates.checks.signature import rules as signature_rules
from gates.cosign.bundles import BUNDLE_MEDIA_TYPE_PREFIX, SIGN_PREDICATE_TYPE, SigstoreBundle
from gates.cosign.errors import MalformedSignatureManifestError
from gates.cosign.layers import MAX_LAYERS, SIMPLE_SIGNING_MEDIA_TYPE, LegacySignature, parse_layer
from gates.cosign.verdict import SignatureCheck
from gates.oci import mediatypes
from gates.oci.digest import Digest
from gates.oci.errors import InvalidReferenceError, NotFoundError
from gates.oci.manifest import Descriptor, ImageManifest
from gates.oci.reference import Reference

if TYPE_CHECKING:
    from gates.attest.verify import Candidate
    from gates.notation.authority import EnvelopeBlob
    from gates.oci.client import RegistryClient

MAX_SIGNATURE_BLOB = 4 * 1024 * 1024
"""Payloads and bundles are a few kilobytes; anything this large is refused (an `error`), not buffered."""
MAX_ATTESTATION_BLOB = 16 * 1024 * 1024
"""Attestation envelopes may carry SBOMs; larger ones are refused (an `error`), not buffered."""
BUNDLE_PREDICATE_ANNOTATION = "dev.sigstore.bundle.predicateType"
"""What cosign v3 annotates a bundle referrer with: the statement's predicate type (unauthenticated)."""
LEGACY_REFERRER_ARTIFACT = "application/vnd.dev.cosign.artifact.sig.v1+json"
"""Legacy simple-signing layers attached as a referrer (cosign `--registry-referrers-mode=oci-1-1`)."""
_INSPECTED_ARTIFACT_TYPES = frozenset({LEGACY_REFERRER_ARTIFACT, mediatypes.OCI_EMPTY, mediatypes.OCI_CONFIG})
"""Besides bundle types: what cosign and older ggcr fallback indexes put in a signature's `artifactType`."""


@dataclass
class Referrers:
    """What the referrers of a digest hold: signatures to verify, and notes on referrers that cannot count."""

    legacy: list[LegacySignature] = field(default_factory=list)
    bundles: list[SigstoreBundle] = field(default_factory=list)
    notes: list[SignatureCheck] = field(default_factory=list)


class ImageSignatures:
    """The signatures of one image digest, fetched on first use and kept for every policy that asks."""

    def __init__(self, client: RegistryClient, ref: Reference, digest: Digest) -> None:
        self._client = client
        self._ref = ref
        self._digest = digest
        self._sig_layers: list[Any] | None = None
        self._parsed: list[LegacySignature] = []
        self._referrers: Referrers | None = None
        self._listed: tuple[Descriptor, ...] | None = None
        self._fetched: dict[Digest, SigstoreBundle | SignatureCheck | bytes | None] = {}
        self._att: list[Any] | None = None
        self._att_parsed: dict[int, Candidate] = {}
        self._notation: list[EnvelopeBlob] | None = None

    @property
    def sig_tag(self) -> str:
        return f"{self._digest.tag_form}.sig"

    def legacy(self) -> Iterator[LegacySignature]:
        """The `.sig` tag's layers, one at a time; each payload blob is fetched when its turn comes."""
        if self._sig_layers is None:
            self._sig_layers = self._load_sig_manifest()
        for position, descriptor in enumerate(self._sig_layers):
            if position >= len(self._parsed):
                self._parsed.append(self._parse_layer(position + 1, descriptor))
            yield self._parsed[position]

    def referrers(self) -> Referrers:
        """Every bundle and legacy signature attached to the digest as an OCI referrer."""
        if self._referrers is None:
            self._referrers = self._load_referrers()
        return self._referrers

    def notation(self) -> list[EnvelopeBlob]:
        """The digest's Notary Project signatures (artifactType `application/vnd.cncf.notary.signature`), from
        the same listing as cosign's referrers."""
        if self._notation is None:
            from gates.checks.signature.notation_discovery import notation_signatures

            self._notation = notation_signatures(self._client, self._ref, self._digest, self._listing())
        return self._notation

    # -- legacy ------------------------------------------------------------------------------------

    def _load_sig_manifest(self) -> list[Any]:
        tag = self._ref.with_tag(self.sig_tag)
        try:
            fetched = self._client.get_manifest(tag)
        except NotFoundError:
            return []
        return _signature_layers(fetched.content, f"signature manifest {tag.familiar}")

    def _parse_layer(self, index: int, descriptor: Any, source: str = "") -> LegacySignature:
        blobs: dict[str, bytes] = {}
        digest = descriptor.get("digest") if isinstance(descriptor, dict) else None
        if isinstance(digest, str) and descriptor.get("mediaType") == SIMPLE_SIGNING_MEDIA_TYPE:
            try:
                blobs[digest] = self._client.get_blob(self._ref, Digest.parse(digest), MAX_SIGNATURE_BLOB)
            except InvalidReferenceError:
                pass  # parse_layer names the layer as unusable
            except NotFoundError:
                return LegacySignature(index=index, layer_digest=digest, payload=b"", signature=b"",
                                       problem=f"payload blob {digest} is missing from the registry{source}")
        return parse_layer(index, descriptor, blobs)

    # -- referrers ---------------------------------------------------------------------------------

    def _load_referrers(self) -> Referrers:
        found = Referrers()
        for descriptor in self._listing():
            if not _may_be_signature(descriptor):
                continue
            claimed = descriptor.annotations.get(BUNDLE_PREDICATE_ANNOTATION)
            if claimed is not None and claimed != SIGN_PREDICATE_TYPE:
                continue  # an attestation by its annotation: it could only be rejected as a signature
            fetched = self._referrer(descriptor)
            if fetched is None:
                continue
            if isinstance(fetched, SignatureCheck):
                found.notes.append(fetched)
            elif isinstance(fetched, SigstoreBundle):
                found.bundles.append(fetched)
            else:
                short = str(descriptor.digest)[: len("sha256:") + 12]
                raw = _signature_layers(fetched, f"signature referrer {short}")
                found.legacy.extend(
                    self._parse_layer(n, d, f" (referrer {short})") for n, d in enumerate(raw, start=1)
                )
        return found

    @property
    def listed(self) -> bool:
        """Whether the referrers were listed already (for signatures): then they are the cheaper place to look."""
        return self._listed is not None

    def _listing(self) -> tuple[Descriptor, ...]:
        """The digest's referrers, listed once per image for signatures and attestations alike."""
        if self._listed is None:
            self._listed = self._client.referrers(self._ref, self._digest).descriptors
        return self._listed

    def _referrer(self, descriptor: Descriptor) -> SigstoreBundle | SignatureCheck | bytes | None:
        """One referrer, fetched once: its bundle, a note why it cannot count, legacy layers' manifest, or None."""
        if descriptor.digest in self._fetched:
            return self._fetched[descriptor.digest]
        result: SigstoreBundle | SignatureCheck | bytes | None = None
        fetched = self._client.get_manifest(self._ref.with_digest(descriptor.digest))
        manifest = fetched.parse()
        short = str(descriptor.digest)[: len("sha256:") + 12]
        if isinstance(manifest, ImageManifest):
            subject = manifest.subject.digest if manifest.subject is not None else None
            layers = manifest.layers
            if subject != self._digest:
                result = SignatureCheck(
                    f"referrer {short}", "", signature_rules.PAYLOAD_MISMATCH,
                    f"listed as a referrer of {self._digest}, but its subject is {subject or 'absent'}; ignored",
                )
            elif len(layers) == 1 and layers[0].media_type.startswith(BUNDLE_MEDIA_TYPE_PREFIX):
                data = self._client.get_blob(self._ref, layers[0].digest, MAX_SIGNATURE_BLOB)
                result = SigstoreBundle(data, f"bundle in referrer {short}")
            elif layers and all(layer.media_type == SIMPLE_SIGNING_MEDIA_TYPE for layer in layers):
                result = fetched.content
        self._fetched[descriptor.digest] = result
        return result

    # -- attestations ------------------------------------------------------------------------------

    def attestations(self, wanted: Collection[str], source: str) -> tuple[list[Candidate], list[str]]:
        """Attestations from `source` (`att`: the legacy tag; `referrers`: bundle referrers) that may be of a
        `wanted` predicate type, and the types of those left unfetched.

        Bundle referrers come from the listing shared with signatures; the `.att` tag is read once. A
        referrer or layer whose (unauthenticated) annotation names another predicate type is not fetched:
        it could only ever fail to count, so skipping it never lets an image pass.
        """
        from gates.attest.layers import annotated_type
        from gates.attest.predicates import matches
        from gates.attest.verify import AttestationBundle

        candidates: list[Candidate] = []
        skipped: list[str] = []

        def wanted_type(claimed: str | None) -> bool:
            return claimed is None or any(matches(kind, claimed) for kind in wanted)

        if source == "att":
            for index, layer in enumerate(self._att_layers(), start=1):
                claimed = annotated_type(layer)
                if not wanted_type(claimed):
                    assert claimed is not None
                    skipped.append(claimed)
                    continue
                candidates.append(self._att_layer(index, layer))
            return candidates, skipped
        for descriptor in self._listing():
            if not _may_be_signature(descriptor):
                continue
            claimed = descriptor.annotations.get(BUNDLE_PREDICATE_ANNOTATION)
            if claimed == SIGN_PREDICATE_TYPE or not wanted_type(claimed):
                if claimed != SIGN_PREDICATE_TYPE and claimed is not None:
                    skipped.append(claimed)
                continue
            fetched = self._referrer(descriptor)
            if isinstance(fetched, SigstoreBundle):
                candidates.append(AttestationBundle(fetched.data, fetched.label.replace("bundle", "attestation", 1)))
        return candidates, skipped

    def _att_layers(self) -> list[Any]:
        if self._att is None:
            tag = self._ref.with_tag(f"{self._digest.tag_form}.att")
            try:
                fetched = self._client.get_manifest(tag)
            except NotFoundError:
                self._att = []
            else:
                self._att = _signature_layers(fetched.content, f"attestation manifest {tag.familiar}")
        return self._att

    def _att_layer(self, index: int, descriptor: Any) -> Candidate:
        from gates.attest.layers import DSSE_MEDIA_TYPE, parse_attestation_layer

        if index in self._att_parsed:
            return self._att_parsed[index]
        blob: bytes | None = None
        digest = descriptor.get("digest") if isinstance(descriptor, dict) else None
        if isinstance(digest, str) and descriptor.get("mediaType") == DSSE_MEDIA_TYPE:
            try:
                blob = self._client.get_blob(self._ref, Digest.parse(digest), MAX_ATTESTATION_BLOB)
            except (InvalidReferenceError, NotFoundError):
                blob = None
        parsed = parse_attestation_layer(index, descriptor, blob, " (.att)")
        self._att_parsed[index] = parsed
        return parsed


def _may_be_signature(descriptor: Descriptor) -> bool:
    """Whether a referrer could hold a cosign signature or bundle, judged from its index entry alone."""
    if descriptor.media_type not in mediatypes.IMAGE_MANIFESTS:
        return False
    kind = descriptor.artifact_type
    return not kind or kind.startswith(BUNDLE_MEDIA_TYPE_PREFIX) or kind in _INSPECTED_ARTIFACT_TYPES


def _signature_layers(content: bytes, what: str) -> list[Any]:
    """The `layers[]` descriptors of a signature manifest; anything else is malformed (an `error`)."""
    try:
        doc = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise MalformedSignatureManifestError(f"{what} is not JSON") from None
    if not isinstance(doc, dict):
        raise MalformedSignatureManifestError(f"{what} is not a JSON object")
    layers = doc.get("layers")
    if not isinstance(layers, list):
        raise MalformedSignatureManifestError(f"{what} has no layers list (is it an image index?)")
    if len(layers) > MAX_LAYERS:
        raise MalformedSignatureManifestError(
            f"{what} has {len(layers)} layers, more than cosign's limit of {MAX_LAYERS}"
        )
    return layers
