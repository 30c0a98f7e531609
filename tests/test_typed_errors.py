"""Typed error fields: Retry-After is a declared attribute of rate-limit and server errors."""

from __future__ import annotations

import httpx
import pytest

from reconciler.api.client import YottaClient
from reconciler.api.retry import RetryPolicy
from reconciler.errors import InvalidRequest, RateLimited, RetryHinted, ServerError

ONCE = RetryPolicy(attempts=1)


def _client(status: int, headers: dict[str, str]) -> YottaClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers, json={"code": status, "message": "no"})

    return YottaClient("k", "https://x.test", retry=ONCE,
                       http=httpx.Client(transport=httpx.MockTransport(handler)))


@pytest.mark.parametrize(("status", "cls"), [(429, RateLimited), (503, ServerError)])
def test_retry_after_is_a_declared_field(status: int, cls: type[RetryHinted]) -> None:
    with pytest.raises(cls) as err:
        _client(status, {"Retry-After": "7"}).list()
    assert err.value.retry_after == 7.0
    assert err.value.with_deployment("web").retry_after == 7.0  # survives naming the deployment


def test_no_header_no_hint_and_other_errors_have_none() -> None:
    with pytest.raises(RateLimited) as err:
        _client(429, {}).list()
    assert err.value.retry_after is None
    with pytest.raises(InvalidRequest) as bad:
        _client(400, {"Retry-After": "7"}).list()
    assert not isinstance(bad.value, RetryHinted)
