"""`--debug` / `YOTTACTL_LOG=debug`: one stderr line per HTTP call (method, path, HTTP status,
envelope code, duration) and per retry (why, when the next attempt goes).

Only what is safe is logged: no headers, no bodies, no query values; and every line is
redacted with the calling client's secrets (the API key, the command's ${env:...} values)
should one ever slip in.
"""

from __future__ import annotations

import logging
import sys

from reconciler.redact import Secrets

__all__ = ["call", "configure", "retry"]

LOGGER = logging.getLogger("yottactl.http")


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at emit time, so a run that swapped stderr (an
    in-process CLI run, a test) never leaves the logger bound to a closed stream."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def configure(enabled: bool = True) -> None:
    """Debug lines to stderr for this invocation, or silence: decided anew by every command,
    so one `--debug` run never leaks its lines into the next run in the same process."""
    if not LOGGER.handlers:
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter("debug: %(message)s"))
        LOGGER.addHandler(handler)
        LOGGER.propagate = False
    LOGGER.setLevel(logging.DEBUG if enabled else logging.WARNING)


def call(secrets: Secrets, method: str, path: str, status: int | None, code: int | None,
         seconds: float, error: str = "") -> None:
    if not LOGGER.isEnabledFor(logging.DEBUG):
        return
    answer = f"HTTP {status}" if status is not None else "no answer"
    text = f"{method} {path} → {answer}"
    if code is not None:
        text += f" code {code}"
    text += f" {seconds * 1000:.0f}ms"
    if error:
        text += f" ({error})"
    LOGGER.debug(secrets.redact(text))


def retry(secrets: Secrets, summary: str, attempt: int, wait_seconds: float) -> None:
    if LOGGER.isEnabledFor(logging.DEBUG):
        LOGGER.debug(secrets.redact(f"retry after attempt {attempt}: {summary}; next attempt in "
                                    f"{wait_seconds:.2f}s"))
