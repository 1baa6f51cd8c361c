"""`gates signature` with Notary Project signatures: the real registry, JWS and COSE envelopes signed by a
test CA, countersigned by a TSA (`openssl ts`), under notation trust policies and trust stores."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID

from gates.checks.signature import rules as r
from gates.oci.client import RegistryClient
from gates.oci.manifest import Descriptor
from gates.oci.reference import Reference
from tests.checks_signature.conftest import GatesRun, Signers, fresh, push, results
from tests.checks_signature.cosign import key_layer, sign_legacy
from tests.notation import signing as ns
from tests.support.registry import RegistryServer


@pytest.fixture(scope="module")
def pki() -> dict[str, ns.Issued]:
    root = ns.root_ca()
    return {"root": root, "signer": ns.leaf(root), "other_root": ns.root_ca("Other Root"),
            "ec_signer": ns.leaf(root, "Acme EC Signer", kind="ec")}


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> ns.Tsa:
    return ns.Tsa.make(tmp_path_factory.mktemp("tsa"))


def _image(registry: RegistryServer, pusher: RegistryClient) -> tuple[Reference, Descriptor]:
    ref = fresh(registry, "notation")
    push(pusher, ref)
    return ref, pusher.resolve(ref)


def _files(tmp_path: Path, pki: dict[str, ns.Issued], *statements: dict[str, Any],
           stores: dict[str, Sequence[ns.Issued]] | None = None) -> list[str]:
    store = ns.trust_store(tmp_path / "truststore", stores or {"ca:acme": [pki["root"]]})
    policy = ns.trust_policy(tmp_path / "trustpolicy.json", *(statements or (ns.statement(),)))
    return ["--notation-trust-policy", str(policy), "--notation-trust-store", str(store)]


def _run(gates: GatesRun, ref: Reference, flags: list[str], *extra: str) -> tuple[int, list[dict[str, Any]]]:
    run = gates(["signature", *flags, *extra, "--format", "json", str(ref)])
    assert run.err.count("Traceback") == 0, run.err
    return run.code, results(run)


def test_jws_signature_passes_and_says_revocation_was_not_checked(
    registry: RegistryServer, pusher: RegistryClient, gates: GatesRun, tmp_path: Path, pki: dict[str, ns.Issued]
) -> None:
    ref, subject = _image(registry, pusher)
    target = {"mediaType": subject.media_type, "digest": str(subject.digest), "size": subject.size,
              "annotations": {"io.acme.build": "42"}}
    ns.attach(pusher, ref, subject, ns.jws(target, pki["signer"], [pki["signer"], pki["root"]],
                                           extra={"io.acme.pipeline": "release"}))
    code, [result] = _run(gates, ref, _files(tmp_path, pki))
    assert code == 0, result
    assert result["outcome"] == "passed" and result["findings"] == []
    assert "signed attributes io.acme.build=42, io.acme.pipeline=release" in "\n".join(result["details"])
    details = "\n".join(result["details"])
    assert "verified under statement 'acme'" in details and "JWS PS256 notary.x509" in details
    assert "revocation: not checked (gates verifies offline)" in details


def test_cose_signature_with_a_timestamp_passes(
    registry: RegistryServer, pusher: RegistryClient, gates: GatesRun, tmp_path: Path, pki: dict[str, ns.Issued],
    tsa: ns.Tsa,
) -> None:
    ref, subject = _image(registry, pusher)
    envelope = ns.cose(subject, pki["ec_signer"], [pki["ec_signer"], pki["root"]], tsa=tsa)
    ns.attach(pusher, ref, subject, envelope, "application/cose")
    flags = _files(tmp_path, pki, ns.statement(stores=("ca:acme", "tsa:acme-tsa")),
                   stores={"ca:acme": [pki["root"]], "tsa:acme-tsa": [tsa.root]})
    code, [result] = _run(gates, ref, flags)
    assert code == 0, result
    assert "COSE ES256 notary.x509" in "\n".join(result["details"])


def test_timestamp_from_an_untrusted_tsa_fails_authentic_timestamp(
    registry: RegistryServer, pusher: RegistryClient, gates: GatesRun, tmp_path: Path, pki: dict[str, ns.Issued],
    tsa: ns.Tsa,
) -> None:
    ref, subject = _image(registry, pusher)
    ns.attach(pusher, ref, subject, ns.jws(subject, pki["signer"], [pki["signer"], pki["root"]], tsa=tsa))
    flags = _files(tmp_path, pki, ns.statement(stores=("ca:acme", "tsa:other")),
                   stores={"ca:acme": [pki["root"]], "tsa:other": [pki["other_root"]]})
    code, [result] = _run(gates, ref, flags)
    assert code == 1
    [finding] = result["findings"]
    assert finding["rule"] == r.NOTATION_INVALID
    assert "authenticTimestamp validation failed: the timestamp countersignature does not verify" in finding["message"]


def test_unsigned_image_is_notation_signature_missing(
    registry: RegistryServer, pusher: RegistryClient, gates: GatesRun, tmp_path: Path, pki: dict[str, ns.Issued]
) -> None:
    ref, subject = _image(registry, pusher)
    code, [result] = _run(gates, ref, _files(tmp_path, pki))
    assert code == 1
    [finding] = result["findings"]
    assert finding["rule"] == r.NOTATION_MISSING and str(subject.digest) in finding["message"]


def test_chain_to_another_root_is_invalid(
    registry: RegistryServer, pusher: RegistryClient, gates: GatesRun, tmp_path: Path, pki: dict[str, ns.Issued]
) -> None:
    ref, subject = _image(registry, pusher)
    ns.attach(pusher, ref, subject, ns.jws(subject, pki["signer"], [pki["signer"], pki["root"]]))
    code, [result] = _run(gates, ref, _files(tmp_path, pki, stores={"ca:acme": [pki["other_root"]]}))
    assert code == 1
    [finding] = result["findings"]
    assert finding["rule"] == r.NOTATION_INVALID
    assert "authenticity validation failed" in finding["message"] and "'CN=Acme Test Root" in finding["message"]


def test_identity_mismatch_says_expected_and_found(
    registry: RegistryServer, pusher: RegistryClient, gates: GatesRun, tmp_path: Path, pki: dict[str, ns.Issued]
) -> None:
    ref, subject = _image(registry, pusher)
    ns.attach(pusher, ref, subject, ns.jws(subject, pki["signer"], [pki["signer"], pki["root"]]))
    wanted = "x509.subject: C=US, ST=WA, O=Acme Rockets, CN=Release Signer"
    code, [result] = _run(gates, ref, _files(tmp_path, pki, ns.statement(identities=(wanted,))))
    assert code == 1
    [finding] = result["findings"]
    assert finding["rule"] == r.NOTATION_IDENTITY_MISMATCH
    assert "CN=Acme Signer" in finding["message"] and wanted in finding["message"]
    matching = "x509.subject: C=US, ST=WA, O=Acme Rockets, CN=Acme Signer"
    code, _ = _run(gates, ref, _files(tmp_path / "ok", pki, ns.statement(identities=(matching,))))
    assert code == 0


def test_payload_for_another_digest_is_a_payload_mismatch(
    registry: RegistryServer, pusher: RegistryClient, gates: GatesRun, tmp_path: Path, pki: dict[str, ns.Issued]
) -> None:
    ref, subject = _image(registry, pusher)
    other = {"mediaType": subject.media_type, "digest": "sha256:" + "0" * 64, "size": subject.size}
    ns.attach(pusher, ref, subject, ns.jws(other, pki["signer"], [pki["signer"], pki["root"]]))
    code, [result] = _run(gates, ref, _files(tmp_path, pki))
    assert code == 1
    [finding] = result["findings"]
    assert finding["rule"] == r.NOTATION_PAYLOAD_MISMATCH
    assert f"expected the image's {subject.digest}" in finding["message"] and "sha256:000000" in finding["message"]


@pytest.mark.parametrize(("window", "word"), [((-30, -1), "expired at"), ((1, 30), "is not valid before")])
def test_expired_or_not_yet_valid_certificate(
    registry: RegistryServer, pusher: RegistryClient, gates: GatesRun, tmp_path: Path, pki: dict[str, ns.Issued],
    window: tuple[int, int], word: str,
) -> None:
    ref, subject = _image(registry, pusher)
    start, end = (ns.NOW + days * ns.DAY for days in window)
    signer = ns.leaf(pki["root"], "Acme Dated", not_before=start, not_after=end)
    ns.attach(pusher, ref, subject, ns.jws(subject, signer, [signer, pki["root"]]))
    code, [result] = _run(gates, ref, _files(tmp_path, pki))
    assert code == 1
    [finding] = result["findings"]
    assert finding["rule"] == r.NOTATION_INVALID
    assert "authenticTimestamp validation failed" in finding["message"] and word in finding["message"]
    code, [result] = _run(gates, ref, _files(tmp_path / "permissive", pki, ns.statement(level="permissive")))
    assert code == 0, result
    [warning] = result["findings"]
    assert warning["rule"] == r.NOTATION_CHECK_LOGGED and warning["severity"] == "info"
    assert 'authenticTimestamp was set to "log"' in warning["message"]


def test_expired_signature_fails_strict_and_warns_under_an_override(
    registry: RegistryServer, pusher: RegistryClient, gates: GatesRun, tmp_path: Path, pki: dict[str, ns.Issued]
) -> None:
    ref, subject = _image(registry, pusher)
    envelope = ns.jws(subject, pki["signer"], [pki["signer"], pki["root"]], expiry=ns.NOW - dt.timedelta(hours=1))
    ns.attach(pusher, ref, subject, envelope)
    code, [result] = _run(gates, ref, _files(tmp_path, pki))
    assert code == 1 and "expiry validation failed" in result["findings"][0]["message"]
    code, [result] = _run(gates, ref, _files(tmp_path / "o", pki, ns.statement(override={"expiry": "log"})))
    assert code == 0 and result["findings"][0]["rule"] == r.NOTATION_CHECK_LOGGED


def test_wrong_eku_is_an_integrity_failure(
    registry: RegistryServer, pusher: RegistryClient, gates: GatesRun, tmp_path: Path, pki: dict[str, ns.Issued]
) -> None:
    ref, subject = _image(registry, pusher)
    signer = ns.leaf(pki["root"], "Acme Web", eku=(ExtendedKeyUsageOID.SERVER_AUTH,))
    ns.attach(pusher, ref, subject, ns.jws(subject, signer, [signer, pki["root"]]))
    code, [result] = _run(gates, ref, _files(tmp_path, pki))
    assert code == 1
    [finding] = result["findings"]
    assert finding["rule"] == r.NOTATION_INVALID
    assert "integrity validation failed" in finding["message"] and "not code signing" in finding["message"]


def test_unknown_critical_header_is_refused(
    registry: RegistryServer, pusher: RegistryClient, gates: GatesRun, tmp_path: Path, pki: dict[str, ns.Issued]
) -> None:
    ref, subject = _image(registry, pusher)
    envelope = ns.jws(subject, pki["signer"], [pki["signer"], pki["root"]], extra={"acme.approval": "yes"},
                      crit=["io.cncf.notary.signingScheme", "acme.approval"])
    ns.attach(pusher, ref, subject, envelope)
    code, [result] = _run(gates, ref, _files(tmp_path, pki))
    assert code == 1
    assert "unknown critical header 'acme.approval'" in result["findings"][0]["message"]


def test_envelope_that_does_not_parse_is_invalid_and_a_good_one_still_counts(
    registry: RegistryServer, pusher: RegistryClient, gates: GatesRun, tmp_path: Path, pki: dict[str, ns.Issued]
) -> None:
    ref, subject = _image(registry, pusher)
    ns.attach(pusher, ref, subject, b"\xa1\x02not cbor", "application/cose")
    code, [result] = _run(gates, ref, _files(tmp_path, pki))
    assert code == 1
    [finding] = result["findings"]
    assert finding["rule"] == r.NOTATION_INVALID and "is not CBOR" in finding["message"]
    ns.attach(pusher, ref, subject, ns.jws(subject, pki["signer"], [pki["signer"], pki["root"]]))
    code, [result] = _run(gates, ref, _files(tmp_path / "again", pki))
    assert code == 0, result


def test_revocation_endpoints_fail_strict_and_warn_when_logged(
    registry: RegistryServer, pusher: RegistryClient, gates: GatesRun, tmp_path: Path, pki: dict[str, ns.Issued]
) -> None:
    ref, subject = _image(registry, pusher)
    signer = ns.leaf(pki["root"], "Acme Revocable", crl="http://crl.acme.test/root.crl")
    ns.attach(pusher, ref, subject, ns.jws(subject, signer, [signer, pki["root"]]))
    code, [result] = _run(gates, ref, _files(tmp_path, pki))
    assert code == 1
    [finding] = result["findings"]
    assert finding["rule"] == r.NOTATION_REVOCATION_UNCHECKED and "crl.acme.test" in finding["message"]
    code, [result] = _run(gates, ref, _files(tmp_path / "o", pki, ns.statement(override={"revocation": "log"})))
    assert code == 0 and result["findings"][0]["rule"] == r.NOTATION_CHECK_LOGGED
    assert "revocation status unknown" in "\n".join(result["details"])


def test_scope_without_statement_and_skip_level(
    registry: RegistryServer, pusher: RegistryClient, gates: GatesRun, tmp_path: Path, pki: dict[str, ns.Issued]
) -> None:
    ref, _ = _image(registry, pusher)
    code, [result] = _run(gates, ref, _files(tmp_path, pki, ns.statement(scopes=("registry.acme.test/app",))))
    assert code == 1 and result["findings"][0]["rule"] == r.NOTATION_POLICY_UNMATCHED
    skip = {"name": "skip", "registryScopes": [ref.name], "signatureVerification": {"level": "skip"}}
    code, [result] = _run(gates, ref, _files(tmp_path / "skip", pki, skip))
    assert code == 0 and result["findings"][0]["rule"] == r.NOTATION_CHECK_LOGGED


@pytest.mark.parametrize(("document", "words"), [
    ("{not json", "is not valid JSON"),
    (json.dumps({"version": "1.0", "trustPolicies": [ns.statement("a"), ns.statement("b")]}),
     "registry scope '*' is present in statements 'a' and 'b'"),
    (json.dumps({"version": "1.0", "trustPolicies": [ns.statement(stores=("ca:absent",))]}),
     "the trust store 'absent' of type 'ca' does not exist"),
])
def test_bad_trust_policy_is_a_configuration_error(
    registry: RegistryServer, pusher: RegistryClient, gates: GatesRun, tmp_path: Path, pki: dict[str, ns.Issued],
    document: str, words: str,
) -> None:
    ref, _ = _image(registry, pusher)
    flags = _files(tmp_path, pki)
    Path(flags[1]).write_text(document)
    run = gates(["signature", *flags, str(ref)])
    assert run.code == 2
    assert words in run.err and len(run.err.strip().splitlines()) == 1 and "Traceback" not in run.err


def test_one_flag_without_the_other_is_a_usage_error(gates: GatesRun, tmp_path: Path) -> None:
    run = gates(["signature", "--notation-trust-policy", str(tmp_path / "p.json"), "registry.acme.test/app:1"])
    assert run.code == 2 and "--notation-trust-policy needs --notation-trust-store" in run.err


def test_native_authority_accepts_cosign_or_notation(
    registry: RegistryServer, pusher: RegistryClient, gates: GatesRun, tmp_path: Path, pki: dict[str, ns.Issued],
    signers: Signers,
) -> None:
    """One policy, a cosign key and a notation trust store: either kind of signature satisfies it."""
    by_notation, subject = _image(registry, pusher)
    ns.attach(pusher, by_notation, subject, ns.jws(subject, pki["signer"], [pki["signer"], pki["root"]]))
    by_cosign = fresh(registry, "cosigned")
    digest = push(pusher, by_cosign)
    sign_legacy(pusher, by_cosign, digest, key_layer(signers.key, digest, by_cosign.name, signers.rekor))
    unsigned, _ = _image(registry, pusher)
    ns.trust_store(tmp_path / "truststore", {"ca:acme": [pki["root"]]})
    (tmp_path / "gates.toml").write_text(f"""
