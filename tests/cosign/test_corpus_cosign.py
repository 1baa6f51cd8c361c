"""Every case of corpus/cosign/expected.json through the same code the gate uses.

The containers-image fixtures are single layers in containers/image's `dir:` format; each is turned
back into the `.sig` manifest descriptor and blob the registry client would hand over.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from gates.checks.signature import rules as r
from gates.cosign import (
    Authority,
    KeylessIdentity,
    LegacySignature,
    ReferenceMatch,
    SignatureError,
    parse_signature_manifest,
    verify_bundle,
    verify_image_signatures,
)
from gates.cosign.errors import Rejected
from gates.cosign.layers import ANNOTATION_BUNDLE, ANNOTATION_CERTIFICATE, ANNOTATION_CHAIN
from gates.cosign.trustroot import embedded_production_root_bytes
from tests.cosign.corpus import corpus, corpus_root

_DIR_PREFIX = b"\x00sigstore-json\n"
PRODUCTION_ROOT = None  # Authority default: the root embedded in sigstore


def cosign_dir() -> Path:
    return corpus("cosign")


def load_dir_signatures(*files: Path, drop: tuple[str, ...] = ()) -> tuple[LegacySignature, ...]:
    """containers/image `dir:` signature files -> manifest layers + blobs -> parsed signatures."""
    layers, blobs = [], {}
    for file in files:
        data = file.read_bytes()
        assert data.startswith(_DIR_PREFIX)
        doc = json.loads(data[len(_DIR_PREFIX) :])
        payload = base64.b64decode(doc["payload"])
        digest = "sha256:" + hashlib.sha256(payload).hexdigest()
        annotations = {k: v for k, v in doc["annotations"].items() if k not in drop}
        layers.append(
            {"mediaType": doc["mimeType"], "digest": digest, "size": len(payload), "annotations": annotations}
        )
        blobs[digest] = payload
    return parse_signature_manifest({"schemaVersion": 2, "layers": layers}, blobs)


def image_digest(image_dir: Path) -> str:
    return "sha256:" + hashlib.sha256((image_dir / "manifest.json").read_bytes()).hexdigest()


def production_root() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(embedded_production_root_bytes())
    return doc


def root_with(
    tmp_path: Path, *, rekor_pem: Path | None, fulcio_pem: Path | None, name: str = "trusted_root.json"
) -> Path:
    """A trusted root made of the case's own Rekor key and Fulcio CA (as containers/image is configured),
    plus the production CT logs for the SCT check containers/image does not make."""
    from cryptography.hazmat.primitives import serialization

    prod = production_root()
    doc: dict[str, Any] = {
        "mediaType": prod["mediaType"],
        "tlogs": [],
        "certificateAuthorities": [],
        "ctlogs": prod["ctlogs"],
        "timestampAuthorities": [],
    }
    if rekor_pem is not None:
        key = serialization.load_pem_public_key(rekor_pem.read_bytes())
        der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        doc["tlogs"].append(
            {
                "baseUrl": "https://rekor.example",
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": base64.b64encode(der).decode(),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": "2021-01-01T00:00:00Z"},
                },
                "logId": {"keyId": base64.b64encode(hashlib.sha256(der).digest()).decode()},
            }
        )
    if fulcio_pem is not None:
        certs = x509.load_pem_x509_certificates(fulcio_pem.read_bytes())
        doc["certificateAuthorities"].append(
            {
                "subject": {"organization": "sigstore.dev", "commonName": "sigstore"},
                "uri": "https://fulcio.example",
                "certChain": {
                    "certificates": [
                        {"rawBytes": base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()}
                        for c in certs
                    ]
                },
                "validFor": {"start": "2021-01-01T00:00:00Z"},
            }
        )
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def _cases() -> list[dict[str, Any]]:
    expected = corpus_root() / "cosign" / "expected.json"
    if not expected.exists():
        return [{"case": "corpus absent"}]
    cases: list[dict[str, Any]] = json.loads(expected.read_text())["containers-image"]
    return cases


# The rule each rejected case must be rejected under (why it fails, not merely that it fails).
EXPECTED_RULE = {
    "key, same signature but reference testing/manifest:notlatest": r.PAYLOAD_MISMATCH,
    "key, signed with unknown key": r.INVALID,
    "key, two signatures, non-matching reference": r.PAYLOAD_MISMATCH,
    "valid signature, modified manifest": r.PAYLOAD_MISMATCH,
    "valid signature, manifest is an invalid schema1 manifest": r.PAYLOAD_MISMATCH,
    "non-signature cosign attachment only": r.INVALID,
    "skopeo-made signature with tag, other tag": r.PAYLOAD_MISMATCH,
    "cosign-made signature under matchExact": r.PAYLOAD_MISMATCH,
    "key + Rekor, wrong Rekor key (cosign.pub)": r.TLOG_MISSING,
    "Fulcio keyless, wrong subject email": r.IDENTITY_MISMATCH,
}
# Where a case leaves the repository out, the one its payload was made for (so only the stated fault differs).
DEFAULT_REFERENCE = {
    "dir-img-cosign-valid": "192.168.64.2:5000/cosign-signed-single-sample",
    "dir-img-cosign-no-manifest": "192.168.64.2:5000/cosign-signed-single-sample",
    "dir-img-cosign-manifest-digest-error": "192.168.64.2:5000/cosign-signed-single-sample",
    "dir-img-cosign-key-rekor-valid": "192.168.64.2:5000/cosign-signed/key-1",
    "dir-img-cosign-fulcio-rekor-valid": "192.168.64.2:5000/cosign-signed/fulcio-rekor-1",
}


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["case"])
def test_containers_image_case(case: dict[str, Any], tmp_path: Path) -> None:
    base = cosign_dir()
    if case["case"].startswith("Fulcio keyless without Rekor key"):
        test_fulcio_case_without_rekor_or_annotations(tmp_path)  # a compound case: four variants
        return
    image_dir = (
        base / case["image_dir"] if "image_dir" in case else base / "containers-image/fixtures/dir-img-cosign-valid"
    )
    files = [base / case["signature"]] if "signature" in case else sorted(image_dir.glob("signature-*"))
    reference = case.get("reference") or DEFAULT_REFERENCE.get(
        image_dir.name, "192.168.64.2:5000/cosign-signed-single-sample"
    )
    match = ReferenceMatch.EXACT if case.get("identity_match") == "matchExact" else ReferenceMatch.REPOSITORY
    authority: Authority
    if "key" in case:
        root = root_with(tmp_path, rekor_pem=base / case["rekor_key"], fulcio_pem=None) if "rekor_key" in case else None
        authority = Authority(key=base / case["key"], trusted_root=root, ignore_tlog="rekor_key" not in case)
    elif "pki_roots" in case:
        authority = Authority(
            keyless=KeylessIdentity(identity=case["subject_email"]),
            ca_roots=base / case["pki_roots"],
            ca_intermediates=base / case["pki_intermediates"],
            ignore_tlog=True,
        )
    else:
        root = root_with(tmp_path, rekor_pem=base / case["rekor_key"], fulcio_pem=base / case["fulcio_ca"])
        authority = Authority(
            keyless=KeylessIdentity(identity=case["subject_email"], issuer=case["oidc_issuer"]), trusted_root=root
        )
    sigs = load_dir_signatures(*files)
    if not (image_dir / "manifest.json").exists():
        # No manifest, no digest: the library refuses to judge rather than pass.
        assert case["expect"] == "rejected"
        with pytest.raises(SignatureError):
            verify_image_signatures("", reference, sigs, [], [authority], match=match)
        return
    verdict = verify_image_signatures(image_digest(image_dir), reference, sigs, [], [authority], match=match)
    assert verdict.verified is (case["expect"] == "accepted"), verdict.reasons
    if case["expect"] == "rejected":
        assert {c.rule for c in verdict.reasons} == {EXPECTED_RULE[case["case"]]}, verdict.reasons


def test_mixed_case_rejects_the_unknown_key_layer_first() -> None:
    image_dir = cosign_dir() / "containers-image/fixtures/dir-img-cosign-mixed"
    verdict = verify_image_signatures(
        image_digest(image_dir),
        "192.168.64.2:5000/cosign-signed-single-sample",
        load_dir_signatures(*sorted(image_dir.glob("signature-*"))),
        [],
        [Authority(key=cosign_dir() / "containers-image/fixtures/cosign.pub", ignore_tlog=True)],
    )
    assert verdict.verified
    assert [c.rule for c in verdict.checks] == [r.INVALID, None]


FULCIO_DIR = "containers-image/fixtures/dir-img-cosign-fulcio-rekor-valid"
FULCIO_REF = "192.168.64.2:5000/cosign-signed/fulcio-rekor-1"
MITR = KeylessIdentity(identity="mitr@redhat.com", issuer="https://github.com/login/oauth")


def _fulcio_verdict(root: Path | None, drop: tuple[str, ...] = ()) -> list[str | None]:
    image_dir = cosign_dir() / FULCIO_DIR
    sigs = load_dir_signatures(image_dir / "signature-1", drop=drop)
    verdict = verify_image_signatures(
        image_digest(image_dir), FULCIO_REF, sigs, [], [Authority(keyless=MITR, trusted_root=root)]
    )
    return [c.rule for c in verdict.checks]


def test_fulcio_case_without_rekor_or_annotations(tmp_path: Path) -> None:
    """expected.json: 'without Rekor key / with SET or cert or chain annotation removed' -> rejected."""
    fixtures = cosign_dir() / "containers-image/fixtures"
    case_root = root_with(tmp_path, rekor_pem=fixtures / "rekor.pub", fulcio_pem=fixtures / "fulcio_v1.crt.pem")
    assert _fulcio_verdict(case_root) == [None]
    no_rekor = root_with(tmp_path, rekor_pem=None, fulcio_pem=fixtures / "fulcio_v1.crt.pem", name="no-rekor.json")
    assert _fulcio_verdict(no_rekor) == [r.TLOG_MISSING]
    assert _fulcio_verdict(case_root, drop=(ANNOTATION_BUNDLE,)) == [r.TLOG_MISSING]
    assert _fulcio_verdict(case_root, drop=(ANNOTATION_CERTIFICATE,)) == [r.INVALID]
    # The case's CA is the Fulcio root alone: without the chain annotation no path reaches it.
    assert _fulcio_verdict(case_root, drop=(ANNOTATION_CHAIN,)) == [r.INVALID]


def test_fulcio_case_with_the_embedded_production_root() -> None:
    """The production root holds the intermediate too, so (as in cosign) the chain annotation is not needed."""
    assert _fulcio_verdict(PRODUCTION_ROOT) == [None]
    assert _fulcio_verdict(PRODUCTION_ROOT, drop=(ANNOTATION_CHAIN,)) == [None]


def test_key_rekor_case_with_the_embedded_production_root() -> None:
    fixtures = cosign_dir() / "containers-image/fixtures"
    image_dir = fixtures / "dir-img-cosign-key-rekor-valid"
    sigs = load_dir_signatures(image_dir / "signature-1")
    ok = verify_image_signatures(
        image_digest(image_dir),
        "192.168.64.2:5000/cosign-signed/key-1",
        sigs,
        [],
        [Authority(key=fixtures / "cosign2.pub")],
    )
    assert ok.verified
    wrong_key = verify_image_signatures(
        image_digest(image_dir),
        "192.168.64.2:5000/cosign-signed/key-1",
        sigs,
        [],
        [Authority(key=fixtures / "cosign.pub")],
    )
    assert [c.rule for c in wrong_key.reasons] == [r.INVALID]


def test_wrong_rekor_key_under_the_real_log_id_fails_the_set(tmp_path: Path) -> None:
    """cosign.pub installed under rekor.sigstore.dev's log id: the SET itself must then fail."""
    fixtures = cosign_dir() / "containers-image/fixtures"
    path = root_with(tmp_path, rekor_pem=fixtures / "cosign.pub", fulcio_pem=None)
    doc = json.loads(path.read_text())
    doc["tlogs"][0]["logId"]["keyId"] = "wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0="
    path.write_text(json.dumps(doc))
    image_dir = fixtures / "dir-img-cosign-key-rekor-valid"
    verdict = verify_image_signatures(
        image_digest(image_dir),
        "192.168.64.2:5000/cosign-signed/key-1",
        load_dir_signatures(image_dir / "signature-1"),
        [],
        [Authority(key=fixtures / "cosign2.pub", trusted_root=path)],
    )
    [reason] = verdict.reasons
    assert reason.rule == r.INVALID and "SET" in reason.message


