"""Run every atheris harness of this folder for a bounded time and report executions and findings.

    python fuzz/run.py                 # 60 s in all, split across the harnesses
    python fuzz/run.py --seconds 600   # longer, locally

Each harness runs in its own process (`-max_total_time`), starting from a seed corpus written here
(real layers and real payloads, so the fuzzer starts past the parsers' first checks) that it then
grows in `fuzz/.work/` (git-ignored). A crash leaves its input as `fuzz/.work/crash-*` and fails the
run. Without atheris the run is skipped with a message; under CI=true that fails the run where the dev
extra installs atheris (x86-64, CPython 3.11, the one its wheel covers).
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / ".work"
HARNESSES = ("layer_reader", "signature_payload", "rpm_database", "notation_envelope")


def _seeds(name: str) -> dict[str, bytes]:
    sys.path.insert(0, str(REPO))
    from tests.support import oci_images as oi

    if name == "rpm_database":
        return _rpm_seeds()
    if name == "layer_reader":
        os_release = 'ID=debian\nVERSION_ID="12"\n'
        return {
            "plain": oi.layer({"etc/os-release": os_release, "var/lib/dpkg/status": "Package: a\nVersion: 1\n"},
                              compress=False),
            "gzip": oi.layer({"etc/os-release": os_release}),
            "links": oi.layer([oi.file("usr/lib/os-release", os_release), oi.symlink("etc/os-release",
                                                                                      "../usr/lib/os-release"),
                               oi.hardlink("etc/passwd", "usr/lib/os-release")], compress=False),
            "whiteouts": oi.layer([oi.whiteout("etc/os-release"), oi.opaque("var/lib/dpkg/status.d"),
                                   oi.file("var/lib/dpkg/status.d/x", "Package: x\n")], compress=False),
        }
    if name == "notation_envelope":
        from tests.notation import signing as ns

        root = ns.root_ca(kind="ec")
        signer = ns.leaf(root, kind="ec")
        target = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "ab" * 32,
                  "size": 7}
        seeds = {"jws": ns.jws(target, signer, [signer, root]), "cose": ns.cose(target, signer, [signer, root])}
        token = REPO.parent / "shared/corpus/notation/notation-go/verifier/testdata/timestamp/countersignature"
        if (token / "TimeStampToken.p7s").exists():
            seeds["token"] = (token / "TimeStampToken.p7s").read_bytes()
        return seeds
    payload = {"critical": {"identity": {"docker-reference": "registry.example.com/acme/app"},
                            "image": {"docker-manifest-digest": "sha256:" + "ab" * 32},
                            "type": "cosign container image signature"}, "optional": None}
    bundle = {"SignedEntryTimestamp": base64.b64encode(b"set").decode(),
              "Payload": {"body": base64.b64encode(b"{}").decode(), "integratedTime": 1, "logIndex": 2,
                          "logID": "ab" * 32}}
    return {"payload": json.dumps(payload, separators=(",", ":")).encode(), "bundle": json.dumps(bundle).encode()}


def _rpm_seeds() -> dict[str, bytes]:
    """A built header blob, and the corpus's real databases when the corpus is there (one byte picks the reader)."""
    import struct

    entries, data = b"", b""
    for tag, value in ((1000, b"bash"), (1001, b"5.2.15"), (1002, b"3.el9"), (1044, b"bash-5.2.15-3.el9.src.rpm")):
        entries += struct.pack(">iIiI", tag, 6, len(data), 1)
        data += value + b"\0"
    seeds = {"header": b"\x03" + struct.pack(">II", 4, len(data)) + entries + data,
             "manifest": b"\x02vim\t9.0-1.cm2\t1\t2\tMicrosoft\t2\t45000\tx86_64\t2\tvim-9.0-1.cm2.src.rpm\n"}
    rpmdb = Path(os.environ.get("GATES_CORPUS", REPO.parent / "shared" / "corpus")) / "rpmdb"
    for seed, (choice, path) in {"bdb": (0, "go-rpmdb/libuuid/Packages"), "ndb": (1, "go-rpmdb/sle15-bci/Packages.db"),
                                 "blob": (3, "go-rpmdb/blob.bin")}.items():
        if (rpmdb / path).is_file():
            seeds[seed] = bytes([choice]) + (rpmdb / path).read_bytes()
    return seeds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60, help="total fuzzing time, split across harnesses")
    parser.add_argument("harness", nargs="*", default=list(HARNESSES))
    args = parser.parse_args(argv)
    if importlib.util.find_spec("atheris") is None:
        message = "fuzz: atheris is not installed (pip install atheris); skipping the fuzz harnesses"
        print(message, file=sys.stderr)
        installable = platform.machine() == "x86_64" and sys.version_info[:2] == (3, 11)  # as the dev extra says
        return 1 if installable and os.environ.get("CI", "").lower() == "true" else 0
    each = max(1, args.seconds // len(args.harness))
    failed = False
    total_runs = 0
    for name in args.harness:
        corpus = WORK / f"corpus-{name}"
        corpus.mkdir(parents=True, exist_ok=True)
        for seed, data in _seeds(name).items():
            (corpus / f"seed-{seed}").write_bytes(data)
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, str(HERE / f"{name}.py"), f"-max_total_time={each}", "-rss_limit_mb=2048",
             "-timeout=10", f"-artifact_prefix={WORK}/crash-{name}-", str(corpus)],
            capture_output=True, text=True, timeout=each + 120, check=False, env={**os.environ,
                                                                               "PYTHONPATH": str(REPO)},
        )
        seconds = time.monotonic() - started
        done = re.search(r"Done (\d+) runs in (\d+) second", proc.stderr)
        runs = int(done.group(1)) if done else 0
        total_runs += runs
        cov = re.findall(r"cov: (\d+)", proc.stderr)
        status = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
        print(f"fuzz {name}: {runs} executions in {seconds:.0f} s, coverage {cov[-1] if cov else '?'} edges, "
              f"corpus {len(list(corpus.iterdir()))} inputs: {status}")
        if proc.returncode != 0:
            failed = True
            print("\n".join(proc.stderr.splitlines()[-40:]), file=sys.stderr)
    print(f"fuzz: {total_runs} executions in all")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
