"""Signature-gate benchmark: key-signed images on a local registry, verified concurrently and one by one.

    python bench/signatures.py [--images N] [--concurrency C] [--repeat R] [--latency-ms MS...] [--skip-cli]
                               [--json PATH]

1. **Registry.** Starts Debian's `docker-registry` on 127.0.0.1 with `tests/support/registry.py`'s
   `start_registry` (its own config, storage under bench/.work/, a free port, no auth).
2. **Key.** Writes `cosign.key` (`ENCRYPTED SIGSTORE PRIVATE KEY`: scrypt N=2^16 + NaCl secretbox) and
   `cosign.pub` as `cosign generate-key-pair` does, and decrypts `cosign.key` with its password to sign
   (tests/checks_signature/cosign_keys.py).
3. **Images.** Pushes N small single-layer images (`bench/img<i>:1.0`) and signs each in cosign's legacy
   format: the `sha256-<hex>.sig` tag, one simple-signing layer, the ECDSA signature annotation and a Rekor
   SET from a private test Rekor whose key is in a `trusted_root.json` written for the run, so the gate
   verifies exactly what `cosign sign --key` leaves behind, SET included (no `ignore-tlog`).
4. **Runs**, all through the gate's own code: a gates.toml (`[registry] concurrency`, `cache-dir`,
   `[[signature.policies]]` with `key = "cosign.pub"`) loaded by `gates.config.load`, policies built by
   `build_policies`, the client from `client_from_config`, then `check_images`, as `gates signature`
   runs it (minus the progress line). Each cold run has a fresh client and an empty cache directory:
   - `concurrent`: `[registry] concurrency = C` (default 8);
   - `one by one`: concurrency 1;
   - `warm`: a fresh client (the next pipeline run) over the concurrent run's cache, concurrency C.
   A first run (concurrency C, cold) pays the per-process costs (imports of `sigstore` and `cryptography`,
   the trusted root, the key) and is reported on its own line, outside the ratio.
   Cold runs are repeated R times (default 3), alternating the order; medians are reported. Every run
   must pass all N images, or its row is `INVALID`. Requests are the client's `request_count`.
5. **Latency.** Loopback answers in about a millisecond, so there is little waiting to overlap. For each
   `--latency-ms` (default 20), the same runs go through a TCP proxy, in its own interpreter, that holds
   each chunk the client sends for that long (a round trip to a remote registry); the images are pushed
   again under `bench-delayed-<ms>/` and signed for the proxy's address, which the gate is given.
6. **CLI.** Optionally the same check as a real process, `gates signature --config gates.toml`, with a
   cold cache (includes interpreter start-up and imports), timed by `_harness.measure`.

7. **Attestations.** One image with a key signature (`.sig`, SET) and two attestations (SLSA provenance v1
   and SPDX), once as cosign's legacy `.att` layers (with SETs) and once as cosign v3 bundle referrers
   (the signature as a `.sig` layer, then as a bundle referrer too), verified by a policy asking for the
   signature alone and by one asking for both attestations too:
   the difference in requests is what the attestations cost (aim: at most two more).

A benchmark, not a test: it never fails on a missed aim (at most 3 requests per key-signed image after
the token: resolve, `.sig` manifest, payload), it reports it. The local registry has no auth, so there
is no token exchange to discount.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from _harness import (
    REPO_ROOT,
    WORK_DIR,
    default_gates_command,
    git_revision,
    machine_description,
    measure,
    median,
    print_table,
)

sys.path.insert(0, str(REPO_ROOT))  # the registry helper and the cosign-format signers live in tests/

if TYPE_CHECKING:
    from tests.cosign.factory import FakeRekor, PrivateKey
    from tests.support.registry import RegistryServer

AIM_REQUESTS_PER_IMAGE = 3.0
AIM_ATTESTATION_EXTRA_REQUESTS = 2
PASSWORD = b"bench-cosign-password"


@dataclass(frozen=True)
class Signer:
    """The run's cosign key pair (the private half decrypted from cosign.key) and private Sigstore root."""

    public_key: Path
    key: PrivateKey
    rekor: FakeRekor
    trusted_root: Path
    key_decrypt_seconds: float


@dataclass(frozen=True)
class Setup:
    """What one scenario verifies: its images (as the gate is given them) and the policy's inputs."""

    images: tuple[str, ...]
    public_key: Path
    trusted_root: Path
    policy_glob: str
    push_and_sign_seconds: float


