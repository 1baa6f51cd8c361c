"""Docker reference matching for the payload's `docker-reference`, as containers/image does it.

cosign itself ignores `docker-reference`; containers/image's `matchRepository` (the default for
sigstore-signed images) compares the normalized repository names and ignores tags and digests, which
stops a signature for `evil/app` from being replayed onto `acme/app`. Kept here, small and strict, so
verification does not depend on the registry client.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_DOMAIN_RE = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$"
)
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")

DEFAULT_DOMAIN = "docker.io"


class ReferenceMatch(str, Enum):
    """How the payload's `docker-reference` must relate to the verified image (containers/image names)."""

    REPOSITORY = "matchRepository"
    """Same normalized repository; tags and digests are ignored (what cosign-made payloads need)."""
    EXACT = "matchExact"
    """Same repository and the same tag (and digest, when either names one)."""


@dataclass(frozen=True)
class DockerReference:
    """A reference normalized as Docker reads it: `docker.io/library/` added, domain lowercase-free."""

    name: str
    """`domain/path`, e.g. `docker.io/library/alpine` or `192.168.64.2:5000/app`."""
    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


class InvalidDockerReference(ValueError):
    """Text that is not a Docker reference."""


def parse_reference(text: str) -> DockerReference:
    """Parse and normalize `text`; raises `InvalidDockerReference` with a one-line reason."""
    if not text or len(text) > 255 + 128 + 80 or text != text.strip():
        raise InvalidDockerReference(f"invalid image reference {text[:80]!r}")
    rest, digest = text, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST_RE.match(digest):
            raise InvalidDockerReference(f"invalid digest in image reference {text[:80]!r}")
    tag = None
    last_slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > last_slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG_RE.match(tag):
            raise InvalidDockerReference(f"invalid tag in image reference {text[:80]!r}")
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        domain, path = first, remainder
        if not _DOMAIN_RE.match(domain):
            raise InvalidDockerReference(f"invalid registry host in image reference {text[:80]!r}")
    else:
        domain, path = DEFAULT_DOMAIN, rest
    if domain in ("index.docker.io", "registry-1.docker.io"):
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = f"library/{path}"
    if not _PATH_RE.match(path):
        raise InvalidDockerReference(f"invalid repository name in image reference {text[:80]!r}")
    return DockerReference(name=f"{domain}/{path}", tag=tag, digest=digest)


def reference_matches(signed: str, expected: str, how: ReferenceMatch = ReferenceMatch.REPOSITORY) -> bool:
    """Whether the payload's `signed` reference satisfies `expected` under `how`; unparsable -> False."""
    try:
        signed_ref = parse_reference(signed)
        expected_ref = parse_reference(expected)
    except InvalidDockerReference:
        return False
    if signed_ref.name != expected_ref.name:
        return False
    if how is ReferenceMatch.REPOSITORY:
        return True
    if expected_ref.tag is None and expected_ref.digest is None:
        return False
    return signed_ref.tag == expected_ref.tag and signed_ref.digest == expected_ref.digest