[signature]
trusted-root = "{signers.trusted_root}"
[[signature.policies]]
name = "release"
images = ["{registry.host}/**"]
[[signature.policies.authorities]]
key = "{signers.key_pem}"
[[signature.policies.authorities]]
notation-trust-store = "truststore"
notation-trust-stores = ["ca:acme"]
notation-identities = ["x509.subject: C=US, ST=WA, O=Acme Rockets"]
""")
    junit, sarif = tmp_path / "junit.xml", tmp_path / "out.sarif"
    run = gates(["signature", "--format", "json", "--output", f"junit={junit}", "--output", f"sarif={sarif}",
                 str(by_notation), str(by_cosign), str(unsigned)])
    assert run.code == 1, run.err
    outcomes = {res["target"]: res for res in results(run)}
    assert outcomes[str(by_notation)]["outcome"] == "passed"
    assert outcomes[str(by_cosign)]["outcome"] == "passed"
    failed = outcomes[str(unsigned)]
    assert failed["outcome"] == "failed"
    assert {f["rule"] for f in failed["findings"]} == {r.MISSING, r.NOTATION_MISSING}
    rules = {res["ruleId"] for res in json.loads(sarif.read_text())["runs"][0]["results"]}
    assert r.NOTATION_MISSING in rules
    failures = [case for case in ET.parse(junit).getroot().iter("testcase") if case.find("failure") is not None]
    assert f"signature.{r.NOTATION_MISSING}" in {case.get("classname") for case in failures}


def test_native_authority_config_mistakes_are_configuration_errors(gates: GatesRun, tmp_path: Path) -> None:
    (tmp_path / "gates.toml").write_text("""
