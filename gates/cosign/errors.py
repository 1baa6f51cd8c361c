"""Errors of the signature verification core.

Two kinds: `SignatureError`s that mean "this input cannot be judged" (a malformed signature manifest, a
trusted root that does not load, an authority that makes no sense), which become `error` results or
config errors; and `Rejected`, raised inside verification of one signature and turned into one reason
of the verdict, so a bad signature can never end the search for a good one.
"""

from __future__ import annotations

from gates.errors import ConfigError, GatesError


class SignatureError(GatesError):
    """Base of the errors of `gates.cosign`; `str()` is one line a user can act on."""


class MalformedSignatureManifestError(SignatureError):
    """The `.sig` manifest itself is not a cosign signature manifest: the gate cannot decide."""


class TrustRootError(SignatureError):
    """A trusted root (or CA bundle) could not be read or holds no usable keys."""


class AuthorityError(SignatureError, ConfigError):
    """An authority is contradictory or incomplete (e.g. both a key and a keyless identity)."""


class Rejected(SignatureError):
    """One signature failed one check; carries the rule id the finding will use."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = " ".join(message.split())

    def __str__(self) -> str:
        return self.message
