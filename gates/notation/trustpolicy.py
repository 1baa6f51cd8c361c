"""notation's `trustpolicy.json` (version 1.0): which signers each registry scope trusts, at which level.

Validated as notation validates it, so a document notation would refuse is refused here too, with the
statement and value named: registry scopes fully qualified, `*` alone and in one statement only, no
scope in two statements (ambiguous), a known level with overrides of known checks (never
`integrity`), trust stores `TYPE:NAME`, trusted identities `*` alone or `x509.subject:` DNs with C, ST
and O that do not overlap. Keys notation does not define are refused too, so a misspelt key never
becomes "no constraint". A statement's checks are then one action each (`enforce`, `log`, `skip`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gates.notation.errors import TrustPolicyError
from gates.notation.truststore import NAME, STORE_TYPES

CHECKS = ("integrity", "authenticity", "authenticTimestamp", "expiry", "revocation")
ACTIONS = ("enforce", "log", "skip")
LEVELS: Mapping[str, Mapping[str, str]] = {
    "strict": dict.fromkeys(CHECKS, "enforce"),
    "permissive": {"integrity": "enforce", "authenticity": "enforce", "authenticTimestamp": "log",
                   "expiry": "log", "revocation": "log"},
    "audit": {"integrity": "enforce", "authenticity": "log", "authenticTimestamp": "log", "expiry": "log",
              "revocation": "log"},
    "skip": dict.fromkeys(CHECKS, "skip"),
}
"""The specification's verification levels: what each check's failure does."""
VERIFY_TIMESTAMP = ("always", "afterCertExpiry")
IDENTITY_PREFIX = "x509.subject"
MANDATORY_RDNS = ("C", "ST", "O")
MAX_POLICY_BYTES = 1024 * 1024

_STATEMENT_KEYS = frozenset({"name", "registryScopes", "signatureVerification", "trustStores", "trustedIdentities"})
_VERIFICATION_KEYS = frozenset({"level", "override", "verifyTimestamp"})


@dataclass(frozen=True)
class Identity:
    """A trusted `x509.subject:` identity: RDN attributes a signing certificate's subject must all have."""

    text: str
    attributes: frozenset[tuple[str, str]]
    """(attribute OID, value) pairs."""

    def matches(self, attributes: frozenset[tuple[str, str]]) -> bool:
        return self.attributes <= attributes


@dataclass(frozen=True)
class Statement:
    """One trust policy statement."""

    name: str
    scopes: tuple[str, ...]
    level: str
    actions: Mapping[str, str]
    """Check -> `enforce` / `log` / `skip`, the level with its overrides applied."""
    verify_timestamp: str
    trust_stores: tuple[tuple[str, str], ...]
    """(type, name) pairs."""
    identities: tuple[Identity, ...] | None
    """None: the wildcard `*`, any signer the trust stores accept."""

    def stores(self, kind: str) -> tuple[str, ...]:
        return tuple(name for store_type, name in self.trust_stores if store_type == kind)

    def describe_identities(self) -> str:
        if self.identities is None:
            return "*"
        return ", ".join(identity.text for identity in self.identities)


@dataclass(frozen=True)
class TrustPolicy:
    """A validated trust policy document."""

    statements: tuple[Statement, ...]
    source: str

    def statement_for(self, repository: str) -> Statement | None:
        """The statement whose scope names `repository` (`registry/path`), else the `*` one, else None."""
        for statement in self.statements:
            if repository in statement.scopes:
                return statement
        return next((s for s in self.statements if "*" in s.scopes), None)


