"""Audit Policy and EncryptionConfiguration rules in a few lines, and the corpus' upstream examples."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from gates.checks.cluster.gate import ClusterOptions, scan
from gates.model import Outcome
from tests.conftest import require_corpus
from tests.support.rule_cases import expect_findings

POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  resources:
  - group: ""
    resources: ["secrets", "configmaps"]
  - group: authentication.k8s.io
    resources: ["tokenreviews"]
- level: RequestResponse
  resources:
  - group: ""
    resources: ["pods"]
- level: Metadata
"""
P = "Policy/audit-policy"


def test_a_policy_that_logs_sensitive_resources_at_metadata_and_has_a_catch_all_passes(tmp_path: Path) -> None:
    expect_findings(tmp_path, POLICY, gate="cluster")


def test_a_broad_rule_before_the_metadata_one_logs_secret_bodies(tmp_path: Path) -> None:
    text = POLICY.replace("rules:\n", "rules:\n- level: Request\n  verbs: [create, update]\n", 1)
    expect_findings(tmp_path, text, ("cluster-audit-sensitive-bodies", P, "5:3"),
                    ("cluster-audit-sensitive-bodies", P, "5:3"), gate="cluster")


def test_a_request_response_catch_all_logs_every_secret_body(tmp_path: Path) -> None:
    text = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: RequestResponse\n"
    expect_findings(tmp_path, text, ("cluster-audit-sensitive-bodies", P, "4:3"), gate="cluster")


def test_a_policy_that_logs_nothing(tmp_path: Path) -> None:
    text = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n"
    expect_findings(tmp_path, text, ("cluster-audit-coverage", P, "3:1"), gate="cluster")


def test_a_catch_all_at_level_none_logs_nothing_it_catches(tmp_path: Path) -> None:
    text = POLICY.rstrip("\n").rsplit("\n", 1)[0] + "\n- level: None\n"
    expect_findings(tmp_path, text, ("cluster-audit-coverage", P, "4:1"), gate="cluster")


def test_without_a_catch_all_and_without_secrets(tmp_path: Path) -> None:
    text = ("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  resources:\n"
            "  - group: \"\"\n    resources: [\"pods\"]\n")
    expect_findings(tmp_path, text, ("cluster-audit-coverage", P, "3:1"), gate="cluster")


def test_the_kubernetes_io_example_logs_kube_system_configmap_bodies(tmp_path: Path) -> None:
    """Its rule 5 logs configmap changes in kube-system at Request: their data lands in the log."""
    path = require_corpus("cluster-config", "kubernetes-website", "content", "en", "examples", "audit",
                          "audit-policy.yaml")
    (result,) = scan(ClusterOptions(paths=(str(path),)))
    assert [(f.rule, f.location.line) for f in result.findings] == [("cluster-audit-sensitive-bodies", 43)]
    assert "configmaps" in result.findings[0].message


def test_kind_s_one_rule_metadata_policy_passes() -> None:
    path = require_corpus("cluster-config", "kind", "site-docs-extracted", "auditing-audit-policy.yaml")
    (result,) = scan(ClusterOptions(paths=(str(path),)))
    assert result.outcome is Outcome.PASSED and not result.findings


KEY = base64.b64encode(bytes(range(7, 39))).decode()
"""32 distinct bytes: the shape of a real key (and not one of them readable text)."""
ENCRYPTION = f"""\
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets]
  providers:
  - kms:
      apiVersion: v2
      name: vault
      endpoint: unix:///var/run/kms.sock
  - aescbc:
      keys:
      - name: old
        secret: {KEY}
  - identity: {{}}
"""
E = "EncryptionConfiguration/encryption"


def test_kms_v2_first_passes(tmp_path: Path) -> None:
    expect_findings(tmp_path, ENCRYPTION, gate="cluster")


def test_identity_first_writes_secrets_unencrypted(tmp_path: Path) -> None:
    text = ENCRYPTION.replace("  providers:\n", "  providers:\n  - identity: {}\n", 1)
    expect_findings(tmp_path, text, ("cluster-encryption-identity-first", E, "6:5"), gate="cluster")


def test_no_entry_for_secrets(tmp_path: Path) -> None:
    text = ENCRYPTION.replace("[secrets]", "[configmaps]")
    expect_findings(tmp_path, text, ("cluster-encryption-secrets", E, "3:1"), gate="cluster")


def test_a_wildcard_covers_secrets(tmp_path: Path) -> None:
    expect_findings(tmp_path, ENCRYPTION.replace("[secrets]", "['*.*']"), gate="cluster")


@pytest.mark.parametrize("secret", ["<BASE 64 ENCODED SECRET>", "c2VjcmV0IGlzIHNlY3VyZQ==", "AAAA" * 10 + "AAA=",
                                    "bm90IGJhc2U2NA", base64.b64encode(bytes(range(7, 27))).decode()])
def test_placeholder_or_wrong_size_keys(tmp_path: Path, secret: str) -> None:
    expect_findings(tmp_path, ENCRYPTION.replace(KEY, secret), ("cluster-encryption-key", E, "13:9"), gate="cluster")


def test_a_local_key_first_and_kms_v1_are_low_findings(tmp_path: Path) -> None:
    kms = "  - kms:\n      apiVersion: v2\n      name: vault\n      endpoint: unix:///var/run/kms.sock\n"
    local = ENCRYPTION.replace(kms, "")
    expect_findings(tmp_path, local, ("cluster-encryption-kms-v2", E, "6:5"), gate="cluster")
    kms_v1 = ENCRYPTION.replace("      apiVersion: v2\n", "")
    expect_findings(tmp_path, kms_v1, ("cluster-encryption-kms-v2", E, "6:5"), gate="cluster")


def test_the_upstream_valid_and_invalid_configurations() -> None:
    """Upstream's invalid-configs are errors naming the line; identity-first is flagged; aescbc-first's
    test keys are readable text, flagged as made up."""
    root = require_corpus("cluster-config", "kubernetes", "staging", "src", "k8s.io", "apiserver", "pkg", "server",
                          "options", "encryptionconfig", "testdata")
    by_file = {Path(r.target.partition("#")[0]).name: r for r in scan(ClusterOptions(paths=(str(root),)))}
    assert by_file["invalid-typo.yaml"].outcome is Outcome.ERROR
    assert "'pandas'" in (by_file["invalid-typo.yaml"].error or "")
    assert by_file["no-key.yaml"].outcome is Outcome.ERROR and ":10:15:" in (by_file["no-key.yaml"].error or "")
    rules = {name: {f.rule for f in r.findings} for name, r in by_file.items()}
    assert "cluster-encryption-identity-first" in rules["identity-first.yaml"]
    assert "cluster-encryption-identity-first" in rules["legacy.yaml"]
    assert "cluster-encryption-identity-first" not in rules["aes-cbc-first.yaml"]
    assert "cluster-encryption-key" in rules["aes-cbc-first.yaml"]
