"""`[[signature.policies.attestations]]`: which attestations an image needs, from whom, saying what.

Parsed (stage 1, pure Python) into `AttestationSpec`s with every key checked: a type that is neither a
cosign short name nor a URI, a regexp that does not compile, a condition with two tests or none, an
unknown key: each is a configuration error naming the key, never a check that quietly passes. Built
(stage 2) into `gates.attest.Requirement`s whose authorities are built as signature authorities; an
entry without `authorities` uses its policy's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gates.validators import ConfigValueError

if TYPE_CHECKING:
    from gates.attest.conditions import FieldCondition, StatementCondition
    from gates.attest.verify import Requirement
    from gates.checks.signature.policy import AuthoritySpec
    from gates.cosign.authority import Authority

ATTESTATION_KEYS = (
    "type", "name", "authorities", "builder-id", "builder-id-regexp", "source-uri", "source-ref",
    "source-ref-regexp", "build-type", "sbom", "sbom-max-bytes", "max-age", "conditions",
)
CONDITION_KEYS = ("path", "equals", "regexp", "one-of")
DEFAULT_SBOM_MAX_BYTES = 4 * 1024 * 1024
"""The largest SBOM statement accepted by default: the bundle limit of the registry reader."""
_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_STRING_KEYS = ("name", "builder-id", "builder-id-regexp", "source-uri", "source-ref", "source-ref-regexp",
                "build-type")


@dataclass(frozen=True)
class AttestationSpec:
    """One required attestation as written in the config (authorities not yet built)."""

    where: str
    predicate_type: str
    """The predicate type URI (short names resolved)."""
    name: str
    authorities: tuple[AuthoritySpec, ...] = ()
    """Empty: the policy's authorities."""
    builder_id: str | None = None
    builder_id_regexp: str | None = None
    source_uri: str | None = None
    source_ref: str | None = None
    source_ref_regexp: str | None = None
    build_type: str | None = None
    sbom: bool = False
    """The predicate must be an SBOM (SPDX or CycloneDX) that parses, within `sbom_max_bytes`."""
    sbom_max_bytes: int = DEFAULT_SBOM_MAX_BYTES
    max_age: int | None = None
    """Seconds; the attestation's verified signing time must be this recent."""
    conditions: tuple[FieldCondition, ...] = ()


def parse_attestations(value: Any, where: str, authority: Callable[[Any, str], AuthoritySpec]
                       ) -> tuple[AttestationSpec, ...]:
    """Validate a policy's `attestations` array; `authority` parses one authority table (the policy's parser)."""
    if not isinstance(value, list) or not value:
        raise ConfigValueError(f"{where} must be a non-empty array of tables ([[signature.policies.attestations]])")
    return tuple(_attestation(item, f"{where}[{n}]", authority) for n, item in enumerate(value, start=1))


def _attestation(item: Any, where: str, authority: Callable[[Any, str], AuthoritySpec]) -> AttestationSpec:
    from gates.attest.predicates import SLSA_PROVENANCE, predicate_type

    if not isinstance(item, dict):
        raise ConfigValueError(f"{where} must be a table, found {item!r}")
    unknown = sorted(set(item) - set(ATTESTATION_KEYS))
    if unknown:
        raise ConfigValueError(f"{where}.{unknown[0]}: unknown key (known: {', '.join(ATTESTATION_KEYS)})")
    kind = item.get("type")
    if not isinstance(kind, str) or not kind:
        raise ConfigValueError(f"{where}.type must name the predicate type (a URI or a cosign short name such as"
                               f" slsaprovenance1), found {kind!r}")
    try:
        uri = predicate_type(kind)
    except ValueError as exc:
        raise ConfigValueError(f"{where}.type: {exc}") from None
    for key in _STRING_KEYS:
        if key in item and (not isinstance(item[key], str) or not item[key]):
            raise ConfigValueError(f"{where}.{key} must be a non-empty string, found {item[key]!r}")
    for key in ("builder-id-regexp", "source-ref-regexp"):
        if key in item:
            try:
                re.compile(item[key])
            except re.error as exc:
                raise ConfigValueError(f"{where}.{key} {item[key]!r} is not a valid regular expression:"
                                       f" {exc}") from None
    for a, b in (("builder-id", "builder-id-regexp"), ("source-ref", "source-ref-regexp")):
        if a in item and b in item:
            raise ConfigValueError(f"{where}: {a} and {b} exclude each other")
    provenance_keys = [k for k in ("builder-id", "builder-id-regexp", "source-uri", "source-ref", "source-ref-regexp",
                                   "build-type") if k in item]
    if provenance_keys and uri not in SLSA_PROVENANCE:
        raise ConfigValueError(f"{where}.{provenance_keys[0]} applies to SLSA provenance, not to type {kind!r}")
    sbom = item.get("sbom", False)
    if not isinstance(sbom, bool):
        raise ConfigValueError(f"{where}.sbom must be true or false, found {sbom!r}")
    limit = item.get("sbom-max-bytes", DEFAULT_SBOM_MAX_BYTES)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
        raise ConfigValueError(f"{where}.sbom-max-bytes must be a positive integer, found {limit!r}")
    if "sbom-max-bytes" in item and not sbom:
        raise ConfigValueError(f"{where}.sbom-max-bytes needs sbom = true")
    authorities = item.get("authorities", [])
    if not isinstance(authorities, list):
        raise ConfigValueError(f"{where}.authorities must be an array of tables, found {authorities!r}")
    return AttestationSpec(
        where=where, predicate_type=uri, name=str(item.get("name", kind)),
        authorities=tuple(authority(a, f"{where}.authorities[{n}]") for n, a in enumerate(authorities, start=1)),
        builder_id=item.get("builder-id"), builder_id_regexp=item.get("builder-id-regexp"),
        source_uri=item.get("source-uri"), source_ref=item.get("source-ref"),
        source_ref_regexp=item.get("source-ref-regexp"), build_type=item.get("build-type"),
        sbom=sbom, sbom_max_bytes=limit, max_age=_max_age(item.get("max-age"), f"{where}.max-age"),
        conditions=_conditions(item.get("conditions"), f"{where}.conditions"),
    )