[[signature.policies]]
images = ["**"]
[[signature.policies.authorities]]
notation-trust-store = "truststore"
notation-trust-stores = ["ca:acme"]
notation-identities = ["x509.subject: CN=Release"]
""")
    run = gates(["signature", "registry.acme.test/app:1"])
    assert run.code == 2 and 'no mandatory RDN attribute for "C"' in run.err and "Traceback" not in run.err


@pytest.mark.parametrize("fmt", ["console", "json", "junit", "sarif", "gitlab-codequality", "github", "openmetrics"])
def test_every_format_names_the_notation_rule(
    registry: RegistryServer, pusher: RegistryClient, gates: GatesRun, tmp_path: Path, pki: dict[str, ns.Issued],
    fmt: str,
) -> None:
    ref, subject = _image(registry, pusher)
    ns.attach(pusher, ref, subject, ns.jws(subject, pki["signer"], [pki["signer"], pki["root"]]))
    wanted = "x509.subject: C=US, ST=WA, O=Someone Else"
    run = gates(["signature", *_files(tmp_path, pki, ns.statement(identities=(wanted,))), "--format", fmt, str(ref)])
    assert run.code == 1 and "Traceback" not in run.err
    assert r.NOTATION_IDENTITY_MISMATCH in run.out


def test_one_referrers_listing_serves_cosign_and_notation(
    registry: RegistryServer, pusher: RegistryClient, pki: dict[str, ns.Issued]
) -> None:
    """Discovery asks the registry for the digest's referrers once, whoever asks first."""
    from gates.checks.signature.discovery import ImageSignatures
    from gates.oci.credentials import StaticCredentials
    from tests.oci.conftest import FAST_RETRY

    ref, subject = _image(registry, pusher)
    ns.attach(pusher, ref, subject, ns.jws(subject, pki["signer"], [pki["signer"], pki["root"]]))
    with RegistryClient(StaticCredentials({}), retry=FAST_RETRY) as client:
        signatures = ImageSignatures(client, ref, subject.digest)
        [found] = signatures.notation()
        assert found.media_type == "application/jose+json" and found.problem is None
        before = client.request_count
        assert signatures.referrers().bundles == []  # cosign's look at the same listing: no new listing request
        assert signatures.notation() == [found]
        assert client.request_count == before


