"""The TLS settings of the API client's connections.

An https endpoint gets httpx's own: certificates verified against the CA bundle (certifi, or
SSL_CERT_FILE / SSL_CERT_DIR). Loading that bundle costs ~40 ms, the largest single cost of a
command against the emulator, and a plain-http endpoint (a loopback address, or one allowed by
YOTTACTL_ALLOW_INSECURE) encrypts nothing: it gets a context that verifies certificates and
host names but trusts no authority, so a TLS connection it is somehow led to (an https proxy
from the environment) fails closed instead of going unverified.
"""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit

__all__ = ["tls_verify"]


def tls_verify(base_url: str) -> ssl.SSLContext | bool:
    """httpx's ``verify=`` for a client of ``base_url``."""
    if urlsplit(base_url).scheme != "http":
        return True  # httpx's default: the CA bundle, honouring SSL_CERT_FILE / SSL_CERT_DIR
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname, no CA
