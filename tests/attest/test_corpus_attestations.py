"""Conformance over ../shared/corpus/attestations: each source's stated verdict, judged offline by gates.attest.

How each upstream's words map onto gates' authorities and conditions (the policies are upstream's):

- `gh attestation verify`: `--owner O` is a SAN under `https://github.com/O/`, `--repo O/R` the certificate's
  source repository, `--signer-repo` / `--signer-workflow` the SAN (the signing workflow),
  `--cert-identity[-regex]` / `--cert-oidc-issuer` themselves; the issuer defaults to GitHub Actions'.
- slsa-verifier: `--builder-id` is the builder-id condition (the provenance's builder must also be the
  certificate's signer), `--source-uri` / `--source-branch` / `--source-tag` the source conditions. Without
  `--builder-id` it trusts only its own builders (slsa-github-generator's workflows): an identity regexp.

Sources whose verdicts need something other than an offline look at stored data are counted in
`NOT_JUDGED_OFFLINE` with the reason, never silently dropped.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from gates.attest.conditions import BuilderId, SourceRef, SourceUri, StatementCondition
from gates.attest.layers import parse_attestation_layer
from gates.attest.predicates import predicate_type
from gates.attest.statement import parse_envelope, parse_statement
from gates.attest.verify import AttestationBundle, Candidate, Requirement, verify_attestations
from gates.cosign.authority import Authority
from gates.cosign.bundles import authenticate_dsse_bundle
from gates.cosign.errors import Rejected
from gates.cosign.identity import KeylessIdentity
from tests.conftest import require_corpus

GITHUB_ACTIONS = "https://token.actions.githubusercontent.com"
SLSA_GENERATOR = r"https://github\.com/slsa-framework/slsa-github-generator/\.github/workflows/[^@]+@refs/tags/v[0-9.]+"
"""The builders slsa-verifier trusts when no --builder-id is given."""

DIVERGENCES = {
    "gh-cli/sigstore-js-2.1.0-v0.1": "gh refuses bundle v0.1 by its own policy; gates, as cosign, sigstore and"
    " slsa-verifier (whose v0.1 case is valid), verifies it: the signature material is the v0.3 one",
    "gh-cli/github-release-attestation": "the release service's certificate carries no OIDC issuer, and gates"
    " requires one in every keyless authority under Fulcio (upstream tests it with a mock verifier)",
}
"""Cases where gates judges differently from the source, on purpose; asserted as such (not skipped)."""

NOT_JUDGED_OFFLINE = {
    "kyverno": "chainsaw tests against live images and a cluster (admission verdicts); no attestation bytes",
    "policy-controller": "CUE policy over attestations created live in a kind cluster; no attestation bytes",
    "cosign/e2e": "CUE policies over attestations created live in the e2e workflow; no attestation bytes",
    "gcb": "Google Cloud Build signs the raw payload (not the DSSE PAE) with regional keys and judges key ids"
    " and regions: slsa-verifier's GCB-specific scheme, not an in-toto DSSE attestation gates accepts",
    "vsa": "a P1363-encoded ECDSA signature under a keystore key id (slsa-verifier's VSA path)",
    "buildkit": "unsigned BuildKit provenance: evidence for the base-image gate, not an attestation to verify",
}


def _records() -> list[dict[str, Any]]:
    path = require_corpus("attestations", "expected.json")
    records: list[dict[str, Any]] = json.loads(path.read_text())
    return records


def _root(record: dict[str, Any]) -> Path | None:
    text = record.get("trusted_root")
    return (require_corpus("attestations") / text).resolve() if text else None


def _bundle(record: dict[str, Any]) -> bytes:
    base = require_corpus("attestations")
    name = str(record["bundle"])
    path: Path = base / name if (base / name).exists() else base / "github" / name
    data = path.read_bytes()
    return data.splitlines()[int(record.get("bundle_line", 0))] if path.suffix == ".jsonl" else data


def _digest(record: dict[str, Any]) -> str:
    """The artifact's digest, or (for the records whose bundle has no statement) one nothing names."""
    if not record.get("artifact_digest") and not record.get("subject"):
        return "sha256:" + "0" * 64
    digests = record.get("artifact_digest") or record["subject"][0]["digest"]
    algorithm = "sha256" if "sha256" in digests else sorted(digests)[0]
    return f"{algorithm}:{digests[algorithm]}"


