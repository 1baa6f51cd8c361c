"""Signature policies: which images need whose signature.

Two stages, because the config loader must stay light and cannot know where the config file lives:

1. `parse_policies` (a `gates.config` validator) checks the TOML shape in pure Python: known keys only,
   exactly one of key or identity, issuer given for keyless, regexps that compile. A typo in a security
   policy must never fall back to "no check".
2. `build_policies` turns the specs into `gates.cosign.Authority` objects (keys read and parsed,
   paths resolved against the config file); a key that does not load is a `ConfigError` naming the key.

Matching: a policy applies to an image when one of its globs matches the image's repository, fully
qualified (`docker.io/library/alpine`, `ghcr.io/acme/api`) or as Docker prints it (`alpine`,
`acme/api`), without tag or digest; `*` matches across `/`, as in the manifest gate's globs. An image
must satisfy every policy that applies to it (any one authority of each suffices).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gates.errors import ConfigError
from gates.validators import ConfigValueError

if TYPE_CHECKING:
    from gates.attest.verify import Requirement
    from gates.checks.signature.attestations import AttestationSpec
    from gates.cosign.authority import Authority
    from gates.cosign.signed_identity import SignedIdentity
    from gates.notation.authority import NotationAuthority
    from gates.oci.reference import Reference

_POLICY_KEYS = ("name", "images", "authorities", "signed-identity", "signature", "attestations")
_NOTATION_KEYS = ("notation-trust-store", "notation-trust-policy", "notation-trust-stores", "notation-identities",
                  "notation-level")
"""A Notary Project authority: a trust store with notation's `trustpolicy.json`, or with stores and identities."""
_NOTATION_LISTS = ("notation-trust-stores", "notation-identities")
_AUTHORITY_KEYS = (
    "key", "identity", "identity-regexp", "issuer", "issuer-regexp", "github-repository", "github-ref",
    "github-trigger", "ignore-tlog", "trusted-root", *_NOTATION_KEYS,
)
_KEYLESS_ONLY = ("identity", "identity-regexp", "issuer", "issuer-regexp", "github-repository", "github-ref",
                 "github-trigger")


@dataclass(frozen=True)
class AuthoritySpec:
    """One acceptable signer as written in the config (paths not yet resolved, keys not yet read)."""

    where: str
    """The dotted config key, e.g. `signature.policies[1].authorities[2]`, for error messages."""
    key: str | None = None
    """Path to a PEM public key, as cosign's `--key`."""
    identity: str | None = None
    identity_regexp: str | None = None
    issuer: str | None = None
    issuer_regexp: str | None = None
    github_repository: str | None = None
    github_ref: str | None = None
    github_trigger: str | None = None
    ignore_tlog: bool = False
    """Accept signatures without a verified Rekor entry (`--insecure-ignore-tlog`)."""
    trusted_root: str | None = None
    notation_trust_store: str | None = None
    """A notation trust-store folder (`x509/{ca,signingAuthority,tsa}/NAME/`): a Notary Project authority."""
    notation_trust_policy: str | None = None
    """notation's `trustpolicy.json`, whose statements choose stores and identities per registry scope."""
    notation_trust_stores: tuple[str, ...] | None = None
    """Without a trust policy: the stores (`ca:NAME`, `signingAuthority:NAME`, `tsa:NAME`) to trust."""
    notation_identities: tuple[str, ...] | None = None
    """Without a trust policy: `x509.subject:` identities (or `*`) the signing certificate must have."""
    notation_level: str | None = None
    """Without a trust policy: strict (default), permissive or audit."""

    @property
    def is_notation(self) -> bool:
        return any(getattr(self, name.replace("-", "_")) is not None for name in _NOTATION_KEYS)

    @property
    def names_signer(self) -> bool:
        """Whether a key or any keyless field is set (on the command line: then no configured policy applies)."""
        signer = (self.key, self.identity, self.identity_regexp, self.issuer, self.issuer_regexp,
                  self.github_repository, self.github_ref, self.github_trigger)
        return any(value is not None for value in signer)
    """A `trusted_root.json` for this authority; default: the section's, else Sigstore production."""


