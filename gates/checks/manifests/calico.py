"""Calico's selector language (`projectcalico.org/v3` policies), parsed and evaluated against pod labels.

The grammar read here is the one Calico documents: `all()`, `global()`, `has(k)`, `k == 'v'`, `k != 'v'`,
`k in {'a', 'b'}`, `k not in {...}`, `k starts with 'v'`, `k ends with 'v'`, `k contains 'v'`, `!`, `&&`,
`||` and parentheses. Anything else is `SelectorError`: the policy is then said to be not judged, never
guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from gates.checks.manifests.policy_model import (
    ALLOW_ALL,
    DENY,
    EGRESS,
    INGRESS,
    NOTHING,
    RESTRICTED,
    UNJUDGED,
    Part,
    Policy,
    namespace_labels,
)
from gates.checks.manifests.workloads import Path, Workload, get, typed
from gates.errors import InputError
from gates.record import record
from gates.targets.yaml_docs import render_path
from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

_TOKEN = re.compile(r"""\s*(?:(?P<string>'[^']*'|"[^"]*")|(?P<op>==|!=|&&|\|\||[!(){},])|"""
                    r"""(?P<word>[A-Za-z0-9_./\-]+))""")
_KEY = re.compile(r"[A-Za-z0-9_./\-]+\Z")


class SelectorError(ValueError):
    """A selector gates cannot read (a syntax it does not know, or a broken one)."""


@record
class Expression:
    """One node of a parsed selector: `op` and its operands (keys, values, sub-expressions)."""

    op: str
    key: str = ""
    values: tuple[str, ...] = ()
    operands: tuple[Expression, ...] = ()

    def selects(self, labels: Mapping[str, str]) -> bool:
        op = self.op
        if op == "all":
            return True
        if op == "global":
            return False  # matches only non-namespaced resources (host endpoints, global sets), never a pod
        if op == "not":
            return not self.operands[0].selects(labels)
        if op == "and":
            return all(e.selects(labels) for e in self.operands)
        if op == "or":
            return any(e.selects(labels) for e in self.operands)
        value = labels.get(self.key)
        if op == "has":
            return value is not None
        if op in ("!=", "not in"):
            return value is None or value not in self.values
        if value is None:
            return False
        if op in ("==", "in"):
            return value in self.values
        if op == "starts with":
            return value.startswith(self.values[0])
        if op == "ends with":
            return value.endswith(self.values[0])
        return self.values[0] in value  # contains

    def label_keys(self) -> frozenset[str]:
        """Every label key the selector reads."""
        own = frozenset({self.key}) if self.key else frozenset()
        return own.union(*(e.label_keys() for e in self.operands))


def parse(text: str) -> Expression:
    """The selector `text` as an expression; an empty selector is `all()`, as Calico reads it."""
    tokens = _tokens(text)
    if not tokens:
        return Expression("all")
    parser = _Parser(tokens)
    expression = parser.either()
    if parser.at < len(tokens):
        raise SelectorError(f"unexpected {tokens[parser.at][1]!r}")
    return expression


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    at = 0
    text = text.rstrip()
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None or match.end() == at:
            raise SelectorError(f"cannot read {text[at:at + 20].strip()!r}")
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        at = match.end()
    return found


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.at = 0

    def _peek(self, offset: int = 0) -> tuple[str, str]:
        index = self.at + offset
        return self.tokens[index] if index < len(self.tokens) else ("end", "")

    def _take(self, value: str | None = None, kind: str | None = None) -> str:
        token_kind, token = self._peek()
        if (value is not None and token != value) or (kind is not None and token_kind != kind):
            raise SelectorError(f"expected {value or kind}, found {token or 'the end'!r}")
        self.at += 1
        return token

    def either(self) -> Expression:
        parts = [self.both()]
        while self._peek()[1] == "||":
            self.at += 1
            parts.append(self.both())
        return parts[0] if len(parts) == 1 else Expression("or", operands=tuple(parts))

    def both(self) -> Expression:
        parts = [self.unary()]
        while self._peek()[1] == "&&":
            self.at += 1
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else Expression("and", operands=tuple(parts))

    def unary(self) -> Expression:
        kind, word = self._peek()
        if word == "!":
            self.at += 1
            return Expression("not", operands=(self.unary(),))
        if word == "(":
            self.at += 1
            inner = self.either()
            self._take(")")
            return inner
        if kind == "word" and word in ("all", "global", "has") and self._peek(1)[1] == "(":
            self.at += 2
            if word == "has":
                key = self._key()
                self._take(")")
                return Expression("has", key=key)
            self._take(")")
            return Expression(word)
        return self._comparison()

    def _key(self) -> str:
        key = self._take(kind="word")
        if not _KEY.match(key):
            raise SelectorError(f"not a label key: {key!r}")
        return key

    def _comparison(self) -> Expression:
        key = self._key()
        _, word = self._peek()
        if word in ("==", "!="):
            self.at += 1
            return Expression(word, key=key, values=(self._string(),))
        words = [self._peek(0)[1], self._peek(1)[1]]
        if words[0] == "in" or words == ["not", "in"]:
            self.at += 1 if words[0] == "in" else 2
            return Expression("in" if words[0] == "in" else "not in", key=key, values=self._set())
        if words in (["starts", "with"], ["ends", "with"]):
            self.at += 2
            return Expression(f"{words[0]} with", key=key, values=(self._string(),))
        if words[0] == "contains":
            self.at += 1
            return Expression("contains", key=key, values=(self._string(),))
        raise SelectorError(f"expected a comparison after {key!r}, found {word or 'the end'!r}")

    def _string(self) -> str:
        return self._take(kind="string")[1:-1]

    def _set(self) -> tuple[str, ...]:
        self._take("{")
        values: list[str] = []
        while self._peek()[1] != "}":
            values.append(self._string())
            if self._peek()[1] == ",":
                self.at += 1
            elif self._peek()[1] != "}":
                raise SelectorError(f"expected ',' or '}}' in a set, found {self._peek()[1] or 'the end'!r}")
        self._take("}")
        return tuple(values)