def _max_age(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None or int(match.group(1)) == 0:
        raise ConfigValueError(f"{where} must be a positive number of seconds or a duration such as \"30d\","
                               f" \"12h\", found {value!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def _conditions(value: Any, where: str) -> tuple[FieldCondition, ...]:
    from gates.attest.conditions import FieldCondition, PathError

    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigValueError(f"{where} must be an array of tables ({{path = ..., equals = ...}})")
    out = []
    for number, item in enumerate(value, start=1):
        here = f"{where}[{number}]"
        if not isinstance(item, dict):
            raise ConfigValueError(f"{here} must be a table, found {item!r}")
        unknown = sorted(set(item) - set(CONDITION_KEYS))
        if unknown:
            raise ConfigValueError(f"{here}.{unknown[0]}: unknown key (known: {', '.join(CONDITION_KEYS)})")
        path = item.get("path")
        if not isinstance(path, str) or not path:
            raise ConfigValueError(f"{here}.path must be a key path such as predicate.builder.id, found {path!r}")
        one_of = item.get("one-of")
        if one_of is not None and (not isinstance(one_of, list) or not one_of):
            raise ConfigValueError(f"{here}.one-of must be a non-empty array, found {one_of!r}")
        regexp = item.get("regexp")
        if regexp is not None and not isinstance(regexp, str):
            raise ConfigValueError(f"{here}.regexp must be a string, found {regexp!r}")
        try:
            out.append(FieldCondition(path=path, equals=item.get("equals"), regexp=regexp,
                                      one_of=tuple(one_of) if one_of is not None else None))
        except (ValueError, PathError) as exc:
            raise ConfigValueError(f"{here}: {exc}") from None
    return tuple(out)


def statement_conditions(spec: AttestationSpec) -> tuple[StatementCondition, ...]:
    from gates.attest.conditions import BuilderId, BuildType, SbomPresent, SourceRef, SourceUri

    out: list[StatementCondition] = []
    if spec.builder_id is not None or spec.builder_id_regexp is not None:
        out.append(BuilderId(spec.builder_id, spec.builder_id_regexp))
    if spec.source_uri is not None:
        out.append(SourceUri(spec.source_uri))
    if spec.source_ref is not None or spec.source_ref_regexp is not None:
        out.append(SourceRef(spec.source_ref, spec.source_ref_regexp))
    if spec.build_type is not None:
        out.append(BuildType(spec.build_type))
    if spec.sbom:
        out.append(SbomPresent(spec.sbom_max_bytes))
    return (*out, *spec.conditions)


def build_requirement(spec: AttestationSpec, policy_authorities: Sequence[Authority],
                      build: Callable[[AuthoritySpec], Authority]) -> Requirement:
    """The requirement, its authorities built with `build` (the policy module's), or the policy's own."""
    from gates.attest.conditions import MaxAge
    from gates.attest.verify import Requirement

    authorities = tuple(build(a) for a in spec.authorities) or tuple(policy_authorities)
    return Requirement(spec.predicate_type, authorities, statement_conditions(spec),
                       MaxAge(spec.max_age) if spec.max_age is not None else None, spec.name)


def trusted_paths(specs: Sequence[AttestationSpec], where: str) -> Mapping[str, str]:
    """Keys and roots the attestation authorities name, for `--config-ref`."""
    named: dict[str, str] = {}
    for number, spec in enumerate(specs, start=1):
        for index, authority in enumerate(spec.authorities, start=1):
            for attribute in ("key", "trusted_root"):
                value = getattr(authority, attribute)
                if value:
                    named[f"{where}.attestations[{number}].authorities[{index}].{attribute.replace('_', '-')}"] = value
    return named
