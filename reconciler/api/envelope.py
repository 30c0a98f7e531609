"""The response envelope ``{code, message, data}``: success only when ``code == 10000`` (the
number; also written as the string "10000", see ``code_of``).

Turns an HTTP response into ``data`` or one of :mod:`reconciler.errors` (the client's boundary).
"""

from __future__ import annotations

import httpx

from reconciler import fastjson
from reconciler.api.facts import (
    CODE_ACTION_NOT_ALLOWED,
    CODE_INVALID,
    CODE_OK,
    CODE_SYSTEM,
    NOT_FOUND_CODES,
)
from reconciler.errors import (
    ActionNotAllowed,
    ApiError,
    AuthError,
    BadResponse,
    InvalidRequest,
    NotFound,
    RateLimited,
    RetryHinted,
    ServerError,
)
from reconciler.redact import Secrets, clip


def _error_for(
    http_status: int, code: int | None, message: str, operation: str, deployment: str | None
) -> ApiError:
    cls: type[ApiError]
    if code in NOT_FOUND_CODES or http_status == 404:
        cls = NotFound
    elif code == CODE_ACTION_NOT_ALLOWED:
        cls = ActionNotAllowed
    elif http_status in (401, 403):
        cls = AuthError
    elif http_status == 429:
        cls = RateLimited
    elif code == CODE_INVALID or http_status == 400:
        cls = InvalidRequest
    elif http_status >= 500 or code == CODE_SYSTEM:
        cls = ServerError
    else:
        cls = ApiError
    return cls(message, operation=operation, deployment=deployment, http_status=http_status, code=code)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds (it may be a number or an HTTP date)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from datetime import datetime, timezone
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def unwrap(response: httpx.Response, *, operation: str, deployment: str | None,
           secrets: Secrets) -> object:
    """Return the envelope's ``data`` or raise the matching :class:`ApiError`; the API's
    message (untrusted: it may echo a secret back) with ``secrets`` masked."""
    body: object = None
    failure: Exception | None = None
    try:
        body = fastjson.loads(response.content, deep_ok=False)
    except (ValueError, RecursionError) as exc:  # not JSON; or JSON nested deeper than the stack
        failure = exc  # (JSONDecodeError and UnicodeDecodeError are ValueErrors)
    if not isinstance(body, dict):  # proxies and 502 pages send HTML or nothing
        if response.is_success:
            why = ("JSON nested too deeply" if isinstance(failure, RecursionError)
                   else "response is not a JSON envelope")
            raise BadResponse(
                f"unexpected answer: {why}", operation=operation, deployment=deployment,
                http_status=response.status_code,
            ) from failure
        snippet = secrets.redact(" ".join(response.text.split()))[:120] or response.reason_phrase
        raise _with_retry_after(_error_for(response.status_code, None, snippet, operation,
                                           deployment), response)
    code = code_of(body.get("code"))
    if response.is_success and code is None:
        got = repr(body["code"]) if "code" in body else "nothing"
        raise BadResponse(f"unexpected answer: field code: expected an integer, got {clip(got, 60)}",
                          operation=operation, deployment=deployment,
                          http_status=response.status_code)
    if response.is_success and code == CODE_OK:
        return body.get("data")
    message = str(body.get("message") or response.reason_phrase or "unknown error")
    if message.strip().lower() in _SUCCESS_WORDS:  # a failure never reads "failed: success"
        message = f"not a success, although its message says {message.strip()!r}"
    err = _error_for(response.status_code, code, secrets.redact(message), operation, deployment)
    raise _with_retry_after(err, response)


_SUCCESS_WORDS = frozenset({"success", "succeeded", "successful", "ok"})


def code_of(value: object) -> int | None:
    """The envelope's code as a number, or None. The spec says int32; a string of digits (a
    gateway that quotes numbers) or an integral float has one meaning, so it is read as that
    number. Anything else (missing, text, bool) is not a code."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        return int(value)
    return None


def _with_retry_after(err: ApiError, response: httpx.Response) -> ApiError:
    if isinstance(err, RetryHinted):
        err.retry_after = retry_after_seconds(response)
    return err
