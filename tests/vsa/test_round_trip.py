"""The round trip through a real registry: the signature gate writes a summary, `gates attest` signs and
attaches it, and a verifier reading the registry accepts it; a tampered one it refuses.

`verified_summaries` is what a verifier of VSAs does (what `gates signature --attestation vsa` will do):
list the image's referrers, take the cosign v3 bundles whose predicate type is a VSA, check each DSSE
envelope here (PAE and signature, with `cryptography` directly) and through gates' own bundle
verification (`gates.cosign.bundles.verify_bundle`, the key authority the signature gate uses).
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gates.cosign.authority import Authority
from gates.cosign.bundles import verify_bundle
from gates.cosign.errors import Rejected
from gates.oci.client import RegistryClient
from gates.oci.digest import Digest
from gates.oci.reference import Reference
from gates.vsa.attach import attach_bundle
from gates.vsa.dsse import BUNDLE_MEDIA_TYPE, PAYLOAD_TYPE, key_bundle, pae
from gates.vsa.statement import PREDICATE_TYPE
from tests.checks_signature.conftest import GatesRun, Signers, fresh, push
from tests.checks_signature.cosign import key_layer, sign_legacy
from tests.support.registry import RegistryServer


def signature_args(signers: Signers, *extra: str) -> list[str]:
    return ["signature", "--key", str(signers.key_pem), "--trusted-root", str(signers.trusted_root), *extra]


def signed_image(client: RegistryClient, server: RegistryServer, signers: Signers) -> tuple[Reference, Digest]:
    ref = fresh(server, "vsa")
    digest = push(client, ref)
    sign_legacy(client, ref, digest, key_layer(signers.key, digest, ref.name, signers.rekor))
    return ref, digest


class NotAbout(ValueError):
    """A statement that verifies but is not a VSA about the digest in question."""


def own_dsse_check(bundle: bytes, public_key: ec.EllipticCurvePublicKey, digest: Digest) -> dict[str, Any]:
    """The statement of a DSSE bundle, checked by hand: the signature over the PAE verifies with
    `public_key` (else `InvalidSignature`), and it is a VSA whose subject is `digest` (else `NotAbout`)."""
    envelope = json.loads(bundle)["dsseEnvelope"]
    payload = base64.b64decode(envelope["payload"], validate=True)
    [signature] = envelope["signatures"]
    signed = b"DSSEv1 %d %b %d %b" % (len(envelope["payloadType"]), envelope["payloadType"].encode(),
                                      len(payload), payload)
    public_key.verify(base64.b64decode(signature["sig"]), signed, ec.ECDSA(hashes.SHA256()))
    statement: dict[str, Any] = json.loads(payload)
    if envelope["payloadType"] != PAYLOAD_TYPE or statement.get("predicateType") != PREDICATE_TYPE:
        raise NotAbout("not an in-toto VSA")
    if digest.hex not in [s.get("digest", {}).get("sha256") for s in statement.get("subject", [])]:
        raise NotAbout(f"not about {digest}")
    return statement


def vsa_bundles(client: RegistryClient, ref: Reference, digest: Digest) -> list[bytes]:
    """Every cosign v3 bundle attached to `digest` that says it holds a VSA."""
    found = []
    for entry in client.referrers(ref, digest).descriptors:
        manifest = json.loads(client.get_manifest(ref.repo_only().with_digest(entry.digest)).content)
        if manifest.get("artifactType") != BUNDLE_MEDIA_TYPE or \
                manifest.get("annotations", {}).get("dev.sigstore.bundle.predicateType") != PREDICATE_TYPE:
            continue
        assert manifest["subject"]["digest"] == str(digest)
        [layer] = manifest["layers"]
        found.append(client.get_blob(ref, Digest.parse(layer["digest"])))
    return found


def verified_summaries(
    client: RegistryClient, ref: Reference, digest: Digest, signers: Signers,
) -> list[dict[str, Any]]:
    """The VSA statements attached to `digest` that verify with the session's cosign.pub, both ways."""
    authority = Authority(key=signers.key_pem, ignore_tlog=True)
    accepted = []
    for bundle in vsa_bundles(client, ref, digest):
        try:
            verify_bundle(bundle, authority, str(digest), predicate_types=frozenset({PREDICATE_TYPE}))
        except Rejected:
            with pytest.raises((InvalidSignature, NotAbout)):  # the two checks agree
                own_dsse_check(bundle, signers.key.public_key(), digest)
            continue
        accepted.append(own_dsse_check(bundle, signers.key.public_key(), digest))
    return accepted


