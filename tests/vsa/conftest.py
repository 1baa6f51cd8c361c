"""The signature gate's registry fixtures (real registry, pushing client, cosign.key signers, CLI), shared here."""

from tests.checks_signature.conftest import gates, pusher, signers  # noqa: F401 - fixtures
from tests.support.registry import registry  # noqa: F401 - fixture
