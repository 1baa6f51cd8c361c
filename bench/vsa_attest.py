"""Verification-summary benchmark: write N summaries, then sign and attach each to its image on a local registry.

    python bench/vsa_attest.py [--images N]

1. **Registry.** Debian's `docker-registry` on 127.0.0.1 (`tests/support/registry.py`'s `start_registry`,
   storage under bench/.work/), which has no referrers API: every summary also updates the `sha256-<hex>`
   tag index, the slower of the two paths.
2. **Summaries.** N small images pushed, one passing signature result each, written by
   `gates.vsa.output.write_summaries` as `--output vsa=DIR` writes them (one fsync'd file per digest).
3. **Key.** `cosign.key` as `cosign generate-key-pair` writes it (scrypt N=2^16 + NaCl secretbox), opened
   by `gates.vsa.signing` with its password: the cost `gates attest --key` pays once per run.
4. **Attest.** `gates.vsa.attest.attest` over the folder with the key signer and the real attach, as the
   command runs it; every summary must be attached, or the run is `INVALID`. Requests are the client's
   `request_count`: per image, the subject manifest (here from the client's cache: it pushed it), two
   blobs (HEAD, POST, PUT each), the referrer manifest, the tag index (GET, PUT) and the referrers
   listing that proves a verifier would find it.

A benchmark, not a test: it measures and prints, it never fails a build.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import time

from _harness import REPO_ROOT, WORK_DIR, machine_description

sys.path.insert(0, str(REPO_ROOT))  # the registry helper and the cosign-format key writer live in tests/


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=50)
    args = parser.parse_args()

    from gates.model import Outcome, Report, Result
    from gates.oci.client import RegistryClient
    from gates.oci.credentials import StaticCredentials
    from gates.oci.digest import Digest
    from gates.oci.reference import parse_reference
    from gates.vsa.attach import attach_bundle
    from gates.vsa.attest import attest, key_signer
    from gates.vsa.output import write_summaries
    from gates.vsa.policy import PolicyRef
    from gates.vsa.statement import DEFAULT_VERIFIER_ID, PREDICATE_TYPE
    from tests.checks_signature.cosign_keys import generate_key_pair
    from tests.support import oci_images as oi
    from tests.support.registry import start_registry

    work = WORK_DIR / "vsa-attest"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    with start_registry(work / "registry") as server, RegistryClient(StaticCredentials({})) as client:
        results = []
        for number in range(args.images):
            ref = parse_reference(f"{server.host}/bench/vsa{number}:1.0")
            digest = oi.push_image(client, ref, oi.image([oi.layer({"marker": str(number)})]))
            results.append(Result(gate="signature", target=str(ref), outcome=Outcome.PASSED, subject=str(digest)))
        started = time.perf_counter()
        files = write_summaries(Report(tuple(results)), work / "vsa", PolicyRef("gates.toml", "0" * 64),
                                DEFAULT_VERIFIER_ID)
        write_s = time.perf_counter() - started
        pair = generate_key_pair(work, b"bench-password")
        started = time.perf_counter()
        sign = key_signer(pair.private_key, b"bench-password")
        key_s = time.perf_counter() - started

        def attach(name: str, digest: Digest, bundle: bytes) -> str:
            image = parse_reference(name).with_digest(digest)
            return str(attach_bundle(client, image, bundle, PREDICATE_TYPE).referrer)

        before = client.request_count
        started = time.perf_counter()
        outcomes = list(attest(files, sign, attach, DEFAULT_VERIFIER_ID, dt.timedelta(hours=1)))
        attest_s = time.perf_counter() - started
        requests = client.request_count - before
    valid = len(outcomes) == args.images and all(o.ok for o in outcomes)
    machine = machine_description()
    print(f"machine: nproc {machine['nproc']}, {machine['cpu']}, CPython {machine['python']}")
    print(f"{args.images} images: summaries written in {write_s * 1000:.0f} ms"
          f" ({write_s / args.images * 1000:.1f} ms each); cosign.key opened in {key_s * 1000:.0f} ms;"
          f" attest {attest_s:.2f} s ({attest_s / args.images * 1000:.0f} ms and"
          f" {requests / args.images:.1f} requests per image){'' if valid else '  INVALID'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
