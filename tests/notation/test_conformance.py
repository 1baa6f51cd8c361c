"""Conformance over ../shared/corpus/notation: every record of expected.json, against gates.notation.

Each record is judged as its upstream test judges it:
- `notation-e2e/verify/*`: the layout's signatures under the trust policy and trust store of the
  `notation verify` e2e case: pass / pass with the named check logged / skipped / fail naming the
  check / the policy refused (`TrustPolicyError`), or the store refused (`TrustStoreError`);
- `notation-e2e/layout/*` and `blob/*`: what each envelope says (format, algorithm, scheme, times,
  payload descriptor, chain, crit) and whether its signature verifies, against the recorded values;
- `notation-go/mock/*`: verification under the record's trust policy statement and notation-go's
  trust stores. Signatures whose crit names a verification plugin fail here as they fail in
  notation when the plugin is not installed: gates runs no plugins;
- `notation-go/timestamp/*`: the authentic-timestamp check (what upstream's TestAuthenticTimestamp tests);
- `timestamp-token` records: each countersignature token spliced onto a signature, as upstream does.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from gates.notation.authority import EnvelopeBlob, NotationAuthority
from gates.notation.envelope import parse_envelope
from gates.notation.errors import EnvelopeError, TrustPolicyError, TrustStoreError
from gates.notation.signature import verify_signature
from gates.notation.timestamp import TimestampError, read_timestamp, verify_timestamp
from gates.notation.trustpolicy import TrustPolicy, parse_trust_policy, statement
from gates.notation.truststore import TrustStore
from gates.notation.verify import Subject, authentic_timestamp
from tests.conftest import require_corpus
from tests.notation import layouts


def _corpus() -> Path:
    return require_corpus("notation")


def _records() -> list[dict[str, Any]]:
    from tests.conftest import corpus_root

    path = corpus_root() / "notation" / "expected.json"
    if not path.exists():
        return []
    records: list[dict[str, Any]] = json.loads(path.read_text())
    return records


RECORDS = _records()


def _ids(prefix: str) -> list[dict[str, Any]]:
    return [r for r in RECORDS if r["id"].startswith(prefix)]


def _media_type(data: bytes) -> str:
    return "application/jose+json" if data[:1] == b"{" else "application/cose"


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_every_record_is_covered() -> None:
    _corpus()
    prefixes = ("notation-e2e/verify/", "notation-e2e/layout/", "notation-e2e/inspect/", "notation-e2e/blob/",
                "notation-e2e/policy/", "notation-go/mock/", "notation-go/timestamp/")
    uncovered = [r["id"] for r in RECORDS if not r["id"].startswith(prefixes) and r["set"] != "timestamp-token"]
    assert len(RECORDS) == 79
    assert uncovered == []


# -- notation verify, e2e ------------------------------------------------------------------------------


def _store(tmp_path: Path, mapping: dict[str, list[str]]) -> TrustStore:
    corpus = _corpus()
    for store, files in mapping.items():
        kind, name = store.split(":")
        folder = tmp_path / "x509" / kind / name
        folder.mkdir(parents=True)
        for file in files:
            shutil.copy(corpus / file, folder)
    return TrustStore(tmp_path)


def _layout_record(layout: str) -> dict[str, Any]:
    return next(r for r in _ids("notation-e2e/layout/") if r["layout"] == layout)


@pytest.mark.parametrize("record", _ids("notation-e2e/verify/"), ids=lambda r: r["id"].split("/")[-1])
def test_e2e_verify(record: dict[str, Any], tmp_path: Path) -> None:
    corpus = _corpus()
    store = _store(tmp_path, record["trust_store"])
    expect = record["expect"]
    data = (corpus / record["trust_policy"]).read_bytes()
    if expect == "fail (policy invalid)":
        with pytest.raises(TrustPolicyError) as refused:
            parse_trust_policy(data, "trustpolicy.json")
        assert _key_words(record["message"]) <= _key_words(str(refused.value))
        return
    policy = parse_trust_policy(data, "trustpolicy.json")
    layout = corpus / record["layout"]
    digest = _layout_record(record["layout"])["signed_artifact"]
    authority = NotationAuthority("e2e", store, policy)
    if "does not exist" in record.get("message", ""):
        with pytest.raises(TrustStoreError, match="does not exist"):
            authority.judge("localhost:5000/e2e", layouts.subject(layout, digest), layouts.signatures(layout, digest))
        return
    judgement = authority.judge("localhost:5000/e2e", layouts.subject(layout, digest),
                                layouts.signatures(layout, digest))
    if expect == "pass":
        assert judgement.accepted is not None and not judgement.accepted.logged
    elif expect == "pass (skipped)":
        assert judgement.skipped and judgement.accepted is None
    elif expect == "pass (warning)":
        assert judgement.accepted is not None
        logged = {check.name for check in judgement.accepted.logged}
        assert logged == {_check_named(record["message"])}
    else:
        assert expect == "fail"
        assert not judgement.passed
        message = judgement.rejections[0].message
        if "trusted identities" in record["message"]:
            assert judgement.rejections[0].rule == "notation-identity-mismatch"
            assert "does not match the trusted identities" in message
        else:
            assert message.startswith(f"{_check_named(record['message'])} validation failed")


def _check_named(message: str) -> str:
    if "expired" in message or "xpiry" in message:
        return "expiry"
    for name in ("authenticTimestamp", "authenticity", "integrity"):
        if name in message:
            return name
    raise AssertionError(f"no check named in {message!r}")


def _key_words(message: str) -> set[str]:
    """The words of upstream's message that name what is wrong (quoted values and key terms)."""
    words = {w.strip('".,\'') for w in message.split() if len(w.strip('".,\'')) > 3}
    return {w for w in words if w in {"integrity", "overridden", "missing", "trust", "stores", "identities",
                                      "separator", "empty", "overlapping", "wildcard", "mandatory", "unsupported",
                                      "malformed"}}


