"""An image whose config, annotations and os-release are hostile, read from the real test registry by the
base-image gate through the CLI as a process: every format is still valid and inert.

Needs Debian's docker-registry (tests/support/registry.py starts it on 127.0.0.1).
"""

from __future__ import annotations

from pathlib import Path

from gates.oci.client import RegistryClient
from gates.oci.credentials import StaticCredentials
from gates.oci.reference import parse_reference
from tests.reporters.output_checks import (
    PAYLOADS,
    assert_no_raw_controls,
    assert_no_workflow_command,
    assert_safe_markdown,
    assert_valid_json,
    assert_valid_junit,
)
from tests.reporters.test_untrusted_text import DOCUMENTS, HOSTILE, run_gates
from tests.reporters.workflow_commands import processed_commands
from tests.support import oci_images as oi
from tests.support.registry import RegistryServer, registry  # noqa: F401 - fixture

OS_RELEASE = "\n".join([
    'PRETTY_NAME="Debian\x1b[2J\u202e GNU/Linux ::error::pretty"',
    "NAME=Debian",
    "ID=debian\x1b]8;;https://evil.example/\x07",
    'VERSION_ID="12\n::warning::version"',
]) + "\n"


def _push_hostile_images(host: str) -> list[str]:
    """Two images: one whose config (with a lone surrogate), os-release and passwd are hostile, read to
    the end; one whose base annotations are, which stops the gate early with an error quoting them."""
    files = {"etc/os-release": OS_RELEASE.encode("utf-8"), "etc/debian_version": b"12.\x1b[31m5\n",
             "etc/passwd": f"root:x:0:0::/root:/bin/sh\n{'u' + HOSTILE[:40]}:x:0:0::/:/bin/sh\n".encode()}
    images = {
        "config": oi.image([oi.layer(files)], created="2024-01-01T00:00:00Z\x1b[2J",
                           user="u" + HOSTILE[:40] + "\udcff", labels={"org.opencontainers.image.created": "##[x]"}),
        "annotations": oi.image(
            [oi.layer(files)],
            annotations={"org.opencontainers.image.base.name": "evil.example/base" + PAYLOADS[10] + ":1\u202e",
                         "org.opencontainers.image.base.digest": "sha256:" + PAYLOADS[13] + PAYLOADS[0]}),
    }
    references = []
    with RegistryClient(StaticCredentials({})) as client:
        for name, image in images.items():
            reference = parse_reference(f"{host}/hostile/{name}:1")
            oi.push_image(client, reference, image)
            references.append(str(reference))
    return references


def test_hostile_image_fields_in_every_format(tmp_path: Path, registry: RegistryServer) -> None:  # noqa: F811
    images = _push_hostile_images(registry.host)
    (tmp_path / "gates.toml").write_text('[registry]\ncache-dir = "none"\n', encoding="utf-8")
    outputs = [arg for fmt, name in DOCUMENTS.items() for arg in ("--output", f"{fmt}=out/{name}")]
    summary = tmp_path / "step-summary.md"
    run = run_gates(["base-image", *images, "--now", "2026-11-24", "--format", "console", *outputs], tmp_path,
                    env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary),
                         "GITHUB_WORKSPACE": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "xdg")})
    assert run.code == 1, run.err
    assert "internal error" not in run.err

    documents = {fmt: (tmp_path / "out" / name).read_text(encoding="utf-8") for fmt, name in DOCUMENTS.items()}
    report = assert_valid_json(documents["json"], "json")
    read, stopped = report["results"]
    assert read["outcome"] == "failed" and stopped["outcome"] == "error"
    for result in (read, stopped):  # the image's own text reached the report, escaped
        shown = " ".join([*result["details"], *(f["message"] for f in result["findings"]), result["error"] or ""])
        assert "\\x1b" in shown or "\\u202e" in shown, shown
    for fmt in ("sarif", "gitlab-codequality"):
        assert_valid_json(documents[fmt], fmt)
    assert_valid_junit(documents["junit"], "junit")
    for fmt, text in documents.items():
        assert_no_raw_controls(text, fmt)
        if fmt != "github":
            assert_no_workflow_command(text, fmt)
    log = run.out + run.err
    assert_no_raw_controls(log, "log")
    assert {c.name for c in processed_commands(log)} <= {"error", "warning"}
    assert len(processed_commands(log)) == len(processed_commands(documents["github"]))
    markdown = summary.read_text(encoding="utf-8")
    assert_no_raw_controls(markdown, "summary")
    assert_safe_markdown(markdown, "summary")
