"""Image references read exactly as Docker reads them (distribution/reference `ParseNormalizedNamed`).

`alpine` means `docker.io/library/alpine:latest`; a first component is a registry only if it has a `.`
or `:`, is `localhost`, or has capitals; repository paths are lowercase; a tag and a digest may both be
given (the digest wins when fetching). Anything Docker would refuse is refused here with its reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from gates.oci.digest import Digest
from gates.oci.errors import InvalidReferenceError

DEFAULT_REGISTRY = "docker.io"
"""The registry a reference without one means; its API lives at `DOCKER_HUB_API_HOST`."""
DOCKER_HUB_API_HOST = "registry-1.docker.io"
_LEGACY_DEFAULT_REGISTRY = "index.docker.io"
_OFFICIAL_PREFIX = "library/"
NAME_TOTAL_LENGTH_MAX = 255

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|{_IPV6})"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE_RE = re.compile(
    rf"^(?P<name>(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*))"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$"
)
_TAG_RE = re.compile(rf"^{_TAG}$")
_ANCHORED_IDENTIFIER = re.compile(r"^[a-f0-9]{64}$")


@dataclass(frozen=True)
class Reference:
    """A parsed, normalized image reference."""

    registry: str
    """The registry as Docker names it: `docker.io`, `ghcr.io`, `localhost:5000`."""
    repository: str
    """The repository path inside the registry: `library/alpine`, `acme/api`."""
    tag: str | None = None
    """The tag given, if any (`latest` is implied only when fetching, see `identifier`)."""
    digest: Digest | None = None
    """The digest given, if any; it wins over the tag when fetching."""

    @property
    def api_host(self) -> str:
        """The host[:port] whose `/v2/` API serves this registry (Docker Hub's differs from its name)."""
        return DOCKER_HUB_API_HOST if self.registry == DEFAULT_REGISTRY else self.registry

    @property
    def name(self) -> str:
        """`registry/repository`, without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def identifier(self) -> str:
        """What to put after `/manifests/`: the digest if given, else the tag, else `latest`."""
        if self.digest is not None:
            return str(self.digest)
        return self.tag or "latest"

    @property
    def familiar(self) -> str:
        """The short form Docker prints: `alpine:3.20` rather than `docker.io/library/alpine:3.20`."""
        name = self.name
        if self.registry == DEFAULT_REGISTRY:
            short = self.repository.removeprefix(_OFFICIAL_PREFIX)
            if _split_registry(short)[0] == DEFAULT_REGISTRY:  # `docker.io/a.b/c` must keep its registry
                name = short
        return name + self._suffix()

    def with_digest(self, digest: Digest) -> Reference:
        """The same repository at `digest` (the tag is kept for messages)."""
        return replace(self, digest=digest)

    def with_tag(self, tag: str) -> Reference:
        """The same repository at `tag`, without a digest."""
        if not _TAG_RE.match(tag):
            raise InvalidReferenceError(f"invalid tag {tag[:140]!r}")
        return replace(self, tag=tag, digest=None)

    def repo_only(self) -> Reference:
        """The repository, with neither tag nor digest."""
        return replace(self, tag=None, digest=None)

    def _suffix(self) -> str:
        out = f":{self.tag}" if self.tag is not None else ""
        if self.digest is not None:
            out += f"@{self.digest}"
        return out

    def __str__(self) -> str:
        return self.name + self._suffix()


def parse_reference(text: str) -> Reference:
    """Parse an image reference as `docker pull` would; raises `InvalidReferenceError` saying why."""
    shown = text if len(text) <= 300 else text[:300] + "..."
    if not text:
        raise InvalidReferenceError("invalid image reference: empty")
    if _ANCHORED_IDENTIFIER.match(text):
        raise InvalidReferenceError(
            f"invalid image reference {shown!r}: cannot be a 64-character hexadecimal string"
        )
    registry, remainder = _split_registry(text)
    remote_name = remainder.split(":", 1)[0].split("@", 1)[0]
    if remote_name.lower() != remote_name:
        raise InvalidReferenceError(
            f"invalid image reference {shown!r}: repository name must be lowercase"
        )
    match = _REFERENCE_RE.match(f"{registry}/{remainder}")
    if match is None:
        raise InvalidReferenceError(f"invalid image reference {shown!r}: {_explain(remainder)}")
    if match.group("domain") is None:  # `g_hcr.io/a`: the first part is a host (it has a dot) but not a valid one
        raise InvalidReferenceError(f"invalid image reference {shown!r}: invalid registry host {registry[:100]!r}")
    if len(match.group("name")) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReferenceError(
            f"invalid image reference {shown!r}: repository name longer than {NAME_TOTAL_LENGTH_MAX}"
        )
    digest = None
    if match.group("digest"):
        try:
            digest = Digest.parse(match.group("digest"))
        except InvalidReferenceError as exc:
            raise InvalidReferenceError(f"invalid image reference {shown!r}: {exc}") from None
    registry = canonical_registry(match.group("domain"))
    repository = match.group("path")
    if registry == DEFAULT_REGISTRY and "/" not in repository:  # `registry-1.docker.io/alpine` is official
        repository = _OFFICIAL_PREFIX + repository
    return Reference(registry=registry, repository=repository, tag=match.group("tag"), digest=digest)


_DOCKER_HUB_ALIASES = frozenset({"index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})


def canonical_registry(host: str) -> str:
    """One spelling per registry, so a policy cannot be dodged by writing the host another way.

    Host names are case-insensitive, `:443` is what HTTPS means anyway, and Docker Hub answers under
    several names. (Other aliases, a CNAME or `localhost` for `127.0.0.1`, cannot be known from the text:
    policies that let unmatched images through trust the spelling.)
    """
    name, colon, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    if not colon:
        name, port = host, ""
    name = name.lower()
    if port == "443":
        port = ""
    canonical = f"{name}:{port}" if port else name
    return DEFAULT_REGISTRY if canonical in _DOCKER_HUB_ALIASES else canonical


def _split_registry(text: str) -> tuple[str, str]:
    """Docker's `splitDockerDomain`: is the first path component a registry host?"""
    first, slash, rest = text.partition("/")
    if not slash or (
        not any(c in first for c in ".:") and first != "localhost" and first.lower() == first
    ):
        registry, remainder = DEFAULT_REGISTRY, text
    else:
        registry, remainder = first, rest
    if registry == _LEGACY_DEFAULT_REGISTRY:
        registry = DEFAULT_REGISTRY
    if registry == DEFAULT_REGISTRY and "/" not in remainder:
        remainder = _OFFICIAL_PREFIX + remainder
    return registry, remainder


def _explain(remainder: str) -> str:
    """A best guess at which part of a reference is wrong, for the error message."""
    before_digest, at, digest = remainder.partition("@")
    if at and not re.fullmatch(_DIGEST, digest):
        return "the digest must be algorithm:hex"
    path, colon, tag = before_digest.rpartition(":") if ":" in before_digest else (before_digest, "", "")
    if "/" in tag:  # the colon belonged to something else
        path, colon, tag = before_digest, "", ""
    if colon and not _TAG_RE.match(tag):
        return "invalid tag (letters, digits, `_`, `.`, `-`; at most 128; not starting with `.` or `-`)"
    if not re.fullmatch(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*", path):
        return "invalid repository name (lowercase letters, digits and single separators `.`, `_`, `-`)"
    return "invalid reference format"


_GLOB_CHARS = "*?["
_HOST_GLOB_RE = re.compile(r"^[A-Za-z0-9.:*?\[\]-]+$")


def canonical_glob(pattern: str) -> str:
    """An image glob spelled as `parse_reference` spells references, so that it can match them.

    The host part (a first segment holding `.`, `:`, a glob character or capitals, or `localhost`) is
    lowercased, loses `:443`, and Docker Hub's aliases become `docker.io`, where a one-segment
    repository gets `library/` (`index.docker.io/alpine` -> `docker.io/library/alpine`; `docker.io/*`
    stays all of Docker Hub). A glob that no reference could ever match because of its spelling (capitals
    in the repository, a host glob that matches a Docker Hub alias but not `docker.io`) is refused with
    `InvalidReferenceError`, so a policy never silently covers nothing. Tags (`debian:12*`) are kept as
    written.
    """
    shown = pattern if len(pattern) <= 200 else pattern[:200] + "..."
    if not pattern or pattern != pattern.strip():
        raise InvalidReferenceError(f"image glob {shown!r}: empty or surrounded by spaces")
    if pattern == "*":
        return pattern
    head, slash, tail = pattern.partition("/")
    is_host = bool(slash) and (any(c in head for c in ".:" + _GLOB_CHARS) or head.lower() == "localhost"
                               or head.lower() != head)
    repository = tail if is_host else pattern
    _check_repository_glob(repository, shown)
    if not is_host:
        return pattern
    if not _HOST_GLOB_RE.match(head):
        raise InvalidReferenceError(f"image glob {shown!r}: invalid registry host {head[:100]!r}")
    host = head.lower()
    if not any(c in host for c in ".:" + _GLOB_CHARS) and host != "localhost":
        raise InvalidReferenceError(f"image glob {shown!r}: {head[:100]!r} is neither a registry host (no `.` or"
                                    " `:`) nor a lowercase repository name")
    host = canonical_registry(host) if not any(c in host for c in _GLOB_CHARS) else host.removesuffix(":443")
    if any(c in host for c in _GLOB_CHARS):
        import fnmatch

        aliases = sorted(a for a in _DOCKER_HUB_ALIASES | {_LEGACY_DEFAULT_REGISTRY} if fnmatch.fnmatchcase(a, host))
        if aliases and not fnmatch.fnmatchcase(DEFAULT_REGISTRY, host):
            raise InvalidReferenceError(f"image glob {shown!r}: {head[:100]!r} matches Docker Hub's alias"
                                        f" {aliases[0]}, but Docker Hub images are always named docker.io/...:"
                                        " write docker.io")
    path = tail.split(":", 1)[0] if ":" in tail.rpartition("/")[2] else tail
    if host == DEFAULT_REGISTRY and "/" not in path and path.strip("*"):
        tail = _OFFICIAL_PREFIX + tail
    return f"{host}/{tail}"


def _check_repository_glob(repository: str, shown: str) -> None:
    """Repository paths are lowercase (Docker refuses capitals): a glob with capitals matches nothing."""
    last = repository.rpartition("/")[2]
    path = repository[: len(repository) - len(last)] + last.split(":", 1)[0].split("@", 1)[0]
    if not path:
        raise InvalidReferenceError(f"image glob {shown!r}: no repository after the host")
    if path.lower() != path:
        raise InvalidReferenceError(f"image glob {shown!r}: repository names are lowercase, so it would match"
                                    " nothing")


def matches_repository(ref: Reference, pattern: str) -> bool:
    """Whether a policy glob names the repository of `ref` (tag and digest play no part).

    `*` alone matches every image. A pattern whose first segment is a host (it holds `.`, `:` or a glob
    character, or is `localhost`) matches the registry with that segment, never across a `/`, and the
    repository with the rest, where `*` may cross `/`: `*.corp.example/*` admits
    `registry.corp.example/team/app` but not `evil.io/registry.corp.example/app`. Any other pattern is
    Docker's short form, for Docker Hub: `alpine`, `acme/*`.
    """
    import fnmatch

    if pattern == "*":
        return True
    head, slash, tail = pattern.partition("/")
    if slash and (any(c in head for c in ".:*?[") or head == "localhost"):
        return fnmatch.fnmatchcase(ref.registry, head) and fnmatch.fnmatchcase(ref.repository, tail)
    if ref.registry != DEFAULT_REGISTRY:
        return False
    short = pattern if slash else _OFFICIAL_PREFIX + pattern
    return fnmatch.fnmatchcase(ref.repository, short)
