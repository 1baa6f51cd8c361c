"""Every fenced example of README.md, read from the README and run, so none can rot.

Each block is found by the README section it sits in, and each kind is run its own way:

- `sh`: every command runs as a process (this checkout's venv is the `.venv` the README installs);
  placeholder hosts are the test registry (`ghcr.io` -> `127.0.0.1:PORT`) and the keyless example gets
  the test's private Sigstore root (`--trusted-root`), since the public one cannot sign here. Nothing
  else in a command is rewritten.
- `toml`: each block is a whole `gates.toml` and is loaded by the real loader (`load_config`), so a
  key that does not exist or a value of the wrong type fails; the signature block also runs.
- output (`json`, a plain block): compared with what a real run prints.

A block that cannot run as written is in `NOT_RUN`, with the reason; a new block fails
`test_every_readme_block_is_run_or_listed` until it is run or listed.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from gates.checks import load_config
from gates.errors import ConfigError
from gates.oci.client import RegistryClient
from gates.oci.credentials import StaticCredentials
from gates.oci.reference import parse_reference
from tests.checks_signature.cosign import key_layer, keyless_layer, sign_legacy
from tests.checks_signature.cosign_keys import public_key_pem
from tests.ci_surfaces.registry_images import NOW, push_base_images
from tests.ci_surfaces.tools import tool_env
from tests.conftest import REPO, run_process
from tests.cosign.factory import ISSUER, FakeFulcio, FakeRekor, spki, trusted_root
from tests.support import oci_images as oi
from tests.support.registry import RegistryServer, registry  # noqa: F401 - fixture

README = REPO / "README.md"


@dataclass(frozen=True)
class Block:
    language: str
    heading: str
    line: int
    text: str

    @property
    def key(self) -> tuple[str, str]:
        return self.language, self.heading


def readme_blocks() -> list[Block]:
    """Every fenced block of README.md with the `#`-heading above it and its first line number."""
    text = README.read_text(encoding="utf-8")
    found = []
    for match in re.finditer(r"^```(\w*)\n(.*?)^```$", text, flags=re.M | re.S):
        before = text[:match.start()]
        headings = re.findall(r"^#+ (.+)$", before, flags=re.M)
        found.append(Block(match.group(1), headings[-1], before.count("\n") + 1, match.group(2)))
    return found


def block(language: str, heading: str) -> Block:
    [found] = [b for b in readme_blocks() if b.key == (language, heading)]
    return found


NOT_RUN = {
    ("sh", "Run the tests (one command)"): "it runs the whole test suite, which holds this test",
}
"""Blocks no test here runs, and why."""

RUN = {
    ("sh", "Try it (fresh machine, one command)"): "test_try_it_runs_as_written",
    ("sh", "The signature gate"): "test_the_signature_commands_pass_on_signed_images",
    ("toml", "The base-image gate"): "test_every_toml_block_loads",
    ("toml", "The signature gate"): "test_every_toml_block_loads, test_the_signature_commands_pass_on_signed_images",
    ("sh", "Attestations"): "test_the_attestation_commands_pass_on_attested_images",
    ("toml", "Attestations"): "test_every_toml_block_loads",
    ("toml", "Mirrored images"): "test_every_toml_block_loads",
    ("sh", "Notary Project (notation) signatures"): "test_the_notation_examples_pass_on_a_notation_signed_image",
    ("toml", "Notary Project (notation) signatures"):
        "test_every_toml_block_loads, test_the_notation_examples_pass_on_a_notation_signed_image",
    ("toml", "The vulnerabilities gate"): "test_every_toml_block_loads",
    ("toml", "Registries and credentials"): "test_every_toml_block_loads",
    ("toml", "Configuration"): "test_every_toml_block_loads",
    ("toml", "Baselines"): "test_every_toml_block_loads",
    ("", "Registries and credentials"): "test_the_progress_lines_are_what_a_run_prints",
    ("json", "The JSON report (`--format json`), a stable contract"):
        "test_the_json_report_sample_has_a_real_reports_shape",
}
"""Blocks the tests below run (by the test that runs them)."""


def test_every_readme_block_is_run_or_listed() -> None:
    keys = [b.key for b in readme_blocks()]
    assert len(keys) == len(set(keys)), "two blocks share a section: tell them apart here"
    assert sorted(keys) == sorted([*NOT_RUN, *RUN])


def commands(script: str) -> list[list[str]]:
    """The commands of an `sh` block: continuation lines joined, `&&` chains and comments split off."""
    found = []
    for line in script.replace("\\\n", " ").splitlines():
        current: list[str] = []
        for word in shlex.split(line, comments=True):
            if word == "&&":
                found.append(current)
                current = []
            else:
                current.append(word)
        found.append(current)
    return [c for c in found if c]


def _gates(argv: list[str]) -> list[str]:
    """`gates` (or the README's `.venv/bin/gates`) as this checkout's installed console script."""
    assert argv[0] in ("gates", ".venv/bin/gates"), argv
    return [str(Path(sys.executable).with_name("gates")), *argv[1:]]


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in tool_env().items() if not k.startswith("GATES_")}
    return subprocess.run(_gates(argv), cwd=cwd, capture_output=True, text=True, env={**env, "NO_COLOR": "1"},
                          timeout=120, check=False)


def test_try_it_runs_as_written(tmp_path: Path) -> None:
    """The install steps are this venv (an editable install of this checkout); the gates command runs as
    written, in a copy of the examples so its reports land there, and exits 0 as the README says; the
    failure it points to fails (exit 1). tests/core/test_readme.py holds the numbers it quotes."""
    script = commands(block("sh", "Try it (fresh machine, one command)").text)
    assert [c[:3] for c in script[:2]] == [["python3", "-m", "venv"], [".venv/bin/pip", "install", "-e"]]
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    [run] = script[2:]
    proc = _run(run, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "7 passed" in proc.stdout
    assert sorted(p.name for p in (tmp_path / "examples" / "shop" / "reports").iterdir())
    failure = re.search(r"To see a failure: `([^`]+)`", README.read_text(encoding="utf-8"))
    assert failure is not None, "the Try it section names the command that shows a failure"
    proc = _run(shlex.split(failure.group(1)), tmp_path)
    assert proc.returncode == 1 and "failed" in proc.stdout, proc.stderr


@pytest.mark.parametrize("language_heading", [k for k in RUN if k[0] == "toml"], ids=lambda k: k[1])
def test_every_toml_block_loads(tmp_path: Path, language_heading: tuple[str, str]) -> None:
    """Each block is a whole gates.toml; loading it names every key (unknown keys and wrong types fail)."""
    example = block(*language_heading)
    (tmp_path / "gates.toml").write_text(example.text, encoding="utf-8")
    load_config(tmp_path / "gates.toml", env={}, cwd=tmp_path)


def test_a_toml_block_with_a_misspelt_key_would_fail(tmp_path: Path) -> None:
    """The loader the blocks go through is strict, so the test above can fail."""
    example = block("toml", "Configuration").text.replace("inline-waivers", "inline-waiver", 1)
    (tmp_path / "gates.toml").write_text(example, encoding="utf-8")
    with pytest.raises(ConfigError, match="inline-waiver"):
        load_config(tmp_path / "gates.toml", env={}, cwd=tmp_path)


IDENTITY_FLAG = "--certificate-identity"


def test_the_signature_commands_pass_on_signed_images(tmp_path: Path, registry: RegistryServer) -> None:  # noqa: F811
    """The three `gates signature` commands, ghcr.io being the test registry: by key (`cosign.pub`), keyless
    (the identity and issuer as written, the test's Sigstore root added), and from the README's [signature]
    block as gates.toml (its `keys/cosign.pub` and `sigstore/trusted_root.json` are the test's)."""
    sh = block("sh", "The signature gate").text
    toml = block("toml", "The signature gate").text
    host = registry.host
    script = [[word.replace("ghcr.io/", f"{host}/") for word in c] for c in commands(sh)]
    assert len(script) == 3 and all(c[:2] == ["gates", "signature"] for c in script)
    identity = script[1][script[1].index(IDENTITY_FLAG) + 1]

    key = ec.generate_private_key(ec.SECP256R1())
    fulcio, rekor = FakeFulcio(), FakeRekor()
    for folder in ("keys", "sigstore"):
        (tmp_path / folder).mkdir()
    (tmp_path / "cosign.pub").write_bytes(public_key_pem(key))
    (tmp_path / "keys" / "cosign.pub").write_bytes(public_key_pem(key))
    trusted_root(tmp_path / "sigstore" / "trusted_root.json", fulcio=fulcio,
                 rekor_keys=[(rekor.log_id, spki(rekor.key))])
    (tmp_path / "gates.toml").write_text(toml.replace('"ghcr.io/', f'"{host}/'), encoding="utf-8")
    images = re.findall(rf'"({re.escape(host)}/[^"*]+:[^"]+)"', (tmp_path / "gates.toml").read_text("utf-8"))
    named = {word for c in script for word in c if word.startswith(f"{host}/")}
    assert named <= set(images) and len(images) == 2, (named, images)
    with RegistryClient(StaticCredentials({})) as client:
        for name in images:
            ref = parse_reference(name)
            digest = oi.push_image(client, ref, oi.image([oi.layer({"etc/marker": name})]))
            sign_legacy(client, ref, digest, key_layer(key, digest, ref.name, rekor),
                        keyless_layer(fulcio, rekor, digest, ref.name, san=identity, issuer=ISSUER))

    script[1] += ["--trusted-root", "sigstore/trusted_root.json"]  # the public root cannot sign here
    for argv in script:
        proc = _run([*argv, "--format", "json"], tmp_path)
        assert proc.returncode == 0, (argv, proc.stderr, proc.stdout[-3000:])
        report = json.loads(proc.stdout)
        assert {r["outcome"] for r in report["results"]} == {"passed"}
        assert sorted(r["target"] for r in report["results"]) == sorted(
            [w for w in argv if w.startswith(f"{host}/")] or images)


def test_the_notation_examples_pass_on_a_notation_signed_image(
    tmp_path: Path, registry: RegistryServer  # noqa: F811
) -> None:
    """The `--notation-*` command (its `~` being this test's home, holding notation's files) and the toml
    block as gates.toml, on an image of the test registry signed as `notation sign` signs."""
    from tests.notation import signing as ns

    host = registry.host
    [argv] = [[word.replace("ghcr.io/", f"{host}/") for word in c]
              for c in commands(block("sh", "Notary Project (notation) signatures").text)]
    toml = block("toml", "Notary Project (notation) signatures").text.replace('"ghcr.io/', f'"{host}/')
    root = ns.root_ca()
    signer = ns.leaf(root)
    for folder in (tmp_path / ".config" / "notation", tmp_path / "notation"):
        ns.trust_store(folder / "truststore", {"ca:acme": [root]})
        ns.trust_policy(folder / "trustpolicy.json", ns.statement(
            scopes=(f"{host}/acme/api",), identities=("x509.subject: C=US, ST=WA, O=Acme Rockets",)))
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "cosign.pub").write_bytes(public_key_pem(ec.generate_private_key(ec.SECP256R1())))
    (tmp_path / "gates.toml").write_text(toml, encoding="utf-8")
    with RegistryClient(StaticCredentials({})) as client:
        ref = parse_reference(f"{host}/acme/api:1.4")
        oi.push_image(client, ref, oi.image([oi.layer({"etc/marker": "notation"})]))
        subject = client.resolve(ref)
        ns.attach(client, ref, subject, ns.jws(subject, signer, [signer, root]))
    env = {k: v for k, v in tool_env().items() if not k.startswith("GATES_")}
    for command in (argv, ["gates", "signature"]):
        proc = subprocess.run([*_gates(command), "--format", "json"], cwd=tmp_path, capture_output=True, text=True,
                              env={**env, "NO_COLOR": "1", "HOME": str(tmp_path)}, timeout=120, check=False)
        assert proc.returncode == 0, (command, proc.stderr, proc.stdout[-3000:])
        [result] = json.loads(proc.stdout)["results"]
        assert result["outcome"] == "passed" and "verified under statement 'acme'" in "\n".join(result["details"])


def test_the_progress_lines_are_what_a_run_prints(tmp_path: Path, registry: RegistryServer) -> None:  # noqa: F811
    """The quoted plain lines, with their image, host and numbers as patterns, against the stderr of a
    base-image run that is not on a terminal. The retry line needs a registry that answers 503, which a
    real one does not; tests/core progress tests cover it, so here it need only keep its shape."""
    quoted = block("", "Registries and credentials").text.splitlines()
    image = push_base_images(registry.host).current

    def pattern(line: str) -> re.Pattern[str]:
        text = re.escape(line)
        text = text.replace(re.escape("registry.example.com/shop/web:1.4"), r"\S+")
        text = text.replace(re.escape("registry.example.com"), r"\S+")
        text = re.sub(r"\d+(\\\.\d+)?", r"\\d+(\\.\\d+)?", text)
        return re.compile(text.replace("passed", "(passed|failed|error)") + "$")

    patterns = [pattern(line) for line in quoted]
    proc = _run(["gates", "base-image", image, "--now", NOW], tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("base-image: ")]
    assert lines, proc.stderr
    for line in lines:
        assert any(p.match(line) for p in patterns), (line, quoted)
    checking, retry, done = patterns
    assert any(checking.match(line) for line in lines) and any(done.match(line) for line in lines), lines
    assert retry.match("base-image: waiting for 127.0.0.1:5000, attempt 2/4 (HTTP 503)")


def _shape(value: Any) -> Any:
    """The keys of a JSON value, recursively (a list by its first item)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__ if value is not None else None


PRIVILEGED = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers:
        - name: web
          image: registry.example.com/web@sha256:%s
          securityContext: {privileged: true}
""" % ("0" * 64)


def test_the_json_report_sample_has_a_real_reports_shape(tmp_path: Path) -> None:
    """The README's sample report has exactly the keys, nesting and value types of a real report."""
    sample = json.loads(block("json", "The JSON report (`--format json`), a stable contract").text)
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "web.yaml").write_text(PRIVILEGED, encoding="utf-8")
    run = run_process(["manifests", "deploy", "-f", "json", "--fail-on", "low"], tmp_path)
    assert run.code == 1, run.err
    real = json.loads(run.out)
    [failed] = [r for r in real["results"] if r["outcome"] == "failed"]
    real["results"] = [{**failed, "findings": [f for f in failed["findings"] if f["rule"] == "pss-privileged"]}]
    assert _shape(sample) == _shape(real)
    assert sample["results"][0]["findings"][0]["message"] == real["results"][0]["findings"][0]["message"]


def test_the_attestation_commands_pass_on_attested_images(tmp_path: Path, registry: RegistryServer) -> None:  # noqa: F811
    """The two attestation commands, ghcr.io being the test registry: the image carries a key and a keyless
    signature and, in its `.att` tag, SLSA provenance and an SPDX SBOM by each signer, made as the README's
    builder (acme/api's release workflow at refs/tags/v1.4), so every flag as written must hold."""
    from tests.checks_signature.attest import (
        BUILDER,
        SLSA_V1,
        SPDX,
        att_layer,
        keyless_att_layer,
        provenance,
        push_att,
        spdx,
    )

    host = registry.host
    script = [[word.replace("ghcr.io/", f"{host}/") for word in c] for c in commands(block("sh", "Attestations").text)]
    assert len(script) == 2 and all(c[:2] == ["gates", "signature"] for c in script)
    assert {"--attestation", "--builder-id", "--source-uri"} <= set(script[1])
    key = ec.generate_private_key(ec.SECP256R1())
    fulcio, rekor = FakeFulcio(), FakeRekor()
    (tmp_path / "cosign.pub").write_bytes(public_key_pem(key))
    root = trusted_root(tmp_path / "trusted_root.json", fulcio=fulcio, rekor_keys=[(rekor.log_id, spki(rekor.key))])
    identity = BUILDER  # matches the README's identity regexp
    with RegistryClient(StaticCredentials({})) as client:
        [name] = {w for c in script for w in c if w.startswith(f"{host}/")}
        ref = parse_reference(name)
        digest = oi.push_image(client, ref, oi.image([oi.layer({"etc/marker": name})]))
        sign_legacy(client, ref, digest, key_layer(key, digest, ref.name, rekor),
                    keyless_layer(fulcio, rekor, digest, ref.name, san=identity, issuer=ISSUER))
        push_att(client, ref, digest, att_layer(key, digest, SLSA_V1, provenance(), rekor=rekor),
                 att_layer(key, digest, SPDX, spdx(), rekor=rekor),
                 keyless_att_layer(fulcio, rekor, digest, SLSA_V1, provenance(), san=identity, issuer=ISSUER))
    for argv in script:
        proc = _run([*argv, "--trusted-root", str(root), "--format", "json"], tmp_path)
        assert proc.returncode == 0, (argv, proc.stderr, proc.stdout[-3000:])
        [result] = json.loads(proc.stdout)["results"]
        assert result["outcome"] == "passed" and any("attestation slsaprovenance1" in d and "verified by" in d
                                                     for d in result["details"]), result["details"]
