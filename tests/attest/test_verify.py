"""gates.attest.verify on legacy `.att` layers signed here: which reasons belong to which requirement."""

from __future__ import annotations

import json

from cryptography.hazmat.primitives.asymmetric import ec

from gates.attest import reasons
from gates.attest.layers import DSSE_MEDIA_TYPE, LegacyAttestation, parse_attestation_layer
from gates.attest.verify import Requirement, verify_attestations
from gates.cosign.authority import Authority
from gates.oci.digest import Digest
from tests.checks_signature.attest import SLSA_V1, SPDX, att_layer, provenance, spdx
from tests.cosign.factory import public_pem

KEY = ec.generate_private_key(ec.SECP256R1())
AUTHORITY = Authority(key=public_pem(KEY), ignore_tlog=True)
DIGEST = Digest.parse("sha256:" + "cd" * 32)


def _layer(index: int, predicate_type: str, predicate: object, blob: bool = True) -> LegacyAttestation:
    made = att_layer(KEY, DIGEST, predicate_type, predicate)
    descriptor = {"mediaType": DSSE_MEDIA_TYPE, "digest": str(Digest.of(made.blob)), "annotations": made.annotations}
    return parse_attestation_layer(index, descriptor, made.blob if blob else None)


def test_an_unreadable_layer_counts_against_its_annotated_type_only() -> None:
    broken_sbom = _layer(1, SPDX, spdx(), blob=False)
    good_provenance = _layer(2, SLSA_V1, provenance())
    provenance_verdict = verify_attestations(str(DIGEST), [broken_sbom, good_provenance],
                                             Requirement(SLSA_V1, (AUTHORITY,)))
    assert provenance_verdict.accepted_by is not None and provenance_verdict.reasons == ()
    assert SPDX in provenance_verdict.found_types
    sbom_verdict = verify_attestations(str(DIGEST), [broken_sbom, good_provenance], Requirement(SPDX, (AUTHORITY,)))
    [reason] = sbom_verdict.reasons
    assert reason.rule == reasons.INVALID and "was not provided" in reason.message


def test_first_verified_attestation_that_meets_the_conditions_wins() -> None:
    from gates.attest.conditions import SourceRef

    old = _layer(1, SLSA_V1, provenance(ref="refs/heads/dev"))
    release = _layer(2, SLSA_V1, provenance())
    verdict = verify_attestations(str(DIGEST), [old, release],
                                  Requirement(SLSA_V1, (AUTHORITY,), (SourceRef("refs/tags/v1.4"),)))
    assert verdict.accepted_by is not None and verdict.accepted_by.attestation == release.label
    assert [c.rule for c in verdict.checks] == [reasons.CONDITION, None]


def test_a_layer_whose_statement_claims_another_type_than_its_annotation_is_judged_by_the_statement() -> None:
    made = att_layer(KEY, DIGEST, SPDX, spdx())
    annotations = {**made.annotations, "predicateType": SLSA_V1}  # the annotation lies
    descriptor = {"mediaType": DSSE_MEDIA_TYPE, "digest": str(Digest.of(made.blob)), "annotations": annotations}
    layer = parse_attestation_layer(1, descriptor, made.blob)
    verdict = verify_attestations(str(DIGEST), [layer], Requirement(SLSA_V1, (AUTHORITY,)))
    assert verdict.accepted_by is None and [r.rule for r in verdict.reasons] == [reasons.MISSING]
    assert json.loads(made.blob)["payloadType"] == "application/vnd.in-toto+json"