# -- the layouts' envelopes, field by field ------------------------------------------------------------


def _envelope_cases() -> list[tuple[str, dict[str, Any]]]:
    cases: list[tuple[str, dict[str, Any]]] = []
    for record in _ids("notation-e2e/layout/"):
        for sig in record["signatures"]:
            cases.append((f"{record['layout']}/blobs/{sig['envelope_layer']['digest'].replace(':', '/')}", sig))
    for record in _ids("notation-e2e/blob/"):
        cases.append((record["envelope"], record))
    return cases


@pytest.mark.parametrize(("path", "record"), _envelope_cases(), ids=lambda v: v if isinstance(v, str) else "")
def test_envelope_fields(path: str, record: dict[str, Any]) -> None:
    data = (_corpus() / path).read_bytes()
    info = record.get("envelope_info") or record.get("envelope")
    if record.get("expect", "").startswith("invalid") or isinstance(info, str) or info is None:
        media_type = record.get("envelope_layer", {}).get("mediaType", "application/jose+json")
        with pytest.raises(EnvelopeError):
            parse_envelope(data, media_type)
        return
    envelope = parse_envelope(data, info["format"])
    assert envelope.algorithm == info["signature_algorithm"]
    assert envelope.signing_scheme == info["signing_scheme"]
    assert envelope.signing_time == _time(info["signing_time"])
    assert envelope.expiry == (_time(info["expiry"]) if info.get("expiry") else None)
    assert envelope.signing_agent == info["signing_agent"]
    payload = info["payload_descriptor"]
    assert (envelope.target.digest, envelope.target.size, envelope.target.media_type) == (
        payload["digest"], payload["size"], payload["mediaType"])
    assert dict(envelope.target.annotations) == payload.get("annotations", {})
    assert [c.subject.rfc4514_string() for c in envelope.chain] == [c["subject"] for c in info["certificate_chain"]]
    if "crit" in info:
        assert list(envelope.critical) == info["crit"]
    if "subject" in record:
        subject = record["subject"]
        assert (subject["digest"], subject["size"], subject["mediaType"]) == (
            payload["digest"], payload["size"], payload["mediaType"])
    verify_signature(envelope)  # raises if it does not verify
    assert record["observed_offline_check"]["signature_verifies_with_leaf"] is True
    stamp = info.get("timestamp")
    if isinstance(stamp, str):  # recorded as present but unparseable
        assert envelope.timestamp_token is not None
        with pytest.raises(TimestampError, match="does not parse"):
            read_timestamp(envelope.timestamp_token)
    elif stamp:
        assert envelope.timestamp_token is not None
        when, accuracy = read_timestamp(envelope.timestamp_token)
        # rfc3161-client reads genTime to the second; the corpus has the milliseconds
        assert when == _time(stamp["gen_time"]).replace(microsecond=0)
        assert accuracy == dt.timedelta(milliseconds=stamp["accuracy"]["millis"])


