"""Inline waiver expiry: one grammar, whatever the spelling; what it cannot read is an error, never a reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import run_process
from tests.core.test_waivers import _host_path_daemonset

SPELLINGS = [
    "reads host /proc; expires = {d}",
    "reads host /proc; Expires={d}",
    "reads host /proc; EXPIRES = {d}",
    "reads host /proc; expires: {d}",
    "reads host /proc, expires={d}",
    "reads host /proc; expiry={d}",
    "reads host /proc, expiry: {d}",
    "reads host /proc; expires {d}",
]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    return tmp_path


def _write(repo: Path, *annotations: dict[str, str]) -> None:
    documents = [_host_path_daemonset(a) for a in annotations]
    for number, document in enumerate(documents):
        document["metadata"]["name"] = f"exporter-{number}"
    (repo / "ds.yaml").write_text(yaml.safe_dump_all(documents, sort_keys=False))


def _run(repo: Path, now: str) -> tuple[int, list[dict[str, Any]], str]:
    run = run_process(["manifests", "ds.yaml", "--format", "json"], cwd=repo, env={"GATES_NOW": now})
    results: list[dict[str, Any]] = json.loads(run.out)["results"]
    return run.code, results, run.err


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_of_the_expiry_is_read(repo: Path, spelling: str) -> None:
    _write(repo, {"gates.dev/waive.pss-volume-types": spelling.format(d="2026-01-31")})
    code, [result], err = _run(repo, "2026-01-31")
    assert code == 0, err
    [finding] = result["findings"]
    assert finding["waived"] == {"reason": "reads host /proc", "source": finding["waived"]["source"],
                                 "expires": "2026-01-31"}
    code, [result], _ = _run(repo, "2026-02-01")  # a day later it has expired, in every spelling
    assert code == 1 and result["outcome"] == "failed"
    [finding] = result["findings"]
    assert finding["waived"] is None
    assert any("expired on 2026-01-31" in note for note in finding["notes"])


@pytest.mark.parametrize(("value", "problem"), [
    ("reads host /proc; expires=31.01.2026", "is not a YYYY-MM-DD date"),
    ("reads host /proc; expiry: next year", "is not a YYYY-MM-DD date"),
    ("reads host /proc; expires=2026-02-30", "is not a YYYY-MM-DD date"),
    ("reads host /proc; Expires=", "is not a YYYY-MM-DD date"),
    ("reads host /proc expires=2026-01-31", "is not its own clause"),
    ("reads host /proc (expiry: 2026-01-31)", "is not its own clause"),
    ("reads host /proc; expires=2026-01-31; expiry=2027-01-31", "more than one expiry"),
])
def test_an_expiry_that_cannot_be_read_is_an_error_naming_file_and_line(
    repo: Path, value: str, problem: str
) -> None:
    _write(repo, {"gates.dev/waive.pss-volume-types": value}, {})
    code, [own, bad, other], _ = _run(repo, "2026-02-01")
    assert code == 1
    assert own["target"].endswith("exporter-0") and own["outcome"] == "failed"  # its findings still shown
    assert bad["outcome"] == "error" and bad["target"].endswith("exporter-0 gates.dev/waive.pss-volume-types")
    assert bad["error"].startswith("ds.yaml:") and bad["error"].split(":")[1].isdigit(), bad["error"]
    assert problem in bad["error"] and "expires=YYYY-MM-DD" in bad["error"]
    assert other["target"].endswith("exporter-1") and other["outcome"] == "failed"  # the rest still reported


def test_reason_keeps_its_commas_and_semicolons(repo: Path) -> None:
    _write(repo, {"gates.dev/waive.pss-volume-types": "reads /proc, /sys; see SEC-12, expires=2099-01-01"})
    code, [result], err = _run(repo, "2026-02-01")
    assert code == 0, err
    [finding] = result["findings"]
    assert finding["waived"]["reason"] == "reads /proc, /sys; see SEC-12"
    assert finding["waived"]["expires"] == "2099-01-01"


@pytest.mark.parametrize("clause", ["expires_at=2020-01-01", "expiresAt=2020-01-01", "valid-until=2020-01-01",
                                    "until=2020-01-01", "exp=2020-01-01", "Valid-Until: 2020-01-01T00:00Z"])
def test_a_date_under_another_name_is_an_error_not_a_permanent_waiver(repo: Path, clause: str) -> None:
    _write(repo, {"gates.dev/waive.pss-volume-types": f"reads host /proc; {clause}"}, {})
    code, [own, bad, other], _ = _run(repo, "2026-02-01")
    assert code == 1
    assert own["target"].endswith("exporter-0") and own["outcome"] == "failed"  # nothing waived, findings shown
    assert bad["outcome"] == "error" and bad["target"].endswith("exporter-0 gates.dev/waive.pss-volume-types")
    key = clause.split("=")[0].split(":")[0]
    assert bad["error"].startswith("ds.yaml:") and bad["error"].split(":")[1].isdigit(), bad["error"]
    assert (f"waiver of DaemonSet/monitoring/exporter-0 gives a date as {key!r}, which is not an expiry gates"
            " reads, so it would never expire (expected '<reason>; expires=YYYY-MM-DD')") in bad["error"]
    assert other["outcome"] == "failed"  # the rest still reported


def test_a_date_in_the_reason_that_names_no_key_stays_part_of_the_reason(repo: Path) -> None:
    _write(repo, {"gates.dev/waive.pss-volume-types": "approved by security on 2025-12-01; expires=2099-01-01"})
    code, [result], err = _run(repo, "2026-02-01")
    assert code == 0, err
    [finding] = result["findings"]
    assert finding["waived"]["reason"] == "approved by security on 2025-12-01"
