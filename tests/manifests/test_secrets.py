"""Credentials in manifests, by value and by name: found where they sit, named by kind, never echoed."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gates.checks.manifests.gate import ManifestOptions, scan
from gates.checks.manifests.secrets import credential_kind, credential_name
from gates.model import Outcome, Result
from tests.conftest import CliRun
from tests.manifests.helpers import compliant_pod_spec, wrap, write


def _jwt() -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part({'sub': '1234567890', 'name': 'x'})}.{'s' * 43}"


# Built at run time, so that this file itself holds no string a credential scanner would take as live.
CREDENTIALS: dict[str, str] = {
    "a private key": "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEow" + "A" * 60 + "\n-----END RSA PRIVATE KEY-----",
    "an AWS access key": "AKIA" + "Z7QX2M4P9W3K5B6N",
    "a Google API key": "AIza" + "Sy" + "b" * 33,
    "a GitHub token": "ghp" + "_" + "R" * 36,
    "a GitLab token": "glpat" + "-" + "x1Y2z3" * 4,
    "a Slack token": "xoxb" + "-" + "1234567890-abcdefghij",
    "a Slack webhook": "https://hooks.slack.com/services/" + "T0000/B0000/" + "X" * 24,
    "a Stripe secret key": "sk" + "_live_" + "4" * 24,
    "an npm token": "npm" + "_" + "q" * 36,
    "an Azure storage key": "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=" + "k" * 86 + "==",
    "a JSON Web Token": _jwt(),
    "credentials in a URL": "postgres://app:" + "s3cr3t-pw" + "@db.internal:5432/shop",
}

HARMLESS = [
    "postgres://app:${DB_PASSWORD}@db.internal:5432/shop",
    "postgres://app@db.internal:5432/shop",
    "https://example.com/a:b/c",
    "mysql://root:$(MYSQL_PASSWORD)@db/x",
    "redis://:<password>@cache:6379",
    "eyJhbGciOi",  # the start of a token is not a token
    "ghp_short",
    "plain text with AKIA in it",
]


def _deployment(env: list[dict[str, Any]], args: list[str] | None = None,
                annotations: dict[str, str] | None = None) -> dict[str, Any]:
    spec = compliant_pod_spec()
    spec["containers"][0]["env"] = env
    if args is not None:
        spec["containers"][0]["args"] = args
    return wrap("Deployment", spec, annotations=annotations)


def _findings(results: list[Result]) -> list[tuple[str, str, int | None]]:
    return sorted((f.rule, f.message, f.location.line) for r in results for f in r.findings)


@pytest.mark.parametrize("kind", sorted(CREDENTIALS))
def test_each_kind_of_credential_is_found_in_an_env_value(tmp_path: Path, kind: str) -> None:
    value = CREDENTIALS[kind]
    path = write(tmp_path, "d.yaml", _deployment([{"name": "SETTING", "value": value}]))
    [result] = scan(ManifestOptions(paths=(str(path),)))
    [finding] = result.findings
    assert finding.rule == "k8s-secret-value"
    assert kind in finding.message and "SETTING" in finding.message
    assert value not in finding.message and value.splitlines()[0] not in finding.message
    assert credential_kind(value) == kind


@pytest.mark.parametrize("value", HARMLESS)
def test_references_and_lookalikes_are_not_credentials(value: str) -> None:
    assert credential_kind(value) is None


@pytest.mark.parametrize(("name", "credential"), [
    ("DB_PASSWORD", True), ("GITHUB_PAT", True), ("SIGNING_KEY", True), ("SSH_KEY", True),
    ("TLS_KEY_CONTENT", True), ("AWS_SECRET_ACCESS_KEY", True), ("api_key", True),
    ("TOKEN_FILE", False), ("SSH_KEY_PATH", False), ("AUTH_ENABLED", False), ("OAUTH_CLIENT_ID", False),
    ("JWT_PUBLIC_KEY", False), ("AUTHOR", False), ("KEYCLOAK_URL", False), ("MONKEY", False),
    ("LOG_LEVEL", False), ("SECRET_NAME", False),
])
def test_credential_names_and_names_known_to_be_safe(name: str, credential: bool) -> None:
    assert credential_name(name) is credential


def test_one_finding_per_variable_the_value_rule_first(tmp_path: Path) -> None:
    token = CREDENTIALS["a GitHub token"]
    path = write(tmp_path, "d.yaml", _deployment([
        {"name": "GITHUB_TOKEN", "value": token},          # both name and value: the value rule, once
        {"name": "GITHUB_PAT", "value": "hunter2"},        # the name rule
        {"name": "DB_PASSWORD", "value": "$(FROM_SECRET)"},  # a reference to another variable: nothing
        {"name": "TOKEN_FILE", "value": "/var/run/secrets/token"},
    ]))
    [result] = scan(ManifestOptions(paths=(str(path),)))
    lines = path.read_text().splitlines()
    assert [(f.rule, lines[(f.location.line or 0) - 1].strip()) for f in result.findings] == [
        ("k8s-secret-value", f"value: {token}"),
        ("k8s-secret-env-literal", "value: hunter2"),
    ]


def test_arguments_configmap_data_and_annotations(tmp_path: Path) -> None:
    key, url = CREDENTIALS["a private key"], CREDENTIALS["credentials in a URL"]
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "shop"},
                  "data": {"key.pem": key, "level": "debug"}}
    clean_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "plain", "namespace": "shop"},
                 "data": {"level": "debug"}}
    workload = _deployment([], args=["--db", url], annotations={"ci.example/token": CREDENTIALS["a JSON Web Token"]})
    path = write(tmp_path, "d.yaml", workload, config_map, clean_map)
    results = {r.target.split("#", 1)[1]: r for r in scan(ManifestOptions(paths=(str(path),)))}
    assert results["ConfigMap/shop/plain"].outcome is Outcome.PASSED
    [in_map] = results["ConfigMap/shop/settings"].findings
    assert in_map.rule == "k8s-secret-value" and "'key.pem'" in in_map.message and "a private key" in in_map.message
    deployment = results["Deployment/shop/web"]
    assert sorted(f.message.split(" looks like ")[-1].split(" (")[0] for f in deployment.findings) == [
        "a JSON Web Token", "credentials in a URL in args[1]; credentials belong in a Secret"]
    assert all(v not in f.message for f in deployment.findings for v in CREDENTIALS.values())


def test_configured_allowlist_clears_a_name(tmp_path: Path) -> None:
    path = write(tmp_path, "d.yaml", _deployment([{"name": "FEATURE_TOKEN_LIMIT", "value": "40"}]))
    assert [f.rule for f in scan(ManifestOptions(paths=(str(path),)))[0].findings] == ["k8s-secret-env-literal"]
    allowed = scan(ManifestOptions(paths=(str(path),), credential_name_allowlist=("FEATURE_TOKEN_*",)))
    assert allowed[0].outcome is Outcome.PASSED
    # the allowlist clears names, never values
    npm = CREDENTIALS["an npm token"]
    leaked = write(tmp_path, "e.yaml", _deployment([{"name": "FEATURE_TOKEN_LIMIT", "value": npm}]))
    [result] = scan(ManifestOptions(paths=(str(leaked),), credential_name_allowlist=("FEATURE_TOKEN_*",)))
    assert [f.rule for f in result.findings] == ["k8s-secret-value"]


def test_skipping_the_value_rule_keeps_the_name_rule(tmp_path: Path) -> None:
    path = write(tmp_path, "d.yaml", _deployment([{"name": "API_TOKEN", "value": CREDENTIALS["a GitHub token"]}]))
    [result] = scan(ManifestOptions(paths=(str(path),), skip_rules=("k8s-secret-value",)))
    assert [f.rule for f in result.findings] == []  # the variable's one finding was the skipped value rule
    assert _findings(scan(ManifestOptions(paths=(str(path),)))) != []


@pytest.mark.parametrize("fmt", ["console", "json", "junit", "sarif", "gitlab-codequality", "github",
                                 "openmetrics"])
def test_no_value_reaches_any_output(tmp_path: Path, cli: Callable[[list[str]], CliRun], fmt: str,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    env = [{"name": f"V{i}", "value": value} for i, value in enumerate(CREDENTIALS.values())]
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m", "namespace": "shop"},
                  "data": {f"k{i}": value for i, value in enumerate(CREDENTIALS.values())}}
    path = write(tmp_path, "d.yaml", _deployment(env), config_map)
    monkeypatch.chdir(tmp_path)
    run = cli(["manifests", "--format", fmt, "--verbose", str(path)])
    assert run.code == 1
    text = run.out + run.err
    for value in CREDENTIALS.values():
        for piece in value.splitlines():
            if len(piece) > 12:
                assert piece not in text, (fmt, piece[:8])


@pytest.mark.parametrize("value", [
    "{{ .Values.prefix }}" + CREDENTIALS["a GitHub token"] + "{{ .Values.suffix }}",
    "{{ x }} " + CREDENTIALS["an AWS access key"] + " {{ y }}",
    '{{ "' + CREDENTIALS["credentials in a URL"] + '" | quote }}',
], ids=["between-templates", "spaced", "template-literal"])
def test_a_credential_between_template_braces_is_still_a_credential(tmp_path: Path, value: str) -> None:
    """Only a value that is nothing but a reference is exempt: `{{a}}TOKEN{{b}}` is no reference to it."""
    path = write(tmp_path, "d.yaml", _deployment([{"name": "SETTING", "value": value}]))
    [result] = scan(ManifestOptions(paths=(str(path),)))
    assert [f.rule for f in result.findings] == ["k8s-secret-value"]


def test_skipping_the_name_rule_keeps_the_value_rule(tmp_path: Path) -> None:
    """The two rules share one pass over env and arguments; skipping the name rule must not skip that pass."""
    token = CREDENTIALS["a GitHub token"]
    path = write(tmp_path, "d.yaml", _deployment([{"name": "SETTING", "value": token},
                                                  {"name": "DB_PASSWORD", "value": "hunter2"}], args=[token]))
    for allowlist in ((), ("FEATURE_*",)):
        [result] = scan(ManifestOptions(paths=(str(path),), skip_rules=("k8s-secret-env-literal",),
                                        credential_name_allowlist=allowlist))
        assert [f.rule for f in result.findings] == ["k8s-secret-value", "k8s-secret-value"], allowlist


def test_binary_data_is_decoded_before_it_is_judged(tmp_path: Path) -> None:
    key = CREDENTIALS["a private key"]
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bin", "namespace": "shop"},
                  "binaryData": {"key.pem": base64.b64encode(key.encode()).decode(),
                                 "logo.png": base64.b64encode(bytes(range(256))).decode()}}
    path = write(tmp_path, "cm.yaml", config_map)
    [result] = scan(ManifestOptions(paths=(str(path),)))
    [finding] = result.findings
    assert finding.rule == "k8s-secret-value" and "binaryData 'key.pem'" in finding.message
    assert "a private key" in finding.message and "MIIE" not in finding.message


@pytest.mark.parametrize(("field", "value", "said"), [
    ("binaryData", "%%%", "binaryData.bad is not base64"),
    ("binaryData", 12, "binaryData.bad"),
    ("data", 12, "data.bad"),
])
def test_configmap_values_the_api_server_refuses_are_errors_never_passes(tmp_path: Path, field: str, value: Any,
                                                                         said: str) -> None:
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "odd", "namespace": "shop"},
                  field: {"bad": value}}
    [result] = scan(ManifestOptions(paths=(str(write(tmp_path, "cm.yaml", config_map)),)))
    assert result.outcome is Outcome.ERROR and said in (result.error or ""), result
