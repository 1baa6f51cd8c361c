"""Dockerfile FROM parsing: stages, ARGs, platforms, continuations, pinning; errors name FILE:LINE."""

from __future__ import annotations

import pytest

from gates.targets.dockerfile import (
    DockerfileError,
    parse_dockerfile,
    parse_image_reference,
)

DIGEST = "sha256:" + "a" * 64


def test_multi_stage_final_base_follows_stages() -> None:
    text = f"""# syntax=docker/dockerfile:1
# escape=\\
ARG REGISTRY=gcr.io
ARG DEBIAN_TAG
FROM --platform=$BUILDPLATFORM golang:1.22 AS build
RUN go build ./...
FROM ${{REGISTRY}}/distroless/static-debian12@{DIGEST} AS base
FROM base AS final
COPY --from=build /out /app
"""
    df = parse_dockerfile(text, "Dockerfile")
    assert [s.line for s in df.stages] == [5, 7, 8]
    assert df.stages[0].platform == ""  # BUILDPLATFORM is set by the builder, not the file
    assert df.stages[2].parent == 1
    base = df.final_base
    assert base.reference is not None
    assert base.reference.name == "gcr.io/distroless/static-debian12"
    assert base.reference.digest == DIGEST
    assert df.global_args == {"REGISTRY": "gcr.io", "DEBIAN_TAG": None}


def test_platform_from_build_arg() -> None:
    df = parse_dockerfile("ARG P=linux/arm64\nFROM --platform=${P} alpine:3.19\n", build_args={"P": "linux/amd64"})
    assert df.stages[0].platform == "linux/amd64"


def test_arg_defaults_overrides_and_forms() -> None:
    text = "ARG BASE=debian\nARG TAG=${TAG_OVERRIDE:-12-slim}\nFROM ${BASE}:${TAG}\n"
    df = parse_dockerfile(text)
    ref = df.final_base.reference
    assert ref is not None and (ref.repository, ref.tag) == ("library/debian", "12-slim")
    df = parse_dockerfile(text, build_args={"BASE": "ubuntu", "TAG": "24.04"})
    ref = df.final_base.reference
    assert ref is not None and (ref.repository, ref.tag) == ("library/ubuntu", "24.04")
    plus = parse_dockerfile("ARG S=1\nFROM alpine${S:+:3.19}\n").final_base.reference
    assert plus is not None and plus.tag == "3.19"


def test_stage_args_do_not_reach_later_from() -> None:
    with pytest.raises(DockerfileError, match="empty image name"):
        parse_dockerfile("FROM alpine\nARG NEXT=debian\nFROM ${NEXT}\n")


def test_scratch_continuations_comments_heredocs() -> None:
    lines = [
        "FROM \\",
        "  # a comment inside the continuation",
        "  alpine:3.19 \\",
        "  AS builder",
        "RUN <<SCRIPT",
        "FROM evil:latest",
        "SCRIPT",
        "FROM scratch",
        "COPY --from=builder /bin/sh /sh",
    ]
    df = parse_dockerfile("\n".join(lines) + "\n")
    assert len(df.stages) == 2
    assert df.stages[0].name == "builder" and df.stages[0].line == 1
    assert df.final_base.is_scratch and df.final_base.reference is None
    assert {p.line for p in df.pinning_problems()} == {1}


def test_backtick_escape_directive() -> None:
    df = parse_dockerfile("# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022 `\n  AS win\n")
    assert df.stages[0].name == "win" and df.stages[0].line == 2


def test_pinning_problems() -> None:
    text = "\n".join(
        [
            "FROM alpine",
            "FROM alpine:latest",
            "FROM alpine:3.19",
            f"FROM alpine:3.19@{DIGEST}",
            f"FROM alpine@{DIGEST}",
            "FROM scratch",
        ]
    )
    problems = parse_dockerfile(text).pinning_problems()
    assert [(p.line, p.reason) for p in problems] == [
        (1, "has no tag (means 'latest')"),
        (1, "is not pinned by digest"),
        (2, "uses the 'latest' tag"),
        (2, "is not pinned by digest"),
        (3, "is not pinned by digest"),
    ]
    assert [p.line for p in parse_dockerfile(text).pinning_problems(require_digest=False)] == [1, 2]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("FROM\n", 1, "FROM expects"),
        ("RUN echo hi\nFROM alpine\n", 1, "before the first FROM"),
        ("FROM alpine AS\n", 1, "FROM expects"),
        ("ARG X\nFROM $X\n", 2, "empty image name"),
        ("FROM --network=host alpine\n", 1, "unknown or empty FROM flag"),
        ("FROM alpine:3.19\n\nFROM UPPER/Case:1\n", 3, "not a valid image reference"),
        ("FROM alpine AS 1bad\n", 1, "invalid stage name"),
        ("# just a comment\n", None, "no FROM instruction"),
    ],
)
def test_errors_name_file_and_line(text: str, line: int | None, message: str) -> None:
    with pytest.raises(DockerfileError, match=message) as caught:
        parse_dockerfile(text, "build/Dockerfile")
    prefix = "build/Dockerfile" if line is None else f"build/Dockerfile:{line}:"
    assert str(caught.value).startswith(prefix)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "name", "tag", "digest"),
    [
        ("alpine", "docker.io/library/alpine", None, None),
        ("library/alpine:3", "docker.io/library/alpine", "3", None),
        ("localhost:5000/app:v1", "localhost:5000/app", "v1", None),
        ("ghcr.io/org/app@" + DIGEST, "ghcr.io/org/app", None, DIGEST),
        ("index.docker.io/bitnami/redis:7", "docker.io/bitnami/redis", "7", None),
    ],
)
def test_image_references(text: str, name: str, tag: str | None, digest: str | None) -> None:
    ref = parse_image_reference(text)
    assert ref is not None and (ref.name, ref.tag, ref.digest) == (name, tag, digest)


@pytest.mark.parametrize("text", ["", "Alpine", "alpine:", "alpine@sha256:xyz", "a//b", "alpine:-bad"])
def test_invalid_references(text: str) -> None:
    assert parse_image_reference(text) is None
