"""`[signature]` policies in gates.toml: matching, denial of uncovered images, validation, `gates run`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gates.checks import load_config as load
from gates.checks.signature import rules as r
from gates.checks.signature.policy import parse_policies
from gates.errors import ConfigError
from gates.oci.client import RegistryClient
from gates.validators import ConfigValueError
from tests.checks_signature.conftest import GatesRun, Signers, fresh, push, results
from tests.checks_signature.cosign import key_layer, sign_legacy
from tests.support.registry import RegistryServer


def write_config(folder: Path, text: str) -> Path:
    path = folder / "gates.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_policies_from_config_with_relative_key_and_unmatched_denial(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun, tmp_path: Path
) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "release.pub").write_bytes(signers.key_pem.read_bytes())
    ref = fresh(registry, "team")
    digest = push(pusher, ref)
    sign_legacy(pusher, ref, digest, key_layer(signers.key, digest, ref.name, signers.rekor))
    stranger = fresh(registry, "stranger")
    push(pusher, stranger)
    config = write_config(tmp_path, f"""
format = ["json"]

[signature]
images = ["{ref}", "{stranger}"]
trusted-root = "{signers.trusted_root}"

[[signature.policies]]
name = "team images"
images = ["{registry.host}/sig/team*"]

[[signature.policies.authorities]]
key = "keys/release.pub"
""")
    run = gates(["signature", "--config", str(config)])
    assert run.code == 1
    team, other = results(run)
    assert team["outcome"] == "passed"
    assert team["details"][1].startswith("policy team images: signature layer 1")
    assert other["outcome"] == "failed"
    [finding] = other["findings"]
    assert finding["rule"] == r.POLICY_UNMATCHED
    assert f"no signature policy covers {stranger.name}" in finding["message"]
    assert f"{registry.host}/sig/team*" in finding["message"]

    config.write_text(config.read_text().replace("[signature]\n", "[signature]\nallow-unmatched = true\n"))
    allowed = gates(["signature", "--config", str(config)])
    assert allowed.code == 0, allowed.out
    skipped = results(allowed)[1]
    assert skipped["outcome"] == "skipped" and "allow-unmatched" in skipped["error"]


def test_every_matching_policy_must_be_satisfied(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun, tmp_path: Path
) -> None:
    ref = fresh(registry, "both")
    digest = push(pusher, ref)
    sign_legacy(pusher, ref, digest, key_layer(signers.key, digest, ref.name, signers.rekor))
    config = write_config(tmp_path, f"""
[signature]
trusted-root = "{signers.trusted_root}"
[[signature.policies]]
name = "release key"
images = ["{registry.host}/sig/*"]
authorities = [{{ key = "{signers.key_pem}" }}]
[[signature.policies]]
name = "security team"
images = ["*/sig/both*"]
authorities = [{{ key = "{signers.other_key_pem}" }}, {{ key = "{signers.other_key_pem}", ignore-tlog = true }}]
""")
    run = gates(["signature", "--config", str(config), "--format", "json", str(ref)])
    assert run.code == 1
    [result] = results(run)
    assert "policy release key: signature layer 1" in result["details"][1]
    assert result["details"][2] == "policy security team: no signature verified"
    assert len(result["findings"]) == 2  # one rejection per authority of the unsatisfied policy
    assert all(f["message"].endswith("[policy: security team]") for f in result["findings"])


def test_gates_run_with_manifests_and_signature(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun, tmp_path: Path
) -> None:
    ref = fresh(registry, "deployed")
    digest = push(pusher, ref)
    sign_legacy(pusher, ref, digest, key_layer(signers.key, digest, ref.name, signers.rekor))
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    (deploy / "pod.yaml").write_text(json.dumps({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                 "containers": [{"name": "web", "image": f"{ref.name}@{digest}", "securityContext": {
                     "allowPrivilegeEscalation": False, "runAsUser": 1000,
                     "capabilities": {"drop": ["ALL"]}}}]},
    }))
    config = write_config(tmp_path, f"""