@dataclass(frozen=True)
class Run:
    name: str
    concurrency: int
    cache: str
    seconds: float
    requests: int
    passed: int
    images: int

    @property
    def valid(self) -> bool:
        return self.passed == self.images

    @property
    def requests_per_image(self) -> float:
        return self.requests / self.images


@dataclass(frozen=True)
class Scenario:
    """The runs of one network setting."""

    runs: dict[str, list[Run]]
    """`first`, `concurrent`, `sequential`, `warm`."""
    cli: dict[str, object] | None
    push_and_sign_seconds: float


@contextmanager
def _registry(root: Path) -> Iterator[RegistryServer]:
    from tests.support.registry import REGISTRY_BINARY, start_registry

    if not REGISTRY_BINARY.exists():
        raise SystemExit(f"bench: {REGISTRY_BINARY} is not installed (apt-get install docker-registry)")
    with start_registry(root) as server:
        yield server


# A TCP proxy in its own interpreter (so it takes no GIL time from the gate): it holds every chunk from
# the client `delay` ms before passing it on, i.e. each request gains `delay` ms, as over a real network.
_PROXY = r"""
import asyncio, sys
listen, upstream, delay = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000

async def pump(reader, writer, pause):
    try:
        while data := await reader.read(65536):
            if pause:
                await asyncio.sleep(pause)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()

async def handle(client_reader, client_writer):
    try:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(pump(client_reader, up_writer, delay), pump(up_reader, client_writer, 0))

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
"""


