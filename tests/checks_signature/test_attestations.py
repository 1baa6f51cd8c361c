"""`gates signature` with attestations, end to end: the real registry, attestations the tests sign.

Positive paths (legacy `.att` with a Rekor SET, v3 bundle referrers, attestation-only policies) and
the negatives the gate must never pass: another digest, another key, the wrong predicate type, a
tampered envelope, several signatures none of which verifies, an unparsable attestation, an SBOM over
the limit, a condition on an absent field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gates.checks.signature import rules as r
from gates.oci.client import RegistryClient
from gates.oci.digest import Digest
from gates.oci.reference import Reference
from tests.checks_signature.attest import (
    SLSA_V1,
    SPDX,
    AttLayer,
    att_layer,
    attach_attestation,
    attestation_bundle,
    provenance,
    push_att,
    spdx,
)
from tests.checks_signature.conftest import GatesRun, Signers, fresh, push, results, small_image
from tests.checks_signature.cosign import attach_bundle, key_bundle, key_layer, sign_legacy
from tests.support import oci_images as oi
from tests.support.registry import RegistryServer

BUILDER_ID = "https://github.com/acme/api/.github/workflows/release.yml"


def key_args(signers: Signers, *extra: str) -> list[str]:
    return ["signature", "--key", str(signers.key_pem), "--trusted-root", str(signers.trusted_root), *extra,
            "--format", "json"]


def signed_image(pusher: RegistryClient, registry: RegistryServer, signers: Signers, name: str
                 ) -> tuple[Reference, Digest]:
    """An image with a key signature and its Rekor SET, as `cosign sign --key` leaves it."""
    ref = fresh(registry, name)
    digest = push(pusher, ref)
    sign_legacy(pusher, ref, digest, key_layer(signers.key, digest, ref.name, signers.rekor))
    return ref, digest


def only_result(run: Any) -> dict[str, Any]:
    [result] = results(run)
    return result


def test_legacy_att_provenance_with_rekor_passes_with_builder_and_source(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun
) -> None:
    ref, digest = signed_image(pusher, registry, signers, "att")
    push_att(pusher, ref, digest,
             att_layer(signers.key, digest, SLSA_V1, provenance(), rekor=signers.rekor),
             att_layer(signers.key, digest, SPDX, spdx(), rekor=signers.rekor))
    run = gates([*key_args(signers, "--attestation", "slsaprovenance1", "--attestation", "spdxjson",
                           "--builder-id", BUILDER_ID, "--source-uri", "github.com/acme/api"), str(ref)])
    assert run.code == 0, run.out + run.err
    details = only_result(run)["details"]
    assert any("attestations found: slsaprovenance1, spdxjson" in d for d in details), details
    assert any("attestation slsaprovenance1: attestation layer 1" in d and "cosign.pub" in d for d in details)
    assert any("attestation spdxjson: attestation layer 2" in d for d in details)


def test_builder_and_source_conditions_say_expected_and_found(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun
) -> None:
    ref, digest = signed_image(pusher, registry, signers, "cond")
    push_att(pusher, ref, digest, att_layer(signers.key, digest, SLSA_V1, provenance(), rekor=signers.rekor))
    run = gates([*key_args(signers, "--attestation", "slsaprovenance1", "--builder-id",
                           "https://github.com/evil/api/.github/workflows/release.yml", "--source-uri",
                           "github.com/evil/api"), str(ref)])
    assert run.code == 1
    [finding] = only_result(run)["findings"]
    assert finding["rule"] == r.ATTESTATION_CONDITION
    assert "expected 'https://github.com/evil/api/.github/workflows/release.yml', found" in finding["message"]
    assert "source repository: expected 'github.com/evil/api', found 'https://github.com/acme/api'" \
        in finding["message"]


def test_attestation_without_transparency_needs_the_opt_out(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun
) -> None:
    ref, digest = signed_image(pusher, registry, signers, "notlog")
    push_att(pusher, ref, digest, att_layer(signers.key, digest, SLSA_V1, provenance()))
    strict = gates([*key_args(signers, "--attestation", "slsaprovenance1"), str(ref)])
    assert strict.code == 1
    [finding] = only_result(strict)["findings"]
    assert finding["rule"] == r.ATTESTATION_INVALID and "no Rekor bundle" in finding["message"]


def test_bundle_referrers_signature_and_two_attestations_pass(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun
) -> None:
    ref = fresh(registry, "refs")
    img = small_image(str(ref))
    oi.push_image(pusher, ref, img)
    attach_bundle(pusher, ref, img.descriptor, key_bundle(signers.key, img.digest))
    attach_attestation(pusher, ref, img.descriptor, attestation_bundle(signers.key, img.digest, SLSA_V1,
                                                                       provenance()), SLSA_V1)
    attach_attestation(pusher, ref, img.descriptor, attestation_bundle(signers.key, img.digest, SPDX, spdx()), SPDX)
    run = gates([*key_args(signers, "--insecure-ignore-tlog", "--attestation", "slsaprovenance1",
                           "--attestation", "spdxjson"), str(ref)])
    assert run.code == 0, run.out
    details = only_result(run)["details"]
    assert any("attestation slsaprovenance1: attestation in referrer" in d for d in details), details
    assert any("attestation spdxjson: attestation in referrer" in d for d in details), details


def _one_finding(gates: GatesRun, signers: Signers, ref: Reference, *extra: str) -> dict[str, Any]:
    run = gates([*key_args(signers, "--insecure-ignore-tlog", *extra), str(ref)])
    assert run.code == 1, run.out
    findings = only_result(run)["findings"]
    assert len(findings) == 1, findings
    finding: dict[str, Any] = findings[0]
    return finding


def _image_with(pusher: RegistryClient, registry: RegistryServer, signers: Signers, name: str,
                *layers: AttLayer) -> Reference:
    ref, digest = signed_image(pusher, registry, signers, name)
    push_att(pusher, ref, digest, *layers)
    return ref


def test_attestation_for_another_digest_is_invalid(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun
) -> None:
    ref, digest = signed_image(pusher, registry, signers, "other")
    push_att(pusher, ref, digest, att_layer(signers.key, digest, SLSA_V1, provenance(), subject_hex="ab" * 32))
    finding = _one_finding(gates, signers, ref, "--attestation", "slsaprovenance1")
    assert finding["rule"] == r.ATTESTATION_INVALID
    assert f"expected {digest}" in finding["message"] and "sha256:abababab" in finding["message"]


def test_attestation_by_another_key_is_invalid(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun
) -> None:
    ref, digest = signed_image(pusher, registry, signers, "otherkey")
    push_att(pusher, ref, digest, att_layer(signers.other_key, digest, SLSA_V1, provenance()))
    finding = _one_finding(gates, signers, ref, "--attestation", "slsaprovenance1")
    assert finding["rule"] == r.ATTESTATION_INVALID and "DSSE signature verifies with" in finding["message"]


def test_wrong_predicate_type_is_missing_and_names_what_was_found(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun
) -> None:
    ref, digest = signed_image(pusher, registry, signers, "wrongtype")
    push_att(pusher, ref, digest, att_layer(signers.key, digest, SPDX, spdx()))
    finding = _one_finding(gates, signers, ref, "--attestation", "slsaprovenance1")
    assert finding["rule"] == r.ATTESTATION_MISSING
    assert "https://slsa.dev/provenance/v1" in finding["message"] and "found: spdxjson" in finding["message"]


def test_tampered_envelope_is_invalid(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun
) -> None:
    ref, digest = signed_image(pusher, registry, signers, "tamper")
    push_att(pusher, ref, digest, att_layer(signers.key, digest, SLSA_V1, provenance(), tamper=True))
    finding = _one_finding(gates, signers, ref, "--attestation", "slsaprovenance1")
    assert finding["rule"] == r.ATTESTATION_INVALID and "does not verify" not in finding["rule"]
    assert "DSSE signature verifies" in finding["message"]


def test_several_signatures_none_verifying_is_invalid(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun
) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    strangers = [ec.generate_private_key(ec.SECP256R1()) for _ in range(2)]
    ref, digest = signed_image(pusher, registry, signers, "several")
    push_att(pusher, ref, digest, att_layer(signers.key, digest, SLSA_V1, provenance(), signing_keys=strangers))
    finding = _one_finding(gates, signers, ref, "--attestation", "slsaprovenance1")
    assert finding["rule"] == r.ATTESTATION_INVALID and "none of the 2 DSSE signatures" in finding["message"]


def test_one_of_several_signatures_verifying_suffices(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun
) -> None:
    ref, digest = signed_image(pusher, registry, signers, "oneof")
    push_att(pusher, ref, digest, att_layer(signers.key, digest, SLSA_V1, provenance(),
                                            signing_keys=[signers.other_key, signers.key]))
    run = gates([*key_args(signers, "--insecure-ignore-tlog", "--attestation", "slsaprovenance1"), str(ref)])
    assert run.code == 0, run.out


def test_unparsable_attestation_is_invalid_never_skipped(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun
) -> None:
    ref = _image_with(pusher, registry, signers, "garbage",
                      AttLayer(b"{not json", {"predicateType": SLSA_V1}))
    finding = _one_finding(gates, signers, ref, "--attestation", "slsaprovenance1")
    assert finding["rule"] == r.ATTESTATION_INVALID and "not JSON" in finding["message"]
    assert "attestation layer 1" in finding["message"]


def _config(tmp_path: Path, signers: Signers, attestation: str, *, signature: bool = True) -> Path:
    path = tmp_path / "gates.toml"
    path.write_text(f"""
