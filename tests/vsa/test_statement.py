"""Which images a report passes, the VSA statement for them, and the policy digest it names."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gates.checks import config_schema, load_config
from gates.errors import ConfigError
from gates.model import Finding, Location, Outcome, Report, Result, Severity
from gates.vsa.policy import DEFAULTS_URI, PolicyRef, policy_of
from gates.vsa.statement import (
    DEFAULT_VERIFIER_ID,
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    VERIFIER_ENV,
    PassedImage,
    passed_images,
    resource_uri,
    statement,
    verifier_id,
)

A = "a" * 64
B = "b" * 64
IMAGE = "registry.example:5000/team/app:1.0"


def result(gate: str, target: str, outcome: Outcome = Outcome.PASSED, subject: str | None = f"sha256:{A}") -> Result:
    findings = (Finding("some-rule", Severity.HIGH, "bad", Location(target)),) if outcome is Outcome.FAILED else ()
    return Result(gate=gate, target=target, outcome=outcome, findings=findings, subject=subject,
                  error="could not decide" if outcome is Outcome.ERROR else None)


def test_an_image_every_gate_passed_at_one_digest_is_passed() -> None:
    report = Report((result("signature", IMAGE), result("base-image", IMAGE)))
    assert passed_images(report) == [PassedImage(("registry.example:5000/team/app",), A, ("signature", "base-image"))]


@pytest.mark.parametrize("other", [
    result("base-image", IMAGE, Outcome.FAILED),
    result("base-image", IMAGE, Outcome.ERROR, subject=None),  # could not even resolve the tag
    result("base-image", IMAGE, Outcome.SKIPPED),
    result("base-image", IMAGE, subject=f"sha256:{B}"),  # the tag moved between the gates
])
def test_one_result_that_is_not_a_pass_at_the_same_digest_leaves_the_image_without_summary(other: Result) -> None:
    assert passed_images(Report((result("signature", IMAGE), other))) == []


def test_results_without_a_digest_are_not_images() -> None:
    manifests = Result(gate="manifests", target="Deployment/default/web", outcome=Outcome.PASSED)
    assert passed_images(Report((manifests,))) == []


def test_only_sha256_subjects_get_a_summary() -> None:
    assert passed_images(Report((result("signature", IMAGE, subject="sha512:" + "c" * 128),))) == []


def test_two_references_of_one_digest_make_one_summary_naming_both() -> None:
    other = "registry.example:5000/mirror/app@sha256:" + A
    [image] = passed_images(Report((result("signature", IMAGE), result("signature", other))))
    assert image.names == ("registry.example:5000/team/app", "registry.example:5000/mirror/app")
    assert image.gates == ("signature",)


def test_statement_is_a_slsa_vsa_v1_about_the_digest() -> None:
    image = PassedImage(("registry.example:5000/team/app",), A, ("signature", "base-image"))
    when = dt.datetime(2026, 3, 1, 12, 30, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    doc = statement(image, PolicyRef("gates.toml", B), "https://ci.example/verifier", when)
    assert doc["_type"] == STATEMENT_TYPE and doc["predicateType"] == PREDICATE_TYPE
    assert doc["subject"] == [{"name": "registry.example:5000/team/app", "digest": {"sha256": A}}]
    predicate = doc["predicate"]
    assert predicate["verifier"]["id"] == "https://ci.example/verifier"
    assert predicate["timeVerified"] == "2026-03-01T10:30:05Z"  # UTC
    assert predicate["policy"] == {"uri": "gates.toml", "digest": {"sha256": B}}
    assert predicate["verificationResult"] == "PASSED"
    assert predicate["verifiedLevels"] == ["GATES_SIGNATURE_PASSED", "GATES_BASE_IMAGE_PASSED"]
    assert not any(level.startswith("SLSA_") for level in predicate["verifiedLevels"])  # no provenance checked
    assert predicate["resourceUri"] == resource_uri(image)


def test_resource_uri_is_the_purl_of_the_image() -> None:
    from packageurl import PackageURL

    uri = resource_uri(PassedImage(("ghcr.io/acme/API",), A, ("signature",)))
    parsed = PackageURL.from_string(uri)
    assert (parsed.type, parsed.name, parsed.version) == ("oci", "api", f"sha256:{A}")
    assert parsed.qualifiers == {"repository_url": "ghcr.io/acme/API"}


def test_verifier_id_comes_from_the_environment_and_must_be_a_uri() -> None:
    assert verifier_id({}) == DEFAULT_VERIFIER_ID
    assert verifier_id({VERIFIER_ENV: "https://github.com/acme/app/.github/workflows/ci.yml"}).endswith("ci.yml")
    for bad in ("not a uri", "no-scheme", "https://x/\x1b[2J", "https://" + "x" * 600):
        with pytest.raises(ConfigError, match=VERIFIER_ENV):
            verifier_id({VERIFIER_ENV: bad})


def _policy(tmp_path: Path, text: str) -> PolicyRef:
    path = tmp_path / "gates.toml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path, env={}, cwd=tmp_path)
    return policy_of(config, config_schema().trusted_files(config))


def test_policy_digest_follows_the_values_not_the_formatting(tmp_path: Path) -> None:
    (tmp_path / "cosign.pub").write_text("-----BEGIN PUBLIC KEY-----\nnot checked here\n", encoding="utf-8")
    base = ('fail-on = "high"\n[signature]\nimages = ["ghcr.io/acme/app:1"]\n'
            '[[signature.policies]]\nname = "acme"\nimages = ["ghcr.io/acme/*"]\n'
            '[[signature.policies.authorities]]\nkey = "cosign.pub"\n'
            '[[waivers]]\nrule = "signature-missing"\nreason = "vendor image"\nexpires = 2030-01-01\n')
    first = _policy(tmp_path, base)
    assert first.uri.endswith("gates.toml") and len(first.sha256) == 64
    assert _policy(tmp_path, "# a comment\n" + base.replace(" = ", "=")) == first
    assert _policy(tmp_path, base.replace('"high"', '"medium"')).sha256 != first.sha256
    assert _policy(tmp_path, base.replace("acme/*", "acme/**")).sha256 != first.sha256
    assert _policy(tmp_path, base.replace("2030-01-01", "2031-01-01")).sha256 != first.sha256
    (tmp_path / "cosign.pub").write_text("-----BEGIN PUBLIC KEY-----\nanother key\n", encoding="utf-8")
    assert _policy(tmp_path, base).sha256 != first.sha256  # the trusted key counts by its content


def test_policy_without_a_file_is_gates_defaults(tmp_path: Path) -> None:
    config = load_config(None, env={}, cwd=tmp_path)
    policy = policy_of(config)
    assert policy.uri == DEFAULTS_URI
    assert policy == policy_of(config) and len(policy.sha256) == 64


def test_sigstore_takes_the_statement_and_computes_the_same_pae() -> None:
    """What `--keyless` hands to sigstore is a valid in-toto statement there, and our PAE is its PAE."""
    from sigstore.dsse import Statement

    from gates.vsa.dsse import PAYLOAD_TYPE, pae
    from gates.vsa.statement import encode

    image = PassedImage(("registry.example:5000/team/app",), A, ("signature",))
    when = dt.datetime.now(dt.timezone.utc)
    payload = encode(statement(image, PolicyRef("gates.toml", B), DEFAULT_VERIFIER_ID, when))
    parsed = Statement(payload)
    assert parsed._pae() == pae(PAYLOAD_TYPE, payload)


def test_policy_digest_is_the_same_for_a_checkout_elsewhere(tmp_path: Path) -> None:
    text = ('[signature]\nimages = ["ghcr.io/acme/app:1"]\n[[signature.policies]]\nname = "acme"\n'
            'images = ["ghcr.io/acme/*"]\n[[signature.policies.authorities]]\nkey = "keys/cosign.pub"\n'
            '[[base-image.builds]]\nimage = "ghcr.io/acme/*"\ndockerfile = "Dockerfile"\n')
    digests = set()
    for where in ("one", "two/deeper"):
        folder = tmp_path / where
        (folder / "keys").mkdir(parents=True)
        (folder / "keys" / "cosign.pub").write_text("-----BEGIN PUBLIC KEY-----\nsame\n", encoding="utf-8")
        digests.add(_policy(folder, text).sha256)
    assert len(digests) == 1