def parse_trust_policy(data: bytes, source: str) -> TrustPolicy:
    """Validate a trust policy document; raises `TrustPolicyError` naming `source` and what is wrong."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise TrustPolicyError(f"{source}: the trust policy is not valid JSON") from None
    if not isinstance(doc, dict):
        raise TrustPolicyError(f"{source}: the trust policy is not a JSON object")
    unknown = sorted(set(doc) - {"version", "trustPolicies"})
    if unknown:
        raise TrustPolicyError(f"{source}: unknown key {unknown[0]!r} (known: version, trustPolicies)")
    if doc.get("version") != "1.0":
        raise TrustPolicyError(f"{source}: trust policy has version {doc.get('version')!r}; gates reads 1.0")
    items = doc.get("trustPolicies")
    if not isinstance(items, list) or not items:
        raise TrustPolicyError(f"{source}: trust policy has no trustPolicies statements")
    statements = [statement(item, f"{source}: trustPolicies[{n}]") for n, item in enumerate(items)]
    names: set[str] = set()
    owners: dict[str, str] = {}
    for one in statements:
        if one.name in names:
            raise TrustPolicyError(f"{source}: multiple trust policy statements use the same name {one.name!r}")
        names.add(one.name)
        if len(set(one.scopes)) != len(one.scopes):
            twice = next(scope for scope in one.scopes if one.scopes.count(scope) > 1)
            raise TrustPolicyError(f"{source}: trust policy statement {one.name!r} lists registry scope {twice!r}"
                                   " twice")
        for scope in one.scopes:
            if scope in owners:
                raise TrustPolicyError(
                    f"{source}: registry scope {scope!r} is present in statements {owners[scope]!r} and"
                    f" {one.name!r}: which one applies would be ambiguous")
            owners[scope] = one.name
    return TrustPolicy(tuple(statements), source)


def statement(item: Any, where: str) -> Statement:
    """One statement (also how a gates-native authority is built); raises `TrustPolicyError`."""
    if not isinstance(item, dict):
        raise TrustPolicyError(f"{where}: a trust policy statement must be a JSON object")
    unknown = sorted(set(item) - _STATEMENT_KEYS)
    if unknown:
        raise TrustPolicyError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_STATEMENT_KEYS))})")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise TrustPolicyError(f"{where}: a trust policy statement has no name")
    where = f"{where.rpartition(':')[0]}: trust policy statement {name!r}"
    if "registryScopes" not in item:
        raise TrustPolicyError(f"{where} has no registryScopes (a blob trust policy? gates verifies images, whose"
                               " statements name the repositories they cover)")
    scopes = _strings(item.get("registryScopes"), where, "registryScopes")
    if not scopes:
        raise TrustPolicyError(f"{where} has zero registry scopes, it must specify registry scopes with at least"
                               " one value")
    _check_scopes(scopes, where)
    level, actions, verify_timestamp = _verification(item.get("signatureVerification"), where)
    stores = _strings(item.get("trustStores", []), where, "trustStores")
    identities = _strings(item.get("trustedIdentities", []), where, "trustedIdentities")
    if level == "skip":
        if stores or identities:
            raise TrustPolicyError(f"{where} is set to skip signature verification but configured trust stores"
                                   " and/or trusted identities; remove them")
        return Statement(name, tuple(scopes), level, actions, verify_timestamp, (), ())
    if not stores or not identities:
        raise TrustPolicyError(f"{where} is either missing trust stores or trusted identities, both must be"
                               " specified")
    return Statement(name, tuple(scopes), level, actions, verify_timestamp, _stores(stores, where),
                     _identities(identities, where))


def _strings(value: Any, where: str, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TrustPolicyError(f"{where}: {key} must be a list of strings")
    return value


_SCOPE = re.compile(r"[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+")


def _check_scopes(scopes: Sequence[str], where: str) -> None:
    if "*" in scopes and len(scopes) > 1:
        raise TrustPolicyError(f"{where} uses wildcard registry scope '*', a wildcard scope cannot be used in"
                               " conjunction with other scope values")
    for scope in scopes:
        if scope != "*" and not _SCOPE.fullmatch(scope):
            raise TrustPolicyError(f"{where}: registry scope {scope!r} is not valid, make sure it is a fully"
                                   " qualified repository without the scheme, protocol or tag")


def _verification(value: Any, where: str) -> tuple[str, Mapping[str, str], str]:
    if not isinstance(value, dict):
        raise TrustPolicyError(f"{where} has no signatureVerification object")
    unknown = sorted(set(value) - _VERIFICATION_KEYS)
    if unknown:
        raise TrustPolicyError(f"{where}: signatureVerification: unknown key {unknown[0]!r}"
                               f" (known: {', '.join(sorted(_VERIFICATION_KEYS))})")
    level = value.get("level")
    if not isinstance(level, str) or level not in LEVELS:
        raise TrustPolicyError(f"{where} uses invalid signatureVerification level {level!r}"
                               f" (one of: {', '.join(LEVELS)})")
    actions = dict(LEVELS[level])
    override = value.get("override", {})
    if not isinstance(override, dict):
        raise TrustPolicyError(f"{where}: signatureVerification.override must be an object")
    if override and level == "skip":
        raise TrustPolicyError(f"{where}: signature verification level is set to \"skip\" and custom"
                               " verification levels are not allowed")
    for check, action in override.items():
        if check not in CHECKS:
            raise TrustPolicyError(f"{where} uses unsupported signatureVerification override {check!r}"
                                   f" (one of: {', '.join(CHECKS)})")
        if action not in ACTIONS:
            raise TrustPolicyError(f"{where} uses unsupported signatureVerification action {action!r} for"
                                   f" {check} (one of: {', '.join(ACTIONS)})")
        if check == "integrity":
            raise TrustPolicyError(f"{where}: \"integrity\" verification can not be overridden in custom"
                                   " signature verification")
        actions[check] = action
    verify_timestamp = value.get("verifyTimestamp", "always")
    if not isinstance(verify_timestamp, str) or verify_timestamp not in VERIFY_TIMESTAMP:
        raise TrustPolicyError(f"{where} has invalid verifyTimestamp {verify_timestamp!r}"
                               f" (one of: {', '.join(VERIFY_TIMESTAMP)})")
    return level, actions, verify_timestamp


def _stores(values: Sequence[str], where: str) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    for value in values:
        kind, colon, name = value.partition(":")
        if not colon:
            raise TrustPolicyError(f"{where} has malformed trust store value {value!r}. The required format is"
                                   " <TrustStoreType>:<TrustStoreName>")
        if kind not in STORE_TYPES:
            raise TrustPolicyError(f"{where} uses an unsupported trust store type {kind!r} in trust store value"
                                   f" {value!r} (one of: {', '.join(STORE_TYPES)})")
        if not NAME.fullmatch(name):
            raise TrustPolicyError(f"{where} uses an unsupported trust store name {name!r} in trust store value"
                                   f" {value!r}")
        found.append((kind, name))
    return tuple(dict.fromkeys(found))


def _identities(values: Sequence[str], where: str) -> tuple[Identity, ...] | None:
    if "*" in values:
        if len(values) > 1:
            raise TrustPolicyError(f"{where} uses a wildcard trusted identity '*', a wildcard identity cannot be"
                                   " used in conjunction with other values")
        return None
    identities: list[Identity] = []
    for value in values:
        if not value.strip():
            raise TrustPolicyError(f"{where} has an empty trusted identity")
        prefix, colon, dn = value.partition(":")
        if not colon:
            raise TrustPolicyError(f"{where} has trusted identity {value!r} missing separator")
        if prefix.strip() != IDENTITY_PREFIX:
            raise TrustPolicyError(f"{where} uses unsupported identity prefix {prefix.strip()!r} in trusted"
                                   f" identity {value!r} (only {IDENTITY_PREFIX})")
        attributes = distinguished_name(dn, f"{where} has trusted identity {value!r}")
        present = {short for short, _ in _short_names(attributes)}
        for rdn in MANDATORY_RDNS:
            if rdn not in present:
                raise TrustPolicyError(f"{where} has trusted identity {value!r} that has no mandatory RDN"
                                       f" attribute for \"{rdn}\"; it must contain {', '.join(MANDATORY_RDNS)}")
        identities.append(Identity(value, attributes))
    for n, one in enumerate(identities):
        for other in identities[n + 1:]:
            if one.attributes <= other.attributes or other.attributes <= one.attributes:
                raise TrustPolicyError(f"{where} has overlapping x509 trustedIdentities, {one.text!r} overlaps"
                                       f" with {other.text!r}")
    return tuple(identities)


_UNESCAPED_COMMA = re.compile(r"(?<!\\)[,+]")
_ESCAPE = re.compile(r"\\([0-9A-Fa-f]{2}|.)")
_ATTRIBUTE_TYPES = {
    "CN": "2.5.4.3", "C": "2.5.4.6", "L": "2.5.4.7", "ST": "2.5.4.8", "S": "2.5.4.8", "O": "2.5.4.10",
    "OU": "2.5.4.11", "STREET": "2.5.4.9", "SERIALNUMBER": "2.5.4.5", "DC": "0.9.2342.19200300.100.1.25",
    "UID": "0.9.2342.19200300.100.1.1", "E": "1.2.840.113549.1.9.1", "EMAILADDRESS": "1.2.840.113549.1.9.1",
}
_OID = re.compile(r"[0-9]+(\.[0-9]+)+")


def distinguished_name(text: str, where: str) -> frozenset[tuple[str, str]]:
    """A DN in RFC 4514 form (spaces around separators allowed, as notation allows) as (OID, value) pairs.

    Read by hand rather than with `cryptography`'s RFC 4514 parser, which refuses spaces after commas
    and validates values (a three-letter C) that notation leaves to the identity match to reject.
    """
    parts = [part.strip() for part in _UNESCAPED_COMMA.split(text.strip())]
    pairs: set[tuple[str, str]] = set()
    for part in parts:
        kind, equals, value = part.partition("=")
        kind = kind.strip()
        oid = _ATTRIBUTE_TYPES.get(kind.upper()) or (kind if _OID.fullmatch(kind) else None)
        if not equals or oid is None or not value.strip():
            raise TrustPolicyError(f"{where} with a malformed distinguished name (at {part!r})")
        pairs.add((oid, _ESCAPE.sub(_unescape, value.strip())))
    return frozenset(pairs)


def _unescape(match: re.Match[str]) -> str:
    token = match.group(1)
    return chr(int(token, 16)) if len(token) == 2 else token


def name_attributes(name: Any) -> frozenset[tuple[str, str]]:
    """A `cryptography` Name as (OID, value) pairs, for subset matching."""
    return frozenset((attribute.oid.dotted_string, str(attribute.value)) for attribute in name)


_SHORT = {"2.5.4.6": "C", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.3": "CN", "2.5.4.7": "L", "2.5.4.11": "OU"}


def _short_names(attributes: frozenset[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(_SHORT.get(oid, oid), value) for oid, value in attributes]
