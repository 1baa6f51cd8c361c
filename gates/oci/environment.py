"""The proxy and CA-bundle settings of the environment, taken explicitly and nothing else.

requests' `trust_env` also reads `~/.netrc`, whose `default` entry would go to every registry, token
service and redirect target, and whose matching entry would override the credentials gates chose. So
sessions run with `trust_env = False` and get from here only what the environment legitimately says
about the network: `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` with `NO_PROXY`, per URL, read by
requests' own functions (as curl reads them), and a CA bundle from `REQUESTS_CA_BUNDLE`,
`CURL_CA_BUNDLE` or `SSL_CERT_FILE`. Credentials come only from `gates.oci.credentials`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")
"""Read in this order; the first one set names the CA bundle TLS verifies against."""


def ca_bundle(env: Mapping[str, str] | None = None) -> str | bool:
    """What requests' `verify` gets: a CA bundle path, or True for its own (certifi's)."""
    env = os.environ if env is None else env
    for name in CA_BUNDLE_VARIABLES:
        value = env.get(name)
        if value:
            return value
    return True


def proxies_for(url: str) -> dict[str, str]:
    """The proxies for `url` from the environment; none when `NO_PROXY` covers its host."""
    from requests.utils import get_environ_proxies

    return dict(get_environ_proxies(url))