def _gh_identity(policy: dict[str, Any], record: dict[str, Any]) -> KeylessIdentity:
    issuer = policy.get("cert_oidc_issuer", GITHUB_ACTIONS)
    if "cert_identity" in policy:
        return KeylessIdentity(identity=policy["cert_identity"], issuer=issuer, github_repository=policy.get("repo"))
    if "cert_identity_regex" in policy:
        return KeylessIdentity(identity_regexp=policy["cert_identity_regex"] + ".*", issuer=issuer,
                               github_repository=policy.get("repo"))
    if "signer_workflow" in policy:
        workflow = policy["signer_workflow"].removeprefix("github.com/")
        pattern = "https://github\\.com/" + re.escape(workflow) + "@.*"
    elif "signer_repo" in policy:
        pattern = "https://github\\.com/" + re.escape(policy["signer_repo"]) + "/.*"
    elif "owner" in policy:
        pattern = "https://github\\.com/" + re.escape(policy["owner"]) + "/.*"
    else:
        pattern = "https://github\\.com/.*"
    return KeylessIdentity(identity_regexp=pattern, issuer=issuer, github_repository=policy.get("repo"))


def _signer_identity(record: dict[str, Any]) -> KeylessIdentity:
    """The record's own signer (as gh verifies with a known identity)."""
    signer = record.get("signer") or {}
    sans = signer.get("san") or ["nobody@example.invalid"]
    return KeylessIdentity(identity=sans[0], issuer=signer.get("oidc_issuer") or GITHUB_ACTIONS)


def _accepted(digest: str, candidates: list[Candidate], requirement: Requirement) -> tuple[bool, str]:
    verdict = verify_attestations(digest, candidates, requirement)
    return verdict.accepted_by is not None, "; ".join(check.message for check in verdict.reasons)


def _statement_type(data: bytes) -> str:
    """The predicate type the bundle's statement names (to require exactly what upstream verified)."""
    import base64

    doc = json.loads(data)
    envelope = doc.get("dsseEnvelope") or {}
    try:
        return str(json.loads(base64.b64decode(envelope.get("payload", ""))).get("predicateType") or "https://none")
    except ValueError:
        return "https://in-toto.io/none"


def _github_cases() -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    cases: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
    for record in _records():
        if record["set"] != "github":
            continue
        if record.get("policy"):
            cases += [(f"{record['id']}[{n}]", record, policy) for n, policy in enumerate(record["policy"])]
        else:
            cases.append((record["id"], record, None))
    return cases


@pytest.mark.parametrize(("case", "record", "policy"), _github_cases(), ids=[c[0] for c in _github_cases()])
def test_github_attestations(case: str, record: dict[str, Any], policy: dict[str, Any] | None) -> None:
    data = _bundle(record)
    identity = _gh_identity(policy, record) if policy else _signer_identity(record)
    requirement = Requirement(_statement_type(data), (Authority(keyless=identity, trusted_root=_root(record)),))
    accepted, why = _accepted(_digest(record), [AttestationBundle(data, record["id"])], requirement)
    expected = (policy or {}).get("expect", record["expect"]) in ("valid", "pass")
    if record["id"] in DIVERGENCES:
        assert accepted is not expected, DIVERGENCES[record["id"]]
        return
    assert accepted is expected, why


def _slsa_conditions(policy: dict[str, Any]) -> tuple[StatementCondition, ...]:
    conditions: list[StatementCondition] = [SourceUri(policy["source_uri"])]
    if policy.get("builder_id"):
        conditions.append(BuilderId(policy["builder_id"]))
    if policy.get("source_branch"):
        conditions.append(SourceRef(f"refs/heads/{policy['source_branch']}"))
    if policy.get("source_tag"):
        conditions.append(SourceRef(f"refs/tags/{policy['source_tag']}"))
    if policy.get("source_versioned_tag"):
        conditions.append(SourceRef(regexp=f"refs/tags/{re.escape(policy['source_versioned_tag'])}([.].*)?"))
    return tuple(conditions)