gates = ["manifests", "signature"]
format = ["json"]
[output]
junit = "reports/junit.xml"
[manifests]
paths = ["deploy"]
[signature]
images = ["{ref}"]
trusted-root = "{signers.trusted_root}"
[[signature.policies]]
images = ["{registry.host}/*"]
[[signature.policies.authorities]]
key = "{signers.key_pem}"
""")
    run = gates(["run", "--config", str(config)])
    doc = json.loads(run.out)
    assert doc["gates"] == ["manifests", "signature"]
    by_gate = {res["gate"]: res for res in doc["results"]}
    assert by_gate["signature"]["outcome"] == "passed", by_gate["signature"]
    assert by_gate["manifests"]["outcome"] == "passed", by_gate["manifests"]
    assert run.code == 0
    junit = (tmp_path / "reports" / "junit.xml").read_text()
    assert 'name="signature"' in junit and str(ref) in junit


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('policies = {images = ["*"]}', "signature.policies: must be an array of tables"),
        ("[[signature.policies]]\nimages = []\nauthorities = [{key = 'k.pub'}]",
         "[1].images must be a non-empty list of image globs"),
        ("[[signature.policies]]\nimages = ['*']", "[1].authorities must be a non-empty array of tables"),
        ("[[signature.policies]]\nimages = ['*']\nauthorities = [{key = 'k.pub', identity = 'a@b'}]",
         "[1].authorities[1]: a key authority (key) takes no identity"),
        ("[[signature.policies]]\nimages = ['*']\nauthorities = [{identity = 'a@b'}]",
         "needs issuer or issuer-regexp"),
        ("[[signature.policies]]\nimages = ['*']\nauthorities = [{identity = 'a', issuer = 'i', ignore-tlog = 1}]",
         "[1].authorities[1].ignore-tlog must be true or false"),
        ("[[signature.policies]]\nimages = ['*']\nauthorities = [{keyy = 'k.pub'}]",
         "[1].authorities[1].keyy: unknown key"),
        ("[[signature.policies]]\nimages = ['*']\ncolour = 'red'\nauthorities = [{key = 'k.pub'}]",
         "[1].colour: unknown key"),
        ('allow-unmatched = "yes"', "signature.allow-unmatched: must be true or false"),
    ],
)
def test_policy_config_errors_name_the_key(toml: str, message: str, tmp_path: Path) -> None:
    path = write_config(tmp_path, "[signature]\n" + toml + "\n")
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert message in str(caught.value)
    assert "gates.toml: signature." in str(caught.value)


def test_unreadable_key_in_config_is_exit_2_naming_the_authority(gates: GatesRun, tmp_path: Path) -> None:
    config = write_config(tmp_path, """
