"""The HTTP calls that are not Yotta API calls: the webhooks (drift's report, a rollout's
cutover) and a rollout's probe. Every outgoing HTTP request is sent from ``reconciler/api/``
(tests/test_architecture.py): here they share one place for what such a call may carry and
how its failures read.

None of them is given a credential: no API key or other header of the API client, no
~/.netrc (httpx reads it only when asked), no redirect followed (a 30x is an answer, so a
webhook cannot bounce a report elsewhere). Their answers come from places a manifest or the
command line named, so they are bounded: a webhook's body is never read, a probe reads at most
``max_body`` bytes. A failure is described in a few words with the known secrets masked
(reconciler/redact.py), never raised as httpx's own exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType

import httpx

from reconciler.redact import Secrets

__all__ = ["Answer", "Prober", "post_json"]


@dataclass(frozen=True)
class Answer:
    """What came back: the HTTP status, or 0 and why there was none."""

    status: int = 0
    failure: str = ""  # no answer: "ConnectError: ..." (redacted)
    bad_url: str = ""  # no request: the URL is not valid (httpx's reason)

    @property
    def problem(self) -> str | None:
        """The problem in a few words (a status outside 2xx included), None when it arrived."""
        if self.bad_url:
            return f"not a valid URL ({self.bad_url})"
        if self.failure:
            return self.failure
        return None if 200 <= self.status < 300 else f"HTTP {self.status}"


def post_json(url: str, payload: Mapping[str, object], *, timeout: float, agent: str,
              secrets: Secrets | None = None) -> Answer:
    """POST ``payload`` as JSON to ``url``; the answer's status (its body is never read).
    A failure's text is shown with ``secrets`` masked."""
    untrusted_message = (secrets or Secrets()).untrusted_message
    try:
        with httpx.stream("POST", url, json=payload, timeout=timeout, follow_redirects=False,
                          headers={"User-Agent": agent}) as response:
            return Answer(status=response.status_code)
    except httpx.HTTPError as exc:  # its text names the reason, never the URL
        return Answer(failure=untrusted_message(f"{type(exc).__name__}: {exc}"))
    except httpx.InvalidURL as exc:  # not an HTTPError
        return Answer(bad_url=untrusted_message(str(exc)))


class Prober:
    """A rollout probe's GETs on asyncio (so that one can be cancelled midway: Ctrl-C, or its
    deadline), each reading at most ``max_body`` bytes of the answer's body."""

    def __init__(self, *, timeout: float, agent: str, max_body: int) -> None:
        self._max_body = max_body
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False,
                                         headers={"User-Agent": agent})

    async def __aenter__(self) -> Prober:
        await self._client.__aenter__()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self._client.__aexit__(kind, exc, tb)

    async def get(self, url: str) -> Answer:
        """One GET: its status after reading at most ``max_body`` bytes of the body (the rest is
        dropped with the connection), or 0 and the name of what went wrong."""
        try:
            async with self._client.stream("GET", url) as response:
                read = 0
                async for chunk in response.aiter_raw():
                    read += len(chunk)
                    if read >= self._max_body:
                        break
                return Answer(status=response.status_code)
        except httpx.HTTPError as exc:
            return Answer(failure=type(exc).__name__)
