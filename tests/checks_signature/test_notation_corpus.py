"""The notation e2e suite's `notation verify` cases through `gates signature`: the corpus's OCI layouts
(signed by notation, with the `sha256-<hex>` referrers index notation wrote) pushed as they are to the
real registry, verified under the case's trust policy and trust store, 35 of 35 agreeing.

How verdicts map: upstream `pass` is exit 0 with no finding; `pass (warning)` is exit 0 with a
`notation-check-logged` finding naming the logged check; `pass (skipped)` is exit 0 saying the statement
skips; `fail` is exit 1 naming the failed check (or the identity mismatch); `fail (policy invalid)` is a
configuration error (exit 2). A trust store the policy names but the folder lacks fails upstream when
verifying; here it stops the run before the first request, a configuration error too (exit 2).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gates.checks.signature import rules as r
from gates.oci.client import RegistryClient
from gates.oci.credentials import StaticCredentials
from gates.oci.digest import Digest
from gates.oci.reference import parse_reference
from tests.checks_signature.conftest import GatesRun, results
from tests.conftest import corpus_root, require_corpus
from tests.oci.conftest import FAST_RETRY
from tests.support.registry import RegistryServer


def _records() -> list[dict[str, Any]]:
    path = corpus_root() / "notation" / "expected.json"
    return json.loads(path.read_text()) if path.exists() else []


RECORDS = _records()
CASES = [rec for rec in RECORDS if rec["id"].startswith("notation-e2e/verify/")]


def _push_layout(client: RegistryClient, layout: Path, repository: str) -> str:
    """Every blob and manifest of `layout` into `repository`, byte for byte; returns the `v1` reference."""
    ref = parse_reference(f"{repository}:v1")
    for blob in sorted((layout / "blobs" / "sha256").iterdir()):
        client.put_blob(ref, blob.read_bytes())
    entries = json.loads((layout / "index.json").read_text())["manifests"]
    # signature manifests first (the client indexes them), then the tags, notation's own index last
    order = sorted(entries, key=lambda e: ("org.opencontainers.image.ref.name" in e.get("annotations", {}),
                                           e["mediaType"].endswith("index.v1+json")))
    for entry in order:
        body = (layout / "blobs" / entry["digest"].replace(":", "/")).read_bytes()
        tag = entry.get("annotations", {}).get("org.opencontainers.image.ref.name")
        target = ref.with_tag(tag) if tag else ref.with_digest(Digest.parse(entry["digest"]))
        client.put_manifest(target, body, entry["mediaType"])
    return str(ref)


@pytest.fixture(scope="module")
def pushed(registry: RegistryServer) -> Iterator[dict[str, str]]:
    """Each layout the cases use, pushed once: layout path -> its `v1` reference."""
    corpus = require_corpus("notation")
    layouts = sorted({case["layout"] for case in CASES})
    with RegistryClient(StaticCredentials({}), retry=FAST_RETRY) as client:
        yield {layout: _push_layout(client, corpus / layout, f"{registry.host}/notation/{Path(layout).name}")
               for layout in layouts}


def _check_named(message: str) -> str:
    if "expired" in message or "xpiry" in message:
        return "expiry"
    for name in ("authenticTimestamp", "authenticity", "integrity"):
        if name in message:
            return name
    raise AssertionError(message)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"].split("/")[-1])
def test_notation_verify_case(case: dict[str, Any], pushed: dict[str, str], gates: GatesRun, tmp_path: Path) -> None:
    corpus = require_corpus("notation")
    for store, files in case["trust_store"].items():
        kind, name = store.split(":")
        folder = tmp_path / "truststore" / "x509" / kind / name
        folder.mkdir(parents=True)
        for file in files:
            shutil.copy(corpus / file, folder)
    policy = tmp_path / "trustpolicy.json"
    shutil.copy(corpus / case["trust_policy"], policy)
    run = gates(["signature", "--notation-trust-policy", str(policy), "--notation-trust-store",
                 str(tmp_path / "truststore"), "--format", "json", pushed[case["layout"]]])
    assert "Traceback" not in run.err
    expect = case["expect"]
    if expect == "fail (policy invalid)" or "does not exist" in case.get("message", ""):
        assert run.code == 2, run.out
        [line] = run.err.strip().splitlines()
        assert line.startswith("gates: configuration error:") and "trustpolicy.json" in line
        return
    [result] = results(run)
    findings = result["findings"]
    if expect.startswith("pass"):
        assert run.code == 0, findings
        if expect == "pass":
            assert findings == []
        else:
            [finding] = findings
            assert finding["rule"] == r.NOTATION_CHECK_LOGGED and finding["severity"] == "info"
            if expect == "pass (skipped)":
                assert "skip signature verification" in finding["message"]
            else:
                assert f'{_check_named(case["message"])} was set to "log"' in finding["message"]
        return
    assert expect == "fail" and run.code == 1
    [finding] = findings
    if "trusted identities" in case["message"]:
        assert finding["rule"] == r.NOTATION_IDENTITY_MISMATCH
    else:
        assert finding["rule"] == r.NOTATION_INVALID
        assert f"{_check_named(case['message'])} validation failed" in finding["message"]


def test_every_case_is_here() -> None:
    require_corpus("notation")
    assert len(CASES) == 35
