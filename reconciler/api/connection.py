"""How the API client connects: TLS verification and whether the environment's proxies apply.

An https endpoint gets httpx's defaults: certificates verified against the CA bundle (certifi,
or SSL_CERT_FILE / SSL_CERT_DIR) and the environment's proxies (HTTPS_PROXY, ALL_PROXY,
NO_PROXY).

A plain-http endpoint (a loopback address, or any host with YOTTACTL_ALLOW_INSECURE) encrypts
nothing, so its client does not load the CA bundle (~40 ms, the largest single cost of a command
against the emulator); it gets a context that verifies certificates and host names but trusts
no authority, should its connections ever be asked for TLS (they are not: redirects are not
followed; TLS to a proxy uses httpcore's own verifying context).

A loopback endpoint is never reached through a proxy from the environment: a proxy elsewhere
cannot reach this machine's loopback, and would only have been handed the API key in clear.
"""

from __future__ import annotations

import ssl
from typing import NamedTuple
from urllib.parse import urlsplit

from reconciler.trust import is_loopback_host

__all__ = ["ConnectionOptions", "connection_options"]


class ConnectionOptions(NamedTuple):
    verify: ssl.SSLContext | bool  # httpx's verify=
    trust_env: bool  # httpx's trust_env=: proxies (and SSL_CERT_FILE/DIR) from the environment


def connection_options(base_url: str) -> ConnectionOptions:
    parts = urlsplit(base_url)
    if parts.scheme != "http":
        return ConnectionOptions(verify=True, trust_env=True)  # httpx's defaults
    bare = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname, no CA
    return ConnectionOptions(verify=bare, trust_env=not is_loopback_host(parts.hostname or ""))
