"""docs/ci.md's admission policies ask for what gates writes: the predicate type, the verifier id the
example job sets, PASSED, and the verifiedLevels values of the real gates; the job's commands exist.

The controllers themselves do not run here (no cluster); what the policies read is held to the code."""

from __future__ import annotations

import re
import shlex
from typing import Any

import typer
import yaml

from gates.checks import GATES
from gates.cli import app
from gates.vsa.statement import PASSED, PREDICATE_TYPE, level
from tests.ci_surfaces.test_doc_gitlab_examples import fenced, section
from tests.conftest import REPO

TEXT = section((REPO / "docs" / "ci.md").read_text(encoding="utf-8"), "Verification summaries at admission")


def documents() -> dict[str, Any]:
    found = {}
    for block in fenced(TEXT, "yaml"):
        doc = yaml.safe_load(block)
        found[doc.get("kind", "workflow")] = doc
    return found


def verifier() -> str:
    value: str = documents()["workflow"]["jobs"]["verify"]["env"]["GATES_VSA_VERIFIER_ID"]
    return value


def test_the_section_holds_the_job_and_both_policies() -> None:
    assert set(documents()) == {"workflow", "ClusterImagePolicy", "ClusterPolicy"}


def test_the_jobs_commands_are_gates_commands_with_their_flags() -> None:
    command = typer.main.get_command(app)
    steps = documents()["workflow"]["jobs"]["verify"]["steps"]
    runs = [shlex.split(step["run"], comments=True) for step in steps if step.get("run", "").startswith("gates ")]
    assert [args[1] for args in runs] == ["signature", "attest"]
    for args in runs:
        sub = command.commands[args[1]]  # type: ignore[attr-defined]
        flags = {opt for param in sub.params for opt in param.opts}
        for arg in args[2:]:
            if arg.startswith("--"):
                assert arg in flags, f"gates {args[1]} has no {arg}"
    assert "vsa=gates-vsa" in runs[0] and "gates-vsa" in runs[1]


def test_policy_controller_asks_for_a_passing_vsa_of_this_verifier() -> None:
    [authority] = documents()["ClusterImagePolicy"]["spec"]["authorities"]
    [attestation] = authority["attestations"]
    assert attestation["predicateType"] == PREDICATE_TYPE
    cue = attestation["policy"]["data"]
    assert f'predicateType: "{PREDICATE_TYPE}"' in cue
    assert f'verifier: id: "{verifier()}"' in cue and f'verificationResult: "{PASSED}"' in cue
    assert "keyless" in authority  # key bundles carry no tlog entry, which policy-controller cannot waive


def test_kyverno_asks_for_a_passing_vsa_of_this_verifier() -> None:
    [rule] = documents()["ClusterPolicy"]["spec"]["rules"]
    [verify] = rule["verifyImages"]
    [attestation] = verify["attestations"]
    assert attestation["type"] == PREDICATE_TYPE
    conditions = {c["key"]: c["value"] for c in attestation["conditions"][0]["all"] if c["operator"] == "Equals"}
    assert conditions == {"{{ verifier.id }}": verifier(), "{{ verificationResult }}": PASSED}


def test_the_levels_the_docs_name_are_those_of_the_real_gates() -> None:
    named = set(re.findall(r"GATES_[A-Z_]+_PASSED", TEXT))
    assert named == {level("signature"), level("base-image")}
    assert {"signature", "base-image"} <= set(GATES)
