"""Errors of the registry client and the layer reader.

Every message is one line naming the reference (or layer) and what went wrong; none ever carries a
credential, a token or an Authorization header.
"""

from __future__ import annotations

from gates.errors import GatesError, InputError


class InvalidReferenceError(InputError):
    """An image reference that Docker would refuse too (named so it does not shadow the builtin)."""


class RegistryError(GatesError):
    """The registry could not give us what we asked for: network, HTTP status, bad content."""


class AuthError(RegistryError):
    """The registry refused us (401/403), or the token service did."""


class NotFoundError(RegistryError):
    """The manifest, blob, tag or repository does not exist (404)."""


class DigestMismatchError(RegistryError):
    """Content did not hash to the digest it was asked for or announced with: never trust it."""


class TooLargeError(RegistryError):
    """Content exceeded the byte cap set for it."""


class ManifestError(RegistryError):
    """A manifest or index that is not valid JSON of a known media type."""


class LayerError(InputError):
    """A layer that cannot be read safely: hostile paths, bombs, truncation, unknown compression."""