def test_multi_arch_index_needs_the_index_signed(
    registry: RegistryServer, pusher: RegistryClient, gates: GatesRun, tmp_path: Path, pki: dict[str, ns.Issued]
) -> None:
    """notation signs what the tag resolves to: for a multi-arch tag, the index; a platform image's
    signature is attached to another digest and does not count."""
    from gates.oci.manifest import Platform
    from tests.checks_signature.conftest import small_image
    from tests.support import oci_images as oi

    ref = fresh(registry, "multi")
    idx = oi.index([(small_image(f"{ref}a", "amd64"), Platform("linux", "amd64")),
                    (small_image(f"{ref}b", "arm64"), Platform("linux", "arm64"))])
    oi.push_index(pusher, ref, idx)
    child = pusher.resolve(ref.with_digest(idx.images[0].digest))
    ns.attach(pusher, ref, child, ns.jws(child, pki["signer"], [pki["signer"], pki["root"]]))
    code, [result] = _run(gates, ref, _files(tmp_path, pki))
    assert code == 1 and result["findings"][0]["rule"] == r.NOTATION_MISSING
    index = pusher.resolve(ref)
    ns.attach(pusher, ref, index, ns.jws(index, pki["signer"], [pki["signer"], pki["root"]]))
    code, [result] = _run(gates, ref, _files(tmp_path / "again", pki))
    assert code == 0, result
    assert result["details"][0].startswith(f"digest {index.digest} (image index")


def test_any_one_notation_authority_suffices(
    registry: RegistryServer, pusher: RegistryClient, gates: GatesRun, tmp_path: Path, pki: dict[str, ns.Issued]
) -> None:
    """The first authority (another root) rejects, the second accepts: the image passes, with no finding."""
    ref, subject = _image(registry, pusher)
    ns.attach(pusher, ref, subject, ns.jws(subject, pki["signer"], [pki["signer"], pki["root"]]))
    ns.trust_store(tmp_path / "truststore", {"ca:acme": [pki["root"]], "ca:other": [pki["other_root"]]})
    (tmp_path / "gates.toml").write_text(f"""
[[signature.policies]]
images = ["{registry.host}/**"]
[[signature.policies.authorities]]
notation-trust-store = "truststore"
notation-trust-stores = ["ca:other"]
notation-identities = ["*"]
[[signature.policies.authorities]]
notation-trust-store = "truststore"
notation-trust-stores = ["ca:acme"]
notation-identities = ["*"]
""")
    code, [result] = _run(gates, ref, [])
    assert code == 0 and result["findings"] == [], result
    details = "\n".join(result["details"])
    assert "ca:other" in details and "no Notary signature verified" in details and "verified under" in details
