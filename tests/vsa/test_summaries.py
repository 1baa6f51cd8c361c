"""The summary files: written from the digest alone, checked again before `gates attest` signs them."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gates.errors import InputError
from gates.model import Outcome, Report, Result
from gates.oci.digest import Digest
from gates.vsa.attest import Outcome as Attested
from gates.vsa.attest import attest, read_summary
from gates.vsa.output import file_name, write_summaries
from gates.vsa.policy import PolicyRef
from gates.vsa.statement import DEFAULT_VERIFIER_ID, PassedImage, statement
from tests.conftest import CliRun

A = "a" * 64
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
HOUR = dt.timedelta(hours=1)
IMAGE = PassedImage(("ghcr.io/acme/app",), A, ("signature",))


def summary(folder: Path, change: Callable[[dict[str, Any]], None] | None = None, name: str | None = None) -> Path:
    doc = statement(IMAGE, PolicyRef("gates.toml", A), DEFAULT_VERIFIER_ID, NOW - dt.timedelta(minutes=5))
    if change is not None:
        change(doc)
    path = folder / (name or file_name(A))
    path.write_text(json.dumps(doc))
    return path


def test_a_summary_as_written_is_read_back(tmp_path: Path) -> None:
    read = read_summary(summary(tmp_path), DEFAULT_VERIFIER_ID, NOW, HOUR)
    assert read.names == ("ghcr.io/acme/app",) and read.digest == Digest("sha256", A)
    assert json.loads(read.payload) == json.loads((tmp_path / file_name(A)).read_bytes())


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = doc
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value
    return change


@pytest.mark.parametrize(("change", "message"), [
    (_set("predicate.verificationResult", "FAILED"), "verificationResult is not PASSED"),
    (_set("predicate.verifier.id", "https://someone.else"), "verifier.id is 'https://someone.else'"),
    (_set("predicate.timeVerified", "2026-03-01T09:00:00Z"), "more than 3600 seconds ago"),
    (_set("predicate.timeVerified", "2026-03-02T12:00:00Z"), "in the future"),
    (_set("predicate.timeVerified", "yesterday"), "not a UTC time"),
    (_set("predicateType", "https://slsa.dev/provenance/v1"), "predicate type is not"),
    (_set("_type", "https://example/Statement"), "not an in-toto statement"),
    (_set("subject", []), "no subject"),
    (_set("subject.0.name", "ghcr.io/acme/app:latest"), "not an image name as gates writes it"),
    (_set("subject.0.name", "ACME/app"), "subject 'ACME/app'"),
    (_set("subject.0.digest", {"sha256": A, "sha512": "b" * 128}), "exactly one sha256 digest"),
    (_set("subject.0.digest", {"sha256": "A" * 64}), "lowercase hex"),
])
def test_a_summary_changed_after_the_gate_wrote_it_is_not_signed(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], message: str,
) -> None:
    with pytest.raises(InputError, match=message):
        read_summary(summary(tmp_path, change), DEFAULT_VERIFIER_ID, NOW, HOUR)


def test_a_summary_under_another_digest_name_is_not_signed(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not the digest its name says"):
        read_summary(summary(tmp_path, name=file_name("b" * 64)), DEFAULT_VERIFIER_ID, NOW, HOUR)


def test_a_file_not_named_by_a_digest_is_not_signed(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a summary's name"):
        read_summary(summary(tmp_path, name="summary.json"), DEFAULT_VERIFIER_ID, NOW, HOUR)


def test_ambiguous_or_broken_json_is_not_signed(tmp_path: Path) -> None:
    path = summary(tmp_path)
    path.write_text(path.read_text()[:-1] + ', "_type": "again"}')
    with pytest.raises(InputError, match="appears twice"):
        read_summary(path, DEFAULT_VERIFIER_ID, NOW, HOUR)
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(InputError, match="not a JSON statement"):
        read_summary(path, DEFAULT_VERIFIER_ID, NOW, HOUR)


def test_attest_checks_every_summary_before_signing_any(tmp_path: Path) -> None:
    good = summary(tmp_path)
    bad = summary(tmp_path, _set("predicate.verificationResult", "FAILED"), name=file_name("c" * 64))
    events: list[str] = []

    def sign(payload: bytes) -> bytes:
        events.append("sign")
        return b"bundle:" + payload

    def attach(name: str, digest: Digest, bundle: bytes) -> str:
        events.append(f"attach {name}@{digest}")
        return "somewhere"

    outcomes = list(attest([bad, good], sign, attach, DEFAULT_VERIFIER_ID, HOUR, NOW))
    assert [o.ok for o in outcomes] == [False, True]
    assert outcomes[0].line.startswith(repr(str(bad))) and "not signed" in outcomes[0].line
    assert outcomes[1] == Attested(True, f"ghcr.io/acme/app@sha256:{A}: verification summary attached as somewhere")
    assert events == ["sign", f"attach ghcr.io/acme/app@sha256:{A}"]


def _passing(target: str, digest: str = A) -> Result:
    return Result(gate="signature", target=target, outcome=Outcome.PASSED, subject=f"sha256:{digest}")


def test_files_are_named_by_digest_and_a_symlink_there_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    folder = tmp_path / "vsa"
    folder.mkdir()
    (folder / file_name(A)).symlink_to(victim)
    (folder / file_name("d" * 64)).mkdir()  # a directory by that name is left alone
    report = Report((_passing("ghcr.io/acme/app:1.0"), _passing("ghcr.io/acme/../etc:x", "e" * 64)))
    written = write_summaries(report, folder, PolicyRef("gates.toml", A), DEFAULT_VERIFIER_ID, NOW)
    assert written == [folder / file_name(A)]  # the malformed reference gets none
    assert victim.read_text() == "keep me" and not (folder / file_name(A)).is_symlink()
    assert (folder / file_name("d" * 64)).is_dir()
    doc = json.loads((folder / file_name(A)).read_bytes())
    assert doc["subject"][0]["name"] == "ghcr.io/acme/app"


def test_a_symlink_at_the_folder_is_refused_and_what_it_points_to_left_alone(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    old = elsewhere / file_name(A)
    old.write_text("someone else's")
    (tmp_path / "vsa").symlink_to(elsewhere)  # say, committed by a pull request
    with pytest.raises(NotADirectoryError, match="a symbolic link"):
        write_summaries(Report((_passing("ghcr.io/acme/app:1.0"),)), tmp_path / "vsa", PolicyRef("gates.toml", A),
                        DEFAULT_VERIFIER_ID, NOW)
    assert old.read_text() == "someone else's" and sorted(elsewhere.iterdir()) == [old]


def test_file_name_takes_only_a_digest() -> None:
    with pytest.raises(ValueError, match="not a sha256 digest"):
        file_name("../../etc/passwd")


GatesRun = Callable[[list[str]], CliRun]


def test_output_vsa_mistakes_stop_before_any_gate(
    cli: GatesRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "deploy.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    monkeypatch.setenv("GATES_VSA_VERIFIER_ID", "not a uri")
    run = cli(["manifests", "deploy.yaml", "--output", "vsa=out"])
    assert run.code == 2 and "GATES_VSA_VERIFIER_ID" in run.err and not (tmp_path / "out").exists()
    monkeypatch.delenv("GATES_VSA_VERIFIER_ID")
    (tmp_path / "file").write_text("")
    run = cli(["manifests", "deploy.yaml", "--output", "vsa=file"])
    assert run.code == 2 and "cannot write the verification summaries to 'file'" in run.err
    run = cli(["manifests", "deploy.yaml", "--output", "vsaa=out"])
    assert run.code == 2 and "or vsa=DIR" in run.err