@dataclass(frozen=True)
class PolicySpec:
    """A policy as written in the config: image globs and the authorities any one of which suffices."""

    name: str
    images: tuple[str, ...]
    authorities: tuple[AuthoritySpec, ...]
    signed_identity: SignedIdentity | None = None
    """`signed-identity`: which repository a signature must name; None: the image's own (match-repository)."""
    attestations: tuple[AttestationSpec, ...] = ()
    signature: bool = True
    """False: the image needs its attestations only (teams that push GitHub attestations, no signature)."""


@dataclass(frozen=True)
class Policy:
    """A built policy, ready to verify with."""

    name: str
    images: tuple[str, ...]
    """Globs over repositories; `*` alone (the command-line policy) matches every image."""
    authorities: tuple[Authority, ...]
    notation: tuple[NotationAuthority, ...] = ()
    """Notary Project authorities; any one authority of either kind verifying a signature satisfies the policy."""
    signed_identity: SignedIdentity | None = None
    """How the payload's `docker-reference` must relate to the image; None: `match-repository`."""
    attestations: tuple[Requirement, ...] = ()
    """Attestations the image needs besides (or, with `signature` False, instead of) a signature."""
    signature: bool = True

    def matches(self, ref: Reference) -> bool:
        return matches_any(self.images, ref)


def matches_any(globs: Sequence[str], ref: Reference) -> bool:
    """Whether a glob matches the repository, fully qualified or in Docker's short form."""
    from gates.oci.reference import matches_repository

    return any(matches_repository(ref, glob) for glob in globs)


# -- stage 1: the config validator ---------------------------------------------------------------------


def parse_policies(value: Any, key: str) -> tuple[PolicySpec, ...]:
    """Validate `[[signature.policies]]`; raises `TypeError` / `ConfigValueError` saying exactly what is wrong."""
    if not isinstance(value, list):
        raise TypeError("an array of tables ([[signature.policies]])")
    try:
        return tuple(_policy(item, f"{key}[{number}]") for number, item in enumerate(value, start=1))
    except ConfigValueError as exc:  # the loader names `key` already: keep only the part below it
        raise ConfigValueError(str(exc).removeprefix(key)) from None


def _policy(item: Any, where: str) -> PolicySpec:
    if not isinstance(item, dict):
        raise ConfigValueError(f"{where} must be a table, found {item!r}")
    _no_unknown(item, _POLICY_KEYS, where)
    name = item.get("name", where.rpartition(".")[2])
    if not isinstance(name, str) or not name:
        raise ConfigValueError(f"{where}.name must be a non-empty string, found {name!r}")
    images = item.get("images")
    if isinstance(images, str):
        images = [images]
    if not isinstance(images, list) or not images or not all(isinstance(g, str) and g for g in images):
        raise ConfigValueError(f"{where}.images must be a non-empty list of image globs, found {images!r}")
    from gates.oci.errors import InvalidReferenceError
    from gates.oci.reference import canonical_glob

    try:
        images = [canonical_glob(glob) for glob in images]
    except InvalidReferenceError as exc:
        raise ConfigValueError(f"{where}.images: {exc}") from None
    signature = item.get("signature", True)
    if not isinstance(signature, bool):
        raise ConfigValueError(f"{where}.signature must be true or false, found {signature!r}")
    attestations: tuple[AttestationSpec, ...] = ()
    if "attestations" in item:
        from gates.checks.signature.attestations import parse_attestations

        attestations = parse_attestations(item["attestations"], f"{where}.attestations", _authority)
    if not signature and not attestations:
        raise ConfigValueError(f"{where}: signature = false needs [[signature.policies.attestations]]: a policy"
                               " that requires nothing would pass every image")
    authorities = item.get("authorities")
    own = all(spec.authorities for spec in attestations)
    if authorities is None and not signature and own:
        authorities = []
    if not isinstance(authorities, list) or (not authorities and (signature or not own)):
        raise ConfigValueError(
            f"{where}.authorities must be a non-empty array of tables ([[signature.policies.authorities]]):"
            " a policy without authorities could never pass"
        )
    return PolicySpec(
        name=name, images=tuple(images),
        authorities=tuple(_authority(a, f"{where}.authorities[{n}]") for n, a in enumerate(authorities, start=1)),
        signed_identity=_signed_identity(item["signed-identity"], f"{where}.signed-identity")
        if "signed-identity" in item else None,
        attestations=attestations, signature=signature,
    )


