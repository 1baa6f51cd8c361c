"""Build the signature gate's job from the configuration and cosign-style flags, before anything runs.

Everything that can be wrong with a policy (a key that does not load, contradictory flags, no images)
is found here, so it ends the run with exit 2 before the first request. With an authority on the
command line it is the only policy and covers every image; otherwise the `[signature]` policies apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from gates.checks.signature.gate import SignatureOptions, check_images
from gates.checks.signature.policy import (
    AuthoritySpec,
    Policy,
    authority_problem,
    build_authority,
    build_notation_authority,
    build_policies,
)
from gates.checks.signature.rules import GATE
from gates.config import Config
from gates.engine import GateJob
from gates.errors import ConfigError, UsageError
from gates.model import Result
from gates.paths import display_path

if TYPE_CHECKING:
    from gates.attest.verify import Requirement
    from gates.cosign.authority import Authority
    from gates.notation.authority import NotationAuthority

FLAG_NAMES = {
    "key": "--key",
    "identity": "--certificate-identity",
    "identity-regexp": "--certificate-identity-regexp",
    "issuer": "--certificate-oidc-issuer",
    "issuer-regexp": "--certificate-oidc-issuer-regexp",
    "github-repository": "--certificate-github-workflow-repository",
    "github-ref": "--certificate-github-workflow-ref",
    "github-trigger": "--certificate-github-workflow-trigger",
    "notation-trust-policy": "--notation-trust-policy",
    "notation-trust-store": "--notation-trust-store",
}
"""Policy keys -> cosign's flag names, so command-line mistakes are reported in the user's terms."""


COMMAND_LINE = "command line"


@dataclass(frozen=True)
class AttestationFlags:
    """`--attestation TYPE...`, `--builder-id`, `--source-uri`: required of every image with the flag authority."""

    types: tuple[str, ...] = ()
    builder_id: str | None = None
    source_uri: str | None = None

    @property
    def given(self) -> bool:
        return bool(self.types or self.builder_id or self.source_uri)


def _flag_requirements(flags: AttestationFlags, authority: Authority) -> tuple[Requirement, ...]:
    """One requirement per `--attestation`; the SLSA conditions go to the provenance types among them."""
    from gates.attest.conditions import BuilderId, SourceUri, StatementCondition
    from gates.attest.predicates import SLSA_PROVENANCE, predicate_type
    from gates.attest.verify import Requirement

    requirements = []
    slsa_given = False
    for name in dict.fromkeys(flags.types):
        try:
            uri = predicate_type(name)
        except ValueError as exc:
            raise UsageError(f"--attestation: {exc}") from None
        conditions: list[StatementCondition] = []
        if uri in SLSA_PROVENANCE:
            slsa_given = True
            if flags.builder_id:
                conditions.append(BuilderId(flags.builder_id))
            if flags.source_uri:
                conditions.append(SourceUri(flags.source_uri))
        requirements.append(Requirement(uri, (authority,), tuple(conditions), name=name))
    if (flags.builder_id or flags.source_uri) and not slsa_given:
        raise UsageError("--builder-id and --source-uri are conditions on SLSA provenance: add --attestation"
                         " slsaprovenance1 (SLSA v1) or --attestation slsaprovenance (v0.2)")
    return tuple(requirements)


def signature_job(config: Config, images: Sequence[str] = (), flags: AuthoritySpec | None = None,
                  attestation_flags: AttestationFlags | None = None) -> GateJob:
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
    notation_flags = flags.notation_trust_policy is not None or flags.notation_trust_store is not None
    if flags.names_signer or notation_flags:
        if flags.ignore_tlog and not flags.names_signer:
            raise UsageError("--insecure-ignore-tlog applies to cosign signatures: it needs --key or"
                             " --certificate-identity[-regexp]")
        if attestation_flags is not None and attestation_flags.given and not flags.names_signer:
            raise UsageError("--attestation, --builder-id and --source-uri need --key or"
                             " --certificate-identity[-regexp]: attestations are verified as cosign verifies them")
        authorities: tuple[Authority, ...] = ()
        requirements: tuple[Requirement, ...] = ()
        if flags.names_signer:
            # the flag's root is already the default root above
            spec = replace(flags, trusted_root=None, notation_trust_policy=None, notation_trust_store=None)
            problem = authority_problem(spec, FLAG_NAMES)
            if problem:
                raise UsageError(problem)
            try:
                authority = build_authority(spec, Path.cwd(), default_root, COMMAND_LINE)
            except ConfigError as exc:
                raise UsageError(str(exc).removeprefix(f"{COMMAND_LINE}: {COMMAND_LINE}: ")) from None
            authorities = (authority,)
            requirements = _flag_requirements(attestation_flags or AttestationFlags(), authority)
        policies: tuple[Policy, ...] = (
            Policy(COMMAND_LINE, ("*",), authorities, _notation_flags(flags) if notation_flags else (),
                   attestations=requirements),)
        allow_unmatched = False
    else:
        if attestation_flags is not None and attestation_flags.given:
            raise UsageError("--attestation, --builder-id and --source-uri need --key or"
                             " --certificate-identity[-regexp] (for the configured policies, list them in"
                             " [[signature.policies.attestations]])")
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


def _notation_flags(flags: AuthoritySpec) -> tuple[NotationAuthority, ...]:
    """The notation authority of `--notation-trust-policy` + `--notation-trust-store` (both, or a usage error).

    A trust policy that does not parse or is ambiguous, or a store it names that is missing, is a
    configuration error (exit 2) naming the file.
    """
    if flags.notation_trust_policy is None or flags.notation_trust_store is None:
        given, needed = ("--notation-trust-policy", "--notation-trust-store") if flags.notation_trust_store is None \
            else ("--notation-trust-store", "--notation-trust-policy")
        raise UsageError(f"{given} needs {needed} (notation's trust policy names stores inside that folder)")
    spec = AuthoritySpec(where=COMMAND_LINE, notation_trust_policy=flags.notation_trust_policy,
                         notation_trust_store=flags.notation_trust_store)
    try:
        return (build_notation_authority(spec, Path.cwd(), "--notation-trust-policy"),)
    except ConfigError as exc:
        raise ConfigError(str(exc).replace(f"--notation-trust-policy: {COMMAND_LINE}: ", "")) from None


def _run(config: Config, options: SignatureOptions) -> list[Result]:
    from gates.progress import Progress
    from gates.registry_client import client_from_config

    with Progress(GATE, len(dict.fromkeys(options.images))) as progress, \
            client_from_config(config, on_retry=progress.retry) as client:
        return check_images(options, client, progress.track)
