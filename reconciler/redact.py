"""One process-wide list of secret strings (the API key, every ``${env:...}`` value a manifest
uses) and the filter every untrusted text that may echo them passes before it is kept or shown:
debug lines and API error messages alike.
"""

from __future__ import annotations

REDACTED = "[redacted]"
MAX_MESSAGE_CHARS = 2000  # an API message longer than this is cut: a 5 MB answer is no message

_SECRETS: set[str] = set()


def add_secret(value: str | None) -> None:
    """Never let ``value`` reach output (short values would blank innocent text)."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


def redact(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):  # longest first: no partial leftovers
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def clip(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how many were left off."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def untrusted_message(text: str) -> str:
    """An API message fit to keep on an exception: secrets blanked, then cut to a sane size
    (redacting first, so a secret straddling the cut never survives as a prefix)."""
    return clip(redact(text))
