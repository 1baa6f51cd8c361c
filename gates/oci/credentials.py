"""Where registry credentials come from: the places the ecosystem keeps them, in a fixed order.

1. `GATES_REGISTRY_USERNAME` / `GATES_REGISTRY_PASSWORD`, for the hosts listed in `GATES_REGISTRY`
   (comma separated): scoped, so a CI secret is never offered to a registry it was not meant for.
2. Docker's config (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`): `credHelpers[host]`,
   else `credsStore`, else `auths[host]` (`auth` base64 `user:pass`, `username`/`password`,
   `identitytoken`), as `docker login` writes them.
3. CI variables where a user expects them, and only there: `CI_REGISTRY_USER`/`CI_REGISTRY_PASSWORD` for
   `CI_REGISTRY` under GitLab CI (`GITLAB_CI=true`), `GITHUB_TOKEN` for `ghcr.io` under GitHub Actions
   (`GITHUB_ACTIONS=true`): a token exported in a developer's shell is not a CI job's credential.

Secrets never appear in a repr, a str or an error message.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from gates.errors import ConfigError
from gates.oci.errors import AuthError

DOCKER_HUB_CONFIG_KEY = "https://index.docker.io/v1/"
"""The key `docker login` (and credential helpers) use for Docker Hub."""
_DOCKER_HUB_ALIASES = frozenset(
    {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)
_HELPER_TIMEOUT = 30.0


@dataclass(frozen=True)
class Credentials:
    """A username with a password, or an OAuth2 identity (refresh) token; secrets are hidden in repr."""

    username: str
    password: str = field(default="", repr=False)
    identity_token: str | None = field(default=None, repr=False)
    source: str = ""
    """Where these came from (`docker config`, `GITHUB_TOKEN`, ...), for diagnostics."""


class CredentialProvider(Protocol):
    """Anything that can say which credentials to use for a registry host (`host[:port]`)."""

    def get(self, registry: str) -> Credentials | None: ...


class StaticCredentials:
    """Fixed credentials per registry host; for tests and for callers that already hold them."""

    def __init__(self, by_host: Mapping[str, Credentials]) -> None:
        self._by_host = {canonical_host(k): v for k, v in by_host.items()}

    def get(self, registry: str) -> Credentials | None:
        return self._by_host.get(canonical_host(registry))

    def __repr__(self) -> str:
        return f"StaticCredentials(hosts={sorted(self._by_host)})"


HelperRunner = Callable[[str, str], "str | None"]
"""Runs `docker-credential-<name> get` with a server URL on stdin; returns stdout, None if not found."""


class DefaultCredentials:
    """The standard chain (see the module docstring); answers are cached per host, thread safe."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        config_dir: Path | None = None,
        run_helper: HelperRunner | None = None,
    ) -> None:
        self._env = dict(os.environ if env is None else env)
        if config_dir is None:
            configured = self._env.get("DOCKER_CONFIG")
            config_dir = Path(configured) if configured else Path.home() / ".docker"
        self._config_path = config_dir / "config.json"
        self._run_helper = run_helper or run_credential_helper
        self._cache: dict[str, Credentials | None] = {}
        self._lock = threading.Lock()
        self._config: dict[str, object] | None = None

    def __repr__(self) -> str:
        return f"DefaultCredentials(config={str(self._config_path)!r})"

    def get(self, registry: str) -> Credentials | None:
        host = canonical_host(registry)
        with self._lock:
            if host not in self._cache:
                self._cache[host] = (
                    self._from_gates_env(host) or self._from_docker_config(host) or self._from_ci(host)
                )
            return self._cache[host]

    def _from_gates_env(self, host: str) -> Credentials | None:
        user = self._env.get("GATES_REGISTRY_USERNAME")
        password = self._env.get("GATES_REGISTRY_PASSWORD")
        scope = {canonical_host(h) for h in self._env.get("GATES_REGISTRY", "").split(",") if h.strip()}
        if user and password and host in scope:
            return Credentials(user, password, source="GATES_REGISTRY_USERNAME/PASSWORD")
        return None

    def _from_ci(self, host: str) -> Credentials | None:
        gitlab = self._env.get("CI_REGISTRY") if self._env.get("GITLAB_CI") == "true" else None
        user, password = self._env.get("CI_REGISTRY_USER"), self._env.get("CI_REGISTRY_PASSWORD")
        if gitlab and user and password and canonical_host(gitlab) == host:
            return Credentials(user, password, source="CI_REGISTRY_USER/PASSWORD")
        token = self._env.get("GITHUB_TOKEN") if self._env.get("GITHUB_ACTIONS") == "true" else None
        if token and host == "ghcr.io":
            return Credentials(self._env.get("GITHUB_ACTOR") or "github-actions", token, source="GITHUB_TOKEN")
        return None

    def _load_config(self) -> dict[str, object]:
        if self._config is None:
            try:
                text = self._config_path.read_text(encoding="utf-8")
            except FileNotFoundError:
                text = "{}"
            except OSError as exc:
                raise ConfigError(f"cannot read {self._config_path}: {exc.strerror}") from None
            try:
                loaded = json.loads(text)
            except ValueError:
                raise ConfigError(f"{self._config_path} is not valid JSON") from None
            self._config = loaded if isinstance(loaded, dict) else {}
        return self._config

    def _from_docker_config(self, host: str) -> Credentials | None:
        config = self._load_config()
        server = DOCKER_HUB_CONFIG_KEY if host == "docker.io" else host
        helpers = config.get("credHelpers")
        helper = helpers.get(host) if isinstance(helpers, dict) else None
        if not isinstance(helper, str) or not helper:
            store = config.get("credsStore")
            helper = store if isinstance(store, str) and store else None
        if helper:
            found = self._ask_helper(helper, server, host)
            if found is not None:
                return found
        auths = config.get("auths")
        if isinstance(auths, dict):
            for key, entry in auths.items():
                if isinstance(key, str) and canonical_host(key) == host and isinstance(entry, dict):
                    creds = self._from_auth_entry(entry, host)
                    if creds is not None:
                        return creds
        return None

    def _ask_helper(self, helper: str, server: str, host: str) -> Credentials | None:
        out = self._run_helper(helper, server)
        if out is None:
            return None
        try:
            answer = json.loads(out)
            user, secret = answer["Username"], answer["Secret"]
        except (ValueError, KeyError, TypeError):
            raise AuthError(f"docker-credential-{helper} gave an unreadable answer for {host}") from None
        if not isinstance(user, str) or not isinstance(secret, str) or not secret:
            return None
        source = f"docker-credential-{helper}"
        if user == "<token>":
            return Credentials("", identity_token=secret, source=source)
        return Credentials(user, secret, source=source)

    def _from_auth_entry(self, entry: Mapping[str, object], host: str) -> Credentials | None:
        source = f"{self._config_path} auths"
        token = entry.get("identitytoken")
        user, password = entry.get("username"), entry.get("password")
        encoded = entry.get("auth")
        if isinstance(encoded, str) and encoded:
            try:
                user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                sep = ""
            if not sep:
                raise ConfigError(f"{self._config_path}: the auth entry for {host} is not base64 user:password")
        if isinstance(token, str) and token:
            return Credentials(user if isinstance(user, str) else "", identity_token=token, source=source)
        if isinstance(user, str) and isinstance(password, str) and user and password:
            return Credentials(user, password, source=source)
        return None


def canonical_host(server: str) -> str:
    """`https://index.docker.io/v1/` -> `docker.io`; `HTTPS://Quay.io/x` -> `quay.io` (Docker's rules)."""
    host = server.strip()
    for prefix in ("https://", "http://"):
        if host.lower().startswith(prefix):
            host = host[len(prefix) :]
    host = host.split("/", 1)[0].lower()
    return "docker.io" if host in _DOCKER_HUB_ALIASES else host


def run_credential_helper(helper: str, server: str) -> str | None:
    """Run `docker-credential-<helper> get`; None when it is not installed or has nothing for `server`."""
    exe = shutil.which(f"docker-credential-{helper}")
    if exe is None:
        return None
    try:
        done = subprocess.run(
            [exe, "get"], input=server, capture_output=True, text=True, timeout=_HELPER_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise AuthError(f"docker-credential-{helper} timed out for {canonical_host(server)}") from None
    if done.returncode != 0:
        if "credentials not found" in (done.stdout + done.stderr).lower():
            return None
        raise AuthError(
            f"docker-credential-{helper} failed for {canonical_host(server)} (exit {done.returncode})"
        )
    return done.stdout
