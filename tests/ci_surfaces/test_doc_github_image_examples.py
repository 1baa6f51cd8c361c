"""The signature and base-image workflows of docs/ci.md, read from the docs and run by one `act` run.

Both examples become workflow files of one project (`jobs:` fragments get `on: push`), against the test
registry holding images this test pushes and signs. What points outside this machine is mapped, and
nothing else is changed:

- `ghcr.io/` is the test registry (`127.0.0.1:PORT/`), and the example's placeholder digest
  (`sha256:0123...`) is the digest the test pushed under that name;
- the signature step gets `trusted-root:` with the test's private Sigstore root in place of the public
  one (the images are signed keyless by its Fulcio, for the identity the example's regexp names);
- `OWNER/gates` is this repository, code scanning's SARIF upload the stand-in of
  test_doc_github_examples.py (it keeps the file), and `docker` a stand-in that records the login
  and stores nothing (no Docker here; the test registry needs no credentials), so the login step
  runs as written, `ghcr.io` and all.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from gates.oci.client import RegistryClient
from gates.oci.credentials import StaticCredentials
from gates.oci.manifest import Platform
from gates.oci.reference import parse_reference
from tests.checks_base_image.images import APP, BASE_DIGEST, BASE_NAME, DEBIAN_13
from tests.checks_signature.cosign import keyless_layer, sign_legacy
from tests.ci_surfaces.test_doc_github_examples import UPLOAD_SARIF, as_workflow
from tests.ci_surfaces.test_doc_gitlab_examples import fenced, section
from tests.ci_surfaces.tools import copy_action_source, require, tool_env
from tests.conftest import REPO
from tests.cosign.factory import ISSUER, WORKFLOW, FakeFulcio, FakeRekor, spki, trusted_root
from tests.support import oci_images as oi
from tests.support.registry import RegistryServer, registry  # noqa: F401 - fixture

DOC = REPO / "docs" / "ci.md"
RUNS = {"Image signatures": "signature", "Base images": "base"}
"""The subsections whose example runs here, with the id of the step that runs gates."""
PLACEHOLDER_DIGEST = re.compile(r"ghcr\.io/([\w./-]+)@(sha256:[0-9a-f]{64})")

DOCKER = """\
#!/bin/sh
# docker stand-in: records the command line and what came on stdin, stores no credentials
{{ echo "$*"; cat; }} >> "{keep}/docker.log"
"""


def image_examples() -> dict[str, str]:
    text = section(DOC.read_text(encoding="utf-8"), "GitHub Actions")
    found = {}
    for heading in RUNS:
        start = text.index(f"\n### {heading}\n")
        [example] = fenced(text[start:text.find("\n### ", start + 1)], "yaml")
        found[heading] = example
    return found


def _push_images(host: str, names: set[str], fulcio: FakeFulcio, rekor: FakeRekor) -> tuple[dict[str, str], str]:
    """Each named image (`repo:tag`, or `repo` pushed as `repo:pushed`) built on a Debian 13 base, annotated
    with it as a build names its base, and signed keyless: their digests, and the base by digest."""
    digests = {}
    # The example sets no `now`: the images are days old whenever the test runs, so age never decides.
    base_created, app_created = (f"{dt.date.today() - dt.timedelta(days=days)}T00:00:00Z" for days in (20, 10))
    with RegistryClient(StaticCredentials({})) as client:
        base = oi.image([DEBIAN_13], created=base_created)
        base_ref = f"{host}/acme/debian:13"
        base_digest = oi.push_image(client, parse_reference(base_ref), base)
        labels = {BASE_NAME: base_ref, BASE_DIGEST: str(base_digest)}
        app = oi.image([*base.layers, APP], created=app_created, user="1000", annotations=labels)
        for name in sorted(names):
            ref = parse_reference(f"{host}/{name}" if ":" in name else f"{host}/{name}:pushed")
            digest = oi.push_index(client, ref, oi.index([(app, Platform("linux", "amd64"))]))
            sign_legacy(client, ref, digest, keyless_layer(fulcio, rekor, digest, ref.name, san=WORKFLOW,
                                                           issuer=ISSUER))
            digests[name] = str(digest)
    return digests, f"{base_ref}@{base_digest}"


def localised(example: str, host: str, digests: dict[str, str], step: str) -> str:
    """The example with the mappings the module docstring lists, and no other change."""
    text = PLACEHOLDER_DIGEST.sub(lambda m: f"ghcr.io/{m.group(1)}@{digests[m.group(1)]}", example)
    workflow: dict[Any, Any] = yaml.safe_load(as_workflow(text.replace("ghcr.io/", f"{host}/")))
    for job in workflow["jobs"].values():
        for item in job["steps"]:
            if item.get("id") == step == "signature":
                item["with"]["trusted-root"] = "sigstore/trusted_root.json"
    return yaml.safe_dump(workflow, sort_keys=False)


@dataclass(frozen=True)
class ActRun:
    code: int
    log: str
    keep: Path
    host: str


@pytest.fixture(scope="module")
def act_run(tmp_path_factory: pytest.TempPathFactory, registry: RegistryServer) -> ActRun:  # noqa: F811
    act = require("act")
    require("git")
    base = tmp_path_factory.mktemp("act-image-docs")
    source = copy_action_source(base / "gates-action")
    repo, keep, stubs, bin_dir = base / "project", base / "keep", base / "stubs", base / "bin"
    for folder in (keep, stubs / "codeql-action" / "upload-sarif", bin_dir, repo / ".github" / "workflows",
                   repo / "sigstore", base / "docker-config"):
        folder.mkdir(parents=True)
    (stubs / "codeql-action" / "upload-sarif" / "action.yml").write_text(UPLOAD_SARIF % {"keep": keep},
                                                                         encoding="utf-8")
    (bin_dir / "docker").write_text(DOCKER.format(keep=keep), encoding="utf-8")
    (bin_dir / "docker").chmod(0o755)
    examples = image_examples()
    named = {m.group(1) for text in examples.values() for m in PLACEHOLDER_DIGEST.finditer(text)}
    named |= set(re.findall(r"ghcr\.io/([\w./-]+:[\w.-]+)", "\n".join(examples.values())))
    fulcio, rekor = FakeFulcio(), FakeRekor()
    trusted_root(repo / "sigstore" / "trusted_root.json", fulcio=fulcio, rekor_keys=[(rekor.log_id, spki(rekor.key))])
    digests, base_image = _push_images(registry.host, named, fulcio, rekor)
    (repo / "Dockerfile").write_text(f"FROM {base_image}\nCOPY app /app\n", encoding="utf-8")
    for number, (heading, example) in enumerate(examples.items()):
        (repo / ".github" / "workflows" / f"example-{number}.yml").write_text(
            localised(example, registry.host, digests, RUNS[heading]), encoding="utf-8")
    env = tool_env()
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    env["DOCKER_CONFIG"] = str(base / "docker-config")  # no credentials of this machine's user
    git = ["git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "sample"]):
        subprocess.run([*git, *args], cwd=repo, check=True, env=env)
    proc = subprocess.run(
        [act, "push", "-P", "ubuntu-latest=-self-hosted",
         "--local-repository", f"OWNER/gates@v1={source}",
         "--local-repository", f"github/codeql-action@v3={stubs / 'codeql-action'}"],
        cwd=repo, capture_output=True, text=True, env=env, timeout=600, check=False,
    )
    return ActRun(proc.returncode, proc.stdout + proc.stderr, keep, registry.host)


def test_the_docs_hold_the_examples() -> None:
    examples = image_examples()
    assert "uses: OWNER/gates/actions/signature@v1" in examples["Image signatures"]
    assert "uses: OWNER/gates/actions/base-image@v1" in examples["Base images"]
    assert PLACEHOLDER_DIGEST.search(examples["Image signatures"])


def _sarif(act_run: ActRun, category: str) -> dict[str, Any]:
    path = act_run.keep / f"upload-sarif-{category}.sarif"
    assert path.is_file(), act_run.log[-6000:]
    sarif: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0"
    return sarif


def test_the_image_examples_run_and_pass(act_run: ActRun) -> None:
    assert act_run.code == 0, act_run.log[-6000:]
    assert act_run.log.count("Job succeeded") == 2, act_run.log[-6000:]
    for job, passed in (("signature", "2"), ("base-image", "1")):  # every image the example names
        outputs = dict(re.findall(rf"^\[example-\d\.yml/{job} *\] .*::set-output:: ([\w-]+)=(.*)$", act_run.log,
                                  flags=re.M))
        assert (outputs["outcome"], outputs["exit-code"]) == ("passed", "0"), outputs
        assert (outputs["passed"], outputs["failed"], outputs["errors"]) == (passed, "0", "0"), outputs


def test_the_signature_example_verifies_every_image_it_names(act_run: ActRun) -> None:
    sarif = _sarif(act_run, "gates-signature")
    assert sarif["runs"][0]["results"] == []
    for image in ("acme/api@sha256:", "acme/web:1.4.2"):
        assert f"{act_run.host}/{image}" in act_run.log
    docker = (act_run.keep / "docker.log").read_text(encoding="utf-8").splitlines()
    assert docker[0].startswith("login ghcr.io -u ") and docker[0].endswith(" --password-stdin")  # as written


def test_the_base_image_example_judges_the_image_against_its_dockerfile(act_run: ActRun) -> None:
    sarif = _sarif(act_run, "gates-base-image")
    assert [r for r in sarif["runs"][0]["results"] if r.get("level") == "error"] == []
    assert f"{act_run.host}/acme/api:1.4.2" in act_run.log