def _slsa_authority(policy: dict[str, Any], root: Path | None) -> Authority:
    pattern = "https://github\\.com/.+" if policy.get("builder_id") else SLSA_GENERATOR
    return Authority(keyless=KeylessIdentity(identity_regexp=pattern, issuer=GITHUB_ACTIONS), trusted_root=root)


def _slsa_cases() -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    cases: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
    for record in _records():
        if record["set"] != "slsa-verifier" or not (
            record["id"].startswith(("slsa-verifier/bcr", "slsa-verifier/gha_"))
        ):
            continue
        if record.get("policy"):
            cases += [(f"{record['id']}[{n}]", record, policy) for n, policy in enumerate(record["policy"])]
        else:
            cases.append((record["id"], record, None))
    return cases


def _layout_candidates(record: dict[str, Any]) -> list[Candidate]:
    layout = require_corpus("attestations", record["oci_layout"])
    blobs = layout / "blobs" / "sha256"
    manifest = json.loads((blobs / record["cosign_att_manifest"].removeprefix("sha256:")).read_bytes())
    out: list[Candidate] = []
    for index, descriptor in enumerate(manifest["layers"], start=1):
        blob = (blobs / descriptor["digest"].removeprefix("sha256:")).read_bytes()
        out.append(parse_attestation_layer(index, descriptor, blob, " (.att)"))
    return out


@pytest.mark.parametrize(("case", "record", "policy"), _slsa_cases(), ids=[c[0] for c in _slsa_cases()])
def test_slsa_verifier_provenance(case: str, record: dict[str, Any], policy: dict[str, Any] | None) -> None:
    root = _root(record)
    if "oci_layout" in record:
        candidates = _layout_candidates(record)
        digest, wanted = record["image_index_digest"], record["predicateType"]
    else:
        data = _bundle(record)
        candidates = [AttestationBundle(data, record["id"])]
        digest, wanted = _digest(record), _statement_type(data)
    if policy is None:  # upstream's bundle unit cases judge authentication and transparency alone
        authority = Authority(keyless=KeylessIdentity(identity_regexp="https://github\\.com/.+",
                                                      issuer=GITHUB_ACTIONS), trusted_root=root)
        try:
            authenticate_dsse_bundle(_bundle(record), authority)
            outcome = None
        except Rejected as exc:
            outcome = exc.message
        assert (outcome is None) is record["expect"].startswith("valid"), outcome
        return
    requirement = Requirement(wanted, (_slsa_authority(policy, root),), _slsa_conditions(policy))
    expected = policy["expect"] == "pass"
    accepted, why = _accepted(digest, candidates, requirement)
    assert accepted is expected, why


@pytest.mark.parametrize("record", [r for r in _records() if r["id"].startswith("cosign/pkg-policy")],
                         ids=lambda r: r["id"])
def test_cosign_attestation_layers_parse(record: dict[str, Any]) -> None:
    envelope = parse_envelope(require_corpus("attestations", record["envelope"]).read_bytes())
    statement = parse_statement(envelope.payload_type, envelope.payload)
    assert statement.predicate_type == record["predicateType"]
    assert statement.names_digest("sha256:" + record["subject"][0]["digest"]["sha256"])
    if record["expect"].startswith("parse (malformed"):
        with pytest.raises(ValueError, match="unknown attestation type"):
            predicate_type(statement.predicate_type)  # not a URI: no requirement can name it
    else:
        assert predicate_type(statement.predicate_type) == statement.predicate_type


def test_every_record_is_judged_or_counted() -> None:
    """No record is dropped quietly: each is judged above, a stated divergence, or not judgeable offline."""
    counted: dict[str, int] = {}
    for record in _records():
        key = record["id"]
        if (record["set"] in ("github", "cosign") and not key.startswith("cosign/e2e")) or key.startswith(
                ("slsa-verifier/bcr", "slsa-verifier/gha_")):
            counted["judged"] = counted.get("judged", 0) + 1
            continue
        reason = next((name for name in NOT_JUDGED_OFFLINE
                       if record["set"] == name or key.startswith(name) or f"/{name}" in key), None)
        assert reason is not None, f"{key} is neither judged nor counted as not judgeable offline"
        counted[reason] = counted.get(reason, 0) + 1
    assert sum(counted.values()) == len(_records())
    assert counted["judged"] == 26