@contextmanager
def _delaying_proxy(upstream_host: str, delay_ms: float) -> Iterator[str]:
    """`127.0.0.1:<port>` forwarding to `upstream_host` with `delay_ms` added to every request."""
    from tests.support.registry import free_port

    port = free_port()
    upstream = upstream_host.rpartition(":")[2]
    process = subprocess.Popen([sys.executable, "-c", _PROXY, str(port), upstream, str(delay_ms)],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise SystemExit("bench: the delaying proxy did not start")
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def make_signer(work: Path) -> Signer:
    """`cosign generate-key-pair` with a password, then cosign.key decrypted to sign with."""
    from tests.checks_signature.cosign_keys import generate_key_pair, load_private_key
    from tests.cosign.factory import FakeRekor, spki, trusted_root

    pair = generate_key_pair(work, PASSWORD)
    started = time.perf_counter()
    key = load_private_key(pair.private_key, PASSWORD)
    decrypt_seconds = time.perf_counter() - started
    rekor = FakeRekor()
    root = trusted_root(work / "trusted_root.json", rekor_keys=[(rekor.log_id, spki(rekor.key))])
    return Signer(pair.public_key, key, rekor, root, decrypt_seconds)


def prepare(signer: Signer, push_host: str, served_host: str, prefix: str, count: int) -> Setup:
    """Push `count` images to `push_host` and sign each for the name it is verified under (`served_host`)."""
    from gates.oci.client import RegistryClient
    from gates.oci.credentials import StaticCredentials
    from gates.oci.reference import parse_reference
    from tests.checks_signature.cosign import key_layer, sign_legacy
    from tests.support import oci_images as oi

    images = []
    started = time.perf_counter()
    with RegistryClient(StaticCredentials({})) as pusher:
        for number in range(count):
            ref = parse_reference(f"{push_host}/{prefix}/img{number}:1.0")
            served = parse_reference(f"{served_host}/{prefix}/img{number}:1.0")
            image = oi.image([oi.layer({"etc/marker": f"{prefix} image {number}\n"})])
            digest = oi.push_image(pusher, ref, image)
            sign_legacy(pusher, ref, digest, key_layer(signer.key, digest, served.name, signer.rekor))
            images.append(str(served))
    return Setup(tuple(images), signer.public_key, signer.trusted_root, f"{served_host}/{prefix}/*",
                 time.perf_counter() - started)


def write_config(setup: Setup, path: Path, concurrency: int, cache_dir: Path) -> Path:
    images = ", ".join(json.dumps(image) for image in setup.images)
    path.write_text(f"""
[registry]
concurrency = {concurrency}
cache-dir = {json.dumps(str(cache_dir))}

[signature]
images = [{images}]
trusted-root = {json.dumps(str(setup.trusted_root))}

[[signature.policies]]
name = "bench"
images = [{json.dumps(setup.policy_glob)}]

[[signature.policies.authorities]]
key = {json.dumps(setup.public_key.name)}
""", encoding="utf-8")
    return path


def verify(setup: Setup, work: Path, name: str, concurrency: int, cache_dir: Path, cache: str) -> Run:
    """One run through the gate's own path, a fresh client; wall clock from config load to the last result."""
    from gates.checks import load_config as load
    from gates.checks.signature.gate import SignatureOptions, check_images
    from gates.checks.signature.policy import build_policies
    from gates.model import Outcome
    from gates.registry_client import client_from_config

    config_path = write_config(setup, work / "gates.toml", concurrency, cache_dir)
    started = time.perf_counter()
    config = load(config_path, env={})
    section = config.section("signature")
    policies = build_policies(section["policies"], config_path.parent,
                              str(config_path.parent / section["trusted-root"]))
    options = SignatureOptions(images=tuple(section["images"]), policies=policies,
                               concurrency=config.section("registry")["concurrency"])
    with client_from_config(config) as client:
        results = check_images(options, client)
        requests = client.request_count
    seconds = time.perf_counter() - started
    passed = sum(result.outcome is Outcome.PASSED for result in results)
    for result in results:
        if result.outcome is not Outcome.PASSED:
            print(f"bench: {name}: {result.target}: {result.outcome.value}: "
                  f"{result.error or [f.message for f in result.findings]}", file=sys.stderr)
            break
    return Run(name, concurrency, cache, seconds, requests, passed, len(results))


def cli_run(setup: Setup, work: Path, concurrency: int) -> dict[str, object]:
    """`gates signature --config gates.toml` as a process, cold cache."""
    cache_dir = work / "cache-cli"
    shutil.rmtree(cache_dir, ignore_errors=True)
    config_path = write_config(setup, work / "gates.toml", concurrency, cache_dir)
    docker_config = work / "docker-config"
    docker_config.mkdir(exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("GATES_")}
    env["DOCKER_CONFIG"] = str(docker_config)
    out = work / "cli.out.json"
    measured = measure([*default_gates_command(), "signature", "--config", str(config_path), "--format", "json"],
                       stdout_path=out, stderr_path=work / "cli.err", env=env, cwd=work, timeout=600)
    passed = 0
    with suppress(OSError, ValueError, KeyError):
        passed = sum(r["outcome"] == "passed" for r in json.loads(out.read_text(encoding="utf-8"))["results"])
    return {"rc": measured.rc, "seconds": measured.seconds, "cpu_seconds": measured.cpu_seconds,
            "peak_mb": measured.peak_mb, "passed": passed, "images": len(setup.images)}


def scenario(setup: Setup, work: Path, label: str, concurrency: int, repeat: int) -> dict[str, list[Run]]:
    """The first run in the process, `repeat` cold runs of each mode (alternating), then a warm run."""
    keys = setup.public_key.parent
    tag = label.replace(" ", "-")
    # Imports (sigstore, cryptography), the trusted root and the policy's key are loaded once per process:
    # a first run pays for them, so both modes are then compared on equal terms.
    first = verify(setup, keys, "first in process (imports)", concurrency, work / f"cache-{tag}-first", "cold")
    print(f"bench: [{label}] first run in process: {first.seconds:.3f} s", flush=True)
    concurrent: list[Run] = []
    sequential: list[Run] = []
    for number in range(repeat):
        order = [("concurrent", concurrency, concurrent), ("one by one", 1, sequential)]
        for name, workers, runs in order if number % 2 == 0 else order[::-1]:
            cache_dir = work / f"cache-{tag}-{name.replace(' ', '-')}-{number}"
            runs.append(verify(setup, keys, name, workers, cache_dir, "cold"))
            print(f"bench: [{label}] {name} #{number + 1}: {runs[-1].seconds:.3f} s, {runs[-1].requests} requests",
                  flush=True)
    warm = verify(setup, keys, "warm (next run)", concurrency, work / f"cache-{tag}-concurrent-0", "warm disk")
    return {"first": [first], "concurrent": concurrent, "sequential": sequential, "warm": [warm]}


def attestation_overhead(signer: Signer, host: str, work: Path) -> dict[str, dict[str, int]]:
    """Requests for signature alone vs signature + two attestations, for `.att` layers and for referrers."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from gates.attest.conditions import BuilderId
    from gates.attest.verify import Requirement
    from gates.checks.signature.gate import SignatureOptions, check_images
    from gates.checks.signature.policy import Policy
    from gates.cosign.authority import Authority
    from gates.model import Outcome
    from gates.oci.client import RegistryClient
    from gates.oci.credentials import StaticCredentials
    from gates.oci.reference import parse_reference
    from tests.checks_signature.attest import (
        BUILDER,
        SLSA_V1,
        SPDX,
        att_layer,
        attach_attestation,
        attestation_bundle,
        provenance,
        push_att,
        spdx,
    )
    from tests.checks_signature.cosign import attach_bundle, key_bundle, key_layer, sign_legacy
    from tests.support import oci_images as oi

    figures: dict[str, dict[str, int]] = {}
    for layout in ("legacy .att", "bundle referrers", "bundle referrers, bundle-signed"):
        ref = parse_reference(f"{host}/bench-att/{layout.split()[0]}{len(figures)}:1.0")
        image = oi.image([oi.layer({"etc/marker": f"attested {layout}\n"})])
        with RegistryClient(StaticCredentials({})) as pusher:
            digest = oi.push_image(pusher, ref, image)
            if layout.endswith("bundle-signed"):
                assert isinstance(signer.key, ec.EllipticCurvePrivateKey)
                attach_bundle(pusher, ref, image.descriptor, key_bundle(signer.key, digest))
            else:
                sign_legacy(pusher, ref, digest, key_layer(signer.key, digest, ref.name, signer.rekor))
            if layout == "legacy .att":
                push_att(pusher, ref, digest, att_layer(signer.key, digest, SLSA_V1, provenance(), rekor=signer.rekor),
                         att_layer(signer.key, digest, SPDX, spdx(), rekor=signer.rekor))
            else:
                for kind, predicate in ((SLSA_V1, provenance()), (SPDX, spdx())):
                    attach_attestation(pusher, ref, image.descriptor,
                                       attestation_bundle(signer.key, digest, kind, predicate), kind)
        signature_key = Authority(key=signer.public_key, trusted_root=signer.trusted_root,
                                  ignore_tlog=layout.endswith("bundle-signed"))
        attestation_key = Authority(key=signer.public_key, trusted_root=signer.trusted_root,
                                    ignore_tlog=layout != "legacy .att")  # test bundles carry no tlog entry
        requirements = (Requirement(SLSA_V1, (attestation_key,), (BuilderId(BUILDER),)),
                        Requirement(SPDX, (attestation_key,)))
        counts: dict[str, int] = {}
        for name, attestations in (("signature", ()), ("signature + 2 attestations", requirements)):
            policy = Policy("bench", ("*",), (signature_key,), attestations=attestations)
            with RegistryClient(StaticCredentials({})) as client:
                [result] = check_images(SignatureOptions((str(ref),), (policy,), concurrency=1), client)
                counts[name] = client.request_count
            if result.outcome is not Outcome.PASSED:
                raise SystemExit(f"bench: attestations ({layout}, {name}): {result.outcome.value}:"
                                 f" {[f.message for f in result.findings] or result.error}")
        counts["extra"] = counts["signature + 2 attestations"] - counts["signature"]
        figures[layout] = counts
        verdict = "met" if counts["extra"] <= AIM_ATTESTATION_EXTRA_REQUESTS else "MISSED"
        print(f"bench: attestations as {layout}: signature alone {counts['signature']} requests, with two"
              f" attestations {counts['signature + 2 attestations']} (+{counts['extra']}; aim"
              f" +{AIM_ATTESTATION_EXTRA_REQUESTS}: {verdict})", flush=True)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=50, help="signed images to verify (default 50)")
    parser.add_argument("--concurrency", type=int, default=8, help="[registry] concurrency of the concurrent run")
    parser.add_argument("--repeat", type=int, default=3, help="cold runs of each kind (default 3); the median")
    parser.add_argument("--latency-ms", type=float, nargs="*", default=[20.0],
                        help="also run through a proxy adding this many ms per request (default 20; none: off)")
    parser.add_argument("--skip-cli", action="store_true", help="do not time `gates signature` as a process")
    parser.add_argument("--attestations-only", action="store_true",
                        help="only measure what two attestations add to a signed image's requests")
    parser.add_argument(
        "--json", type=Path, default=WORK_DIR / "signatures-results.json", help="where to write the figures"
    )
    args = parser.parse_args(argv)
    if args.images < 1 or args.concurrency < 1 or args.repeat < 1 or any(ms <= 0 for ms in args.latency_ms):
        parser.error("--images, --concurrency, --repeat and --latency-ms must be positive")

    WORK_DIR.mkdir(parents=True, exist_ok=True)
    os.environ.pop("GATES_CACHE_DIR", None)  # client_from_config would prefer it over the run's cache-dir
    results: dict[str, Scenario] = {}
    with tempfile.TemporaryDirectory(prefix="signatures-", dir=WORK_DIR) as tmp:
        work = Path(tmp)
        (work / "docker-config").mkdir()
        os.environ["DOCKER_CONFIG"] = str(work / "docker-config")  # no credentials from this machine
        with _registry(work / "registry") as server:
            signer = make_signer(work / "keys")
            attested = attestation_overhead(signer, server.host, work)
            if args.attestations_only:
                return 0
            print(f"bench: registry {server.host}; cosign.key decrypted in {signer.key_decrypt_seconds:.2f} s;"
                  f" pushing and signing {args.images} images ...", flush=True)
            setup = prepare(signer, server.host, server.host, "bench", args.images)
            print(f"bench: pushed and signed in {setup.push_and_sign_seconds:.2f} s", flush=True)
            runs = scenario(setup, work, "loopback", args.concurrency, args.repeat)
            cli = None if args.skip_cli else cli_run(setup, signer.public_key.parent, args.concurrency)
            results["loopback"] = Scenario(runs, cli, setup.push_and_sign_seconds)
            for delay in args.latency_ms:
                label = f"+{delay:g} ms per request"
                with _delaying_proxy(server.host, delay) as proxy:
                    delayed = prepare(signer, server.host, proxy, f"bench-delayed-{delay:g}", args.images)
                    results[label] = Scenario(scenario(delayed, work, label, args.concurrency, args.repeat),
                                              None, delayed.push_and_sign_seconds)
    figures = {label: report(label, args.images, entry.runs, entry.cli) for label, entry in results.items()}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_description(),
        "gates_revision": git_revision(),
        "images": args.images,
        "key_decrypt_seconds": signer.key_decrypt_seconds,
        "attestation_requests": attested,
        "scenarios": {
            label: {"runs": {kind: [asdict(run) for run in runs] for kind, runs in entry.runs.items()},
                    "cli": entry.cli, "push_and_sign_seconds": entry.push_and_sign_seconds,
                    "figures": figures[label]}
            for label, entry in results.items()
        },
    }, indent=1), encoding="utf-8")
    print(f"\nfigures written to {args.json}")
    return 0


def report(label: str, images: int, runs: dict[str, list[Run]],
           cli: dict[str, object] | None) -> dict[str, float | bool]:
    def row(name: str, group: list[Run]) -> list[str]:
        seconds = median([run.seconds for run in group])
        valid = all(run.valid for run in group)
        return [name, str(group[0].concurrency), group[0].cache, f"{seconds:.3f}",
                " / ".join(f"{run.seconds:.3f}" for run in group), f"{images / seconds:.1f}",
                str(max(run.requests for run in group)),
                f"{max(run.requests_per_image for run in group):.2f}",
                f"{min(run.passed for run in group)}/{images}" + ("" if valid else " INVALID")]

    print(f"\n## {label}\n")
    rows = [row(runs["first"][0].name, runs["first"]), row("concurrent", runs["concurrent"]),
            row("one by one", runs["sequential"]), row("warm (next run)", runs["warm"])]
    if cli is not None:
        cli_seconds = float(str(cli["seconds"]))
        rows.append(["`gates signature` process", rows[1][1], "cold", f"{cli_seconds:.3f}", f"{cli_seconds:.3f}",
                     f"{images / cli_seconds:.1f}", "-", "-",
                     f"{cli['passed']}/{images}" + ("" if cli["rc"] == 0 else f" rc={cli['rc']}")])
    print_table(["run", "concurrency", "cache", "seconds", "runs", "images/s", "requests", "req/image", "passed"],
                rows)
    every = [run for group in runs.values() for run in group]
    cold = [*runs["first"], *runs["concurrent"], *runs["sequential"]]
    concurrent_s = median([run.seconds for run in runs["concurrent"]])
    sequential_s = median([run.seconds for run in runs["sequential"]])
    cold_per_image = max(run.requests_per_image for run in cold)
    warm_per_image = runs["warm"][0].requests_per_image
    valid = all(run.valid for run in every)
    print(f"\nratio one by one / concurrent: {sequential_s / concurrent_s:.2f}x")
    verdict = "met" if cold_per_image <= AIM_REQUESTS_PER_IMAGE else "MISSED"
    print(f"aim: <= {AIM_REQUESTS_PER_IMAGE:.0f} requests per key-signed image (cold; no token on this registry):"
          f" {cold_per_image:.2f} -> {verdict}; warm: {warm_per_image:.2f}")
    if not valid:
        print("INVALID: some images did not pass; see the messages above")
    return {"concurrent_seconds": concurrent_s, "sequential_seconds": sequential_s,
            "ratio": sequential_s / concurrent_s, "cold_requests_per_image": cold_per_image,
            "warm_requests_per_image": warm_per_image, "valid": valid}


if __name__ == "__main__":
    sys.exit(main())
