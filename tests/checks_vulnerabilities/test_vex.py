"""OpenVEX documents applied to scanner findings, on the corpus's real VEX files where it has them.

Needs the third-party corpus (`scanner-reports/go-vex`, `scanner-reports/trivy`); skipped without it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gates.checks import GATES, load_config
from gates.engine import run
from gates.gate import RunFlags
from gates.model import Outcome, Report
from tests.checks_vulnerabilities.reports import DIGEST, trivy, trivy_vuln, write
from tests.conftest import require_corpus, run_process

GO_VEX = ("scanner-reports", "go-vex", "pkg", "vex", "testdata")


def _judge(tmp_path: Path, reports: list[Path], vex: list[Path]) -> Report:
    listed = ", ".join(json.dumps(str(p)) for p in reports)
    documents = ", ".join(json.dumps(str(p)) for p in vex)
    config = write(tmp_path, "gates.toml", f"[vulnerabilities]\nreports = [{listed}]\nvex = [{documents}]\n")
    loaded = load_config(config, env={})
    return run([GATES["vulnerabilities"].build_job(loaded, RunFlags())], today=loaded.today)


def _alpine(tmp_path: Path, digest: str = DIGEST) -> Path:
    vulns = [trivy_vuln(cve, package, "3.0.8-r3", "3.0.10-r0", "HIGH", f"pkg:apk/alpine/{package}@3.0.8-r3?arch=x86_64")
             for cve in ("CVE-2023-1255", "CVE-2023-3446", "CVE-2023-9999") for package in ("libssl3", "libcrypto3")]
    return write(tmp_path, "alpine.json", trivy(*vulns, image="alpine:3.17", digest=digest))


def test_trivy_gomod_with_its_openvex_file_leaves_what_trivy_leaves(tmp_path: Path) -> None:
    """Trivy's own VEX test: gomod has 5 findings, 4 after openvex.json (CVE-2022-23628 in opa not_affected)."""
    testdata = require_corpus("scanner-reports", "trivy", "integration", "testdata")
    report = _judge(tmp_path, [testdata / "gomod.json.golden"], [testdata / "fixtures/vex/file/openvex.json"])
    (result,) = report.results
    active = [f for f in result.findings if f.waiver is None]
    assert len(result.findings) == 5 and len(active) == 4
    (waived,) = [f for f in result.findings if f.waiver is not None]
    assert waived.resource == "CVE-2022-23628 github.com/open-policy-agent/opa"
    assert waived.waiver is not None and waived.waiver.reason.startswith(
        "OpenVEX not_affected (vulnerable_code_not_in_execute_path): The vulnerable code isn't called [")
    assert waived.waiver.source.endswith("openvex.json:8:5")
    assert any("1 finding decided by one" in d for d in result.details)


def test_image_product_with_subcomponents_by_digest(tmp_path: Path) -> None:
    """go-vex v0.2.0: `fixed` and `not_affected` on pkg:oci/alpine@sha256:124c... for libssl3 and libcrypto3."""
    vex = require_corpus(*GO_VEX, "v0.2.0.json")
    (result,) = _judge(tmp_path, [_alpine(tmp_path)], [vex]).results
    status = {f.resource: (f.waiver.reason.split(" [")[0] if f.waiver else None) for f in result.findings}
    assert status == {
        "CVE-2023-1255 libssl3": "OpenVEX fixed", "CVE-2023-1255 libcrypto3": "OpenVEX fixed",
        "CVE-2023-3446 libssl3": "OpenVEX not_affected (vulnerable_code_not_present): affected functions were"
                                 " removed before packaging",
        "CVE-2023-3446 libcrypto3": "OpenVEX not_affected (vulnerable_code_not_present): affected functions were"
                                    " removed before packaging",
        "CVE-2023-9999 libssl3": None, "CVE-2023-9999 libcrypto3": None,
    }
    assert result.outcome is Outcome.FAILED


def test_statements_about_another_image_do_not_apply(tmp_path: Path) -> None:
    vex = require_corpus(*GO_VEX, "v0.2.0.json")
    other = "sha256:" + "0" * 64
    (result,) = _judge(tmp_path, [_alpine(tmp_path, digest=other)], [vex]).results
    assert all(f.waiver is None for f in result.findings)


def _bash(tmp_path: Path, advisory: str) -> Path:
    return write(tmp_path, "wolfi.json", trivy(trivy_vuln(advisory, "bash", "1.0.0", None, "HIGH",
                                                          "pkg:apk/wolfi/bash@1.0.0?arch=x86_64")))


def test_under_investigation_is_a_note_and_still_fails(tmp_path: Path) -> None:
    (result,) = _judge(tmp_path, [_bash(tmp_path, "CVE-9876-54321")], [require_corpus(*GO_VEX, "v020-1.vex.json")]
                       ).results
    (finding,) = result.findings
    assert finding.waiver is None and finding.notes[-1].startswith("OpenVEX under_investigation [")
    assert result.outcome is Outcome.FAILED