def test_pki_case_identity_by_hostname_and_wrong_identity() -> None:
    fixtures = cosign_dir() / "containers-image/fixtures"
    image_dir = fixtures / "dir-img-cosign-pki-valid"
    sigs = load_dir_signatures(image_dir / "signature-1")

    def verdict(identity: str, **kw: Any) -> list[str | None]:
        authority = Authority(
            keyless=KeylessIdentity(identity=identity),
            ca_roots=fixtures / "pki_root_crts.pem",
            ca_intermediates=fixtures / "pki_intermediate_crts.pem",
            **kw,
        )
        return [
            c.rule
            for c in verify_image_signatures(
                image_digest(image_dir), "localhost:5000/test", sigs, [], [authority]
            ).checks
        ]

    assert verdict("myhost.example.com", ignore_tlog=True) == [None]
    assert verdict("someone@else.example", ignore_tlog=True) == [r.IDENTITY_MISMATCH]
    assert verdict("qiwan@redhat.com") == [r.TLOG_MISSING]  # transparency stays required unless opted out
    # Root only, no intermediates: the chain annotation supplies the intermediate as an untrusted candidate.
    only_root = Authority(
        keyless=KeylessIdentity(identity="qiwan@redhat.com"), ca_roots=fixtures / "pki_root_crts.pem", ignore_tlog=True
    )
    assert verify_image_signatures(image_digest(image_dir), "localhost:5000/test", sigs, [], [only_root]).verified
    # The intermediate alone is not a root of trust unless configured as one.
    wrong_root = Authority(
        keyless=KeylessIdentity(identity="qiwan@redhat.com"), ca_roots=fixtures / "fulcio_v1.crt.pem", ignore_tlog=True
    )
    assert not verify_image_signatures(image_digest(image_dir), "localhost:5000/test", sigs, [], [wrong_root]).verified


