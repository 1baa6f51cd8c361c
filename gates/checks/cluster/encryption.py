"""Checks over an EncryptionConfiguration (apiserver.config.k8s.io): the first provider encrypts new writes."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from typing import Any

from gates.checks.cluster.flags import Problem, YamlPath, shown
from gates.checks.cluster.objects import Violation

KEYED = {"aescbc": (16, 24, 32), "aesgcm": (16, 24, 32), "secretbox": (32,)}
PROVIDERS = frozenset({*KEYED, "identity", "kms"})
_KMS_FIELDS = frozenset({"name", "endpoint", "apiVersion", "cachesize", "timeout"})
_PLACEHOLDER = re.compile(r"[<>{}$ ]|change|replace|placeholder|example|secret|your|todo|x{6,}", re.IGNORECASE)


class _Invalid(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _providers(entry: Any, path: YamlPath) -> list[tuple[str, Any, YamlPath]]:
    providers = entry.get("providers")
    if not isinstance(providers, list) or not providers:
        raise _Invalid(Problem("providers must be a non-empty list", (*path, "providers")))
    found = []
    for index, provider in enumerate(providers):
        where: YamlPath = (*path, "providers", index)
        if not isinstance(provider, dict) or len(provider) != 1:
            raise _Invalid(Problem("each provider must be a mapping with exactly one provider type", where))
        (name, config), = provider.items()
        if name not in PROVIDERS:
            raise _Invalid(Problem(f"unknown provider {shown(str(name))}: the API server refuses the file", where))
        _validate_provider(name, config, (*where, name))
        found.append((name, config, (*where, name)))
    return found


def _validate_provider(name: str, config: Any, path: YamlPath) -> None:
    if name == "identity":
        if config not in (None, {}):
            raise _Invalid(Problem("identity takes no settings", path))
        return
    if not isinstance(config, dict):
        raise _Invalid(Problem(f"{name} must be a mapping", path))
    allowed = _KMS_FIELDS if name == "kms" else frozenset({"keys"})
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise _Invalid(Problem(f"{name} has an unknown field {shown(str(unknown[0]))}: the API server refuses the"
                               " file", (*path, unknown[0])))
    if name == "kms":
        if not isinstance(config.get("name"), str) or not config["name"]:
            raise _Invalid(Problem("kms needs a name", path))
        return
    keys = config.get("keys")
    if not isinstance(keys, list) or not keys:
        raise _Invalid(Problem(f"{name} needs a non-empty list of keys", (*path, "keys")))
    for index, key in enumerate(keys):
        where: YamlPath = (*path, "keys", index)
        if not isinstance(key, dict) or not isinstance(key.get("name"), str) or not key["name"]:
            raise _Invalid(Problem(f"{name} keys[{index}] needs a name", where))
        if not isinstance(key.get("secret"), str) or not key["secret"]:
            raise _Invalid(Problem(f"{name} key {shown(key['name'])} has no secret: the API server refuses the file",
                                   where))
        unknown = sorted(set(key) - {"name", "secret"})
        if unknown:
            raise _Invalid(Problem(f"{name} key {shown(key['name'])} has an unknown field {shown(str(unknown[0]))}",
                                   (*where, unknown[0])))


def _covers_secrets(entry: Any) -> bool:
    resources = entry.get("resources")
    return isinstance(resources, list) and any(r in ("secrets", "*.", "*.*") for r in resources)


def check_encryption(body: Any) -> Iterator[Violation | Problem]:
    resources = body.get("resources")
    if not isinstance(resources, list) or not resources:
        yield Problem("resources must be a non-empty list", ("resources",) if "resources" in body else ())
        return
    try:
        entries = []
        for index, entry in enumerate(resources):
            path: YamlPath = ("resources", index)
            if not isinstance(entry, dict):
                raise _Invalid(Problem(f"resources[{index}] must be a mapping", path))
            names = entry.get("resources")
            if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
                raise _Invalid(Problem(f"resources[{index}].resources must be a non-empty list of resource names",
                                       (*path, "resources")))
            entries.append((entry, path, _providers(entry, path)))
    except _Invalid as exc:
        yield exc.problem
        return
    for _, _, providers in entries:
        yield from _keys(providers)
    covering = next(((e, p, pr) for e, p, pr in entries if _covers_secrets(e)), None)
    if covering is None:
        yield Violation("cluster-encryption-secrets", "no entry covers secrets: Secrets are stored unencrypted",
                        ("resources",))
        return
    _, _, providers = covering
    first, config, where = providers[0]
    if first == "identity":
        yield Violation("cluster-encryption-identity-first", "the first provider for secrets is identity: new"
                        " Secrets are written unencrypted", where)
    elif first != "kms":
        yield Violation("cluster-encryption-kms-v2", f"secrets are encrypted with {first}, a local key on the"
                        " control-plane node: prefer KMS v2", where)
    elif config.get("apiVersion", "v1") != "v2":
        yield Violation("cluster-encryption-kms-v2", "the kms provider uses KMS v1, which is deprecated: use"
                        " apiVersion: v2", (*where, "apiVersion") if "apiVersion" in config else where)


def _keys(providers: list[tuple[str, Any, YamlPath]]) -> Iterator[Violation]:
    for name, config, path in providers:
        if name not in KEYED:
            continue
        for index, key in enumerate(config["keys"]):
            problem = _weak_key(name, key["secret"])
            if problem:
                yield Violation("cluster-encryption-key", f"{name} key {shown(key['name'])}: {problem}",
                                (*path, "keys", index, "secret"))


def _weak_key(provider: str, secret: str) -> str | None:
    """Why a key looks like a placeholder or cannot work, never showing the key itself."""
    if _PLACEHOLDER.search(secret):
        return "looks like a placeholder, not a key"
    try:
        raw = base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError):
        return "is not valid base64: the API server refuses it"
    if len(raw) not in KEYED[provider]:
        sizes = " or ".join(str(s) for s in KEYED[provider])
        return f"decodes to {len(raw)} bytes; {provider} needs {sizes}"
    if all(32 <= byte < 127 for byte in raw):
        return "decodes to readable text, not random bytes: a made-up key"
    if len(set(raw)) < len(raw) // 4:
        return "repeats a few byte values: not a random key"
    return None
