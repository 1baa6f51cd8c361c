"""Credentials written into manifests, found by their value as well as by their variable's name.

A committed credential is readable by everyone with the repository and stays in its history, so a value
that has the form of a private key, a cloud key or a platform token is a finding wherever it sits: an
environment value, a container argument, ConfigMap data or an annotation. Findings say what kind of
credential a value looks like and where it is, never the value, in any output.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable, Iterator, Sequence

from gates.checks.manifests.pss import Violation
from gates.checks.manifests.workloads import Path, Pod, Workload, get, typed
from gates.errors import InputError
from gates.targets.yaml_docs import render_path

CREDENTIAL_NAME = re.compile(
    r"PASS(WORD|WD)?|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIALS?|ACCESS_?KEY|AUTH"
    r"|SSH_?KEY|KEY_?CONTENTS?|(?:^|_)KEY$|(?:^|_)PAT$",
    re.IGNORECASE,
)
"""Environment variable names that hold credentials when given a literal value."""

SAFE_NAMES: tuple[str, ...] = (
    "*_FILE", "*_PATH", "*_DIR", "*_URL", "*_URI", "*_ENDPOINT", "*_HOST", "*_PORT", "*_NAME", "*_REF",
    "*_ID", "*_TYPE", "*_METHOD", "*_MODE", "*_ENABLED", "*_DISABLED", "*_REQUIRED", "*_TTL", "*_TIMEOUT",
    "*_EXPIRY", "*_EXPIRES", "*_LENGTH", "*_ALGORITHM", "*_HEADER", "*_ISSUER", "*_AUDIENCE", "*_SCOPE",
    "*_SCOPES", "*_PROVIDER", "*_PUBLIC_KEY", "PUBLIC_KEY", "*_KEY_ID", "AUTHOR", "AUTHOR_*", "*_AUTHOR",
    "AUTHORITY", "*_AUTHORITY", "SORT_KEY", "PRIMARY_KEY", "PARTITION_KEY", "CACHE_KEY", "*_CACHE_KEY",
)
"""Globs over credential-looking names whose values are not credentials (paths, switches, identifiers)."""

REFERENCE_PATTERN = r"\$\([A-Za-z_][A-Za-z0-9_]*\)|\$\{[^}]*\}|\{\{.*\}\}"
"""`$(VAR)` (expanded by the kubelet), `${VAR}` and `{{ template }}`: a reference to a value, not one."""
_REFERENCE = re.compile(REFERENCE_PATTERN)

_URL_PART = "[^\t\n\f\r /@'\"]"
_PASSWORD = f"(?:[^\t\n\f\r /@'\"$<%{{*xX]{_URL_PART}{{0,255}}|[*xX]{{1,64}}[^\t\n\f\r /@'\"*xX]{_URL_PART}{{0,255}})"
"""A password, not a slot for one: `${DB_PASSWORD}`, `$(PW)`, `<password>`, `%s`, `{{pw}}` and `****` are slots."""

_PATTERNS: tuple[tuple[str, str], ...] = (
    ("a private key", r"-----BEGIN[ A-Z0-9]{0,30}PRIVATE KEY(?: BLOCK)?-----"),
    ("an AWS access key", r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b"),
    ("a Google API key", r"\bAIza[0-9A-Za-z_\-]{35}\b"),
    ("a GitHub token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{60,255})\b"),
    ("a GitLab token", r"\bgl(?:pat|dt|rt|ptt|cbt|ft|imt|oas|soat)-[A-Za-z0-9_\-]{20,}"),
    ("a Slack token", r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"),
    ("a Slack webhook", r"https://hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+"),
    ("a Stripe secret key", r"\b[rs]k_live_[0-9A-Za-z]{20,}"),
    ("an npm token", r"\bnpm_[A-Za-z0-9]{36}\b"),
    ("an Azure storage key", r"AccountKey=[A-Za-z0-9+/]{86}=="),
    ("a JSON Web Token", r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{16,}"),
    ("credentials in a URL", r"\b[A-Za-z][A-Za-z0-9+.\-]{1,20}://[^\t\n\f\r /:@'\"]{1,256}:" + _PASSWORD + "@"),
)
CREDENTIAL_VALUE_PATTERN = "|".join(f"(?:{pattern})" for _, pattern in _PATTERNS)
"""Every credential form as one expression, written for RE2 and Python alike (the admission export runs it
in the cluster's CEL)."""
_PRESCREEN = re.compile(r"PRIVATE KEY|AKIA|ASIA|ABIA|ACCA|AIza|gh[pousr]_|github_pat_|gl[a-z]{1,4}-|xox|hooks\.slack"
                        r"|_live_|npm_|AccountKey=|eyJ|://")
"""One cheap pass that rules out almost every value before the full patterns run."""


def credential_kind(value: str) -> str | None:
    """What kind of credential `value` holds, if any (the first found), else None."""
    if not _PRESCREEN.search(value):
        return None
    match = _credential_patterns().search(value)
    if match is None or match.lastgroup is None:
        return None
    return _PATTERNS[int(match.lastgroup[1:])][0]


@functools.cache
def _credential_patterns() -> re.Pattern[str]:
    """Compiled on the first value the prescreen lets through: the compile costs more than most scans' use."""
    return re.compile("|".join(f"(?P<k{i}>{pattern})" for i, (_, pattern) in enumerate(_PATTERNS)), re.ASCII)


@functools.lru_cache(maxsize=64)
def _safe_names(safe: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(fnmatch.translate(glob.upper()) for glob in safe))


def credential_name(name: str, safe: Sequence[str] = SAFE_NAMES) -> bool:
    """Whether a variable called `name` holds a credential when given a literal value."""
    if not CREDENTIAL_NAME.search(name):
        return False
    return not _safe_names(tuple(safe)).match(name.upper())


def literal(value: object) -> str | None:
    """The value as written, unless it is empty or only a reference to a value kept elsewhere."""
    if not isinstance(value, str) or not value or _REFERENCE.fullmatch(value.strip()):
        return None
    return value


def env_credentials(safe: Sequence[str] = SAFE_NAMES) -> Callable[[Pod], Iterator[Violation]]:
    """The pod check: credential values in env values and arguments, and literal values of credential names."""
    def check(pod: Pod) -> Iterator[Violation]:
        for c in pod.containers:
            for index, entry in enumerate(get(c.spec, "env", list, c.path) or ()):
                path = (*c.path, "env", index)
                var = typed(entry, dict, path) or {}
                name = get(var, "name", str, path) or ""
                raw = var.get("value")
                kind = credential_kind(raw) if isinstance(raw, str) else None  # a reference never hides one
                if kind is not None:
                    yield Violation("k8s-secret-value", f'container "{c.name}" sets {name} to what looks like'
                                    f" {kind}; credentials belong in a Secret (valueFrom.secretKeyRef)",
                                    (*path, "value"), c.name)
                elif literal(raw) is not None and credential_name(name, safe):
                    yield Violation("k8s-secret-env-literal", f'container "{c.name}" sets {name} to a literal'
                                    " value; credentials belong in a Secret (valueFrom.secretKeyRef)",
                                    (*path, "value"), c.name)
            for field in ("command", "args"):
                for index, arg in enumerate(get(c.spec, field, list, c.path) or ()):
                    kind = credential_kind(arg) if isinstance(arg, str) else None
                    if kind is not None:
                        yield Violation("k8s-secret-value", f'container "{c.name}" passes what looks like {kind}'
                                        f" in {field}[{index}]; credentials belong in a Secret",
                                        (*c.path, field, index), c.name)
    return check


def configmap_credentials(obj: Workload) -> Iterator[Violation]:
    """The object check: credential values in ConfigMap data, and in binaryData once decoded (base64 hides a
    key from a reader, not from anyone who decodes it)."""
    if obj.kind != "ConfigMap":
        return
    for field in ("data", "binaryData"):
        for key, value in (get(obj.object, field, dict, obj.base) or {}).items():
            path = (*obj.base, field, key)
            text = typed(value, str, path)  # the API server takes strings only: another type is an error
            if text is not None and field == "binaryData":
                text = _decoded(text, path)
            kind = credential_kind(text) if text is not None else None
            if kind is not None:
                yield Violation("k8s-secret-value", f"ConfigMap {obj.name} {field} {key!r} holds what looks like"
                                f" {kind}: ConfigMaps are not secret, and this one is committed",
                                (*obj.base, field, key))


def _decoded(value: str, path: Path) -> str:
    """A binaryData value's bytes as text (undecodable bytes replaced); not base64 is an `InputError`, as
    the API server refuses it (and what cannot be decoded cannot be judged)."""
    import base64
    import binascii

    try:
        return base64.b64decode("".join(value.split()), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        raise InputError(f"{render_path(path)} is not base64: the API server refuses it, and gates cannot judge"
                         " what it holds") from None


def annotation_credentials(obj: Workload) -> Iterator[Violation]:
    """The check of every judged object, pod carriers included: credential values in its annotations
    (its own and its pod template's)."""
    for key, value in obj.annotations.items():
        kind = credential_kind(value) if isinstance(value, str) else None
        if kind is not None:
            yield Violation("k8s-secret-value", f"{obj.kind} {obj.name} annotation {key!r} holds what looks like"
                            f" {kind}", obj.annotation_paths.get(key, (*obj.base, "metadata", "annotations")))
