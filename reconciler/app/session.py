"""What one command talks to: at most one API client and one state backend, each made on first
use and closed when the command ends, on success, error or Ctrl-C alike.

The only place that asks :class:`~reconciler.settings.Settings` for a client or a backend:
use cases receive a session (or a :class:`~reconciler.app.run.Run`, which is one) instead of
building their own, so nothing a command opens outlives it (``tests/test_one_session.py``).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Self

from reconciler.redact import Secrets
from reconciler.settings import Settings

if TYPE_CHECKING:
    from reconciler.api.client import YottaClient
    from reconciler.plan.normalize import Fingerprinter
    from reconciler.state.protocol import Backend


class Session:
    """``with Session(settings) as session:`` then ``session.client`` and ``session.store``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: YottaClient | None = None
        self._store: Backend | None = None
        self._fingerprinter: Fingerprinter | None = None
        self._making = threading.Lock()  # planning makes the client and backend on two threads
        # what this command must never show: the API key (its client adds it), the ${env:...}
        # values its manifests use (loading adds them); redacted from API messages and logs
        self.secrets = Secrets()

    @property
    def client(self) -> YottaClient:
        with self._making:
            if self._client is None:
                self._client = self.settings.client(secrets=self.secrets)
            return self._client

    @property
    def store(self) -> Backend:
        """The state backend (a file, or a PostgreSQL connection opened on first use)."""
        with self._making:
            if self._store is None:
                self._store = self.settings.state_file()
            return self._store

    @property
    def fingerprinter(self) -> Fingerprinter:
        if self._fingerprinter is None:
            self._fingerprinter = self.settings.fingerprinter()
        return self._fingerprinter

    def close(self) -> None:
        client, store, self._client, self._store = self._client, self._store, None, None
        try:
            if client is not None:
                client.close()
        finally:
            if store is not None:
                store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
