"""The base-image gate: age, base drift, approved bases, pinning, non-root, OS end of life, point-release
lag and package patch level of images in a registry, read without a Docker daemon.

This module is the gate as the registry sees it (`gates.gate.Gate`); its logic lives beside it:
- `options`: `[base-image]` / `[patch-level]` plus flags -> `BaseImageOptions`.
- `gate`: `scan(options)` -> one `Result` per image (every platform of an index inside it).
- `base`: which base an image was built on (annotations, else a Dockerfile) and what it is now.
- `contents`: OS release, packages and users read from the image's layers (through `gates.distro`).
- `rules`: its rule metadata; `command`: `gates base-image`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from gates.checks.base_image.rules import GATE
from gates.checks.base_image.rules import RULES as RULES
from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from gates.config import Config
    from gates.engine import GateJob
    from gates.gate import DataFile, Invocation, RunFlags
    from gates.validators import Schema

NAME = GATE
SUMMARY = "Base image age, drift, approval, pinning, non-root, OS end of life and package patch level"
NEEDS_NETWORK = True
DEFAULT = False
ENVIRONMENT: Mapping[str, str] = {}


def data_files() -> tuple[DataFile, ...]:
    from gates.distro.eol import DATA_FILE
    from gates.distro.eol_build import OS_PRODUCTS
    from gates.gate import DataFile

    return (DataFile(DATA_FILE, OS_PRODUCTS),)


def config_tables() -> Mapping[str, Schema]:
    from gates.checks.base_image.options import BASE_IMAGE_TABLE, PATCH_LEVEL_TABLE

    return {NAME: BASE_IMAGE_TABLE, "patch-level": PATCH_LEVEL_TABLE}



def trusted_files(config: Config) -> Mapping[str, str]:
    named = {"base-image.eol-data": config.sections.get(NAME, {}).get("eol-data"),
             "patch-level.advisories": config.sections.get("patch-level", {}).get("advisories")}
    return {key: value for key, value in named.items() if value}


def build_job(config: Config, flags: RunFlags) -> GateJob:
    from gates.checks.base_image.gate import base_image_job

    return base_image_job(config)


def cli_command() -> Callable[..., Invocation]:
    from gates.checks.base_image.command import base_image_command

    return base_image_command
