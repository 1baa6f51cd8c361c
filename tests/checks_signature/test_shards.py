"""`gates signature --shard K/N`: each shard verifies only its own images, and the merge is the whole run."""

from __future__ import annotations

import json
from pathlib import Path

from gates.oci.client import RegistryClient
from gates.shard import shard_of
from tests.checks_signature.conftest import GatesRun, Signers, fresh, push, results
from tests.checks_signature.cosign import key_layer, sign_legacy
from tests.checks_signature.test_gate_cli import key_args
from tests.support.registry import RegistryServer


def test_shards_split_the_images_and_merge_to_the_whole_run(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun, tmp_path: Path
) -> None:
    refs = [fresh(registry, "shard") for _ in range(8)]
    for number, ref in enumerate(refs):
        digest = push(pusher, ref)
        if number % 2:  # half signed, half not: both outcomes travel through the merge
            sign_legacy(pusher, ref, digest, key_layer(signers.key, digest, ref.name, signers.rekor))
    images = [str(ref) for ref in refs]
    assert len({shard_of(image, 3) for image in images}) > 1
    whole = gates([*key_args(signers), *images])
    reports = []
    for k in (1, 2, 3):
        reports.append(tmp_path / f"s{k}.json")
        run = gates([*key_args(signers, "--shard", f"{k}/3", "--output", f"json={reports[-1]}"), *images])
        assert {r["target"] for r in results(run)} == {i for i in images if shard_of(i, 3) == k}
    merged = gates(["merge", "--format", "json", *map(str, reports)])
    assert merged.code == whole.code == 1
    assert sorted(map(json.dumps, results(merged))) == sorted(map(json.dumps, results(whole)))
    assert {r["outcome"] for r in results(merged)} == {"passed", "failed"}