_IDENTITY_NAMES = ("match-repository", "digest-only")
_REMAP_KEYS = ("prefix", "signed-prefix")


def _signed_identity(value: Any, where: str) -> SignedIdentity:
    """`"match-repository"`, `"digest-only"`, or a remap table `{prefix, signed-prefix}`."""
    from gates.cosign.reference import InvalidDockerReference
    from gates.cosign.signed_identity import DIGEST_ONLY, MATCH_REPOSITORY, remap
    from gates.suggest import did_you_mean

    if isinstance(value, str):
        if value in _IDENTITY_NAMES:
            return MATCH_REPOSITORY if value == "match-repository" else DIGEST_ONLY
        raise ConfigValueError(f"{where}: unknown value {value[:80]!r}{did_you_mean(value, _IDENTITY_NAMES)}"
                               f" (known: {', '.join(_IDENTITY_NAMES)}, or a table with prefix and signed-prefix)")
    if not isinstance(value, dict):
        raise ConfigValueError(f"{where} must be \"match-repository\", \"digest-only\" or a table with prefix and"
                               f" signed-prefix, found {value!r}")
    _no_unknown(value, _REMAP_KEYS, where)
    missing = [key for key in _REMAP_KEYS if key not in value]
    if missing:
        raise ConfigValueError(f"{where}: a remap needs both prefix and signed-prefix ({' and '.join(missing)}"
                               " missing)")
    for key in _REMAP_KEYS:
        if not isinstance(value[key], str):
            raise ConfigValueError(f"{where}.{key} must be a string, found {value[key]!r}")
    try:
        return remap(value["prefix"], value["signed-prefix"])
    except InvalidDockerReference as exc:
        raise ConfigValueError(f"{where}: {exc}") from None


def _authority(item: Any, where: str) -> AuthoritySpec:
    if not isinstance(item, dict):
        raise ConfigValueError(f"{where} must be a table, found {item!r}")
    _no_unknown(item, _AUTHORITY_KEYS, where)
    for name in _AUTHORITY_KEYS:
        if name in _NOTATION_LISTS:
            value = item.get(name)
            if name in item and (not isinstance(value, list) or not value
                                 or not all(isinstance(v, str) and v for v in value)):
                raise ConfigValueError(f"{where}.{name} must be a non-empty list of strings, found {value!r}")
        elif name == "ignore-tlog":
            if name in item and not isinstance(item[name], bool):
                raise ConfigValueError(f"{where}.{name} must be true or false, found {item[name]!r}")
        elif name in item and (not isinstance(item[name], str) or not item[name]):
            raise ConfigValueError(f"{where}.{name} must be a non-empty string, found {item[name]!r}")
    fields: dict[str, Any] = {name.replace("-", "_"): tuple(item[name]) if name in _NOTATION_LISTS else item[name]
                              for name in _AUTHORITY_KEYS if name in item}
    spec = AuthoritySpec(where=where, **fields)
    problem = authority_problem(spec)
    if problem:
        raise ConfigValueError(f"{where}: {problem}")
    return spec