[signature]
trusted-root = "{signers.trusted_root}"

[[signature.policies]]
name = "release"
images = ["*"]
signature = {str(signature).lower()}

[[signature.policies.authorities]]
key = "{signers.key_pem}"
ignore-tlog = true

{attestation}
""")
    return path


def test_sbom_over_the_limit_fails_the_condition(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun, tmp_path: Path
) -> None:
    ref, digest = signed_image(pusher, registry, signers, "bigsbom")
    push_att(pusher, ref, digest, att_layer(signers.key, digest, SPDX, spdx(packages=200)))
    config = _config(tmp_path, signers, '[[signature.policies.attestations]]\ntype = "spdxjson"\nsbom = true\n'
                     'sbom-max-bytes = 2000\n')
    run = gates(["signature", "--config", str(config), "--format", "json", str(ref)])
    assert run.code == 1, run.out
    [finding] = only_result(run)["findings"]
    assert finding["rule"] == r.ATTESTATION_CONDITION
    assert "more than the limit of 2000" in finding["message"]


def test_condition_on_an_absent_field_fails_saying_nothing_was_found(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun, tmp_path: Path
) -> None:
    ref, digest = signed_image(pusher, registry, signers, "absent")
    push_att(pusher, ref, digest, att_layer(signers.key, digest, SLSA_V1, provenance()))
    config = _config(tmp_path, signers, '[[signature.policies.attestations]]\ntype = "slsaprovenance1"\n'
                     'conditions = [{ path = "predicate.runDetails.metadata.finishedOn", regexp = "^2025-" },'
                     ' { path = "predicate.buildDefinition.externalParameters.workflow.path",'
                     ' equals = ".github/workflows/release.yml" }]\n')
    run = gates(["signature", "--config", str(config), "--format", "json", str(ref)])
    assert run.code == 1, run.out
    [finding] = only_result(run)["findings"]
    assert finding["rule"] == r.ATTESTATION_CONDITION
    assert "predicate.runDetails.metadata.finishedOn: expected a match of /^2025-/, found nothing" \
        in finding["message"]
    assert "workflow.path" not in finding["message"]  # the condition that holds is not reported


def test_attestation_only_policy_passes_without_any_signature(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun, tmp_path: Path
) -> None:
    ref = fresh(registry, "nosig")
    digest = push(pusher, ref)
    config = _config(tmp_path, signers, '[[signature.policies.attestations]]\ntype = "slsaprovenance1"\n'
                     'source-ref-regexp = "refs/tags/v.*"\n', signature=False)
    missing = gates(["signature", "--config", str(config), "--format", "json", str(ref)])
    assert missing.code == 1
    [finding] = only_result(missing)["findings"]
    assert finding["rule"] == r.ATTESTATION_MISSING and "found: none" in finding["message"]
    push_att(pusher, ref, digest, att_layer(signers.key, digest, SLSA_V1, provenance()))
    run = gates(["signature", "--config", str(config), "--format", "json", str(ref)])
    assert run.code == 0, run.out
    assert not any("signature" in d and "verified by" in d and "attestation" not in d
                   for d in only_result(run)["details"])


def test_bad_attestation_configuration_is_exit_2(signers: Signers, gates: GatesRun, tmp_path: Path) -> None:
    unknown = _config(tmp_path, signers, '[[signature.policies.attestations]]\ntype = "provenance"\n')
    run = gates(["signature", "--config", str(unknown), "example.com/a:1"])
    assert run.code == 2 and "unknown attestation type 'provenance'" in run.err
    wrong = _config(tmp_path, signers, '[[signature.policies.attestations]]\ntype = "spdxjson"\nbuilder-id = "x"\n')
    run = gates(["signature", "--config", str(wrong), "example.com/a:1"])
    assert run.code == 2 and "builder-id applies to SLSA provenance" in run.err
    nothing = _config(tmp_path, signers, "", signature=False)
    run = gates(["signature", "--config", str(nothing), "example.com/a:1"])
    assert run.code == 2 and "signature = false needs" in run.err


def test_slsa_flags_need_a_provenance_attestation(signers: Signers, gates: GatesRun) -> None:
    run = gates([*key_args(signers, "--builder-id", BUILDER_ID), "example.com/a:1"])
    assert run.code == 2 and "--attestation slsaprovenance1" in run.err
    run = gates([*key_args(signers, "--attestation", "nonsense"), "example.com/a:1"])
    assert run.code == 2 and "unknown attestation type 'nonsense'" in run.err


def test_a_real_github_attestation_is_verified_through_the_registry_up_to_its_subject(
    registry: RegistryServer, pusher: RegistryClient, gates: GatesRun, tmp_path: Path
) -> None:
    """GitHub's own instance (TSA, no Rekor): authenticated from the registry, then refused for its subject.

    The bundle is `actions/attest-build-provenance`'s for another image (it cannot be pushed under its own
    digest), attached as GitHub's `push-to-registry` attaches it: only the subject may fail, so the TSA,
    chain and identity checks all passed; with another identity it fails earlier, on the identity.
    """
    from tests.conftest import require_corpus

    bundle = require_corpus("attestations", "github", "opa-provider", "valid-bundle.json").read_bytes()
    root = require_corpus("attestations", "github", "trust-roots", "github-trusted-root.json")
    ref = fresh(registry, "github")
    img = small_image(str(ref))
    oi.push_image(pusher, ref, img)
    attach_attestation(pusher, ref, img.descriptor, bundle, SLSA_V1)

    def config(identity: str) -> Path:
        path = tmp_path / "gates.toml"
        path.write_text(f"""