def test_max_age_uses_the_verified_tsa_time_of_a_github_instance_attestation() -> None:
    """The opa-provider attestation was timestamped by GitHub's TSA on 2025-05-07T08:05:10Z."""
    import datetime as dt

    from gates.attest.conditions import MaxAge

    base = require_corpus("attestations", "github")
    data = (base / "opa-provider" / "valid-bundle.json").read_bytes()
    identity = KeylessIdentity(
        identity="https://github.com/github/artifact-attestations-opa-provider/.github/workflows/docker.yaml"
                 "@refs/pull/31/merge", issuer=GITHUB_ACTIONS)
    authority = Authority(keyless=identity, trusted_root=base / "trust-roots" / "github-trusted-root.json")
    requirement = Requirement("https://slsa.dev/provenance/v1", (authority,), max_age=MaxAge(86400))
    digest = "sha256:d57f9212097b86c8d75158ea1d974721e7c6f8c33bd77838b242c8f6a2d21813"
    fresh = dt.datetime(2025, 5, 7, 20, 0, tzinfo=dt.timezone.utc)
    assert verify_attestations(digest, [AttestationBundle(data, "b")], requirement, fresh).accepted_by is not None
    late = verify_attestations(digest, [AttestationBundle(data, "b")], requirement, fresh + dt.timedelta(days=1))
    [reason] = late.reasons
    assert reason.rule == "attestation-condition" and "signed 2025-05-07T08:05:10Z" in reason.message


@pytest.mark.parametrize(("name", "kind"), [("bom-go-mod.spdx.json", "spdxjson"),
                                            ("bom-go-mod.cyclonedx.json", "cyclonedx")])
def test_cosign_sbom_predicates_satisfy_the_sbom_condition(name: str, kind: str) -> None:
    """cosign's `--type spdxjson` / `cyclonedx` test predicates, attested here as cosign attests them."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from gates.attest.conditions import SbomPresent
    from gates.oci.digest import Digest
    from tests.checks_signature.attest import att_layer
    from tests.cosign.factory import public_pem

    key = ec.generate_private_key(ec.SECP256R1())
    digest = Digest.parse("sha256:" + "ef" * 32)
    predicate = json.loads(require_corpus("attestations", "cosign", name).read_bytes())
    made = att_layer(key, digest, predicate_type(kind), predicate)
    layer = parse_attestation_layer(1, {"mediaType": "application/vnd.dsse.envelope.v1+json",
                                        "digest": f"sha256:{hashlib.sha256(made.blob).hexdigest()}",
                                        "annotations": made.annotations}, made.blob)
    authority = Authority(key=public_pem(key), ignore_tlog=True)
    fits = Requirement(predicate_type(kind), (authority,), (SbomPresent(64 * 1024),))
    assert verify_attestations(str(digest), [layer], fits).accepted_by is not None
    [reason] = verify_attestations(str(digest), [layer], Requirement(predicate_type(kind), (authority,),
                                                                     (SbomPresent(100),))).reasons
    assert reason.rule == "attestation-condition" and "more than the limit of 100" in reason.message


def test_cosign_vuln_predicate_through_key_paths() -> None:
    """cosign's `--type vuln` test predicate: a key with a dot (`builder.id`), nulls, nested fields."""
    from gates.attest.conditions import FieldCondition, failures
    from gates.attest.statement import Statement, Subject

    predicate = json.loads(require_corpus("attestations", "cosign", "attestations", "vuln-predicate.json").read_bytes())
    statement = Statement("https://in-toto.io/Statement/v1", predicate_type("vuln"),
                          (Subject("x", {"sha256": "ab" * 32}),), predicate, 500)
    holds = [FieldCondition('predicate.invocation["builder.id"]', equals=""),
             FieldCondition("predicate.scanner.uri", regexp="fakescanner\\.example\\.com/.*"),
             FieldCondition("predicate.metadata.scanStartedOn", one_of=("2022-04-12T00:00:00Z",))]
    assert failures(holds, statement) == []
    [null, absent] = failures([FieldCondition("predicate.scanner.result", equals="passed"),
                               FieldCondition("predicate.invocation.builder.id", equals="")], statement)
    assert null.endswith("found null") and absent.endswith("found nothing (the field is absent)")
