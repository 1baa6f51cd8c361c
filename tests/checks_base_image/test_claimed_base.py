"""A base is believed only when its layers are the image's first layers (real registry, the CLI in-process).

The base an image names (annotation, config label, or the Dockerfile given) is a claim of whoever built
it. Each image here claims an approved, fresh base; some are really built on an old, unapproved one.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gates.oci.client import RegistryClient
from gates.oci.credentials import StaticCredentials
from gates.oci.manifest import Platform
from tests.checks_base_image.images import ALPINE_322, APP, BASE_DIGEST, BASE_NAME, DEBIAN_13, NOW, ref
from tests.conftest import CliRun
from tests.support import oci_images as oi
from tests.support.registry import RegistryServer

Cli = Callable[[Sequence[str]], CliRun]

EVIL = oi.layer({"etc/os-release": 'ID=debian\nVERSION_ID="13"\n', "usr/bin/miner": "#!/bin/sh\n"})
DEBIAN_13_ARM = oi.layer({"etc/os-release": 'ID=debian\nVERSION_ID="13"\n', "etc/arch": "arm64\n"})
INTERMEDIATE = oi.layer({"opt/toolchain": "gcc\n"})
ONLY_BASE_RULES = ('skip-rules = ["base-image-os-eol", "base-image-os-unknown", "base-image-point-release-lag",'
                   ' "base-image-vulnerable-package", "base-image-non-root", "base-image-pinning",'
                   ' "base-image-rolling-stale"]\n')
"""Leaves age, base age, drift and approval: what a base claim steers."""


@dataclass(frozen=True)
class Claims:
    """The pushed images, by what they claim and what they are."""

    approved: str
    """`{host}/approved/...`: what `--allowed` admits."""
    debian: str
    debian_digest: str
    alpine: str
    evil: str
    genuine: str
    lying_annotation: str
    lying_label: str
    platforms: str
    """An index: amd64 built on the claimed base, arm64 on the amd64 base's layers though it claims the index."""
    inherited_lie: str
    """Built FROM an intermediate (on the evil base) whose labels claim the approved debian; no annotations."""
    inherited_truth: str
    """Built FROM an intermediate on the approved debian whose labels name that debian; no annotations."""
    unclaimed: str
    """Built on the evil base, naming no base at all."""
    by_tag: str
    """Names its base by tag alone, and that tag has moved since."""
    by_tag_current: str
    """Names the same tag, built on what it names now."""


def _app(layers: Sequence[bytes], *, annotations: Mapping[str, str] | None = None,
         labels: Mapping[str, str] | None = None, architecture: str = "amd64") -> oi.Image:
    return oi.image([*layers, APP], created="2026-11-20T00:00:00Z", user="1000", annotations=annotations,
                    labels=labels, architecture=architecture)


