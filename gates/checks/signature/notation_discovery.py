"""Notary Project signatures among a digest's referrers: manifests of artifactType
`application/vnd.cncf.notary.signature` whose `subject` is the digest, one envelope layer each.

The listing is the one cosign discovery uses (the referrers API, else the `sha256-<hex>` tag index);
entries that declare another artifact type are not fetched. A manifest that claims to be a Notary
signature but is not usable (another subject, no single envelope layer, a layer of another media
type, a missing blob) becomes a signature with a problem: verification rejects it as an integrity
failure, and it is never skipped as if it were not there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gates.notation import ENVELOPE_MEDIA_TYPES, SIGNATURE_ARTIFACT_TYPE
from gates.notation.authority import EnvelopeBlob
from gates.oci import mediatypes
from gates.oci.errors import NotFoundError
from gates.oci.manifest import Descriptor, ImageManifest

if TYPE_CHECKING:
    from gates.oci.client import RegistryClient
    from gates.oci.digest import Digest
    from gates.oci.reference import Reference

MAX_ENVELOPE_BLOB = 4 * 1024 * 1024
MAX_NOTATION_SIGNATURES = 32
"""notation itself tries at most 100; a digest with more than this many is refused (an `error`)."""


def notation_signatures(
    client: RegistryClient, ref: Reference, digest: Digest, listing: Sequence[Descriptor]
) -> list[EnvelopeBlob]:
    """Each Notary signature of `digest` as an envelope to verify, in the order the registry lists them."""
    from gates.cosign.errors import MalformedSignatureManifestError

    entries = [d for d in listing
               if d.artifact_type == SIGNATURE_ARTIFACT_TYPE and d.media_type in mediatypes.IMAGE_MANIFESTS]
    if len(entries) > MAX_NOTATION_SIGNATURES:
        raise MalformedSignatureManifestError(
            f"{ref.name}@{digest} has {len(entries)} Notary signatures, more than the {MAX_NOTATION_SIGNATURES}"
            " gates verifies")
    found: list[EnvelopeBlob] = []
    for entry in entries:
        label = f"notation signature {str(entry.digest)[: len('sha256:') + 12]}"
        manifest = client.get_manifest(ref.with_digest(entry.digest)).parse()
        if not isinstance(manifest, ImageManifest):
            found.append(EnvelopeBlob(label, "", b"", "the signature manifest is an index"))
            continue
        subject = manifest.subject.digest if manifest.subject is not None else None
        if subject != digest:
            found.append(EnvelopeBlob(label, "", b"", f"its subject is {subject or 'absent'}, not {digest}"))
            continue
        layers = manifest.layers
        if len(layers) != 1 or layers[0].media_type not in ENVELOPE_MEDIA_TYPES:
            kinds = ", ".join(layer.media_type for layer in layers) or "none"
            found.append(EnvelopeBlob(label, "", b"", f"the signature manifest has layers of type {kinds}, not one"
                                                      f" {' or '.join(ENVELOPE_MEDIA_TYPES)} envelope"))
            continue
        try:
            data = client.get_blob(ref, layers[0].digest, MAX_ENVELOPE_BLOB)
        except NotFoundError:
            found.append(EnvelopeBlob(label, "", b"", f"its envelope blob {layers[0].digest} is missing"))
            continue
        found.append(EnvelopeBlob(label, layers[0].media_type, data))
    return found