[[signature.policies]]
name = "github"
images = ["*"]
signature = false

[[signature.policies.attestations]]
type = "slsaprovenance1"

[[signature.policies.attestations.authorities]]
identity = "{identity}"
issuer = "https://token.actions.githubusercontent.com"
trusted-root = "{root}"
""")
        return path

    signer = ("https://github.com/github/artifact-attestations-opa-provider/.github/workflows/docker.yaml"
              "@refs/pull/31/merge")
    run = gates(["signature", "--config", str(config(signer)), "--format", "json", str(ref)])
    assert run.code == 1, run.out
    [finding] = only_result(run)["findings"]
    assert finding["rule"] == r.ATTESTATION_INVALID
    assert "statement subjects are sha256:d57f9212097b86c8" in finding["message"], finding["message"]
    other = gates(["signature", "--config", str(config(signer.replace("pull/31", "pull/32"))), "--format",
                   "json", str(ref)])
    [finding] = only_result(other)["findings"]
    assert finding["rule"] == r.ATTESTATION_INVALID and "signer identity" in finding["message"]


def test_one_listing_serves_signatures_and_attestations_and_other_types_are_not_fetched(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers
) -> None:
    """A bundle-signed image: the referrers are listed once; an SBOM referrer is not fetched for provenance."""
    from gates.attest.verify import Requirement
    from gates.checks.signature.gate import SignatureOptions, check_images
    from gates.checks.signature.policy import Policy
    from gates.cosign.authority import Authority
    from gates.model import Outcome
    from gates.oci.credentials import StaticCredentials

    key = Authority(key=signers.key_pem, ignore_tlog=True)

    def requests(ref: Reference, attestations: tuple[Requirement, ...]) -> int:
        policy = Policy("p", ("*",), (key,), attestations=attestations)
        with RegistryClient(StaticCredentials({})) as client:
            [result] = check_images(SignatureOptions((str(ref),), (policy,), concurrency=1), client)
            assert result.outcome is Outcome.PASSED, result.findings
            return client.request_count

    counts = []
    for with_sbom in (False, True):
        ref = fresh(registry, "listing")
        img = small_image(f"{ref}{with_sbom}")
        oi.push_image(pusher, ref, img)
        attach_bundle(pusher, ref, img.descriptor, key_bundle(signers.key, img.digest))
        attach_attestation(pusher, ref, img.descriptor,
                           attestation_bundle(signers.key, img.digest, SLSA_V1, provenance()), SLSA_V1)
        if with_sbom:
            attach_attestation(pusher, ref, img.descriptor,
                               attestation_bundle(signers.key, img.digest, SPDX, spdx()), SPDX)
        alone = requests(ref, ())
        counts.append(requests(ref, (Requirement(SLSA_V1, (key,)),)) - alone)
    # provenance adds only its own referrer (manifest + bundle): the listing is the signature's, the
    # SBOM referrer is fetched by neither search, and the `.att` tag is not looked up once referrers sufficed
    assert counts == [2, 2]


def test_attestation_findings_reach_every_report(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun, tmp_path: Path
) -> None:
    """SARIF names the rule (with its explain text in the driver), JUnit fails a testcase of that rule."""
    import json
    import xml.etree.ElementTree as ET

    ref, digest = signed_image(pusher, registry, signers, "reports")
    push_att(pusher, ref, digest, att_layer(signers.key, digest, SPDX, spdx(), rekor=signers.rekor))
    sarif, junit, github = tmp_path / "out.sarif", tmp_path / "junit.xml", tmp_path / "github.txt"
    run = gates([*key_args(signers, "--attestation", "slsaprovenance1"), "--output", f"sarif={sarif}",
                 "--output", f"junit={junit}", "--output", f"github={github}", str(ref)])
    assert run.code == 1
    doc = json.loads(sarif.read_text(encoding="utf-8"))
    [sarif_result] = doc["runs"][0]["results"]
    assert sarif_result["ruleId"] == r.ATTESTATION_MISSING
    rules = {rule["id"]: rule for rule in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert "SLSA provenance or an SBOM" in json.dumps(rules[r.ATTESTATION_MISSING])
    failures = [case for case in ET.parse(junit).getroot().iter("testcase") if case.find("failure") is not None]
    assert len(failures) == 1 and r.ATTESTATION_MISSING in failures[0].get("name", "")
    assert r.ATTESTATION_MISSING in github.read_text(encoding="utf-8")