def test_loose_production_keyless_signature_2022() -> None:
    """internal-testdata/rekor-*: another real production keyless signature (SET integratedTime 1670870899)."""
    data = cosign_dir() / "containers-image/internal-testdata"
    fixtures = cosign_dir() / "containers-image/fixtures"
    payload = (data / "rekor-payload").read_bytes()
    annotations = {
        "dev.cosignproject.cosign/signature": (data / "rekor-sig").read_text().strip(),
        ANNOTATION_CERTIFICATE: (data / "rekor-cert").read_text(),
        ANNOTATION_CHAIN: (fixtures / "fulcio-chain").read_text(),
        ANNOTATION_BUNDLE: (data / "rekor-set").read_text(),
    }
    digest = "sha256:" + hashlib.sha256(payload).hexdigest()
    layer = {
        "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
        "digest": digest,
        "size": len(payload),
        "annotations": annotations,
    }
    sigs = parse_signature_manifest({"layers": [layer]}, {digest: payload})
    claimed = json.loads(payload)["critical"]
    verdict = verify_image_signatures(
        claimed["image"]["docker-manifest-digest"],
        claimed["identity"]["docker-reference"],
        sigs,
        [],
        [Authority(keyless=MITR)],
    )
    assert verdict.verified, verdict.reasons


