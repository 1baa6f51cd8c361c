"""Key-signed DSSE bundles: inclusion proofs with signed checkpoints (Rekor v1 and proof-only Rekor v2), SETs.

The log is a test key in a `trusted_root.json`; the proof is a real RFC 6962 proof in a two-leaf tree and
the checkpoint a real signed note, so sigstore's Merkle and note code verifies them as it would Rekor's.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from gates.cosign import reasons
from gates.cosign.authority import Authority
from gates.cosign.bundles import verify_bundle
from gates.cosign.errors import Rejected
from tests.cosign.factory import FakeRekor, public_pem, sign, spki, timestamp_authority, trusted_root, tsa_entry

KEY = ec.generate_private_key(ec.SECP256R1())
DIGEST = "sha256:" + "ab" * 32
PREDICATE = "https://slsa.dev/provenance/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"


def _payload() -> bytes:
    return json.dumps({"_type": "https://in-toto.io/Statement/v1", "subject": [{"digest": {"sha256": "ab" * 32}}],
                       "predicateType": PREDICATE, "predicate": {}}).encode()


def _pae(payload: bytes) -> bytes:
    return b"DSSEv1 %d %b %d %b" % (len(PAYLOAD_TYPE), PAYLOAD_TYPE.encode(), len(payload), payload)


def _leaf(body: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + body).digest()


def _checkpoint(rekor: FakeRekor, size: int, root: bytes, key: ec.EllipticCurvePrivateKey | None = None) -> str:
    note = f"rekor.test - 1\n{size}\n{base64.b64encode(root).decode()}\n"
    signature = (key or rekor.key).sign(note.encode(), ec.ECDSA(hashes.SHA256()))
    return note + "\n\u2014 rekor.test " + base64.b64encode(rekor.log_id[:4] + signature).decode() + "\n"


def _body(kind: str, payload: bytes, signature: bytes) -> bytes:
    if kind == "dsse/0.0.1":
        spec: dict[str, Any] = {
            "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
            "signatures": [{"signature": base64.b64encode(signature).decode(),
                            "verifier": base64.b64encode(public_pem(KEY)).decode()}]}
        doc = {"apiVersion": "0.0.1", "kind": "dsse", "spec": spec}
    else:
        doc = {"apiVersion": "0.0.2", "kind": "hashedrekord", "spec": {"hashedRekordV002": {
            "data": {"algorithm": "SHA2_256",
                     "digest": base64.b64encode(hashlib.sha256(_pae(payload)).digest()).decode()},
            "signature": {"content": base64.b64encode(signature).decode(),
                          "verifier": {"publicKey": {"rawBytes": base64.b64encode(spki(KEY)).decode()},
                                       "keyDetails": "PKIX_ECDSA_P256_SHA_256"}}}}}
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def _bundle(rekor: FakeRekor, kind: str = "dsse/0.0.1", *, proof: bool = True, promise: bool = False,
            bad_root: bool = False, other_signature: bool = False, media: str = "v0.3") -> bytes:
    payload = _payload()
    signature = sign(KEY, _pae(payload))
    body = _body(kind, payload, sign(KEY, _pae(payload)) if other_signature else signature)
    sibling = _leaf(b"another entry")
    root = hashlib.sha256(b"\x01" + _leaf(body) + sibling).digest()
    entry: dict[str, Any] = {
        "logIndex": "0", "logId": {"keyId": base64.b64encode(rekor.log_id).decode()},
        "kindVersion": {"kind": kind.split("/")[0], "version": kind.split("/")[1]},
        "canonicalizedBody": base64.b64encode(body).decode(),
    }
    if proof:
        entry["inclusionProof"] = {
            "logIndex": "0", "treeSize": "2", "rootHash": base64.b64encode(b"\0" * 32 if bad_root else root).decode(),
            "hashes": [base64.b64encode(sibling).decode()], "checkpoint": {"envelope": _checkpoint(rekor, 2, root)}}
    if promise:
        annotation = json.loads(rekor.annotation(entry["canonicalizedBody"]))
        entry["integratedTime"] = str(annotation["Payload"]["integratedTime"])
        entry["logIndex"] = str(annotation["Payload"]["logIndex"])
        entry["inclusionPromise"] = {"signedEntryTimestamp": annotation["SignedEntryTimestamp"]}
    media_type = ("application/vnd.dev.sigstore.bundle.v0.3+json" if media == "v0.3"
                  else "application/vnd.dev.sigstore.bundle+json;version=0.1")
    return json.dumps({
        "mediaType": media_type,
        "verificationMaterial": {"publicKey": {"hint": ""}, "tlogEntries": [entry]},
        "dsseEnvelope": {"payload": base64.b64encode(payload).decode(), "payloadType": PAYLOAD_TYPE,
                         "signatures": [{"sig": base64.b64encode(signature).decode(), "keyid": ""}]},
    }).encode()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[FakeRekor, Authority]:
    rekor = FakeRekor()
    root = trusted_root(tmp_path_factory.mktemp("root") / "trusted_root.json",
                        rekor_keys=[(rekor.log_id, spki(rekor.key))])
    return rekor, Authority(key=public_pem(KEY), trusted_root=Path(root))


@pytest.mark.parametrize("kind", ["dsse/0.0.1", "hashedrekord/0.0.2"])
def test_proof_only_entries_verify(setup: tuple[FakeRekor, Authority], kind: str) -> None:
    rekor, authority = setup
    statement = verify_bundle(_bundle(rekor, kind), authority, DIGEST, predicate_types=frozenset({PREDICATE}))
    assert statement is not None and statement["predicateType"] == PREDICATE


def test_proof_and_set_together_verify(setup: tuple[FakeRekor, Authority]) -> None:
    rekor, authority = setup
    assert verify_bundle(_bundle(rekor, promise=True), authority, DIGEST, predicate_types=None) is not None


def test_a_proof_to_another_root_is_refused(setup: tuple[FakeRekor, Authority]) -> None:
    rekor, authority = setup
    with pytest.raises(Rejected, match="inclusion proof does not verify") as caught:
        verify_bundle(_bundle(rekor, bad_root=True), authority, DIGEST, predicate_types=None)
    assert caught.value.rule == reasons.INVALID


def test_a_logged_body_for_another_signature_is_refused(setup: tuple[FakeRekor, Authority]) -> None:
    rekor, authority = setup
    for kind in ("dsse/0.0.1", "hashedrekord/0.0.2"):
        with pytest.raises(Rejected, match=r"another (signature|payload hash)"):
            verify_bundle(_bundle(rekor, kind, other_signature=True), authority, DIGEST, predicate_types=None)


def test_a_v03_bundle_with_only_a_set_is_refused_but_v01_accepted(setup: tuple[FakeRekor, Authority]) -> None:
    rekor, authority = setup
    with pytest.raises(Rejected, match="must carry an inclusion proof"):
        verify_bundle(_bundle(rekor, proof=False, promise=True), authority, DIGEST, predicate_types=None)
    assert verify_bundle(_bundle(rekor, proof=False, promise=True, media="v0.1"), authority, DIGEST,
                         predicate_types=None) is not None


def test_a_checkpoint_signed_by_another_key_is_refused(setup: tuple[FakeRekor, Authority]) -> None:
    rekor, authority = setup
    data = json.loads(_bundle(rekor))
    proof = data["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
    root = base64.b64decode(proof["rootHash"])
    proof["checkpoint"]["envelope"] = _checkpoint(rekor, 2, root, ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(Rejected, match="inclusion proof does not verify"):
        verify_bundle(json.dumps(data).encode(), authority, DIGEST, predicate_types=None)


def test_no_entry_and_no_timestamp_is_tlog_missing(setup: tuple[FakeRekor, Authority]) -> None:
    rekor, authority = setup
    data = json.loads(_bundle(rekor))
    data["verificationMaterial"]["tlogEntries"] = []
    with pytest.raises(Rejected) as caught:
        verify_bundle(json.dumps(data).encode(), authority, DIGEST, predicate_types=None)
    assert caught.value.rule == reasons.TLOG_MISSING


def test_a_trusted_timestamp_is_no_transparency_for_a_key(tmp_path: Path, setup: tuple[FakeRekor, Authority]) -> None:
    """A key needs no time to be valid, so a timestamp proves nothing a log entry would: as in `cosign verify
    --key`, a key-signed bundle without a log entry needs ignore-tlog, however well it is timestamped."""
    rekor, logged_only = setup
    stamp, chain = timestamp_authority(tmp_path)
    root = json.loads(Path(str(logged_only.trusted_root)).read_text())
    root["timestampAuthorities"] = [tsa_entry(chain)]
    (tmp_path / "trusted_root.json").write_text(json.dumps(root))
    authority = Authority(key=public_pem(KEY), trusted_root=tmp_path / "trusted_root.json")
    data = json.loads(_bundle(rekor))
    signature = base64.b64decode(data["dsseEnvelope"]["signatures"][0]["sig"])
    data["verificationMaterial"]["timestampVerificationData"] = {"rfc3161Timestamps": [
        {"signedTimestamp": stamp(signature)}]}
    assert verify_bundle(json.dumps(data).encode(), authority, DIGEST, predicate_types=None) is not None
    data["verificationMaterial"]["tlogEntries"] = []
    with pytest.raises(Rejected) as caught:
        verify_bundle(json.dumps(data).encode(), authority, DIGEST, predicate_types=None)
    assert caught.value.rule == reasons.TLOG_MISSING
    ignoring = Authority(key=public_pem(KEY), trusted_root=tmp_path / "trusted_root.json", ignore_tlog=True)
    assert verify_bundle(json.dumps(data).encode(), ignoring, DIGEST, predicate_types=None) is not None