def authority_problem(spec: AuthoritySpec, names: Mapping[str, str] | None = None) -> str | None:
    """Why an authority makes no sense, or None; `names` renames keys (to flag names on the command line)."""

    def n(key: str) -> str:
        return (names or {}).get(key, key)

    if spec.is_notation:
        return _notation_problem(spec, n)
    keyless = [n(name) for name in _KEYLESS_ONLY if getattr(spec, name.replace("-", "_")) is not None]
    if spec.key is not None:
        if keyless:
            return f"a key authority ({n('key')}) takes no {', '.join(keyless)} (those describe keyless certificates)"
        return None
    if spec.identity is None and spec.identity_regexp is None:
        if keyless:
            return f"{', '.join(keyless)} needs {n('identity')} or {n('identity-regexp')} (the certificate's SAN)"
        return f"an authority needs {n('key')} (a PEM public key) or {n('identity')} / {n('identity-regexp')} (keyless)"
    if spec.identity is not None and spec.identity_regexp is not None:
        return f"{n('identity')} and {n('identity-regexp')} exclude each other"
    if spec.issuer is not None and spec.issuer_regexp is not None:
        return f"{n('issuer')} and {n('issuer-regexp')} exclude each other"
    if spec.issuer is None and spec.issuer_regexp is None:
        return (f"a keyless authority needs {n('issuer')} or {n('issuer-regexp')} (the OIDC issuer that vouched"
                " for the identity)")
    for name, pattern in (("identity-regexp", spec.identity_regexp), ("issuer-regexp", spec.issuer_regexp)):
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                return f"{n(name)} {pattern!r} is not a valid regular expression: {exc}"
    return None


def _notation_problem(spec: AuthoritySpec, n: Any) -> str | None:
    cosign = [n(name) for name in _AUTHORITY_KEYS if name not in _NOTATION_KEYS
              and getattr(spec, name.replace("-", "_")) not in (None, False)]
    if cosign:
        return (f"a notation authority takes no {', '.join(cosign)} (those describe cosign signers; give each kind"
                " its own authority)")
    if spec.notation_trust_store is None:
        return f"a notation authority needs {n('notation-trust-store')} (the folder holding x509/)"
    native = [n(name) for name in ("notation-trust-stores", "notation-identities", "notation-level")
              if getattr(spec, name.replace("-", "_")) is not None]
    if spec.notation_trust_policy is not None:
        if native:
            return (f"{n('notation-trust-policy')} excludes {', '.join(native)} (the trust policy's statements say"
                    " them)")
        return None
    if spec.notation_trust_stores is None or spec.notation_identities is None:
        return (f"a notation authority needs {n('notation-trust-policy')}, or both {n('notation-trust-stores')}"
                f" and {n('notation-identities')}")
    if spec.notation_level is not None and spec.notation_level not in ("strict", "permissive", "audit"):
        return f"{n('notation-level')} must be strict, permissive or audit, found {spec.notation_level!r}"
    from gates.notation.errors import TrustPolicyError

    try:
        _native_statement(spec)
    except TrustPolicyError as exc:
        return str(exc).removeprefix("policy: ")
    return None


def _native_statement(spec: AuthoritySpec) -> Any:
    from gates.notation.trustpolicy import statement

    return statement({"name": spec.where, "registryScopes": ["*"],
                      "signatureVerification": {"level": spec.notation_level or "strict"},
                      "trustStores": list(spec.notation_trust_stores or ()),
                      "trustedIdentities": list(spec.notation_identities or ())}, "policy: trustPolicies[0]")


def _no_unknown(item: Mapping[str, Any], known: Sequence[str], where: str) -> None:
    unknown = sorted(set(item) - set(known))
    if unknown:
        raise ConfigValueError(f"{where}.{unknown[0]}: unknown key (known: {', '.join(known)})")


# -- stage 2: authorities ------------------------------------------------------------------------------


def build_policies(
    specs: Sequence[PolicySpec], base: Path, default_trusted_root: str | None, where: str = "configuration"
) -> tuple[Policy, ...]:
    """Load every authority's key and resolve its paths against `base` (the config file's folder).

    Raises `ConfigError` naming `where` (the config file) and the authority's key.
    """
    from gates.checks.signature.attestations import build_requirement

    def build(spec: AuthoritySpec) -> Authority:
        return build_authority(spec, base, default_trusted_root, where)

    policies = []
    for spec in specs:
        authorities = tuple(build(a) for a in spec.authorities if not a.is_notation)
        notation = tuple(build_notation_authority(a, base, where) for a in spec.authorities if a.is_notation)
        requirements = tuple(build_requirement(a, authorities, build) for a in spec.attestations)
        policies.append(Policy(spec.name, spec.images, authorities, notation, attestations=requirements,
                               signature=spec.signature, signed_identity=spec.signed_identity))
    return tuple(policies)


