"""`gates run` with both image gates, as real processes: one summary for the image both passed, naming
both, none for the one the base-image gate failed; then `gates attest` attaches it, and its exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from gates.oci.client import RegistryClient
from gates.oci.reference import parse_reference
from tests.checks_signature.conftest import Signers
from tests.checks_signature.cosign import key_layer, sign_legacy
from tests.ci_surfaces.registry_images import NOW, push_base_images
from tests.conftest import run_process
from tests.support.registry import RegistryServer
from tests.vsa.test_round_trip import verified_summaries


def test_gates_run_summarises_what_both_image_gates_passed(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, tmp_path: Path,
) -> None:
    images = push_base_images(registry.host)
    for image in (images.current, images.old):  # both signed: only the base-image gate tells them apart
        ref = parse_reference(image)
        digest = pusher.resolve(ref).digest
        sign_legacy(pusher, ref, digest, key_layer(signers.key, digest, ref.name, signers.rekor))
    (tmp_path / "gates.toml").write_text(f"""
gates = ["signature", "base-image"]

[signature]
images = ["{images.current}", "{images.old}"]
trusted-root = "{signers.trusted_root}"

[[signature.policies]]
name = "ours"
images = ["{registry.host}/**"]

[[signature.policies.authorities]]
key = "{signers.key_pem}"

[base-image]
images = ["{images.current}", "{images.old}"]
""", encoding="utf-8")
    env = {"GATES_NOW": NOW, "GATES_CACHE_DIR": str(tmp_path / "cache"), "DOCKER_CONFIG": str(tmp_path),
           "GATES_VSA_VERIFIER_ID": "https://ci.example/acme/app/release"}
    run = run_process(["run", "--format", "json", "--output", "vsa=summaries"], tmp_path, env=env, timeout=300)
    assert run.code == 1, run.err  # the old image fails the base-image gate
    outcomes = {(r["gate"], r["target"]): r["outcome"] for r in json.loads(run.out)["results"]}
    assert outcomes[("base-image", images.old)] == "failed" and outcomes[("signature", images.old)] == "passed"
    current = parse_reference(images.current)
    digest = pusher.resolve(current).digest
    [written] = (tmp_path / "summaries").iterdir()
    assert written.name == f"sha256-{digest.hex}.vsa.json"
    predicate = json.loads(written.read_bytes())["predicate"]
    assert predicate["verifiedLevels"] == ["GATES_SIGNATURE_PASSED", "GATES_BASE_IMAGE_PASSED"]
    assert predicate["verifier"]["id"] == "https://ci.example/acme/app/release"
    assert predicate["policy"]["uri"] == "gates.toml"

    no_password = run_process(["attest", "summaries", "--key", str(signers.key_file)], tmp_path, env=env)
    assert no_password.code == 2 and "set COSIGN_PASSWORD" in no_password.err
    assert "Traceback" not in no_password.err
    other_verifier = run_process(["attest", "summaries", "--key", str(signers.key_file)], tmp_path,
                                 env={**env, "COSIGN_PASSWORD": signers.password.decode(),
                                      "GATES_VSA_VERIFIER_ID": "https://ci.example/someone-else"})
    assert other_verifier.code == 1 and "verifier.id is 'https://ci.example/acme/app/release'" in other_verifier.err
    attested = run_process(["attest", "summaries", "--key", str(signers.key_file)], tmp_path,
                           env={**env, "COSIGN_PASSWORD": signers.password.decode()})
    assert attested.code == 0, attested.err
    [statement] = verified_summaries(pusher, current, digest, signers)
    assert statement["predicate"] == predicate
