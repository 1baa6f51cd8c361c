"""Read the corpus's OCI image layouts: the signed artifact's descriptor and its Notary signatures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gates.notation import SIGNATURE_ARTIFACT_TYPE
from gates.notation.authority import EnvelopeBlob
from gates.notation.verify import Subject


def blob(layout: Path, digest: str) -> bytes:
    return (layout / "blobs" / digest.replace(":", "/")).read_bytes()


def index(layout: Path) -> list[dict[str, Any]]:
    manifests: list[dict[str, Any]] = json.loads((layout / "index.json").read_text())["manifests"]
    return manifests


def subject(layout: Path, digest: str) -> Subject:
    entry = next(m for m in index(layout) if m["digest"] == digest)
    return Subject(entry["mediaType"], entry["digest"], entry["size"])


def signatures(layout: Path, digest: str) -> list[EnvelopeBlob]:
    """Every signature manifest of the layout whose subject is `digest`, as discovery would hand them over."""
    found: list[EnvelopeBlob] = []
    for entry in index(layout):
        if entry["mediaType"] != "application/vnd.oci.image.manifest.v1+json":
            continue
        manifest = json.loads(blob(layout, entry["digest"]))
        kind = manifest.get("artifactType") or manifest.get("config", {}).get("mediaType")
        if kind != SIGNATURE_ARTIFACT_TYPE or manifest.get("subject", {}).get("digest") != digest:
            continue
        layer = manifest["layers"][0]
        found.append(EnvelopeBlob(f"signature {entry['digest'][:19]}", layer["mediaType"],
                                  blob(layout, layer["digest"])))
    return found
