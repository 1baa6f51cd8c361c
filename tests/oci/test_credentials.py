"""Credentials from Docker's config, real credential helper processes, and CI variables."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from gates.errors import ConfigError
from gates.oci.auth import basic_header, parse_challenges, repository_scope
from gates.oci.credentials import Credentials, DefaultCredentials, canonical_host
from gates.oci.errors import AuthError


def write_config(directory: Path, doc: dict[str, object]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(doc), encoding="utf-8")
    return directory


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_auths_entries_in_every_form(tmp_path: Path) -> None:
    config = write_config(tmp_path / "docker", {"auths": {
        "https://index.docker.io/v1/": {"auth": b64("hubuser:hubpass")},
        "ghcr.io": {"username": "octo", "password": "ghp_secret"},
        "https://quay.io/v2/": {"auth": b64("quser:qpass:with:colons")},
        "private.example.com:5000": {"identitytoken": "refresh-me"},
    }})
    creds = DefaultCredentials(env={"DOCKER_CONFIG": str(config)})
    hub = creds.get("docker.io")
    assert hub is not None and (hub.username, hub.password) == ("hubuser", "hubpass")
    assert creds.get("registry-1.docker.io") == hub
    ghcr = creds.get("ghcr.io")
    assert ghcr is not None and (ghcr.username, ghcr.password) == ("octo", "ghp_secret")
    quay = creds.get("quay.io")
    assert quay is not None and quay.password == "qpass:with:colons"
    private = creds.get("private.example.com:5000")
    assert private is not None and private.identity_token == "refresh-me"
    assert creds.get("private.example.com") is None  # the port is part of the key
    assert creds.get("gcr.io") is None


def test_broken_auth_entry_is_a_config_error_without_the_secret(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"auths": {"ghcr.io": {"auth": b64("no-colon-secret")}}})
    with pytest.raises(ConfigError, match="not base64 user:password") as caught:
        DefaultCredentials(env={}, config_dir=config).get("ghcr.io")
    assert "no-colon-secret" not in str(caught.value)


def test_home_docker_config_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    write_config(tmp_path / ".docker", {"auths": {"ghcr.io": {"auth": b64("u:p")}}})
    found = DefaultCredentials(env={}).get("ghcr.io")
    assert found is not None and found.username == "u"


def fake_helper(bin_dir: Path, name: str, answers: dict[str, dict[str, str]], log: Path) -> None:
    """A real executable `docker-credential-<name>` that answers like Docker's helpers do."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / f"docker-credential-{name}"
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import json, sys\n"
        f"answers = {answers!r}\n"
        "server = sys.stdin.read().strip()\n"
        f"open({str(log)!r}, 'a').write(sys.argv[1] + ' ' + server + '\\n')\n"
        "if server not in answers:\n"
        "    print('credentials not found in native keychain'); sys.exit(1)\n"
        "print(json.dumps(answers[server]))\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def test_cred_helpers_and_creds_store_run_real_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir, log = tmp_path / "bin", tmp_path / "helper.log"
    fake_helper(bin_dir, "vault", {"ghcr.io": {"ServerURL": "ghcr.io", "Username": "v", "Secret": "vault-secret"}},
                log)
    fake_helper(bin_dir, "desktop", {
        "https://index.docker.io/v1/": {"ServerURL": "", "Username": "<token>", "Secret": "hub-identity"},
    }, log)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    config = write_config(tmp_path / "docker", {
        "credsStore": "desktop",
        "credHelpers": {"ghcr.io": "vault"},
        "auths": {"quay.io": {"auth": b64("fallback:pw")}},
    })
    creds = DefaultCredentials(env={"DOCKER_CONFIG": str(config)})
    ghcr = creds.get("ghcr.io")
    assert ghcr is not None and (ghcr.username, ghcr.password) == ("v", "vault-secret")
    hub = creds.get("docker.io")
    assert hub is not None and hub.identity_token == "hub-identity" and hub.password == ""
    quay = creds.get("quay.io")  # the store has nothing for it: the auths entry is used
    assert quay is not None and quay.username == "fallback"
    assert creds.get("ghcr.io") is ghcr  # cached: the helper ran once per host
    assert log.read_text().splitlines() == ["get ghcr.io", "get https://index.docker.io/v1/", "get quay.io"]


def test_a_failing_helper_is_an_error_that_hides_its_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "docker-credential-broken"
    script.write_text("#!/bin/sh\necho 'leaked-secret-in-output' >&2\nexit 3\n", encoding="utf-8")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    config = write_config(tmp_path / "docker", {"credsStore": "broken"})
    with pytest.raises(AuthError, match=r"docker-credential-broken failed for ghcr.io \(exit 3\)") as caught:
        DefaultCredentials(env={"DOCKER_CONFIG": str(config)}).get("ghcr.io")
    assert "leaked" not in str(caught.value)


