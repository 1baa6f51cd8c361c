"""in-toto attestations (DSSE envelopes, statements, predicates), verified offline, and conditions on them.

A library, not a gate: it knows no rule or policy file. It reuses `gates.cosign` for everything a
signature needs (keys, keyless identities, chains, Rekor, trusted roots), so an attestation authority
means exactly what a signature authority means. Rejections carry a reason from `reasons`.

    candidates = [AttestationBundle(data, "bundle in referrer sha256:…"), *legacy_attestations(manifest, blobs)]
    verdict = verify_attestations(digest, candidates, requirement)
    verdict.accepted, verdict.checks
"""