def build_notation_authority(spec: AuthoritySpec, base: Path, where: str = "configuration") -> NotationAuthority:
    """A notation authority: the trust policy read and validated, the store folder checked (`ConfigError`).

    The named stores are read here too, so a store the policy names but the folder lacks (or one holding
    something that is not a usable certificate) stops the run before the first request.
    """
    from gates.notation.authority import NotationAuthority
    from gates.notation.errors import NotationError, TrustStoreError
    from gates.notation.trustpolicy import MAX_POLICY_BYTES, TrustPolicy, parse_trust_policy
    from gates.notation.truststore import TrustStore
    from gates.targets.files import NotRegularFile, read_regular

    problem = authority_problem(spec)
    if problem:
        raise ConfigError(f"{where}: {spec.where}: {problem}")
    assert spec.notation_trust_store is not None
    store = TrustStore(_resolve(spec.notation_trust_store, base))
    try:
        store.check_root()
        if spec.notation_trust_policy is not None:
            path = _resolve(spec.notation_trust_policy, base)
            try:
                data = read_regular(path, MAX_POLICY_BYTES + 1)
            except (OSError, NotRegularFile) as exc:
                raise ConfigError(f"{where}: {spec.where}: cannot read the trust policy {path}: {exc}") from None
            if len(data) > MAX_POLICY_BYTES:
                raise ConfigError(f"{where}: {spec.where}: the trust policy {path} is larger than"
                                  f" {MAX_POLICY_BYTES} bytes")
            policy = parse_trust_policy(data, spec.notation_trust_policy)
            name = f"notation trust policy {spec.notation_trust_policy}"
        else:
            policy = TrustPolicy((_native_statement(spec),), spec.where)
            name = (f"notation trust stores {', '.join(spec.notation_trust_stores or ())} (identities"
                    f" {', '.join(spec.notation_identities or ())})")
        for statement in policy.statements:
            for kind, store_name in statement.trust_stores:
                try:
                    store.certificates(kind, store_name)
                except TrustStoreError as exc:
                    raise TrustStoreError(f"{policy.source}: trust policy statement {statement.name!r}: {exc}") \
                        from None
    except NotationError as exc:
        raise ConfigError(f"{where}: {spec.where}: {exc}") from None
    return NotationAuthority(name, store, policy)


def build_authority(spec: AuthoritySpec, base: Path, default_trusted_root: str | None,
                    where: str = "configuration") -> Authority:
    """One `Authority`; the trusted root is only a path here, read (and judged) when first needed."""
    from gates.cosign.authority import Authority
    from gates.cosign.errors import SignatureError
    from gates.cosign.identity import KeylessIdentity

    problem = authority_problem(spec)
    if problem:
        raise ConfigError(f"{where}: {spec.where}: {problem}")
    root = spec.trusted_root or default_trusted_root
    try:
        if spec.key is not None:
            authority = Authority(key=_resolve(spec.key, base), ignore_tlog=spec.ignore_tlog,
                                  trusted_root=_resolve(root, base) if root else None)
            return dataclasses.replace(authority, name=f"{authority.describe()} ({spec.key})")
        identity = KeylessIdentity(
            identity=spec.identity, identity_regexp=spec.identity_regexp, issuer=spec.issuer,
            issuer_regexp=spec.issuer_regexp, github_repository=spec.github_repository,
            github_ref=spec.github_ref, github_trigger=spec.github_trigger,
        )
        return Authority(keyless=identity, ignore_tlog=spec.ignore_tlog,
                         trusted_root=_resolve(root, base) if root else None)
    except SignatureError as exc:
        raise ConfigError(f"{where}: {spec.where}: {exc}") from None


def _resolve(path: str, base: Path) -> str:
    candidate = Path(path).expanduser()
    return str(candidate if candidate.is_absolute() else base / candidate)
