"""`gates signature`: the signature gate on the command line, with cosign's own flag names."""

from __future__ import annotations

from typing import Annotated

import typer

from gates.cli_options import (
    AllowOutsideOpt,
    BaselineOpt,
    ColorChoice,
    ColorOpt,
    ConfigOpt,
    ConfigRefOpt,
    FailOnOpt,
    FormatOpt,
    OutputOpt,
    ShardOpt,
    VerboseOpt,
    option,
)
from gates.gate import CommonOptions, Invocation


def signature_command(
    images: Annotated[list[str] | None, typer.Argument(metavar="[IMAGE]...", show_default=False,
                                                       help="Image references (default: [signature] images).")]
    = None,
    key: Annotated[str | None, option("--key", "PEM public key the signature must verify with.", "PATH")] = None,
    identity: Annotated[str | None, option("--certificate-identity", "Keyless: exact certificate identity (SAN).",
                                           "IDENTITY")] = None,
    identity_regexp: Annotated[str | None, option("--certificate-identity-regexp", "Keyless: regexp the whole "
                                                  "SAN must match.", "REGEXP")] = None,
    issuer: Annotated[str | None, option("--certificate-oidc-issuer", "Keyless: exact OIDC issuer.",
                                         "URL")] = None,
    issuer_regexp: Annotated[str | None, option("--certificate-oidc-issuer-regexp", "Keyless: regexp the whole "
                                                "issuer must match.", "REGEXP")] = None,
    github_repository: Annotated[str | None, option("--certificate-github-workflow-repository", "Keyless: the "
                                                    "GitHub repository (owner/repo) the workflow ran in.",
                                                    "REPO")] = None,
    github_ref: Annotated[str | None, option("--certificate-github-workflow-ref", "Keyless: the workflow's git "
                                             "ref, e.g. refs/tags/v1.4.", "REF")] = None,
    github_trigger: Annotated[str | None, option("--certificate-github-workflow-trigger", "Keyless: the event "
                                                 "that triggered the workflow, e.g. push.", "EVENT")] = None,
    trusted_root: Annotated[str | None, option("--trusted-root", "trusted_root.json of a private Sigstore "
                                               "(default: the production root shipped with sigstore).",
                                               "PATH")] = None,
    ignore_tlog: Annotated[bool, typer.Option("--insecure-ignore-tlog", help="Accept signatures without a "
                                              "verified Rekor entry.")] = False,
    attestation: Annotated[list[str] | None, option("--attestation", "Also require an attestation of this "
                                                    "predicate type (URI or cosign name: slsaprovenance, "
                                                    "slsaprovenance1, spdxjson, cyclonedx, vuln, openvex, vsa), "
                                                    "verified by the same key or identity; repeatable.",
                                                    "TYPE")] = None,
    builder_id: Annotated[str | None, option("--builder-id", "SLSA provenance: the builder id it must name "
                                             "(without @version: any version).", "ID")] = None,
    source_uri: Annotated[str | None, option("--source-uri", "SLSA provenance: the source repository, e.g. "
                                             "github.com/acme/api.", "URI")] = None,
    notation_trust_policy: Annotated[str | None, option("--notation-trust-policy", "notation's trustpolicy.json:"
                                                        " verify Notary Project signatures under it.",
                                                        "FILE")] = None,
    notation_trust_store: Annotated[str | None, option("--notation-trust-store", "notation's trust-store folder"
                                                       " (holding x509/{ca,signingAuthority,tsa}/NAME/).",
                                                       "DIR")] = None,
    config: ConfigOpt = None, config_ref: ConfigRefOpt = None, format: FormatOpt = None, output: OutputOpt = None,
    fail_on: FailOnOpt = None, verbose: VerboseOpt = False, allow_outside: AllowOutsideOpt = False,
    color: ColorOpt = ColorChoice.AUTO, shard: ShardOpt = None, baseline: BaselineOpt = None,
) -> Invocation:
    """Verify cosign / Sigstore or Notary Project image signatures in the registry (flags, or [signature] policies)."""
    from gates.checks.signature.job import COMMAND_LINE, AttestationFlags, signature_job
    from gates.checks.signature.policy import AuthoritySpec

    flags = AuthoritySpec(where=COMMAND_LINE, key=key, identity=identity, identity_regexp=identity_regexp,
                          issuer=issuer, issuer_regexp=issuer_regexp, github_repository=github_repository,
                          github_ref=github_ref, github_trigger=github_trigger, trusted_root=trusted_root,
                          ignore_tlog=ignore_tlog, notation_trust_policy=notation_trust_policy,
                          notation_trust_store=notation_trust_store)
    chosen = tuple(images or ())
    return Invocation(CommonOptions(config, format, output, fail_on, verbose, allow_outside, config_ref,
                                    color=color.value, shard=shard, baseline=baseline),
                      lambda cfg: signature_job(cfg, chosen, flags,
                                                AttestationFlags(tuple(attestation or ()), builder_id, source_uri)))