ATTESTATION_DIGEST = "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4"
CODY = KeylessIdentity(identity="cody@soyland.com", issuer="https://github.com/login/oauth")


@pytest.mark.parametrize("root_name", ["pgi", "production-embedded"])
def test_sigstore_cosign_bundle_case(root_name: str) -> None:
    """expected.json sigstore-cosign: the v3 DSSE attestation verifies as an attestation."""
    base = cosign_dir() / "sigstore-cosign"
    data = (base / "oci-attestation.sigstore.json").read_bytes()
    root = base / "trusted_root_pgi.json" if root_name == "pgi" else None
    authority = Authority(keyless=CODY, trusted_root=root)
    attestation = frozenset({"https://cosign.sigstore.dev/attestation/v1"})
    verify_bundle(data, authority, ATTESTATION_DIGEST, predicate_types=attestation)
    verdict = verify_image_signatures(
        ATTESTATION_DIGEST, "127.0.0.1:60943/repo", [], [data], [authority], predicate_types=None
    )
    assert verdict.verified


def test_sigstore_cosign_bundle_is_not_a_signature_by_default() -> None:
    data = (cosign_dir() / "sigstore-cosign/oci-attestation.sigstore.json").read_bytes()
    verdict = verify_image_signatures(ATTESTATION_DIGEST, "127.0.0.1:60943/repo", [], [data], [Authority(keyless=CODY)])
    [reason] = verdict.reasons
    assert reason.rule == r.PAYLOAD_MISMATCH and "predicate type" in reason.message