GROUP = "projectcalico.org"
POLICY_KINDS = frozenset({"NetworkPolicy", "GlobalNetworkPolicy"})
_UNKNOWN_KEYS = ("projectcalico.org/serviceaccount", "pcsa.")
"""Label keys Calico gives a pod from what the manifests do not say (its service account's labels)."""
_ACTIONS = frozenset({"Allow", "Deny", "Log", "Pass"})
_MATCH_KEYS = ("protocol", "notProtocol", "icmp", "notICMP", "ipVersion", "http", "source", "destination")


def is_calico(api_version: str) -> bool:
    return api_version.partition("/")[0] == GROUP


def read_policy(obj: Workload) -> Policy:
    """A `projectcalico.org/v3` NetworkPolicy or GlobalNetworkPolicy, or one marked not judged, with why."""
    resource = f"{obj.api_version} {obj.resource}"
    cluster_wide = obj.kind == "GlobalNetworkPolicy"
    spec = get(obj.object, "spec", dict, obj.base) or {}
    spec_path = (*obj.base, "spec")

    def unjudged(why: str) -> Policy:
        return Policy(resource, None if cluster_wide else obj.namespace, cluster_wide, (), "calico", why)

    if obj.api_version != f"{GROUP}/v3":
        return unjudged(f"{obj.api_version} is not the version gates reads ({GROUP}/v3)")
    if get(spec, "serviceAccountSelector", str, spec_path):
        return unjudged("it selects by service account (serviceAccountSelector), which the manifests do not"
                        " tie to labels")
    if get(spec, "doNotTrack", bool, spec_path) or get(spec, "preDNAT", bool, spec_path):
        part = Part(NOTHING, ())  # these apply to host endpoints only, never to a pod
        return Policy(resource, None if cluster_wide else obj.namespace, cluster_wide, (part,), "calico")
    try:
        selector = parse(get(spec, "selector", str, spec_path) or "")
        namespaces = get(spec, "namespaceSelector", str, spec_path) if cluster_wide else None
        namespace_selector = parse(namespaces) if namespaces else None
    except SelectorError as exc:
        return unjudged(f"its selector is not one gates reads ({exc})")
    if any(key.startswith(_UNKNOWN_KEYS) for key in selector.label_keys()):
        return unjudged("its selector reads a service account's labels, which the manifests do not give")
    if namespace_selector is not None and not namespace_selector.label_keys() <= set(namespace_labels("x")):
        return unjudged("its namespaceSelector reads namespace labels other than the name, which only the"
                        " cluster knows")
    stances = tuple((d, _stance(spec, d, spec_path)) for d in _types(spec, spec_path))
    part = Part(selector, stances, namespace_selector)
    return Policy(resource, None if cluster_wide else obj.namespace, cluster_wide, (part,), "calico")


def _types(spec: dict[str, Any], path: Path) -> tuple[str, ...]:
    """`spec.types`, or what Calico infers: Egress when egress rules exist, Ingress when ingress rules do or none do."""
    listed = get(spec, "types", list, path)
    if listed:
        found = []
        for index, value in enumerate(listed):
            name = typed(value, str, (*path, "types", index))
            if name not in ("Ingress", "Egress"):
                raise InputError(f"{render_path((*path, 'types', index))}: {name!r} is not Ingress or Egress")
            found.append(name.lower())
        return tuple(found)
    has_ingress, has_egress = bool(spec.get("ingress")), bool(spec.get("egress"))
    return tuple(d for d, wanted in ((INGRESS, has_ingress or not has_egress), (EGRESS, has_egress)) if wanted)


def _stance(spec: dict[str, Any], direction: str, path: Path) -> str:
    """Rules run in order: the first that matches everything decides; Log goes on; past the last, Calico denies."""
    opened = False
    for index, entry in enumerate(get(spec, direction, list, path) or ()):
        rule_path = (*path, direction, index)
        rule = typed(entry, dict, rule_path) or {}
        action = get(rule, "action", str, rule_path)
        if action not in _ACTIONS:
            raise InputError(f"{render_path((*rule_path, 'action'))}: {action!r} is not Allow, Deny, Log or Pass")
        if action == "Log":
            continue
        if not any(rule.get(key) for key in _MATCH_KEYS):
            if action == "Allow":
                return ALLOW_ALL
            if action == "Pass":
                return UNJUDGED  # the next tier decides, which gates does not order
            return RESTRICTED if opened else DENY
        opened = opened or action in ("Allow", "Pass")
    return RESTRICTED if opened else DENY
