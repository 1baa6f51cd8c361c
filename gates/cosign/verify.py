"""Verify an image's signatures against a list of authorities: any one signature by any one suffices.

Works on bytes the registry client already fetched (the `.sig` layers, the referrer bundles), so it
never touches the network and can be tested on real signatures offline.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from gates.cosign.authority import Authority
from gates.cosign.bundles import SIGN_PREDICATE_TYPE, SigstoreBundle, verify_bundle
from gates.cosign.errors import AuthorityError, Rejected, SignatureError
from gates.cosign.layers import LegacySignature
from gates.cosign.legacy import verify_legacy
from gates.cosign.reference import InvalidDockerReference, ReferenceMatch, parse_reference
from gates.cosign.signed_identity import SignedIdentity
from gates.cosign.verdict import SignatureCheck, Verdict

_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


def verify_image_signatures(
    image_digest: str,
    repository: str,
    legacy_signatures: Sequence[LegacySignature],
    bundles: Sequence[SigstoreBundle | bytes],
    authorities: Sequence[Authority],
    *,
    match: ReferenceMatch = ReferenceMatch.REPOSITORY,
    predicate_types: frozenset[str] | None = frozenset({SIGN_PREDICATE_TYPE}),
    now: dt.datetime | None = None,
    identity: SignedIdentity | None = None,
) -> Verdict:
    """Check every signature against every authority until one verifies.

    `repository` is what legacy payloads' `docker-reference` must match (with a tag for
    `ReferenceMatch.EXACT`); `predicate_types` are the in-toto predicates a bundle may carry (None:
    any, as `cosign verify` accepts attestations too); `identity`, a policy's `signed-identity`, replaces
    `match` when given. Raises `SignatureError` only when nothing can be
    judged (no authorities, a malformed digest or reference, a trusted root that does not load).
    """
    if not authorities:
        raise AuthorityError("no authorities: nothing could ever verify")
    if not _DIGEST_RE.match(image_digest):
        raise SignatureError(f"image digest {image_digest[:80]!r} is not sha256:<64 lowercase hex>")
    try:
        parse_reference(repository)
    except InvalidDockerReference as exc:
        raise SignatureError(str(exc)) from exc
    checks: list[SignatureCheck] = []
    for sig in legacy_signatures:
        for authority in authorities:
            try:
                verify_legacy(sig, authority, image_digest, repository, match, now=now, identity=identity)
            except Rejected as exc:
                checks.append(SignatureCheck(sig.label, authority.describe(), exc.rule, exc.message))
                continue
            checks.append(SignatureCheck(sig.label, authority.describe(), None, "verified"))
            return Verdict(image_digest, repository, tuple(checks))
    for number, item in enumerate(bundles, start=1):
        bundle = item if isinstance(item, SigstoreBundle) else SigstoreBundle.of(item, number)
        for authority in authorities:
            try:
                verify_bundle(bundle.data, authority, image_digest, predicate_types=predicate_types)
            except Rejected as exc:
                checks.append(SignatureCheck(bundle.label, authority.describe(), exc.rule, exc.message))
                continue
            checks.append(SignatureCheck(bundle.label, authority.describe(), None, "verified"))
            return Verdict(image_digest, repository, tuple(checks))
    return Verdict(image_digest, repository, tuple(checks))
