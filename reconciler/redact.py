"""The secret strings one command knows (the API key, every ``${env:...}`` value its manifests
use) and the filter every untrusted text that may echo them passes before it is kept or shown:
API error messages, debug lines, a cutover command's output.

A :class:`Secrets` belongs to one command (its session, reconciler/app/session.py): the client
adds the API key, manifest loading adds the ``${env:...}`` values it substitutes, and nothing
of one command's run stays behind for the next in the same process.
"""

from __future__ import annotations

from collections.abc import Iterable

REDACTED = "[redacted]"
MAX_MESSAGE_CHARS = 2000  # an API message longer than this is cut: a 5 MB answer is no message
MIN_SECRET_CHARS = 4  # shorter values would blank innocent text


class Secrets:
    """The values never to show; :meth:`redact` blanks them in a text. Manifests may be read
    on one thread while the client's calls fail on another: the set is only changed by one
    in-place union and read by one copy, each a single step under the interpreter lock (the
    pure core this module serves takes no locks)."""

    __slots__ = ("_values",)

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self.update(values)

    def add(self, value: str | None) -> None:
        """Never let ``value`` reach output."""
        self.update((value,) if value else ())

    def update(self, values: Iterable[str]) -> None:
        kept = {v for v in values if len(v) >= MIN_SECRET_CHARS}
        if kept:
            self._values |= kept

    def __repr__(self) -> str:  # never the values
        return f"Secrets(<{len(self._values)} hidden>)"

    def redact(self, text: str) -> str:
        known = list(self._values)  # one copy: never iterated while another thread adds
        for secret in sorted(known, key=len, reverse=True):  # longest first: no partial leftovers
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def part_of(self, text: str) -> bool:
        """``text`` is a secret or a part of one (a registry host or a tag cut from an image
        given as ``${env:...}``): never to be shown on its own either."""
        return len(text) >= MIN_SECRET_CHARS and any(text in secret for secret in list(self._values))

    def untrusted_message(self, text: str) -> str:
        """An untrusted message fit to keep: secrets blanked, then cut to a sane size
        (redacting first, so a secret straddling the cut never survives as a prefix)."""
        return clip(self.redact(text))


def clip(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how many were left off."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"
