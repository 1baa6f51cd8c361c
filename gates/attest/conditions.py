"""Conditions on a verified statement: SLSA provenance fields, SBOM presence and size, any key path, age.

A condition never passes on an absent field: "expected X, found nothing" is a failure like any other.

Key paths are a small language of our own rather than CEL or JMESPath: `predicate.builder.id`,
`subject[0].name`, `predicate["https://example/key"].value`, rooted at the statement. A path names one
value and a condition says what it must be (equals / regexp / one-of); that covers what
policy-controller's and Kyverno's attestation conditions are used for in the corpus, reads the same in
TOML as in a message, and needs no evaluator (cel-python would be a dependency with its own parser and
a much larger surface to review in a security gate; `eval` is out of the question).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gates.attest.predicates import SBOM_TYPES
from gates.attest.statement import Statement

_MISSING = object()
_SEGMENT = re.compile(r'\.?([A-Za-z_$][\w$-]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')


class PathError(ValueError):
    """A key path that does not parse."""


def parse_path(text: str) -> tuple[str | int, ...]:
    """`a.b[0]["c.d"]` -> ("a", "b", 0, "c.d"); raises `PathError` for anything else."""
    parts: list[str | int] = []
    position = 0
    while position < len(text):
        match = _SEGMENT.match(text, position)
        if match is None or (position == 0 and text.startswith(".")):
            raise PathError(f"key path {text!r} does not parse at {text[position:position + 20]!r}"
                            " (use a.b, [0] or [\"key\"])")
        name, index, quoted = match.groups()
        parts.append(int(index) if index is not None else name if name is not None else json.loads(f'"{quoted}"'))
        position = match.end()
    if not parts:
        raise PathError("an empty key path names nothing")
    return tuple(parts)


def lookup(document: Any, path: Sequence[str | int]) -> Any:
    """The value at `path`, or `_MISSING` (never an exception) when any step is absent or of another type."""
    value = document
    for part in path:
        if isinstance(part, int):
            if not isinstance(value, list) or part >= len(value):
                return _MISSING
            value = value[part]
        else:
            if not isinstance(value, dict) or part not in value:
                return _MISSING
            value = value[part]
    return value


def _show(value: Any) -> str:
    if value is _MISSING:
        return "nothing (the field is absent)"
    text = json.dumps(value, sort_keys=True, default=str) if not isinstance(value, str) else value
    return repr(text[:120] + ("…" if len(text) > 120 else "")) if isinstance(value, str) else text[:120]


@dataclass(frozen=True)
class FieldCondition:
    """A key path (rooted at the statement) and what its value must be: exactly one of the three."""

    path: str
    equals: Any = None
    regexp: str | None = None
    one_of: tuple[Any, ...] | None = None
    label: str = ""
    """How messages name it (default: the path)."""
    _parsed: tuple[str | int, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        given = [self.equals is not None, self.regexp is not None, self.one_of is not None]
        if sum(given) != 1:
            raise ValueError(f"condition on {self.path}: give exactly one of equals, regexp, one-of")
        if self.regexp is not None:
            try:
                re.compile(self.regexp)
            except re.error as exc:
                raise ValueError(f"condition on {self.path}: regexp {self.regexp!r} does not compile: {exc}") from None
        object.__setattr__(self, "_parsed", parse_path(self.path))

    def failure(self, statement: Statement) -> str | None:
        found = lookup(_as_document(statement), self._parsed)
        name = self.label or self.path
        if self.equals is not None:
            ok = found is not _MISSING and same_value(found, self.equals)
            expected = _show(self.equals)
        elif self.regexp is not None:
            ok = isinstance(found, str) and re.fullmatch(self.regexp, found) is not None
            expected = f"a match of /{self.regexp}/"
        else:
            assert self.one_of is not None
            ok = found is not _MISSING and any(same_value(found, v) for v in self.one_of)
            expected = "one of " + ", ".join(_show(v) for v in self.one_of)
        return None if ok else f"{name}: expected {expected}, found {_show(found)}"


def same_value(a: Any, b: Any) -> bool:
    """JSON equality: `true` is not `1` (as Python's `==` has it), in nested arrays and objects too."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    return bool(a == b)


def _as_document(statement: Statement) -> dict[str, Any]:
    return {
        "_type": statement.statement_type,
        "predicateType": statement.predicate_type,
        "subject": [{"name": s.name, "digest": dict(s.digest)} for s in statement.subjects],
        "predicate": statement.predicate,
    }


# -- SLSA provenance ---------------------------------------------------------------------------------


def _provenance_value(statement: Statement, v1: str, v02: str) -> Any:
    path = v1 if statement.predicate_type == "https://slsa.dev/provenance/v1" else v02
    return lookup(statement.predicate, parse_path(path))


@dataclass(frozen=True)
class BuilderId:
    """The provenance's builder id, as slsa-verifier's `--builder-id`: `name` (any version) or `name@version`.

    A version matches its `refs/tags/` spelling too. `regexp` instead matches the whole id.
    """

    expected: str | None = None
    regexp: str | None = None

    def failure(self, statement: Statement, signer: str | None) -> str | None:
        found = _provenance_value(statement, "runDetails.builder.id", "builder.id")
        if self.regexp is not None:
            ok = isinstance(found, str) and re.fullmatch(self.regexp, found) is not None
            expected = f"a match of /{self.regexp}/"
        else:
            assert self.expected is not None
            ok = isinstance(found, str) and same_builder(self.expected, found)
            expected = repr(self.expected)
        if not ok:
            return f"provenance builder id: expected {expected}, found {_show(found)}"
        if isinstance(found, str) and "/.github/workflows/" in found and signer is not None \
                and not same_builder(found, signer):
            return (f"provenance builder id {found!r} names a GitHub workflow, but the attestation was signed"
                    f" by {signer!r}: a builder vouches for its provenance by signing it")
        return None


def same_builder(expected: str, found: str) -> bool:
    name, at, version = expected.partition("@")
    found_name, found_at, found_version = found.partition("@")
    if name != found_name:
        return False
    return not at or (bool(found_at) and found_version in (version, f"refs/tags/{version}"))


def normalized_source(uri: str) -> str:
    """`git+https://github.com/o/r.git@refs/heads/main` -> `github.com/o/r`, as slsa-verifier compares."""
    text = uri.removeprefix("git+")
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    text = text.partition("@")[0]
    return text.removesuffix(".git").rstrip("/")


def provenance_source(statement: Statement) -> tuple[Any, Any]:
    """(repository, ref) of the provenance: v1's workflow parameters, v0.2's configSource (uri@ref)."""
    if statement.predicate_type == "https://slsa.dev/provenance/v1":
        repository = lookup(statement.predicate, parse_path("buildDefinition.externalParameters.workflow.repository"))
        ref = lookup(statement.predicate, parse_path("buildDefinition.externalParameters.workflow.ref"))
        return repository, ref
    uri = lookup(statement.predicate, parse_path("invocation.configSource.uri"))
    if not isinstance(uri, str):
        return uri, _MISSING
    _, at, ref = uri.partition("@")
    return uri, ref if at else _MISSING


@dataclass(frozen=True)
class SourceUri:
    """The source repository, as slsa-verifier's `--source-uri` (`github.com/o/r`; scheme and ref ignored)."""

    expected: str

    def failure(self, statement: Statement, signer: str | None = None) -> str | None:
        found, _ = provenance_source(statement)
        if isinstance(found, str) and normalized_source(found) == normalized_source(self.expected):
            return None
        return f"provenance source repository: expected {self.expected!r}, found {_show(found)}"


@dataclass(frozen=True)
class SourceRef:
    """The source git ref (`refs/heads/main`, `refs/tags/v1.4`), exact or by regexp."""

    expected: str | None = None
    regexp: str | None = None

    def failure(self, statement: Statement, signer: str | None = None) -> str | None:
        _, found = provenance_source(statement)
        if self.regexp is not None:
            ok = isinstance(found, str) and re.fullmatch(self.regexp, found) is not None
            expected = f"a match of /{self.regexp}/"
        else:
            ok = found == self.expected
            expected = repr(self.expected)
        return None if ok else f"provenance source ref: expected {expected}, found {_show(found)}"


@dataclass(frozen=True)
class BuildType:
    expected: str

    def failure(self, statement: Statement, signer: str | None = None) -> str | None:
        found = _provenance_value(statement, "buildDefinition.buildType", "buildType")
        return None if found == self.expected else \
            f"provenance build type: expected {self.expected!r}, found {_show(found)}"


@dataclass(frozen=True)
class SbomPresent:
    """An SBOM predicate that parses as its format (SPDX `spdxVersion`, CycloneDX `bomFormat`) within a size."""

    max_bytes: int

    def failure(self, statement: Statement, signer: str | None = None) -> str | None:
        if statement.size > self.max_bytes:
            return f"SBOM statement is {statement.size} bytes, more than the limit of {self.max_bytes}"
        predicate = statement.predicate
        if statement.predicate_type not in SBOM_TYPES:
            return f"predicate type {statement.predicate_type!r} is no SBOM (SPDX or CycloneDX)"
        if not isinstance(predicate, dict) or not predicate:
            return "SBOM predicate: expected a document, found " + _show(predicate if predicate is not None
                                                                         else _MISSING)
        if statement.predicate_type == "https://spdx.dev/Document":
            marker, want = "spdxVersion", "an SPDX document (spdxVersion)"
        else:
            marker, want = "bomFormat", "a CycloneDX BOM (bomFormat)"
        if not isinstance(predicate.get(marker), str):
            return f"SBOM predicate: expected {want}, found {_show(predicate.get(marker, _MISSING))}"
        return None


@dataclass(frozen=True)
class MaxAge:
    """The attestation's signing time (log or TSA) must be this recent; an unknown time fails."""

    seconds: int

    def failure_at(self, signed_at: dt.datetime | None, now: dt.datetime) -> str | None:
        if signed_at is None:
            return ("attestation age: expected a verified signing time (Rekor or a timestamp authority),"
                    " found none")
        age = (now - signed_at).total_seconds()
        if age > self.seconds:
            return (f"attestation age: expected at most {self.seconds} s, found {int(age)} s"
                    f" (signed {signed_at:%Y-%m-%dT%H:%M:%SZ})")
        return None


StatementCondition = FieldCondition | BuilderId | SourceUri | SourceRef | BuildType | SbomPresent
"""Conditions judged on the statement alone (plus, for the builder id, who signed it)."""


def _failure(condition: StatementCondition, statement: Statement, signer: str | None) -> str | None:
    if isinstance(condition, FieldCondition):
        return condition.failure(statement)
    return condition.failure(statement, signer)


def failures(conditions: Sequence[StatementCondition], statement: Statement, signer: str | None = None
             ) -> list[str]:
    """Every condition that fails, with expected vs found, in order."""
    return [text for condition in conditions if (text := _failure(condition, statement, signer)) is not None]
