"""Keyless signing for `gates attest --keyless`: the CI's ambient OIDC identity, through sigstore.

The identity token comes from where sigstore's `id` library finds it (GitHub Actions with `id-token:
write`, GitLab's `SIGSTORE_ID_TOKEN`, cloud workload identities); Fulcio certifies an ephemeral key
for it, the DSSE envelope is logged in Rekor, and the bundle comes back complete, so a verifier
needs no opt-out. The token is found and checked offline, before any summary is read; signing itself
needs the Sigstore instance (its trust config by TUF, Fulcio, Rekor).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gates.errors import GatesError, UsageError, first_line

if TYPE_CHECKING:
    from sigstore.oidc import IdentityToken


class SigningError(GatesError):
    """The Sigstore instance refused, or could not be reached: nothing was signed."""


def ambient_token() -> IdentityToken:
    """The CI's OIDC identity token, checked offline (a JWT for sigstore's audience, within its validity);
    `UsageError` saying how to grant one when there is none or it is unusable."""
    from sigstore.errors import Error as SigstoreError
    from sigstore.oidc import IdentityToken, detect_credential

    try:
        token = detect_credential()
    except SigstoreError as exc:
        raise UsageError(f"--keyless: the CI's identity token could not be read: {first_line(exc)}") from None
    if token is None:
        raise UsageError("--keyless: no ambient OIDC identity token (GitHub Actions: `permissions: id-token:"
                         " write`; GitLab: an `id_tokens` entry SIGSTORE_ID_TOKEN with `aud: sigstore`); or sign"
                         " with --key")
    try:
        return IdentityToken(token)
    except SigstoreError as exc:
        raise UsageError(f"--keyless: the CI's identity token is unusable: {first_line(exc)}") from None


def sign_keyless(payload: bytes, token: IdentityToken, trust_config: Path | None = None) -> bytes:
    """A Sigstore bundle of `payload` (an in-toto statement) as a DSSE envelope, signed for `token`'s identity."""
    from sigstore.dsse import Statement
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import ClientTrustConfig
    from sigstore.sign import SigningContext

    try:
        config = (ClientTrustConfig.from_json(trust_config.read_text(encoding="utf-8")) if trust_config
                  else ClientTrustConfig.production())
        context = SigningContext.from_trust_config(config)
        with context.signer(token, cache=False) as signer:
            bundle = signer.sign_dsse(Statement(payload))
    except OSError as exc:
        raise UsageError(f"--trust-config: cannot read ({exc.strerror or exc})") from None
    except (SigstoreError, ValueError) as exc:
        raise SigningError(f"keyless signing failed: {first_line(exc)}") from None
    return bundle.to_json().encode("utf-8")

