"""Retry policy: exponential backoff with full jitter, honouring Retry-After (tenacity does the loop).

Retried: connection failures, 429, 502/503/504 (and 500 for reads and idempotent mutations, which
are safe to repeat). A non-idempotent call (create) is retried only when the request provably did
not take effect (connect error, 429); any other failure becomes :class:`OutcomeUnknown`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from reconciler.api import debuglog
from reconciler.errors import (
    ApiError,
    DeadlineExceeded,
    OutcomeUnknown,
    RateLimited,
    RetryHinted,
    ServerError,
    Unavailable,
)
from reconciler.redact import Secrets

if TYPE_CHECKING:
    import tenacity

T = TypeVar("T")
_RETRY_STATUS = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    total_seconds: float = 60.0
    base_seconds: float = 0.5
    max_backoff_seconds: float = 10.0


def _retryable(exc: BaseException, idempotent: bool) -> bool:
    if isinstance(exc, DeadlineExceeded):  # no time left for another attempt
        return False
    if isinstance(exc, RateLimited):
        return True
    if isinstance(exc, Unavailable):
        # a connect error never reached the server; other Unavailable only arise when idempotent
        return True
    return idempotent and isinstance(exc, ServerError) and exc.http_status in _RETRY_STATUS


def _wait(policy: RetryPolicy, deadline: Callable[[], float] | None,
          ) -> Callable[[tenacity.RetryCallState], float]:
    import random

    import tenacity

    ceiling = tenacity.wait_exponential(multiplier=policy.base_seconds,
                                        max=policy.max_backoff_seconds)
    # full jitter as tenacity.wait_random_exponential draws it, but from a generator of our
    # own: its draws from the random module's shared one reseeded or shifted other users'
    # sequences (hypothesis warned when a call retried on another thread during its draws)
    rng = random.Random()

    def jitter(state: tenacity.RetryCallState) -> float:
        return rng.uniform(0, ceiling(state))

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = exc.retry_after if isinstance(exc, RetryHinted) else None
        pause = float(min(hinted, policy.max_backoff_seconds) if hinted is not None
                      else jitter(state))
        if deadline is not None:  # never sleep past the call's deadline
            pause = min(pause, max(0.0, deadline() - time.monotonic()))
        return pause

    return wait


def _log_retry(secrets: Secrets) -> Callable[[tenacity.RetryCallState], None]:
    def log(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        summary = exc.summary if isinstance(exc, ApiError) else type(exc).__name__
        debuglog.retry(secrets, summary, state.attempt_number, wait)

    return log


def run_with_retries(fn: Callable[[], T], policy: RetryPolicy, *, idempotent: bool,
                     deadline: Callable[[], float] | None = None,
                     secrets: Secrets | None = None) -> T:
    """``fn()`` retried per ``policy``; ``deadline()`` (monotonic) bounds the pauses between tries.

    The first attempt runs bare: tenacity (and the asyncio it imports, ~10% of a small plan's
    start-up) is loaded only once a call actually needs a retry."""
    try:
        return fn()
    except Exception as exc:
        if not _retryable(exc, idempotent) or policy.attempts <= 1:
            if isinstance(exc, ServerError) and not idempotent:
                raise _unknown(exc) from exc
            raise
        first = exc
    import tenacity

    replay = [first]

    def attempt() -> T:  # tenacity's attempt 1 is the one already made
        if replay:
            raise replay.pop()
        return fn()

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(policy.attempts)
        | tenacity.stop_after_delay(policy.total_seconds),
        wait=_wait(policy, deadline),
        retry=tenacity.retry_if_exception(lambda e: _retryable(e, idempotent)),
        reraise=True,
        before_sleep=_log_retry(secrets or Secrets()),
    )
    try:
        return retrying(attempt)
    except ServerError as exc:
        if idempotent:
            raise
        # a 5xx on create may or may not have committed: let the caller look it up by name
        raise _unknown(exc) from exc


def _unknown(exc: ApiError) -> OutcomeUnknown:
    err = OutcomeUnknown(
        f"{exc.api_message}; the request may have been applied",
        operation=exc.operation, deployment=exc.deployment, http_status=exc.http_status,
        code=exc.code,
    )
    return err


