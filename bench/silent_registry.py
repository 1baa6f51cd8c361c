"""Silent-registry benchmark: how long the image gates take when a registry accepts and never answers.

    python bench/silent_registry.py [--images N] [--gate base-image|signature]... [--tls] [--gates CMD]
                                    [--config TOML] [--timeout SECONDS] [--json PATH]

1. **Silence.** A loopback TCP socket, in this interpreter, that accepts every connection and never
   sends or reads a byte (a registry hung behind a load balancer). Its port is the registry host.
   With `--tls` it completes the TLS handshake first (a self-signed certificate for 127.0.0.1, given
   to gates as `REQUESTS_CA_BUNDLE`) and then says nothing: the client waits on reads, not on the
   handshake, as with a remote HTTPS registry whose backend hangs.
2. **Images.** N references `127.0.0.1:<port>/silent/img<i>:1` (default 32), all on that one host.
3. **Runs**, each a real process timed by `_harness.measure`, with the defaults unless `--config` gives
   a gates.toml body: `gates base-image IMAGE... --format json` and `gates signature IMAGE... --key
   cosign.pub --format json` (an ECDSA key written for the run; nothing is ever verified with it). Both
   run with `GATES_CACHE_DIR=none` and a `DOCKER_CONFIG` holding no credentials.
4. **Checks.** Every image must be an `error` result with one line (a pass or a missing result marks
   the row `INVALID`); the distinct error reasons are printed, so it is visible what each image was told.

`--gates CMD` runs another build of gates (e.g. `"python -m gates"` with `PYTHONPATH` set to an older
checkout, for the before figure). A benchmark, not a test: it reports, it never fails on a missed aim.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import socket
import ssl
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

from _harness import (
    REPO_ROOT,
    WORK_DIR,
    default_gates_command,
    git_revision,
    machine_description,
    measure,
    print_table,
)

sys.path.insert(0, str(REPO_ROOT))  # the loopback TLS identity lives in tests/

GATES = ("base-image", "signature")


@contextmanager
def silent_socket(tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """`127.0.0.1:<port>` of a socket that accepts connections (and TLS handshakes) and never answers."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(512)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)  # kept open, never read, never written
            if tls is not None:
                threading.Thread(target=handshake, args=(conn,), daemon=True).start()

    def handshake(conn: socket.socket) -> None:
        assert tls is not None
        with suppress(OSError):
            held.append(tls.wrap_socket(conn, server_side=True))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()
        for conn in held:
            conn.close()


def write_key(work: Path) -> Path:
    """A throwaway ECDSA P-256 public key in PEM, as `cosign generate-key-pair` would write."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    path = work / "cosign.pub"
    path.write_bytes(key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


def run_gate(gate: str, images: Sequence[str], gates_cmd: Sequence[str], work: Path,
             timeout: float, ca_bundle: Path | None) -> dict[str, object]:
    """One timed `gates <gate>` run over `images`; what it took and what each image was told."""
    args = ["base-image", *images, "--now", "2026-11-24"] if gate == "base-image" else \
        ["signature", *images, "--key", str(write_key(work))]
    docker = work / "docker"
    docker.mkdir(exist_ok=True)
    (docker / "config.json").write_text('{"auths": {}}', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATES_")}
    env.update({"GATES_CACHE_DIR": "none", "DOCKER_CONFIG": str(docker), "NO_COLOR": "1",
                "XDG_DATA_HOME": str(work / "xdg")})
    if ca_bundle is not None:
        env["REQUESTS_CA_BUNDLE"] = str(ca_bundle)
    out, err = work / f"{gate}.json", work / f"{gate}.err"
    m = measure([*gates_cmd, *args, "--config", "gates.toml", "--format", "json"], stdout_path=out,
                stderr_path=err, env=env, cwd=work, timeout=timeout)
    results: list[dict[str, object]] = []
    with suppress(OSError, ValueError, KeyError):
        results = json.loads(out.read_text(encoding="utf-8"))["results"]
    errors = [r for r in results if r.get("outcome") == "error" and "\n" not in str(r.get("error"))]
    reasons = sorted({re.sub(r"img\d+", "img<i>", str(r["error"])) for r in errors})
    valid = len(errors) == len(images) and not m.timed_out
    return {"gate": gate, "seconds": m.seconds, "rc": m.rc, "timed_out": m.timed_out, "results": len(results),
            "errors": len(errors), "valid": valid, "reasons": reasons}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--gate", action="append", choices=GATES, help="default: both")
    parser.add_argument("--gates", help="the gates command (default: the project venv's console script)")
    parser.add_argument("--tls", action="store_true", help="complete TLS handshakes, then stay silent")
    parser.add_argument("--config", default="", help="a gates.toml body (default: empty, i.e. the defaults)")
    parser.add_argument("--timeout", type=float, default=3 * 3600.0, help="kill a run after this many seconds")
    parser.add_argument("--json", type=Path, default=WORK_DIR / "silent-registry-results.json")
    opts = parser.parse_args(argv)
    from tests.oci.tls import loopback_identity

    gates_cmd = shlex.split(opts.gates) if opts.gates else default_gates_command()
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(dir=WORK_DIR, prefix="silent-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        identity = loopback_identity(work / "tls") if opts.tls else None
        host = stack.enter_context(silent_socket(identity.server_context() if identity else None))
        (work / "gates.toml").write_text(opts.config, encoding="utf-8")
        images = [f"{host}/silent/img{i}:1" for i in range(opts.images)]
        for gate in opts.gate or GATES:
            row = run_gate(gate, images, gates_cmd, work, opts.timeout, identity.cert if identity else None)
            rows.append(row)
            print(f"{gate}: {row['seconds']:.1f} s, {row['errors']}/{opts.images} error results", file=sys.stderr)
    print(f"{opts.images} images on one silent registry ({'TLS, then silence' if opts.tls else 'silent'});"
          f" gates: {' '.join(gates_cmd)}; revision {git_revision()}")
    print_table(["gate", "seconds", "exit", "error results", "valid"],
                [[str(r["gate"]), f"{r['seconds']:.1f}", str(r["rc"]), f"{r['errors']}/{opts.images}",
                  "yes" if r["valid"] else "INVALID"] for r in rows])
    for r in rows:
        for reason in r["reasons"]:  # type: ignore[attr-defined]
            print(f"  {r['gate']}: {reason}")
    opts.json.parent.mkdir(parents=True, exist_ok=True)
    opts.json.write_text(json.dumps({"machine": machine_description(), "revision": git_revision(), "tls": opts.tls,
                                     "images": opts.images, "config": opts.config, "runs": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