@pytest.mark.parametrize(
    ("identity", "digest", "rule"),
    [
        (
            KeylessIdentity(identity="someone@else.example", issuer="https://github.com/login/oauth"),
            ATTESTATION_DIGEST,
            r.IDENTITY_MISMATCH,
        ),
        (
            KeylessIdentity(identity="cody@soyland.com", issuer="https://accounts.google.com"),
            ATTESTATION_DIGEST,
            r.IDENTITY_MISMATCH,
        ),
        (CODY, "sha256:" + "0" * 64, r.PAYLOAD_MISMATCH),
    ],
)
def test_sigstore_cosign_bundle_rejections(identity: KeylessIdentity, digest: str, rule: str) -> None:
    data = (cosign_dir() / "sigstore-cosign/oci-attestation.sigstore.json").read_bytes()
    with pytest.raises(Rejected) as caught:
        verify_bundle(data, Authority(keyless=identity), digest, predicate_types=None)
    assert caught.value.rule == rule


def test_tampered_bundle_is_rejected() -> None:
    doc = json.loads((cosign_dir() / "sigstore-cosign/oci-attestation.sigstore.json").read_bytes())
    envelope = doc["dsseEnvelope"]
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"] = {"Data": "tampered"}
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    with pytest.raises(Rejected) as caught:
        verify_bundle(json.dumps(doc).encode(), Authority(keyless=CODY), ATTESTATION_DIGEST, predicate_types=None)
    assert caught.value.rule == r.INVALID


def test_partial_distroless_annotations_parse_but_cannot_verify() -> None:
    """Real 2021 annotations with the Rekor body removed upstream: parseable, never a pass."""
    doc = json.loads(
        (cosign_dir() / "sigstore-cosign/distroless-static-nonroot-2021-09-16.partial-annotations.json").read_text()
    )
    payload = b'{"critical":{}}'
    digest = "sha256:" + hashlib.sha256(payload).hexdigest()
    annotations = {"dev.cosignproject.cosign/signature": base64.b64encode(b"x" * 70).decode(), **doc["annotations"]}
    layer = {
        "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
        "digest": digest,
        "annotations": annotations,
    }
    [sig] = parse_signature_manifest({"layers": [layer]}, {digest: payload})
    assert sig.problem is None and sig.certificate is not None and sig.rekor is not None and len(sig.chain) >= 1
    verdict = verify_image_signatures(
        "sha256:" + "1" * 64,
        "gcr.io/distroless/static",
        [sig],
        [],
        [
            Authority(
                keyless=KeylessIdentity(
                    identity="keyless@distroless.iam.gserviceaccount.com", issuer="https://accounts.google.com"
                )
            )
        ],
    )
    assert not verdict.verified
