"""Build the signature gate's job from the configuration and cosign-style flags, before anything runs.

Everything that can be wrong with a policy (a key that does not load, contradictory flags, no images)
is found here, so it ends the run with exit 2 before the first request. With an authority on the
command line it is the only policy and covers every image; otherwise the `[signature]` policies apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from gates.checks.signature import GATE
from gates.checks.signature.gate import SignatureOptions, check_images
from gates.checks.signature.policy import AuthoritySpec, Policy, authority_problem, build_authority, build_policies
from gates.config import Config
from gates.engine import GateJob
from gates.errors import ConfigError, UsageError
from gates.model import Result

FLAG_NAMES = {
    "key": "--key",
    "identity": "--certificate-identity",
    "identity-regexp": "--certificate-identity-regexp",
    "issuer": "--certificate-oidc-issuer",
    "issuer-regexp": "--certificate-oidc-issuer-regexp",
    "github-repository": "--certificate-github-workflow-repository",
    "github-ref": "--certificate-github-workflow-ref",
    "github-trigger": "--certificate-github-workflow-trigger",
}
"""Policy keys -> cosign's flag names, so command-line mistakes are reported in the user's terms."""


@dataclass(frozen=True)
class SignatureFlags:
    """cosign's verification flags as given on the command line (None: not given)."""

    key: str | None = None
    identity: str | None = None
    identity_regexp: str | None = None
    issuer: str | None = None
    issuer_regexp: str | None = None
    github_repository: str | None = None
    github_ref: str | None = None
    github_trigger: str | None = None
    trusted_root: str | None = None
    ignore_tlog: bool = False

    @property
    def names_authority(self) -> bool:
        """Whether any flag describes a signer (then the config's policies are not used)."""
        return any(getattr(self, f.name) is not None for f in fields(self) if f.name not in ("trusted_root",
                                                                                              "ignore_tlog"))


def signature_job(config: Config, images: Sequence[str] = (), flags: SignatureFlags | None = None) -> GateJob:
    """The gate as a job over `images` (default: `[signature] images`); raises Usage/ConfigError early."""
    flags = flags or SignatureFlags()
    section = config.section("signature")
    where = _display(config.source) if config.source else "configuration"
    base = config.source.parent if config.source else Path.cwd()
    chosen = tuple(images) or tuple(section["images"])
    if not chosen:
        raise UsageError(f"the signature gate has no images to check: give `gates signature` IMAGE arguments,"
                         f" or list them in [signature] images ({where})")
    default_root: str | None = None
    if flags.trusted_root:
        default_root = str(Path(flags.trusted_root).expanduser().resolve())
    elif section["trusted-root"]:
        default_root = str(base / Path(section["trusted-root"]).expanduser())
    if flags.names_authority:
        spec = AuthoritySpec(where="command line", key=flags.key, identity=flags.identity,
                             identity_regexp=flags.identity_regexp, issuer=flags.issuer,
                             issuer_regexp=flags.issuer_regexp, github_repository=flags.github_repository,
                             github_ref=flags.github_ref, github_trigger=flags.github_trigger,
                             ignore_tlog=flags.ignore_tlog)
        problem = authority_problem(spec, FLAG_NAMES)
        if problem:
            raise UsageError(problem)
        try:
            authority = build_authority(spec, Path.cwd(), default_root, "command line")
        except ConfigError as exc:
            raise UsageError(str(exc).removeprefix("command line: command line: ")) from None
        policies: tuple[Policy, ...] = (Policy("command line", ("*",), (authority,)),)
        allow_unmatched = False
    else:
        if flags.ignore_tlog:
            raise UsageError("--insecure-ignore-tlog needs --key or --certificate-identity[-regexp] (for the"
                             " configured policies, set ignore-tlog on their authorities)")
        policies = build_policies(section["policies"], base, default_root, where)
        allow_unmatched = section["allow-unmatched"]
    options = SignatureOptions(images=chosen, policies=policies, allow_unmatched=allow_unmatched,
                               concurrency=config.section("registry")["concurrency"])
    return GateJob(GATE, lambda: _run(config, options))


def _run(config: Config, options: SignatureOptions) -> list[Result]:
    from gates.progress import Progress
    from gates.registry_client import client_from_config

    with client_from_config(config) as client, Progress(GATE, len(options.images)) as progress:
        return check_images(options, client, progress.advance)


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return str(path)