@pytest.mark.parametrize("record", _ids("notation-e2e/inspect/"), ids=lambda r: r["id"].split("/")[-1])
def test_e2e_inspect(record: dict[str, Any]) -> None:
    layout = _corpus() / record["layout"]
    digest = _layout_record(record["layout"])["signed_artifact"]
    found = layouts.signatures(layout, digest)
    if record["layout"].endswith("/e2e"):
        assert found == []
        return
    envelope = parse_envelope(found[0].data, found[0].media_type)
    assert envelope.timestamp_token is not None
    if "invalid" in record["layout"]:
        with pytest.raises(TimestampError, match="does not parse"):
            read_timestamp(envelope.timestamp_token)
    else:
        when, _ = read_timestamp(envelope.timestamp_token)
        assert when.strftime("%Y-%m-%dT%H:%M:%S") == "2025-01-21T09:17:46"
        assert envelope.extended == {} and envelope.target.annotations == {"purpose": "e2e"}


def test_unparseable_trust_policy() -> None:
    (record,) = _ids("notation-e2e/policy/")
    with pytest.raises(TrustPolicyError, match="not valid JSON"):
        parse_trust_policy((_corpus() / record["trust_policy"]).read_bytes(), "invalid_format_trustpolicy.json")


# -- notation-go -----------------------------------------------------------------------------------------


def _go_store() -> TrustStore:
    return TrustStore(_corpus() / "notation-go" / "verifier" / "testdata" / "truststore")


def _subject_of(record: dict[str, Any]) -> Subject:
    payload = record["envelope_info"]["payload_descriptor"]
    return Subject(payload["mediaType"], payload["digest"], payload["size"])


@pytest.mark.parametrize("record", _ids("notation-go/mock/"), ids=lambda r: r["id"].split("/")[-1])
def test_notation_go_envelopes(record: dict[str, Any]) -> None:
    data = (_corpus() / record["envelope"]).read_bytes()
    policy = TrustPolicy((statement(record["trust_policy"], "policy: trustPolicies[0]"),), "policy")
    repository = record["artifact_reference"].split("@")[0]
    judgement = NotationAuthority("go", _go_store(), policy).judge(
        repository, _subject_of(record), [EnvelopeBlob("signature", _media_type(data), data)])
    expect = record["expect"]
    if "plugin" in expect:
        assert not judgement.passed
        message = judgement.rejections[0].message
        assert "the signature verifies, but" in message
        assert ("verification plugin" in message) or ("unknown critical header" in message)
    elif expect == "valid" and record["id"].endswith("sig_env_with_metadata.json"):
        # upstream checks its user metadata with an accept-all verifier; its self-signed signer is in no
        # store of the record: the envelope is intact, and authenticity is what fails
        assert [r.message.partition(":")[0] for r in judgement.rejections] == ["authenticity validation failed"]
        assert record["upstream_result"] == "used to test user metadata (annotations) matching"
    elif expect == "valid":
        assert judgement.accepted is not None and judgement.accepted.logged == ()
    elif expect == "expired":
        assert [r.message.partition(":")[0] for r in judgement.rejections] == ["expiry validation failed"]
    else:
        assert expect == "invalid"
        assert judgement.rejections[0].message.startswith("integrity validation failed")


@pytest.mark.parametrize("record", _ids("notation-go/timestamp/"), ids=lambda r: r["id"].split("/")[-1])
def test_notation_go_authentic_timestamp(record: dict[str, Any]) -> None:
    data = (_corpus() / record["envelope"]).read_bytes()
    envelope = parse_envelope(data, _media_type(data))
    policy = statement(record["trust_policy"], "policy: trustPolicies[0]")
    check = authentic_timestamp(envelope, policy, _go_store(), dt.datetime.now(dt.timezone.utc))
    if record["expect"].startswith("valid"):
        assert check.problem is None
    else:
        assert check.problem is not None
        words = {"withoutTimestamp.sig": "no timestamp countersignature", "timestampBeforeNotBefore.sig": "before",
                 "timestampAfterNotAfter.sig": "after"}
        assert words[record["id"].split("/")[-1]] in check.problem