def _diff_id(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(gzip.decompress(blob)).hexdigest()


def _push(host: str) -> Claims:
    approved = f"{host}/approved"
    with RegistryClient(StaticCredentials({})) as client:
        amd = oi.image([DEBIAN_13], created="2026-11-10T08:00:00Z")
        arm = oi.image([DEBIAN_13_ARM], created="2026-11-10T08:00:00Z", architecture="arm64")
        debian = f"{approved}/debian:13"
        digest = str(oi.push_index(client, ref(debian), oi.index([(amd, Platform("linux", "amd64")),
                                                                   (arm, Platform("linux", "arm64"))])))
        alpine = f"{approved}/alpine:3.22"
        oi.push_image(client, ref(alpine), oi.image([ALPINE_322], created="2026-11-01T00:00:00Z"))
        evil = f"{host}/evil/base:1"
        evil_image = oi.image([EVIL], created="2020-01-01T00:00:00Z")
        oi.push_image(client, ref(evil), evil_image)
        claim = {BASE_NAME: debian, BASE_DIGEST: digest}
        apps = f"{host}/claims/app"
        images = {
            "genuine": _app([DEBIAN_13], annotations=claim),
            "lying-annotation": _app([EVIL], annotations=claim),
            "lying-label": _app([EVIL], labels=claim),
            "inherited-lie": _app([EVIL, INTERMEDIATE], labels=claim),
            "inherited-truth": _app([DEBIAN_13, INTERMEDIATE], labels=claim),
            "unclaimed": _app([EVIL]),
        }
        for tag, img in images.items():
            oi.push_image(client, ref(f"{apps}:{tag}"), img)
        moving = f"{approved}/debian-moving:13"  # named by tag only; the tag moves after the build
        oi.push_image(client, ref(moving), amd)
        oi.push_image(client, ref(f"{apps}:by-tag"), _app([DEBIAN_13], annotations={BASE_NAME: moving}))
        oi.push_image(client, ref(moving), oi.image([ALPINE_322], created="2026-11-15T00:00:00Z"))
        oi.push_image(client, ref(f"{apps}:by-tag-current"), _app([ALPINE_322], annotations={BASE_NAME: moving}))
        recompressed = gzip.compress(gzip.decompress(DEBIAN_13), compresslevel=1, mtime=1)
        assert recompressed != DEBIAN_13
        oi.push_image(client, ref(f"{apps}:recompressed"), _app([recompressed], annotations=claim))
        forged = _app([EVIL], annotations=claim)  # then its config is rewritten to list the base's layers
        config = json.loads(forged.config)
        config["rootfs"]["diff_ids"] = [_diff_id(DEBIAN_13), _diff_id(APP)]
        oi.push_image(client, ref(f"{apps}:forged-config"), oi.image([EVIL, APP], config=config, annotations=claim))
        oi.push_index(client, ref(f"{apps}:platforms"), oi.index([
            (_app([DEBIAN_13], annotations=claim), Platform("linux", "amd64")),
            (_app([DEBIAN_13], annotations=claim, architecture="arm64"), Platform("linux", "arm64")),
        ]))
    return Claims(approved=f"{approved}/*", debian=debian, debian_digest=digest, alpine=alpine, evil=evil,
                  genuine=f"{apps}:genuine", lying_annotation=f"{apps}:lying-annotation",
                  lying_label=f"{apps}:lying-label", platforms=f"{apps}:platforms",
                  inherited_lie=f"{apps}:inherited-lie", inherited_truth=f"{apps}:inherited-truth",
                  unclaimed=f"{apps}:unclaimed", by_tag=f"{apps}:by-tag", by_tag_current=f"{apps}:by-tag-current")


@pytest.fixture(scope="module")
def claims(registry: RegistryServer) -> Claims:
    return _push(registry.host)


def _gate(cli: Cli, tmp_path: Path, claims: Claims, image: str, *args: str) -> dict[str, Any]:
    config = tmp_path / "gates.toml"
    config.write_text(f'[registry]\ncache-dir = "{tmp_path / "cache"}"\n[base-image]\n{ONLY_BASE_RULES}',
                      encoding="utf-8")
    run = cli(["base-image", image, "--config", str(config), "--format", "json", "--now", NOW,
               "--allowed", claims.approved, "--max-base-age-days", "90", *args])
    assert run.code in (0, 1), run.err
    [result] = json.loads(run.out)["results"]
    assert (result["outcome"] == "passed") == (run.code == 0)
    return dict(result)


def _findings(result: dict[str, Any], rule: str = "base-image-approved-base") -> list[str]:
    return [f["message"] for f in result["findings"] if f["rule"] == rule]


def test_genuine_base_is_verified_and_judged(cli: Cli, tmp_path: Path, claims: Claims) -> None:
    result = _gate(cli, tmp_path, claims, claims.genuine)
    assert result["outcome"] == "passed", result
    details = result["details"]
    assert f"base {claims.debian} (from annotation)" in details
    [verified] = [d for d in details if "verified by layers" in d]
    assert "its layers (1, linux/amd64 at sha256:" in verified and "are the first 1 of this image's 2" in verified
    assert any(d.startswith("base image created 2026-11-10") for d in details)


@pytest.mark.parametrize(("attr", "source"), [("lying_annotation", "annotation"), ("lying_label", "label")])
def test_claimed_approved_base_whose_layers_differ_is_not_believed(cli: Cli, tmp_path: Path, claims: Claims,
                                                                    attr: str, source: str) -> None:
    """Built on a 2020 base outside the allow-list, claiming a fresh approved one: approval fails, and the
    claimed base's age and drift are not reported as if they were this image's."""
    result = _gate(cli, tmp_path, claims, getattr(claims, attr))
    assert result["outcome"] == "failed"
    [message] = _findings(result)
    assert f"base {claims.debian} (named by {source}) is unverified" in message
    assert "layer 1 differs" in message
    details = result["details"]
    assert f"base {claims.debian} (from {source})" in details
    assert "base age and drift not checked: the base is unverified" in details
    assert not any(d.startswith("base image created") for d in details)


def test_each_platform_of_an_index_is_verified_against_the_same_platform_of_the_base(
        cli: Cli, tmp_path: Path, claims: Claims) -> None:
    result = _gate(cli, tmp_path, claims, claims.platforms)
    assert result["outcome"] == "failed"
    [message] = _findings(result)
    assert message.startswith(f"linux/arm64: base {claims.debian} (named by annotation) is unverified")
    assert "its layers (1, linux/arm64 at sha256:" in message
    assert any(d.startswith("linux/amd64: base") and "verified by layers" in d for d in result["details"])
    assert "linux/arm64: base age and drift not checked: the base is unverified" in result["details"]


def test_label_inherited_from_an_intermediate_is_believed_only_on_the_base_s_layers(
        cli: Cli, tmp_path: Path, claims: Claims) -> None:
    """Labels pass down every FROM: an intermediate's label names the image at the bottom only if its
    layers are there; the intermediate's own layers then count as build steps on that base."""
    lie = _gate(cli, tmp_path, claims, claims.inherited_lie)
    [message] = _findings(lie)
    assert "(named by label) is unverified" in message
    truth = _gate(cli, tmp_path, claims, claims.inherited_truth)
    assert truth["outcome"] == "passed", truth
    [verified] = [d for d in truth["details"] if "verified by layers" in d]
    assert "are the first 1 of this image's 3" in verified
    assert "may be an ancestor rather than the last FROM" in verified


def _dockerfile(tmp_path: Path, text: str) -> str:
    path = tmp_path / "Dockerfile"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_dockerfile_and_claim_that_disagree_are_a_finding(cli: Cli, tmp_path: Path, claims: Claims) -> None:
    dockerfile = _dockerfile(tmp_path, f"FROM {claims.alpine}\nUSER 1000\n")
    result = _gate(cli, tmp_path, claims, claims.genuine, "--dockerfile", dockerfile)
    [message] = _findings(result)
    assert message == (f"the image claims base {claims.debian} (by annotation), but the Dockerfile's final stage"
                       f" is FROM {claims.alpine} ({dockerfile}:1)")
    agreeing = _dockerfile(tmp_path, f"FROM {claims.debian}\nUSER 1000\n")
    assert _gate(cli, tmp_path, claims, claims.genuine, "--dockerfile", agreeing)["outcome"] == "passed"


def test_dockerfile_base_is_verified_too(cli: Cli, tmp_path: Path, claims: Claims) -> None:
    """The Dockerfile is as writable as the image: its FROM must be borne out by the layers as well."""
    dockerfile = _dockerfile(tmp_path, f"FROM {claims.debian}\n")
    result = _gate(cli, tmp_path, claims, claims.unclaimed, "--dockerfile", dockerfile)
    [message] = _findings(result)
    assert f"base {claims.debian} (named by {dockerfile}:1) is unverified" in message


def test_a_base_named_by_tag_alone_is_compared_with_what_the_tag_names_now(cli: Cli, tmp_path: Path,
                                                                          claims: Claims) -> None:
    current = _gate(cli, tmp_path, claims, claims.by_tag_current)
    assert current["outcome"] == "passed", current
    moved = _gate(cli, tmp_path, claims, claims.by_tag)
    [message] = _findings(moved)
    assert "is unverified" in message and "record org.opencontainers.image.base.digest or pin FROM" in message


def test_recompressed_base_layers_are_verified_by_their_content(cli: Cli, tmp_path: Path, claims: Claims) -> None:
    result = _gate(cli, tmp_path, claims, claims.genuine.replace(":genuine", ":recompressed"))
    assert result["outcome"] == "passed", result
    assert any("verified by layers" in d and "recompressed (their content matches)" in d for d in result["details"])


def test_a_config_that_lists_the_base_s_layers_over_other_layers_is_not_believed(
        cli: Cli, tmp_path: Path, claims: Claims) -> None:
    """The config is the builder's word too: its diff_ids are checked against what the layers inflate to."""
    result = _gate(cli, tmp_path, claims, claims.genuine.replace(":genuine", ":forged-config"))
    [message] = _findings(result)
    assert "this image's config lists the base's layers" in message and "its layer 1 holds other content" in message
