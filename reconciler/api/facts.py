"""API facts the OpenAPI document leaves out (DESIGN §1), kept in one place so they are easy to change.

Also the envelope parser: HTTP response -> ``data`` or one of :mod:`reconciler.errors`.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from reconciler.errors import (
    ActionNotAllowed,
    ApiError,
    AuthError,
    InvalidRequest,
    NotFound,
    RateLimited,
    ServerError,
)

DEFAULT_BASE_URL = "https://api.yottalabs.ai"
API_PREFIX = "/openapi/v1/elastic/deploy"
AUTH_HEADER = "X-Api-Key"  # raw key, no "Bearer"

# Envelope codes. Success is 10000 only; anything else is an error even on HTTP 200.
CODE_OK = 10000
CODE_INVALID = 10001
CODE_SYSTEM = 10002
CODE_RECORD_NOT_FOUND = 10007
CODE_ENDPOINT_NOT_FOUND = 14000
CODE_SERVERLESS_MISSING = 24001
CODE_ACTION_NOT_ALLOWED = 24002
NOT_FOUND_CODES = frozenset({CODE_RECORD_NOT_FOUND, CODE_ENDPOINT_NOT_FOUND, CODE_SERVERLESS_MISSING})

# Deployment statuses; unknown ones parse as plain strings.
INITIALIZING, RUNNING, STOPPING, STOPPED, FAILED = (
    "INITIALIZING", "RUNNING", "STOPPING", "STOPPED", "FAILED",
)
TRANSITIONAL = frozenset({INITIALIZING, STOPPING})
WORKER_STATUSES = (
    "INITIALIZE", "RUNNING", "PAUSING", "PAUSED", "TERMINATING", "TERMINATED", "FAILED",
)
SERVICE_MODES = ("ALB", "QUEUE", "CUSTOM")
DEFAULT_IMAGE_REGISTRY = "https://index.docker.io/v1"

LOG_FORWARD, LOG_BACKWARD = "Forward", "Backward"
LOG_PAGE_DEFAULT, LOG_PAGE_MAX = 100, 1000

# Fields the update request accepts; image, imageRegistry and serviceMode force replacement.
REPLACE_FIELDS = ("image", "imageRegistry", "serviceMode")


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


def unwrap(response: httpx.Response, *, operation: str, deployment: str | None) -> Any:
    """Return the envelope's ``data`` or raise the matching :class:`ApiError`."""
    body: Any = None
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        body = None
    if not isinstance(body, dict):  # proxies and 502 pages send HTML or nothing
        if response.is_success:
            raise ServerError(
                "response is not a JSON envelope", operation=operation, deployment=deployment,
                http_status=response.status_code,
            )
        snippet = " ".join(response.text.split())[:120] or response.reason_phrase
        err = _error_for(response.status_code, None, snippet, operation, deployment)
        err.retry_after = retry_after_seconds(response)  # type: ignore[attr-defined]
        raise err
    code = body.get("code")
    if response.is_success and code == CODE_OK:
        return body.get("data")
    message = str(body.get("message") or response.reason_phrase or "unknown error")
    err = _error_for(response.status_code, code if isinstance(code, int) else None, message,
                     operation, deployment)
    err.retry_after = retry_after_seconds(response)  # type: ignore[attr-defined]
    raise err