def test_timestamp_against_another_tsa_root_fails() -> None:
    data = (_corpus() / "notation-go/verifier/testdata/timestamp/sigEnv/jwsWithTimestamp.sig").read_bytes()
    envelope = parse_envelope(data, _media_type(data))
    assert envelope.timestamp_token is not None
    roots = _go_store().certificates("tsa", "test-mismatch")
    with pytest.raises(TimestampError, match="does not verify"):
        verify_timestamp(envelope.timestamp_token, envelope.signature, roots)


@pytest.mark.parametrize("record", [r for r in RECORDS if r["set"] == "timestamp-token"],
                         ids=lambda r: r["id"].split("/")[-1])
def test_countersignature_tokens(record: dict[str, Any]) -> None:
    """Spliced onto another signature, as upstream does: every token is refused, each for its own reason."""
    corpus = _corpus()
    token = (corpus / record["token"]).read_bytes()
    data = (corpus / "notation-go/verifier/testdata/timestamp/sigEnv/withoutTimestamp.sig").read_bytes()
    signature = parse_envelope(data, _media_type(data)).signature
    roots = _go_store().certificates("tsa", "test-timestamp")
    name = record["id"].split("/")[-1]
    expected = {
        "TimeStampToken.p7s": "message imprint is not the hash of this signature",
        "TimeStampTokenWithInvalidTSTInfo.p7s": "does not parse",
        "TimeStampTokenWithInvalideContentType.p7s": "does not parse",
        "TimeStampTokenWithoutCertificate.p7s": "signer certificate not found",
        "TimeStampTokenWithInvalidSignature.p7s": "signature failure",
    }[name]
    with pytest.raises(TimestampError, match=expected):
        verify_timestamp(token, signature, roots)


def test_agreement_summary() -> None:
    """Every record has a test above; the counts are what the conformance covers."""
    _corpus()
    kinds = Counter(r["id"].split("/")[1] if r["set"] != "timestamp-token" else "token" for r in RECORDS)
    assert kinds == Counter({"verify": 35, "layout": 8, "mock": 17, "timestamp": 7, "token": 5, "inspect": 3,
                             "blob": 3, "policy": 1})


_REFUSED = ("blob_trust_policy", "empty_", "invalid_format", "malformed_", "missing_", "multi_statements_with_multi",
            "multi_statements_with_the_same", "overlapped_registry", "overlapped_trusted", "override_integrity",
            "unset_", "wildcard_plus_", "wildcard_trust_store", "trustpolicy.blob")


def test_every_trust_policy_of_the_e2e_suite() -> None:
    """The 43 policy documents (and the blob one): those the e2e suite expects notation to refuse are refused."""
    corpus = _corpus() / "notation-e2e"
    files = [*sorted((corpus / "config" / "trustpolicies").glob("*.json")),
             corpus / "blob" / "trustpolicies" / "trustpolicy.blob.json"]
    assert len(files) == 44
    verdicts = {file.name: _refusal(file) is None for file in files}
    for file in files:
        refusal = _refusal(file)
        assert refusal is None or (refusal.startswith(f"{file.name}: ") and "\n" not in refusal)
    assert {n for n, ok in verdicts.items() if not ok} == {n for n in verdicts if n.startswith(_REFUSED)}


def _refusal(file: Path) -> str | None:
    try:
        parse_trust_policy(file.read_bytes(), file.name)
    except TrustPolicyError as exc:
        return str(exc)
    return None


def test_a_tsa_root_given_twice_still_verifies() -> None:
    """Two files of a store may hold one root; rfc3161-client's builder refuses a root added twice."""
    data = (_corpus() / "notation-go/verifier/testdata/timestamp/sigEnv/coseWithTimestamp.sig").read_bytes()
    envelope = parse_envelope(data, _media_type(data))
    assert envelope.timestamp_token is not None
    roots = _go_store().certificates("tsa", "test-timestamp")
    stamp = verify_timestamp(envelope.timestamp_token, envelope.signature, [*roots, *roots])
    assert stamp.authority.startswith("CN=Globalsign TSA for Advanced")
