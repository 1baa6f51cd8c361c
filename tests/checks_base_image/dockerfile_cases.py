"""Dockerfiles written for the Dockerfile rules: text, and the (rule, line) findings gates must make.

Shared by the rule tests and the comparison with hadolint, which runs over the same files. Pinning is
checked as `require-digest = false` has it (only `latest` or no tag), which is what hadolint judges.
"""

from __future__ import annotations

CASES: dict[str, tuple[str, set[tuple[str, int]]]] = {
    "clean": (
        "FROM debian:12.8\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \\\n"
        "    && rm -rf /var/lib/apt/lists/*\n"
        "USER 10001\n",
        set(),
    ),
    "no-user": (
        "FROM alpine:3.20\nRUN echo hello\n",
        {("base-image-dockerfile-root", 1)},
    ),
    "user-root-last": (
        "FROM alpine:3.20\nUSER app\nRUN id\nUSER root\n",
        {("base-image-dockerfile-root", 4)},
    ),
    "user-zero-group": (
        "FROM alpine:3.20\nUSER 0:0\n",
        {("base-image-dockerfile-root", 2)},
    ),
    "root-only-in-builder": (
        "FROM golang:1.23 AS build\nUSER root\nRUN go build -o /app .\n"
        "FROM gcr.io/distroless/static-debian12:nonroot\nCOPY --from=build /app /app\nUSER 65532\n",
        set(),
    ),
    "user-inherited-from-stage": (
        "FROM alpine:3.20 AS base\nUSER 1000\nFROM base\nRUN id\n",
        set(),
    ),
    "root-inherited-from-stage": (
        "FROM alpine:3.20 AS base\nUSER root\nFROM base\nRUN id\n",
        {("base-image-dockerfile-root", 2)},
    ),
    "user-from-variable": (
        "FROM alpine:3.20\nARG UID=1000\nUSER ${UID}\n",
        set(),
    ),
    "untagged-and-latest": (
        "FROM ubuntu AS one\nUSER 1\nFROM alpine:latest\nUSER 1\n",
        {("base-image-pinning", 1), ("base-image-pinning", 3)},
    ),
    "scratch-and-stage": (
        "FROM alpine:3.20 AS build\nFROM scratch\nCOPY --from=build /etc/passwd /etc/passwd\nUSER 1000\n",
        set(),
    ),
    "digest-only": (
        "FROM alpine@sha256:" + "a" * 64 + "\nUSER 1000\n",
        set(),
    ),
    "remote-add": (
        "FROM alpine:3.20\nADD https://example.com/tool.tar.gz /opt/\n"
        "ADD --checksum=sha256:" + "b" * 64 + " https://example.com/tool.tar.gz /opt/\n"
        "ADD local.tar.gz /opt/\nUSER 1000\n",
        {("base-image-dockerfile-remote-add", 2)},
    ),
    "remote-add-git": (
        "FROM alpine:3.20\nADD https://github.com/moby/buildkit.git#v0.14.1 /src\n"
        "ADD https://github.com/moby/buildkit.git#" + "c" * 40 + " /src2\nUSER 1000\n",
        {("base-image-dockerfile-remote-add", 2)},
    ),
    "remote-add-exec-form": (
        'FROM alpine:3.20\nADD ["http://example.com/a.txt", "/a.txt"]\nUSER 1000\n',
        {("base-image-dockerfile-remote-add", 2)},
    ),
    "credentials": (
        "FROM alpine:3.20\nARG NPM_TOKEN\nENV DB_PASSWORD=hunter2\nENV PASSWORD_FILE=/run/secrets/db\n"
        "ENV GPG_KEY 7169605F62C751356D054A26A821E680E5FA6305\nENV awsSecretAccessKey=x\n"
        "ENV LOG_LEVEL=debug TOKEN=\nUSER 1000\n",
        {("base-image-dockerfile-credential", 2), ("base-image-dockerfile-credential", 3),
         ("base-image-dockerfile-credential", 6)},
    ),
    "credential-shaped-values": (
        "FROM alpine:3.20\nENV MIRROR=https://bob:s3cret@mirror.example.com/repo\n"
        "ENV KEY_ID=AKIA" + "ABCDEFGHIJKLMNOP" + "\nENV SITE=https://example.com/$VERSION\nUSER 1000\n",
        {("base-image-dockerfile-credential", 2), ("base-image-dockerfile-credential", 3)},
    ),
    "pipe-to-shell": (
        "FROM debian:12\nRUN curl -fsSL https://example.com/install.sh | sh\n"
        "RUN wget -qO- https://example.com/i.sh | sudo bash -s -- --yes\n"
        'RUN sh -c "$(curl -fsSL https://example.com/i.sh)"\n'
        "RUN curl -fsSL https://example.com/get.py | python3 -\n"
        "RUN curl -fsSL https://example.com/a.tgz | tar xz -C /opt\n"
        "RUN curl -fsSLo /tmp/i.sh https://example.com/i.sh && sha256sum -c i.sh.sha256 && sh /tmp/i.sh\n"
        "USER 1000\n",
        {("base-image-dockerfile-pipe-to-shell", 2), ("base-image-dockerfile-pipe-to-shell", 3),
         ("base-image-dockerfile-pipe-to-shell", 4), ("base-image-dockerfile-pipe-to-shell", 5)},
    ),
    "pipe-to-shell-heredoc": (
        "FROM debian:12\nRUN <<EOF\nset -e\ncurl -fsSL https://example.com/i.sh | bash\nEOF\nUSER 1000\n",
        {("base-image-dockerfile-pipe-to-shell", 2)},
    ),
    "insecure-run": (
        "FROM debian:12\nRUN --security=insecure mount -t tmpfs none /mnt\n"
        "RUN --mount=type=cache,target=/root/.cache pip install -r requirements.txt\nUSER 1000\n",
        {("base-image-dockerfile-insecure-run", 2)},
    ),
    "install-recommends": (
        "FROM debian:12\nRUN apt-get update && apt-get install -y curl\n"
        "RUN apt-get -y install --no-install-recommends git\n"
        "RUN apt-get install -y -o APT::Install-Recommends=false make\n"
        "RUN apt-get update\n"
        "RUN apt-get -q install \\\n    -y \\\n    wget\n"
        "USER 1000\n",
        {("base-image-dockerfile-install-recommends", 2), ("base-image-dockerfile-install-recommends", 6)},
    ),
    "continuations-and-comments": (
        "# syntax=docker/dockerfile:1\nFROM debian:12\n# a comment\nRUN apt-get update \\\n"
        "  # an inline comment line\n  && apt-get install -y \\\n  --no-install-recommends jq\nUSER nobody\n",
        set(),
    ),
}