[signature]
images = ["registry.example/app:1"]
[[signature.policies]]
images = ["*"]
[[signature.policies.authorities]]
identity = "a@b.example"
issuer = "https://accounts.example"
[[signature.policies.authorities]]
key = "missing.pub"
""")
    run = gates(["signature", "--config", str(config)])
    assert run.code == 2
    assert "signature.policies[1].authorities[2]: cannot read key" in run.err and "missing.pub" in run.err


def test_not_a_key_is_exit_2(gates: GatesRun, tmp_path: Path) -> None:
    (tmp_path / "k.pub").write_text("hello")
    run = gates(["signature", "--key", str(tmp_path / "k.pub"), "registry.example/app:1"])
    assert run.code == 2 and "k.pub" in run.err


def test_run_refuses_signature_gate_without_images(gates: GatesRun, tmp_path: Path) -> None:
    config = write_config(tmp_path, 'gates = ["signature"]\n')
    run = gates(["run", "--config", str(config)])
    assert run.code == 2 and "no images to check" in run.err and "gates.toml" in run.err


def test_parse_policies_builds_specs() -> None:
    [policy] = parse_policies([{"images": "ghcr.io/acme/*", "authorities": [
        {"identity-regexp": "^https://github.com/acme/", "issuer": "https://token.actions.githubusercontent.com",
         "github-repository": "acme/app", "github-ref": "refs/heads/main", "github-trigger": "push"}]}],
        "signature.policies")
    assert policy.images == ("ghcr.io/acme/*",) and policy.name == "policies[1]"
    [authority] = policy.authorities
    assert authority.github_trigger == "push" and authority.where == "signature.policies[1].authorities[1]"
    with pytest.raises(ConfigValueError):
        parse_policies([{"images": ["*"], "authorities": ["cosign.pub"]}], "signature.policies")


def test_globs_match_qualified_and_short_names() -> None:
    from gates.checks.signature.policy import matches_any
    from gates.oci.reference import parse_reference

    alpine = parse_reference("alpine:3.20")
    assert matches_any(["docker.io/library/*"], alpine) and matches_any(["alpine"], alpine)
    assert not matches_any(["docker.io/acme/*"], alpine)
    api = parse_reference("ghcr.io/acme/api@sha256:" + "a" * 64)
    assert matches_any(["ghcr.io/acme/*"], api) and not matches_any(["ghcr.io/acme"], api)


@pytest.mark.parametrize("allow", ["true", "false"])
def test_no_policy_and_no_flags_is_a_configuration_error(gates: GatesRun, tmp_path: Path, allow: str) -> None:
    """With nothing that could verify an image, a run must not reach a verdict (all skipped would pass)."""
    config = write_config(tmp_path, f'[signature]\nimages = ["registry.example/app:1"]\nallow-unmatched = {allow}\n')
    run = gates(["signature", "--config", str(config)])
    assert run.code == 2
    assert "nothing could verify an image" in run.err


def test_attestation_specs_parse_and_name_their_trusted_files() -> None:
    from gates.checks import signature
    from gates.config import Config

    [policy] = parse_policies([{"images": ["*"], "signature": False, "attestations": [
        {"type": "slsaprovenance1", "builder-id": "https://b", "source-uri": "github.com/a/b", "max-age": "7d",
         "conditions": [{"path": "predicate.x[0]", "one-of": ["a", "b"]}],
         "authorities": [{"key": "keys/att.pub", "trusted-root": "github/root.json"}]},
        {"type": "https://example.com/p/v1", "authorities": [{"key": "keys/other.pub"}]}]}], "signature.policies")
    assert not policy.signature and policy.authorities == ()
    first, second = policy.attestations
    assert first.predicate_type == "https://slsa.dev/provenance/v1" and first.max_age == 7 * 86400
    assert first.conditions[0].one_of == ("a", "b") and second.predicate_type == "https://example.com/p/v1"
    config = Config(source=None, sections={"signature": {"policies": (policy,)}})
    named = signature.trusted_files(config)
    assert named["signature.policies[1].attestations[1].authorities[1].key"] == "keys/att.pub"
    assert named["signature.policies[1].attestations[1].authorities[1].trusted-root"] == "github/root.json"
    assert named["signature.policies[1].attestations[2].authorities[1].key"] == "keys/other.pub"


@pytest.mark.parametrize(("attestation", "message"), [
    ({"type": "sbom"}, "attestations[1].type: unknown attestation type 'sbom'"),
    ({"type": "spdxjson", "typo": 1}, "attestations[1].typo: unknown key"),
    ({"type": "slsaprovenance1", "builder-id": "a", "builder-id-regexp": "b"}, "exclude each other"),
    ({"type": "slsaprovenance1", "source-ref-regexp": "("}, "not a valid regular expression"),
    ({"type": "slsaprovenance1", "max-age": "soon"}, "max-age must be a positive number of seconds"),
    ({"type": "spdxjson", "sbom-max-bytes": 10}, "sbom-max-bytes needs sbom = true"),
    ({"type": "spdxjson", "conditions": [{"path": "a", "equals": 1, "regexp": "b"}]}, "exactly one of"),
    ({"type": "spdxjson", "conditions": [{"path": "a[", "equals": 1}]}, "does not parse"),
    ({"type": "spdxjson", "conditions": [{"path": "a", "matches": "b"}]}, "conditions[1].matches: unknown key"),
])
def test_attestation_config_errors_name_the_key(attestation: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigValueError, match=re.escape(message)):
        parse_policies([{"images": ["*"], "authorities": [{"key": "k.pub"}], "attestations": [attestation]}],
                       "signature.policies")
