"""The signature gate: every image must carry a cosign / Sigstore signature a policy's authority accepts.

This module is the gate as the registry sees it (`gates.gate.Gate`); its logic lives beside it:
- `options` / `policy`: the `[signature]` table and its policies, validated from TOML without heavy
  imports, then built into `gates.cosign.Authority` objects (keys loaded, regexps compiled) before
  anything runs.
- `discovery`: what the registry holds for a digest (the legacy `.sig` tag, cosign v3 bundles as OCI
  referrers), fetched lazily so a key-signed image costs three requests.
- `gate`: one result per image, concurrently, decided by `gates.cosign`.
- `job`: config and cosign-style flags -> the job; `command`: `gates signature`.

Kept light: importing this package imports neither `requests`, `cryptography` nor `sigstore`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from gates.checks.signature.rules import GATE
from gates.checks.signature.rules import RULES as RULES
from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from gates.config import Config
    from gates.engine import GateJob
    from gates.gate import DataFile, Invocation, RunFlags
    from gates.validators import Schema

NAME = GATE
SUMMARY = ("cosign / Sigstore and Notary Project (notation) signatures of images, verified from the registry"
           " against keys, identities or notation trust policies")
NEEDS_NETWORK = True
DEFAULT = False
ENVIRONMENT: Mapping[str, str] = {}


def data_files() -> tuple[DataFile, ...]:
    return ()


def config_tables() -> Mapping[str, Schema]:
    from gates.checks.signature.options import TABLE

    return {NAME: TABLE}



def trusted_files(config: Config) -> Mapping[str, str]:
    signature = config.sections.get(NAME, {})
    named: dict[str, str] = {}
    if signature.get("trusted-root"):
        named["signature.trusted-root"] = signature["trusted-root"]
    for number, policy in enumerate(signature.get("policies", ()), start=1):
        for index, authority in enumerate(policy.authorities, start=1):
            where = f"signature.policies[{number}].authorities[{index}]"
            for attribute in ("key", "trusted_root", "notation_trust_policy", "notation_trust_store"):
                value = getattr(authority, attribute)
                if value:
                    named[f"{where}.{attribute.replace('_', '-')}"] = value
        if policy.attestations:
            from gates.checks.signature.attestations import trusted_paths

            named.update(trusted_paths(policy.attestations, f"signature.policies[{number}]"))
    return named


def build_job(config: Config, flags: RunFlags) -> GateJob:
    from gates.checks.signature.job import signature_job

    return signature_job(config)


def cli_command() -> Callable[..., Invocation]:
    from gates.checks.signature.command import signature_command

    return signature_command
