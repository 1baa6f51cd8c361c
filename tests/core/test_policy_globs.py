"""Image globs in every policy are spelled as references are: `GHCR.IO/acme/*` covers `ghcr.io/acme/app`.

Hosts are lowercased, lose `:443`, Docker Hub's aliases become `docker.io` (with `library/` for official
images); a glob that no reference could match because of its spelling is a configuration error. The
signature and base-image cases need the `registry` binary (tests/support/registry.py).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from gates.checks import load_config
from gates.checks.base_image.gate import base_is_allowed
from gates.checks.base_image.options import Overrides, build_options
from gates.oci.client import RegistryClient
from gates.oci.credentials import StaticCredentials
from gates.oci.reference import parse_reference
from tests.conftest import CliRun, run_process
from tests.cosign.factory import public_pem
from tests.manifests.helpers import compliant_pod_spec, wrap, write
from tests.support import oci_images as oi
from tests.support.registry import RegistryServer, registry  # noqa: F401 - fixture

DIGEST = "@sha256:" + "ab" * 32
_counter = itertools.count()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "docker-config").mkdir()
    return tmp_path


def _gates(repo: Path, *args: str) -> CliRun:
    env = {"DOCKER_CONFIG": str(repo / "docker-config"), "GATES_CACHE_DIR": str(repo / "cache"),
           "XDG_DATA_HOME": str(repo / "xdg")}
    return run_process(list(args), cwd=repo, env=env)


def _pod_with(repo: Path, image: str) -> None:
    spec = compliant_pod_spec()
    spec["containers"][0]["image"] = image
    write(repo, "deploy.yaml", wrap("Deployment", spec))


def _registry_findings(run: CliRun) -> list[str]:
    [result] = json.loads(run.out)["results"]
    return [f["message"] for f in result["findings"] if f["rule"] == "k8s-image-registry"]


@pytest.mark.parametrize(("glob", "image"), [
    ("GHCR.IO/acme/*", "ghcr.io/acme/api"),
    ("Ghcr.Io/acme/*", "GHCR.IO/acme/api"),
    ("ghcr.io:443/acme/*", "ghcr.io/acme/api"),
    ("index.docker.io/library/*", "nginx"),
    ("registry-1.docker.io/library/*", "docker.io/library/nginx"),
    ("index.docker.io/nginx", "nginx"),
    ("registry.hub.docker.com/acme/*", "acme/api"),
    ("DOCKER.IO/*", "acme/api"),
])
def test_allowed_registries_globs_are_canonical(repo: Path, glob: str, image: str) -> None:
    (repo / "gates.toml").write_text(f'[manifests]\nallowed-registries = ["{glob}"]\n')
    _pod_with(repo, image + DIGEST)
    run = _gates(repo, "manifests", "deploy.yaml", "--format", "json")
    assert run.code == 0, run.out + run.err
    assert _registry_findings(run) == []
    _pod_with(repo, "quay.io/acme/api" + DIGEST)  # the glob still restricts
    run = _gates(repo, "manifests", "deploy.yaml", "--format", "json")
    assert run.code == 1 and len(_registry_findings(run)) == 1


BAD_GLOBS = [
    ("ghcr.io/Acme/*", "repository names are lowercase"),
    ("*.docker.io/*", "write docker.io"),
    ("GHCR/acme", "neither a registry host"),
    ("gh cr.io/acme", "invalid registry host"),
    ("ghcr.io/", "no repository after the host"),
]


@pytest.mark.parametrize(("glob", "problem"), BAD_GLOBS)
@pytest.mark.parametrize(("table", "key"), [
    ("[manifests]\nallowed-registries", "manifests.allowed-registries"),
    ("[base-image]\nallowed", "base-image.allowed"),
    ("[[signature.policies]]\nimages", "signature.policies"),
])
def test_a_glob_that_could_match_nothing_is_a_configuration_error(
    repo: Path, glob: str, problem: str, table: str, key: str
) -> None:
    authorities = '\n[[signature.policies.authorities]]\nkey = "cosign.pub"\n' if "signature" in table else ""
    (repo / "gates.toml").write_text(f'{table} = ["{glob}"]\n{authorities}')
    _pod_with(repo, "ghcr.io/acme/api" + DIGEST)
    run = _gates(repo, "manifests", "deploy.yaml")
    assert run.code == 2, run.out + run.err
    [line] = run.err.strip().splitlines()
    assert line.startswith("gates: configuration error: gates.toml: ") and key in line and problem in line


@pytest.mark.parametrize(("glob", "problem"), BAD_GLOBS[:3])
def test_a_bad_allowed_flag_is_a_usage_error(repo: Path, glob: str, problem: str) -> None:
    run = _gates(repo, "base-image", "ghcr.io/acme/api:1", "--allowed", glob)
    assert run.code == 2, run.out + run.err
    [line] = run.err.strip().splitlines()
    assert "--allowed" in line and problem in line


def test_signature_policy_glob_in_another_spelling_still_covers_its_images(
    registry: RegistryServer, repo: Path  # noqa: F811
) -> None:
    port = registry.host.rpartition(":")[2]
    image = f"localhost:{port}/globs/app{next(_counter)}:1"
    with RegistryClient(StaticCredentials({})) as client:
        oi.push_image(client, parse_reference(image), oi.image([oi.layer({"etc/marker": image})]))
    (repo / "cosign.pub").write_bytes(public_pem(ec.generate_private_key(ec.SECP256R1())))
    (repo / "gates.toml").write_text(
        f'[signature]\nimages = ["{image}"]\nallow-unmatched = true\n'
        f'[[signature.policies]]\nimages = ["LOCALHOST:{port}/globs/*"]\n'
        '[[signature.policies.authorities]]\nkey = "cosign.pub"\n')
    run = _gates(repo, "signature", "--format", "json")
    assert run.code == 1, run.out + run.err  # unsigned: covered by the policy, so never "allowed unverified"
    [result] = json.loads(run.out)["results"]
    assert result["outcome"] == "failed" and "allowed unverified" not in (result["error"] or "")
    assert [f["rule"] for f in result["findings"]] == ["signature-missing"]


@pytest.mark.parametrize(("glob", "base"), [
    ("INDEX.DOCKER.IO/library/debian", "debian:12"),
    ("registry-1.docker.io/debian", "docker.io/library/debian:12"),
    ("index.docker.io/library/debian:12*", "debian:12.8"),
    ("Docker.IO/library/*", "index.docker.io/library/debian:12"),
])
@pytest.mark.parametrize("where", ["config", "flag"])
def test_base_image_allowed_globs_are_canonical(tmp_path: Path, glob: str, base: str, where: str) -> None:
    """Judged offline: a claimed base must now be verified in its registry, which Docker Hub is not here."""
    (tmp_path / "gates.toml").write_text(f'[base-image]\nallowed = ["{glob}"]\n' if where == "config" else "")
    config = load_config(tmp_path / "gates.toml", env={})
    options = build_options(config.section("base-image"), config.section("patch-level"), config.section("registry"),
                            config_dir=tmp_path, today=config.today, injected_today=False,
                            flags=Overrides(allowed=(glob,)) if where == "flag" else None)
    assert base_is_allowed(parse_reference(base), options.allowed), options.allowed
    assert not base_is_allowed(parse_reference("quay.io/debian/debian:12"), options.allowed)  # still restricts
