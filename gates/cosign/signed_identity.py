"""Which repository a signature must name for the image it is verified on: a policy's `signed-identity`.

A signature copied with its image to a mirror still names the repository it was made for. Three rules,
after containers-policy.json's `signedIdentity`:

- `match-repository` (the default; containers/image's `matchRepository`): the signed reference names the
  image's own repository, normalized (`alpine` = `docker.io/library/alpine`); tags and digests ignored.
- `digest-only` (cosign's semantics): the repository is not checked at all; only the digest binds.
- remap (`remapIdentity`): when the image's repository lies under `prefix`, that prefix is replaced by
  `signed-prefix` and the result must be the signed repository; an image not under `prefix` must name
  its own repository, as under `match-repository`. Prefixes match whole path components only, so
  `mirror.internal/dockerhub` never covers `mirror.internal/dockerhub-evil/...`.

Pure and offline, so attestation subject names can be checked with the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from gates.cosign.reference import DEFAULT_DOMAIN, InvalidDockerReference, parse_reference

_DOCKER_HUB_ALIASES = ("index.docker.io", "registry-1.docker.io")


class IdentityKind(str, Enum):
    """The `signed-identity` rules a policy can name."""

    MATCH_REPOSITORY = "match-repository"
    DIGEST_ONLY = "digest-only"
    REMAP = "remap"


@dataclass(frozen=True)
class SignedIdentity:
    """One `signed-identity` rule; `prefix` and `signed_prefix` are set (normalized) for a remap only."""

    kind: IdentityKind = IdentityKind.MATCH_REPOSITORY
    prefix: str = ""
    signed_prefix: str = ""

    def describe(self) -> str:
        """How the rule reads in details and messages."""
        if self.kind is IdentityKind.REMAP:
            return f"remap {self.prefix} -> {self.signed_prefix}"
        return str(self.kind.value)


MATCH_REPOSITORY = SignedIdentity()
DIGEST_ONLY = SignedIdentity(IdentityKind.DIGEST_ONLY)


def remap(prefix: str, signed_prefix: str) -> SignedIdentity:
    """A remap rule from the two prefixes as written; raises `InvalidDockerReference` naming the bad one."""
    return SignedIdentity(IdentityKind.REMAP, normalize_prefix(prefix, "prefix"),
                          normalize_prefix(signed_prefix, "signed-prefix"))


def normalize_prefix(text: str, what: str = "prefix") -> str:
    """A registry host, optionally with namespaces (`mirror.internal/dockerhub`), Docker Hub's aliases folded.

    No tag, no digest, no scheme, no trailing slash: the prefix is compared component by component.
    """
    shown = repr(text[:80])
    host, _, path = text.partition("/")
    if not ("." in host or ":" in host or host == "localhost"):
        raise InvalidDockerReference(f"{what} {shown} must start with a registry host (a name with a dot or a"
                                     " port, or localhost), e.g. docker.io or mirror.internal/dockerhub")
    host = DEFAULT_DOMAIN if host in _DOCKER_HUB_ALIASES else host
    candidate = f"{host}/{path}" if path else host
    try:
        if text != text.strip() or text.endswith("/") or "@" in text:
            raise InvalidDockerReference(text)
        parse_reference(candidate + "/x")  # a valid prefix is one a repository name can continue
    except InvalidDockerReference:
        raise InvalidDockerReference(f"{what} {shown} is not a registry host[/namespace...] (no scheme, tag,"
                                     " digest or trailing slash)") from None
    return candidate


def identity_problem(image: str, signed: str, rule: SignedIdentity = MATCH_REPOSITORY,
                     what: str = "signed reference") -> str | None:
    """None when the `signed` reference is acceptable for `image` under `rule`; else why not (one line).

    `image` is the reference being verified (tag or digest allowed, ignored); `signed` what the
    signature names (a payload's `docker-reference`, an attestation subject's name), `what` its name
    in the message.
    """
    if rule.kind is IdentityKind.DIGEST_ONLY:
        return None
    try:
        own = parse_reference(image).name
    except InvalidDockerReference as exc:
        return f"the verified image: {exc}"
    try:
        found = parse_reference(signed).name
    except InvalidDockerReference:
        return f"{what} {signed[:120]!r} is not an image reference, expected {own}"
    if rule.kind is IdentityKind.MATCH_REPOSITORY:
        return None if found == own else f"{what} {signed[:120]!r} names {found}, expected {own}"
    if not under(own, rule.prefix):
        if found == own:
            return None
        return (f"{what} {signed[:120]!r} names {found}, expected {own} (the image is not under"
                f" {rule.prefix}, so it is not remapped)")
    original = remapped(own, rule)
    if original is None:
        return f"{own} remapped by {rule.describe()} is not a repository name"
    if found == original:
        return None
    return (f"{what} {signed[:120]!r} names {found}, expected {original} (the original of {own}"
            f" under {rule.describe()})")


def under(name: str, prefix: str) -> bool:
    """Whether the normalized repository `name` is `prefix` or lies below it, on a component boundary."""
    return name == prefix or name.startswith(prefix + "/")


def remapped(name: str, rule: SignedIdentity) -> str | None:
    """`name` (normalized, under `rule.prefix`) with the prefix replaced by `rule.signed_prefix`, normalized
    again (`docker.io/alpine` -> `docker.io/library/alpine`); None when that is no repository name."""
    rest = name[len(rule.prefix):]
    if not rest and "/" not in rule.signed_prefix:
        return None  # a bare host names no repository (parsing would read it as a Docker Hub name)
    try:
        return parse_reference(rule.signed_prefix + rest).name
    except InvalidDockerReference:
        return None