def test_the_newest_statement_wins_whatever_the_order(tmp_path: Path) -> None:
    """v001-1 says under_investigation at 16:36, v001-2 says fixed at 20:56 the same day: fixed decides."""
    first, second = require_corpus(*GO_VEX, "v001-1.vex.json"), require_corpus(*GO_VEX, "v001-2.vex.json")
    for documents in ([first, second], [second, first]):
        (result,) = _judge(tmp_path, [_bash(tmp_path, "CVE-1234-5678")], documents).results
        (finding,) = result.findings
        assert finding.waiver is not None and finding.waiver.reason.startswith("OpenVEX fixed")
        assert result.outcome is Outcome.PASSED


def test_affected_keeps_the_finding_with_its_action_statement(tmp_path: Path) -> None:
    vex = write(tmp_path, "team.vex.json", json.dumps({
        "@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "team", "timestamp": "2024-01-01T00:00:00Z",
        "version": 1, "statements": [{"vulnerability": {"name": "CVE-9876-54321"},
                                      "products": [{"@id": "pkg:apk/wolfi/bash@1.0.0"}], "status": "affected",
                                      "action_statement": "upgrade to bash 1.0.1 in the next release"}]}))
    (result,) = _judge(tmp_path, [_bash(tmp_path, "CVE-9876-54321")], [vex]).results
    (finding,) = result.findings
    assert finding.waiver is None
    assert finding.notes[-1].startswith("OpenVEX affected: upgrade to bash 1.0.1 in the next release [")


def test_a_broken_vex_document_is_an_error_and_suppresses_nothing(tmp_path: Path) -> None:
    not_json = write(tmp_path, "broken.vex.json", '{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [')
    unjustified = write(tmp_path, "unjustified.vex.json", json.dumps({
        "@context": "https://openvex.dev/ns/v0.2.0", "statements": [
            {"vulnerability": {"name": "CVE-9876-54321"}, "products": [{"@id": "pkg:apk/wolfi/bash@1.0.0"}],
             "status": "not_affected"}]}, indent=2))
    yaml_vex = require_corpus(*GO_VEX, "vex.yaml")
    report = _judge(tmp_path, [_bash(tmp_path, "CVE-9876-54321")], [not_json, unjustified, yaml_vex])
    errors = {r.target: r.error or "" for r in report.results if r.outcome is Outcome.ERROR}
    assert len(errors) == 3, errors
    assert any("broken.vex.json: OpenVEX document refused: line 1, column " in e for e in errors.values()), errors
    assert any(e.endswith("unjustified.vex.json: OpenVEX document refused: line 4: statement: not_affected"
                          " without a justification or an impact_statement (the specification requires one)")
               for e in errors.values())
    assert any("vex.yaml: OpenVEX document refused: line 1, column 1: not JSON" in e for e in errors.values())
    (judged,) = [r for r in report.results if r.outcome is not Outcome.ERROR]
    assert judged.outcome is Outcome.FAILED and all(f.waiver is None for f in judged.findings)
    assert report.outcome is Outcome.ERROR


def _openvex(*products: str) -> str:
    statement = {"vulnerability": {"name": "CVE-2024-1"}, "products": [{"@id": p} for p in products],
                 "status": "not_affected", "justification": "vulnerable_code_not_present"}
    return json.dumps({"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://vex.example/1", "author": "a",
                       "timestamp": "2024-01-01T00:00:00Z", "version": 1, "statements": [statement]})


@pytest.mark.parametrize(("product", "suppressed"), [
    ("pkg:deb/debian/openssl@3.0.1?arch=arm64", False),  # another build of the package
    ("pkg:deb/debian/openssl@3.0.1?arch=amd64&distro=debian-11", False),  # one qualifier of two differs
    ("pkg:deb/debian/openssl@3.0.1?arch=amd64&repository_url=mirror.example", False),  # one the package lacks
    ("pkg:deb/debian/openssl@3.0.1#usr/lib", False),  # a subpath the package has not
    ("pkg:deb/debian/openssl@3.0.2?arch=amd64", False),
    ("pkg:deb/debian/openssl@3.0.1?arch=amd64", True),  # what it names matches; what it leaves out is any
    ("pkg:deb/debian/openssl@3.0.1?distro=debian-12&arch=amd64", True),  # qualifiers in any order
    ("pkg:deb/debian/openssl@3.0.1", True),
    ("pkg:deb/debian/openssl", True),
])
def test_a_product_qualifier_must_be_the_packages(tmp_path: Path, product: str, suppressed: bool) -> None:
    """purl qualifiers narrow a product (purl spec, OpenVEX matching): an arm64 statement is not about amd64."""
    write(tmp_path, "trivy.json", trivy(trivy_vuln("CVE-2024-1", "openssl", "3.0.1", None, "CRITICAL",
                                                   "pkg:deb/debian/openssl@3.0.1?arch=amd64&distro=debian-12")))
    write(tmp_path, "product.vex.json", _openvex(product))
    run = run_process(["vulnerabilities", "trivy.json", "--vex", "product.vex.json", "--format", "json"],
                      cwd=tmp_path)
    assert "Traceback" not in run.err, run.err
    [result] = json.loads(run.out)["results"]
    [finding] = result["findings"]
    assert (finding["waived"] is not None) is suppressed, finding
    assert run.code == (0 if suppressed else 1), run.err
