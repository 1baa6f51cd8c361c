"""Conditions, key paths, predicate names and statement parsing: what passes, and that nothing absent does."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest

from gates.attest import reasons
from gates.attest.conditions import (
    BuilderId,
    BuildType,
    FieldCondition,
    MaxAge,
    PathError,
    SbomPresent,
    SourceRef,
    SourceUri,
    parse_path,
)
from gates.attest.predicates import SHORT_NAMES, matches, predicate_type
from gates.attest.statement import Statement, parse_envelope, parse_statement
from gates.cosign.errors import Rejected

V1 = "https://slsa.dev/provenance/v1"
V02 = "https://slsa.dev/provenance/v0.2"


def statement(predicate: Any, predicate_type: str = V1, size: int = 100) -> Statement:
    payload = json.dumps({"_type": "https://in-toto.io/Statement/v1", "predicateType": predicate_type,
                          "subject": [{"name": "x", "digest": {"sha256": "ab" * 32}}], "predicate": predicate})
    parsed = parse_statement("application/vnd.in-toto+json", payload.encode())
    return Statement(parsed.statement_type, parsed.predicate_type, parsed.subjects, parsed.predicate, size)


V1_PROVENANCE = statement({
    "buildDefinition": {"buildType": "https://actions.github.io/buildtypes/workflow/v1",
                        "externalParameters": {"workflow": {"repository": "https://github.com/acme/api",
                                                            "ref": "refs/heads/main", "path": "a.yml"}}},
    "runDetails": {"builder": {"id": "https://github.com/acme/api/.github/workflows/r.yml@refs/tags/v2.1.0"}},
})
V02_PROVENANCE = statement({
    "builder": {"id": "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/g.yml@refs/tags/v2.1.0"},
    "buildType": "https://github.com/slsa-framework/slsa-github-generator/container@v1",
    "invocation": {"configSource": {"uri": "git+https://github.com/acme/api@refs/heads/main"}},
}, V02)


def test_key_paths_parse_and_refuse_what_they_do_not_understand() -> None:
    assert parse_path('predicate.a[0]["b.c"].d') == ("predicate", "a", 0, "b.c", "d")
    for bad in ("", ".a", "a..b", "a[x]", "a[0", "a b", "a.__class__()"):
        with pytest.raises(PathError):
            parse_path(bad)


@pytest.mark.parametrize(("condition", "ok"), [
    (FieldCondition("predicate.buildDefinition.externalParameters.workflow.path", equals="a.yml"), True),
    (FieldCondition("predicate.buildDefinition.externalParameters.workflow.path", equals="b.yml"), False),
    (FieldCondition("predicate.runDetails.builder.id", regexp="https://github\\.com/acme/.*"), True),
    (FieldCondition("predicate.runDetails.builder.id", regexp="https://github\\.com/acme/"), False),  # whole value
    (FieldCondition("subject[0].name", one_of=("x", "y")), True),
    (FieldCondition("subject[1].name", one_of=("x", "y")), False),
    (FieldCondition("predicateType", equals=V1), True),
])
def test_field_conditions(condition: FieldCondition, ok: bool) -> None:
    assert (condition.failure(V1_PROVENANCE) is None) is ok


def test_an_absent_field_never_passes_and_says_so() -> None:
    for condition in (FieldCondition("predicate.nope", equals="x"),
                      FieldCondition("predicate.nope", regexp=".*"),
                      FieldCondition("predicate.nope", one_of=(None, "x"))):
        failure = condition.failure(V1_PROVENANCE)
        assert failure is not None and "found nothing (the field is absent)" in failure
    assert "found nothing" in str(BuildType("x").failure(statement({})))
    assert "found nothing" in str(SourceUri("github.com/acme/api").failure(statement({})))
    assert "found nothing" in str(SourceRef("refs/heads/main").failure(statement({})))
    assert "found nothing" in str(BuilderId("x").failure(statement({}), None))


def test_a_condition_needs_exactly_one_test() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        FieldCondition("a")
    with pytest.raises(ValueError, match="exactly one"):
        FieldCondition("a", equals=1, regexp="x")
    with pytest.raises(ValueError, match="does not compile"):
        FieldCondition("a", regexp="(")


@pytest.mark.parametrize(("expected", "ok"), [
    ("https://github.com/acme/api/.github/workflows/r.yml", True),
    ("https://github.com/acme/api/.github/workflows/r.yml@v2.1.0", True),
    ("https://github.com/acme/api/.github/workflows/r.yml@refs/tags/v2.1.0", True),
    ("https://github.com/acme/api/.github/workflows/r.yml@v2.1.1", False),
    ("https://github.com/acme/api/.github/workflows/other.yml", False),
])
def test_builder_id_as_slsa_verifier_matches_it(expected: str, ok: bool) -> None:
    signer = "https://github.com/acme/api/.github/workflows/r.yml@refs/tags/v2.1.0"
    assert (BuilderId(expected).failure(V1_PROVENANCE, signer) is None) is ok


def test_a_workflow_builder_must_be_the_signer() -> None:
    failure = BuilderId("https://github.com/acme/api/.github/workflows/r.yml").failure(
        V1_PROVENANCE, "https://github.com/evil/x/.github/workflows/forge.yml@refs/heads/main")
    assert failure is not None and "signed by" in failure
    assert BuilderId(regexp=".*").failure(V1_PROVENANCE, None) is None  # key-signed: no certificate to compare


def test_source_and_ref_for_both_slsa_versions() -> None:
    for provenance in (V1_PROVENANCE, V02_PROVENANCE):
        assert SourceUri("github.com/acme/api").failure(provenance) is None
        assert SourceUri("https://github.com/acme/api.git").failure(provenance) is None
        assert SourceUri("github.com/acme/api-fork").failure(provenance) is not None
        assert SourceRef("refs/heads/main").failure(provenance) is None
        assert SourceRef(regexp="refs/tags/.*").failure(provenance) is not None
    assert BuildType("https://github.com/slsa-framework/slsa-github-generator/container@v1").failure(
        V02_PROVENANCE) is None


def test_sbom_present_parseable_and_within_the_limit() -> None:
    spdx = "https://spdx.dev/Document"
    assert SbomPresent(1000).failure(statement({"spdxVersion": "SPDX-2.3"}, spdx, 500)) is None
    assert "more than the limit" in str(SbomPresent(1000).failure(statement({"spdxVersion": "SPDX-2.3"}, spdx, 1001)))
    assert "spdxVersion" in str(SbomPresent(1000).failure(statement({"name": "x"}, spdx)))
    assert "bomFormat" in str(SbomPresent(1000).failure(statement({"x": 1}, "https://cyclonedx.org/bom")))
    assert "no SBOM" in str(SbomPresent(1000).failure(statement({}, V1)))


def test_max_age_needs_a_verified_time() -> None:
    now = dt.datetime(2026, 1, 10, tzinfo=dt.timezone.utc)
    assert MaxAge(86400).failure_at(now - dt.timedelta(hours=1), now) is None
    assert "found 172800 s" in str(MaxAge(86400).failure_at(now - dt.timedelta(days=2), now))
    assert "found none" in str(MaxAge(86400).failure_at(None, now))


def test_predicate_types_by_cosign_names_or_uris() -> None:
    assert predicate_type("slsaprovenance") == V02 and predicate_type("slsaprovenance1") == V1
    assert predicate_type("https://example.com/p/v1") == "https://example.com/p/v1"
    assert {"spdxjson", "cyclonedx", "vuln", "openvex", "vsa"} <= set(SHORT_NAMES)
    with pytest.raises(ValueError, match="unknown attestation type"):
        predicate_type("provenance")
    assert matches("https://openvex.dev/ns", "https://openvex.dev/ns/v0.2.0")
    assert not matches(V1, "https://slsa.dev/provenance/v1.0?draft")


def _envelope(**fields: Any) -> bytes:
    doc = {"payloadType": "application/vnd.in-toto+json", "payload": base64.b64encode(b"{}").decode(),
           "signatures": [{"sig": base64.b64encode(b"s").decode()}]}
    doc.update(fields)
    return json.dumps(doc).encode()


@pytest.mark.parametrize(("data", "message"), [
    (b"[1]", "not a JSON object"),
    (b'{"payloadType": "a", "payloadType": "b"}', "ambiguous"),
    (_envelope(signatures=[]), "no signature"),
    (_envelope(signatures=[{"sig": "x"}] * 17), "more than 16"),
    (_envelope(payload="***"), "malformed"),
    (b"{" * 100000, "not JSON"),
])
def test_envelopes_are_parsed_with_limits(data: bytes, message: str) -> None:
    with pytest.raises(Rejected, match=message) as caught:
        parse_envelope(data)
    assert caught.value.rule == reasons.INVALID


def test_an_envelope_over_the_limit_is_refused_unread() -> None:
    with pytest.raises(Rejected, match="more than the limit"):
        parse_envelope(b" " * 101, limit=100)


@pytest.mark.parametrize(("payload", "message"), [
    (b'{"_type": "x"}', "not an in-toto statement"),
    (b'{"_type": "https://in-toto.io/Statement/v1", "subject": [{"digest": {}}]}', "no predicateType"),
    (b'{"_type": "https://in-toto.io/Statement/v1", "predicateType": "p", "subject": []}', "no subject"),
    (b'{"_type": "https://in-toto.io/Statement/v1", "predicateType": "p", "subject": [{"digest": 1}]}', "digest"),
])
def test_statements_that_are_not(payload: bytes, message: str) -> None:
    with pytest.raises(Rejected, match=message):
        parse_statement("application/vnd.in-toto+json", payload)
    with pytest.raises(Rejected, match="not an in-toto statement"):
        parse_statement("text/plain", payload)


def test_untrusted_predicate_types_are_shown_short_and_few() -> None:
    from gates.attest.predicates import shown_types

    shown = shown_types(["https://x/" + "a" * 10000, *[f"https://t/{n}" for n in range(20)], V1])
    assert len(shown) < 1500 and "and 12 more" in shown and "a" * 101 not in shown
    assert shown_types([]) == "none" and shown_types([V1, V1]) == "slsaprovenance1"


@pytest.mark.parametrize(("wanted", "found"), [
    (True, 1), (1, True), (False, 0), (0, False), (True, 1.0), ("1", 1), ([1], [True]),
    ({"a": 1}, {"a": True}),
])
def test_equals_and_one_of_compare_json_types_strictly(wanted: Any, found: Any) -> None:
    """JSON `true` is not `1`, though Python's `==` says it is (numbers compare by value: `1` is `1.0`)."""
    doc = statement({"flag": found})
    assert FieldCondition("predicate.flag", equals=wanted).failure(doc) is not None
    assert FieldCondition("predicate.flag", one_of=(wanted,)).failure(doc) is not None
    assert FieldCondition("predicate.flag", equals=found).failure(doc) is None
    assert FieldCondition("predicate.flag", one_of=("other", found)).failure(doc) is None