def test_a_missing_helper_means_no_credentials(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"credsStore": "not-installed-anywhere"})
    assert DefaultCredentials(env={}, config_dir=config).get("ghcr.io") is None


def test_ci_variables(tmp_path: Path) -> None:
    empty = write_config(tmp_path, {})
    env = {
        "CI_REGISTRY": "registry.gitlab.example.com", "CI_REGISTRY_USER": "gitlab-ci-token",
        "CI_REGISTRY_PASSWORD": "job-token", "GITHUB_TOKEN": "ghs_token", "GITHUB_ACTOR": "octocat",
        "GITLAB_CI": "true", "GITHUB_ACTIONS": "true",
    }
    creds = DefaultCredentials(env=env, config_dir=empty)
    gitlab = creds.get("registry.gitlab.example.com")
    assert gitlab is not None and (gitlab.username, gitlab.password) == ("gitlab-ci-token", "job-token")
    ghcr = creds.get("ghcr.io")
    assert ghcr is not None and (ghcr.username, ghcr.password) == ("octocat", "ghs_token")
    assert creds.get("docker.io") is None  # neither token is offered to another registry


@pytest.mark.parametrize("ci", [{}, {"GITLAB_CI": "false", "GITHUB_ACTIONS": "false"}, {"CI": "true"}])
def test_ci_variables_count_only_under_their_ci(tmp_path: Path, ci: dict[str, str]) -> None:
    """The README promises these under GitLab CI / GitHub Actions: a token left in a shell is never sent."""
    env = {
        "CI_REGISTRY": "registry.gitlab.example.com", "CI_REGISTRY_USER": "gitlab-ci-token",
        "CI_REGISTRY_PASSWORD": "job-token", "GITHUB_TOKEN": "ghs_token", **ci,
    }
    creds = DefaultCredentials(env=env, config_dir=write_config(tmp_path, {}))
    assert creds.get("registry.gitlab.example.com") is None
    assert creds.get("ghcr.io") is None
    only_github = DefaultCredentials(env={**env, "GITHUB_ACTIONS": "true"}, config_dir=write_config(tmp_path, {}))
    assert only_github.get("registry.gitlab.example.com") is None  # GitLab's token needs GitLab CI
    found = only_github.get("ghcr.io")
    assert found is not None and found.source == "GITHUB_TOKEN"


def test_gates_variables_apply_only_to_the_hosts_they_name(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"auths": {"ghcr.io": {"auth": b64("fromconfig:pw")}}})
    env = {"GATES_REGISTRY_USERNAME": "ci", "GATES_REGISTRY_PASSWORD": "ci-pass",
           "GATES_REGISTRY": "ghcr.io, registry.example.com:5000"}
    creds = DefaultCredentials(env=env, config_dir=config)
    ghcr = creds.get("ghcr.io")
    assert ghcr is not None and ghcr.username == "ci"  # explicit variables win over the config
    other = creds.get("registry.example.com:5000")
    assert other is not None and other.password == "ci-pass"
    assert creds.get("docker.io") is None
    unscoped = DefaultCredentials(env={k: v for k, v in env.items() if k != "GATES_REGISTRY"}, config_dir=config)
    found = unscoped.get("ghcr.io")
    assert found is not None and found.username == "fromconfig"


def test_secrets_never_show_in_repr() -> None:
    creds = Credentials("alice", "p@ssw0rd-value", identity_token="tok-value", source="test")
    assert "p@ssw0rd-value" not in repr(creds) and "tok-value" not in repr(creds)
    assert "p@ssw0rd-value" not in str(creds)
    assert "alice" in repr(creds)


@pytest.mark.parametrize(("server", "host"), [
    ("https://index.docker.io/v1/", "docker.io"),
    ("registry-1.docker.io", "docker.io"),
    ("HTTPS://Quay.IO/v2/", "quay.io"),
    ("http://localhost:5000", "localhost:5000"),
    ("ghcr.io", "ghcr.io"),
])
def test_canonical_host(server: str, host: str) -> None:
    assert canonical_host(server) == host


def test_challenge_parsing() -> None:
    header = ('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
              'scope="repository:library/alpine:pull",error="insufficient_scope", Basic realm="x \\"y\\""')
    bearer, basic = parse_challenges(header)
    assert bearer.scheme == "bearer"
    assert bearer.params == {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                             "scope": "repository:library/alpine:pull", "error": "insufficient_scope"}
    assert basic.scheme == "basic" and basic.params == {"realm": 'x "y"'}
    assert parse_challenges("Basic") == [parse_challenges("basic")[0]]
    assert repository_scope("a/b", push=True) == "repository:a/b:pull,push"
    assert basic_header(Credentials("u", "p")) == "Basic dTpw"
