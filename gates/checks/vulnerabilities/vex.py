"""OpenVEX documents (v0.0.1 and v0.2.0) and how their statements bear on a scanner's findings.

Per the OpenVEX specification: `not_affected` (which must carry a justification or an impact
statement) and `fixed` say the product is not exposed, so the finding is accepted, with the
statement shown; `affected` and `under_investigation` leave it standing, with the statement (and
any action statement) as a note. The newest statement about a vulnerability and product wins.

A statement applies only where it can be checked: the finding's package URL is the product, or a
subcomponent of it; a product that is an image (`pkg:oci/...@sha256:...`) must be the image the
report scanned, by digest. A document that does not parse, or breaks the specification's MUSTs, is
refused whole: half a VEX document must never suppress anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gates.checks.vulnerabilities import jsondoc
from gates.checks.vulnerabilities.record import ScannedReport, Vulnerability, text
from gates.errors import InputError

STATUSES = ("not_affected", "affected", "fixed", "under_investigation")
JUSTIFICATIONS = ("component_not_present", "vulnerable_code_not_present", "vulnerable_code_not_in_execute_path",
                  "vulnerable_code_cannot_be_controlled_by_adversary", "inline_mitigations_already_exist")
SUPPRESSING = ("not_affected", "fixed")


@dataclass(frozen=True)
class Product:
    ids: frozenset[str]
    subcomponents: frozenset[str]


@dataclass(frozen=True)
class Statement:
    """One statement, with where it was made."""

    vulnerabilities: frozenset[str]
    """Its vulnerability name, @id and aliases, upper-cased."""
    products: tuple[Product, ...]
    status: str
    justification: str | None
    statement: str | None
    """The impact statement (not_affected), action statement (affected) or status notes."""
    timestamp: dt.datetime | None
    source: str
    """`vex.json:12:7`."""
    order: int

    def describe(self) -> str:
        why = f" ({self.justification})" if self.justification else ""
        said = f": {self.statement}" if self.statement else ""
        return f"OpenVEX {self.status}{why}{said} [{self.source}]"


def load(path: str, shown: str, max_bytes: int, first_order: int = 0) -> list[Statement]:
    """Every statement of one OpenVEX document; an `InputError` for anything that is not one."""
    doc = jsondoc.load(path, max_bytes)
    top = doc.content
    if not isinstance(top, dict) or "openvex.dev/ns" not in str(top.get("@context", "")):
        raise InputError("not an OpenVEX document (no @context of https://openvex.dev/ns)")
    statements = top.get("statements")
    if not isinstance(statements, list) or not statements:
        raise InputError("an OpenVEX document without statements")
    default_time = _timestamp(top.get("timestamp"), "timestamp")
    found: list[Statement] = []
    for index, entry in enumerate(statements):
        position = doc.position(entry)
        where = f"{shown}:{position[0]}:{position[1]}" if position else f"{shown} statements[{index}]"
        if not isinstance(entry, dict):
            raise InputError(f"statements[{index}] is not an object")
        found.append(_statement(entry, where, default_time, first_order + index))
    return found


def _timestamp(value: object, key: str) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"{key} must be an RFC 3339 timestamp")
    try:
        stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:  # nanoseconds, as Go writes them: keep microseconds
            head, _, tail = value.partition(".")
            digits = "".join(c for c in tail if c.isdigit())
            stamp = dt.datetime.fromisoformat(f"{head}.{digits[:6]}{tail[len(digits):]}".replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"{key} {text(value)!r} is not an RFC 3339 timestamp") from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)


def _ids(value: object) -> set[str]:
    if isinstance(value, str) and value:
        return {value}
    if isinstance(value, dict):
        found = {v for v in (value.get("@id"),) if isinstance(v, str) and v}
        identifiers = value.get("identifiers")
        if isinstance(identifiers, dict):
            found |= {v for v in identifiers.values() if isinstance(v, str) and v}
        return found
    return set()


def _statement(entry: Mapping[str, Any], where: str, default_time: dt.datetime | None, order: int) -> Statement:
    line = where.rsplit(":", 2)[-2] if where.count(":") >= 2 else where

    def fail(problem: str) -> InputError:
        return InputError(f"line {line}: statement: {problem}")

    vulnerability = entry.get("vulnerability")
    names: set[str] = set()
    if isinstance(vulnerability, str):
        names.add(vulnerability)
    elif isinstance(vulnerability, dict):
        names |= {v for k in ("name", "@id") if isinstance(v := vulnerability.get(k), str) and v}
        aliases = vulnerability.get("aliases")
        names |= {a for a in aliases if isinstance(a, str) and a} if isinstance(aliases, list) else set()
    if not names:
        raise fail("names no vulnerability")
    status = entry.get("status")
    if status not in STATUSES:
        raise fail(f"status {text(status)!r} is not one of {', '.join(STATUSES)}")
    justification = entry.get("justification")
    if justification is not None and justification not in JUSTIFICATIONS:
        raise fail(f"justification {text(justification)!r} is not one of {', '.join(JUSTIFICATIONS)}")
    impact = entry.get("impact_statement")
    if status == "not_affected" and not justification and not (isinstance(impact, str) and impact.strip()):
        raise fail("not_affected without a justification or an impact_statement (the specification requires one)")
    products = _products(entry, fail)
    said = impact if status == "not_affected" else entry.get("action_statement") if status == "affected" \
        else entry.get("status_notes")
    stamp = _timestamp(entry.get("timestamp"), "statement timestamp") or default_time
    return Statement(frozenset(n.upper() for n in names), products, str(status),
                     text(justification) if isinstance(justification, str) else None,
                     text(said, 300) if isinstance(said, str) and said.strip() else None, stamp, where, order)


def _products(entry: Mapping[str, Any], fail: Any) -> tuple[Product, ...]:
    raw = entry.get("products")
    if not isinstance(raw, list) or not raw:
        raise fail("names no product (products)")
    shared = entry.get("subcomponents")  # v0.0.1: subcomponents beside the products
    shared_ids = set().union(*(_ids(s) for s in shared)) if isinstance(shared, list) else set()
    products: list[Product] = []
    for item in raw:
        ids = _ids(item)
        if not ids:
            raise fail("a product without an @id or identifiers")
        subs = set(shared_ids)
        if isinstance(item, dict) and isinstance(item.get("subcomponents"), list):
            for sub in item["subcomponents"]:
                subs |= _ids(sub)
        products.append(Product(frozenset(ids), frozenset(subs)))
    return tuple(products)


@dataclass(frozen=True)
class _Purl:
    """The parts of a package URL that matching reads (type, namespace and name lower-cased, as the spec does)."""

    package: tuple[str, str, str]
    version: str | None
    qualifiers: Mapping[str, str]
    subpath: str | None

    def covers(self, package: _Purl) -> bool:
        """Whether this product names `package`: what it leaves out is any; what it names must be the package's.

        Per the purl specification and OpenVEX matching, a product's version, qualifiers (`arch`,
        `distro`...) and subpath narrow it: `?arch=arm64` is not the amd64 build.
        """
        if self.package != package.package:
            return False
        if self.version is not None and self.version != package.version:
            return False
        if any(package.qualifiers.get(key) != value for key, value in self.qualifiers.items()):
            return False
        return self.subpath is None or self.subpath == package.subpath


def _purl(value: str) -> _Purl | None:
    from packageurl import PackageURL

    if not value.startswith("pkg:"):
        return None
    try:
        parsed = PackageURL.from_string(value)
    except (ValueError, TypeError, KeyError):
        return None
    qualifiers = parsed.qualifiers if isinstance(parsed.qualifiers, dict) else {}
    return _Purl((parsed.type.lower(), (parsed.namespace or "").lower(), parsed.name.lower()), parsed.version,
                 {str(k).lower(): str(v) for k, v in qualifiers.items()}, parsed.subpath or None)


def _same_package(finding_purl: str | None, candidates: Iterable[str]) -> bool:
    if finding_purl is None:
        return False
    mine = _purl(finding_purl)
    if mine is None:
        return False
    for candidate in candidates:
        theirs = _purl(candidate)
        if theirs is not None and theirs.covers(mine):
            return True
    return False


def _image_digest(ids: Iterable[str]) -> str | None:
    for value in ids:
        parsed = _purl(value)
        if parsed and parsed.package[0] == "oci" and parsed.version and parsed.version.startswith("sha256:"):
            return parsed.version
    return None


def applies(statement: Statement, vulnerability: Vulnerability, report: ScannedReport) -> bool:
    if not ({vulnerability.advisory.upper(), *(a.upper() for a in vulnerability.aliases)}
            & statement.vulnerabilities):
        return False
    for product in statement.products:
        digest = _image_digest(product.ids)
        if digest is not None:
            if digest not in report.image_digests:
                continue  # about another image
            if not product.subcomponents or _same_package(vulnerability.purl, product.subcomponents):
                return True
            continue
        if _same_package(vulnerability.purl, product.ids):
            return True
        if product.subcomponents and _same_package(vulnerability.purl, product.subcomponents):
            return True
    return False


def deciding(statements: Sequence[Statement], vulnerability: Vulnerability,
             report: ScannedReport) -> Statement | None:
    """The statement that decides this finding: the newest applicable one (later documents win ties)."""
    floor = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    matching = [s for s in statements if applies(s, vulnerability, report)]
    if not matching:
        return None
    return max(matching, key=lambda s: (s.timestamp or floor, s.order))