def test_a_passing_image_gets_a_signed_summary_a_verifier_accepts(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ref, digest = signed_image(pusher, registry, signers)
    folder = tmp_path / "vsa"
    run = gates([*signature_args(signers, "--output", f"vsa={folder}"), str(ref)])
    assert run.code == 0, run.out + run.err
    [written] = folder.iterdir()
    assert written.name == f"sha256-{digest.hex}.vsa.json"
    monkeypatch.setenv("COSIGN_PASSWORD", signers.password.decode())
    attested = gates(["attest", str(folder), "--key", str(signers.key_file)])
    assert attested.code == 0, attested.err
    assert f"{ref.name}@{digest}: verification summary attached as referrer sha256:" in attested.out
    assert f"in the tag {digest.tag_form}" in attested.out  # distribution 2.8 has no referrers API
    [statement] = verified_summaries(pusher, ref, digest, signers)
    assert statement == json.loads(written.read_bytes())  # exactly what the gate wrote
    assert statement["subject"] == [{"name": ref.name, "digest": {"sha256": digest.hex}}]
    predicate = statement["predicate"]
    assert predicate["verificationResult"] == "PASSED"
    assert predicate["verifiedLevels"] == ["GATES_SIGNATURE_PASSED"]
    assert predicate["verifier"]["id"] == "https://gates.dev/verifier"
    assert predicate["policy"]["uri"] == "gates:defaults" and len(predicate["policy"]["digest"]["sha256"]) == 64
    # and the gate's own attestation verification, as a deploy step would ask it
    check = gates([*signature_args(signers, "--insecure-ignore-tlog", "--attestation", "vsa", "--format", "json"),
                   str(ref)])
    assert check.code == 0, check.out + check.err
    [result] = json.loads(check.out)["results"]
    assert any("vsa" in line and "verified" in line for line in result["details"]), result["details"]


@pytest.mark.parametrize("tamper", ["result", "subject", "other-key", "payload-type"])
def test_a_tampered_summary_is_refused(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun, tamper: str,
) -> None:
    ref, digest = signed_image(pusher, registry, signers)
    honest = {"_type": "https://in-toto.io/Statement/v1",
              "subject": [{"name": ref.name, "digest": {"sha256": digest.hex}}],
              "predicateType": PREDICATE_TYPE,
              "predicate": {"verifier": {"id": "https://gates.dev/verifier"}, "verificationResult": "PASSED"}}
    payload = json.dumps(honest).encode()
    key = signers.key
    signature = key.sign(pae(PAYLOAD_TYPE, payload), ec.ECDSA(hashes.SHA256()))
    if tamper == "result":  # the bytes changed after signing
        payload = payload.replace(b'"PASSED"', b'"FAILED"')
    elif tamper == "subject":  # a summary of another image, signed honestly, attached to this one
        other = dict(honest, subject=[{"name": ref.name, "digest": {"sha256": "0" * 64}}])
        payload = json.dumps(other).encode()
        signature = key.sign(pae(PAYLOAD_TYPE, payload), ec.ECDSA(hashes.SHA256()))
    elif tamper == "other-key":
        signature = signers.other_key.sign(pae(PAYLOAD_TYPE, payload), ec.ECDSA(hashes.SHA256()))
    else:  # signed as plain JSON, presented as in-toto: the PAE binds the type
        signature = key.sign(pae("application/json", payload), ec.ECDSA(hashes.SHA256()))
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    bundle = key_bundle(payload, signature, der)
    attach_bundle(pusher, ref.with_digest(digest), bundle, PREDICATE_TYPE)
    assert len(vsa_bundles(pusher, ref, digest)) == 1
    if tamper == "subject":  # the signature holds: only the subject check refuses it
        with pytest.raises(NotAbout):
            own_dsse_check(bundle, key.public_key(), digest)
    assert verified_summaries(pusher, ref, digest, signers) == []
    check = gates([*signature_args(signers, "--insecure-ignore-tlog", "--attestation", "vsa", "--format", "json"),
                   str(ref)])
    assert check.code == 1, check.out + check.err  # the gate's own verification refuses it too
    [result] = json.loads(check.out)["results"]
    assert {f["rule"] for f in result["findings"]} == {"attestation-invalid"}, result["findings"]


def test_a_failing_image_gets_no_summary_and_old_ones_are_removed(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ref = fresh(registry, "unsigned")
    digest = push(pusher, ref)
    folder = tmp_path / "vsa"
    folder.mkdir()
    planted = folder / f"sha256-{digest.hex}.vsa.json"  # say, committed by a pull request
    planted.write_text('{"predicate": {"verificationResult": "PASSED"}}')
    kept = folder / "README.md"
    kept.write_text("not a summary")
    run = gates([*signature_args(signers, "--output", f"vsa={folder}"), str(ref)])
    assert run.code == 1
    assert sorted(p.name for p in folder.iterdir()) == ["README.md"]
    monkeypatch.setenv("COSIGN_PASSWORD", signers.password.decode())
    attested = gates(["attest", str(folder), "--key", str(signers.key_file)])
    assert attested.code == 2 and "no verification summaries in" in attested.err
    assert vsa_bundles(pusher, ref, digest) == []


def test_attest_refuses_a_summary_edited_after_the_gate_wrote_it(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good, good_digest = signed_image(pusher, registry, signers)
    bad, bad_digest = signed_image(pusher, registry, signers)
    folder = tmp_path / "vsa"
    run = gates([*signature_args(signers, "--output", f"vsa={folder}"), str(good), str(bad)])
    assert run.code == 0, run.err
    edited = folder / f"sha256-{bad_digest.hex}.vsa.json"
    doc = json.loads(edited.read_bytes())
    doc["subject"][0]["digest"]["sha256"] = "0" * 64
    edited.write_text(json.dumps(doc))
    monkeypatch.setenv("COSIGN_PASSWORD", signers.password.decode())
    attested = gates(["attest", str(folder), "--key", str(signers.key_file)])
    assert attested.code == 1
    assert "not the digest its name says; not signed" in attested.err
    assert len(verified_summaries(pusher, good, good_digest, signers)) == 1  # the other one is still attached
    assert vsa_bundles(pusher, bad, bad_digest) == []


def test_keyless_without_an_ambient_identity_is_a_usage_error(
    signers: Signers, gates: GatesRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(os.environ):
        if name.startswith(("ACTIONS_ID_TOKEN", "SIGSTORE_", "GITHUB_", "GITLAB", "CI_", "BUILDKITE", "CIRCLE")):
            monkeypatch.delenv(name)
    folder = tmp_path / "vsa"
    folder.mkdir()
    (folder / f"sha256-{'a' * 64}.vsa.json").write_text("{}")  # never read: the identity is missing first
    run = gates(["attest", str(folder), "--keyless"])
    assert run.code == 2
    assert "no ambient OIDC identity token" in run.err and "Traceback" not in run.err
    both = gates(["attest", str(folder), "--keyless", "--key", str(signers.key_file)])
    assert both.code == 2 and "--key KEY or --keyless" in both.err


def _jwt(claims: dict[str, Any]) -> str:
    def part(doc: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")
    return f"{part({'alg': 'ES256', 'typ': 'JWT'})}.{part(claims)}.{part({'sig': 'none'})}"


@pytest.mark.parametrize(("token", "message"), [
    ("not a token", "identity token could not be read: Malformed token"),
    (_jwt({"aud": "sigstore", "sub": "ci", "iss": "https://gitlab.example", "iat": 1, "exp": 2}),
     "the CI's identity token is unusable"),  # expired: jwt refuses it
])
def test_keyless_with_an_unusable_token_stops_before_the_network(
    gates: GatesRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token: str, message: str,
) -> None:
    for name in list(os.environ):
        if name.startswith(("ACTIONS_ID_TOKEN", "SIGSTORE_", "GITHUB_", "GITLAB", "CI_", "BUILDKITE", "CIRCLE")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GITLAB_CI", "true")
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", token)
    folder = tmp_path / "vsa"
    folder.mkdir()
    run = gates(["attest", str(folder), "--keyless"])
    assert run.code == 2 and message in run.err and "Traceback" not in run.err
