"""Attach a Sigstore bundle to an image as cosign v3 does: an OCI referrer of the image's manifest.

The referrer is an image manifest with `artifactType` the bundle media type, the empty config, the
bundle as its one layer, `subject` the image's manifest (fetched and verified by digest here, so its
media type and size are right), and cosign's annotations. Where the registry indexes the subject
itself (it answers `OCI-Subject`), that is all; elsewhere the client also adds the referrer to the
`sha256-<hex>` tag index of the referrers tag schema (`gates.oci.client.RegistryClient.put_manifest`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from gates.oci import mediatypes
from gates.oci.client import RegistryClient
from gates.oci.digest import Digest
from gates.oci.errors import RegistryError
from gates.oci.reference import Reference
from gates.vsa.dsse import BUNDLE_MEDIA_TYPE

_EMPTY = b"{}"


@dataclass(frozen=True)
class Attached:
    """Where a bundle went: the referrer manifest's digest, and how the registry indexes it."""

    referrer: Digest
    mode: str
    """`api` (the registry's referrers API lists it) or `tag-schema` (the `sha256-<hex>` tag index)."""


def attach_bundle(client: RegistryClient, image: Reference, bundle: bytes, predicate_type: str,
                  now: dt.datetime | None = None) -> Attached:
    """Push `bundle` as a referrer of `image` (which names its digest)."""
    assert image.digest is not None
    subject = client.get_manifest(image.repo_only().with_digest(image.digest)).descriptor
    client.put_blob(image, _EMPTY)
    client.put_blob(image, bundle)
    created = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_MANIFEST,
        "artifactType": BUNDLE_MEDIA_TYPE,
        "config": {"mediaType": mediatypes.OCI_EMPTY, "size": len(_EMPTY), "digest": str(Digest.of(_EMPTY))},
        "layers": [{"mediaType": BUNDLE_MEDIA_TYPE, "size": len(bundle), "digest": str(Digest.of(bundle))}],
        "subject": {"mediaType": subject.media_type, "size": subject.size, "digest": str(subject.digest)},
        "annotations": {"dev.sigstore.bundle.content": "dsse-envelope",
                        "dev.sigstore.bundle.predicateType": predicate_type,
                        "org.opencontainers.image.created": created},
    }, separators=(",", ":")).encode("ascii")
    digest = client.put_manifest(image.repo_only().with_digest(Digest.of(manifest)), manifest,
                                 mediatypes.OCI_MANIFEST)
    listed = client.referrers(image, image.digest)
    if not any(entry.digest == digest for entry in listed.descriptors):
        raise RegistryError(f"referrers of {image.name}@{image.digest}: the pushed summary {digest} is not"
                            f" listed ({listed.source}), so no verifier would find it")
    return Attached(digest, listed.source)
