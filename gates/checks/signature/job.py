"""Build the signature gate's job from the configuration and cosign-style flags, before anything runs.

Everything that can be wrong with a policy (a key that does not load, contradictory flags, no images)
is found here, so it ends the run with exit 2 before the first request. With an authority on the
command line it is the only policy and covers every image; otherwise the `[signature]` policies apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from gates.checks.signature.gate import SignatureOptions, check_images
from gates.checks.signature.policy import AuthoritySpec, Policy, authority_problem, build_authority, build_policies
from gates.checks.signature.rules import GATE
from gates.config import Config
from gates.engine import GateJob
from gates.errors import ConfigError, UsageError
from gates.model import Result
from gates.paths import display_path

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


COMMAND_LINE = "command line"


def signature_job(config: Config, images: Sequence[str] = (), flags: AuthoritySpec | None = None) -> GateJob:
    """The gate as a job over `images` (default: `[signature] images`); raises Usage/ConfigError early.

    `flags` are cosign's flags as given on the command line, in the shape of a configured authority;
    its `trusted_root` is the default root for every authority, as `--trusted-root` is for cosign.
    """
    flags = flags or AuthoritySpec(where=COMMAND_LINE)
    section = config.section("signature")
    where = display_path(config.source) if config.source else "configuration"
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
    if flags.names_signer:
        spec = replace(flags, trusted_root=None)  # the flag's root is already the default root above
        problem = authority_problem(spec, FLAG_NAMES)
        if problem:
            raise UsageError(problem)
        try:
            authority = build_authority(spec, Path.cwd(), default_root, COMMAND_LINE)
        except ConfigError as exc:
            raise UsageError(str(exc).removeprefix(f"{COMMAND_LINE}: {COMMAND_LINE}: ")) from None
        policies: tuple[Policy, ...] = (Policy(COMMAND_LINE, ("*",), (authority,)),)
        allow_unmatched = False
    else:
        if flags.ignore_tlog:
            raise UsageError("--insecure-ignore-tlog needs --key or --certificate-identity[-regexp] (for the"
                             " configured policies, set ignore-tlog on their authorities)")
        policies = build_policies(section["policies"], base, default_root, where)
        allow_unmatched = section["allow-unmatched"]
        if not policies:
            raise ConfigError(f"{where}: signature: no [[signature.policies]] and no --key or"
                              " --certificate-identity: nothing could verify an image"
                              + (" (allow-unmatched would skip every image unverified)" if allow_unmatched
                                 else ""))
    if config.shard is not None:  # each image is its own target: this shard verifies only its own
        chosen = tuple(config.shard.select(chosen, str))
    options = SignatureOptions(images=chosen, policies=policies, allow_unmatched=allow_unmatched,
                               concurrency=config.section("registry")["concurrency"])
    return GateJob(GATE, lambda: _run(config, options))


def _run(config: Config, options: SignatureOptions) -> list[Result]:
    from gates.progress import Progress
    from gates.registry_client import client_from_config

    with Progress(GATE, len(dict.fromkeys(options.images))) as progress, \
            client_from_config(config, on_retry=progress.retry) as client:
        return check_images(options, client, progress.track)
