"""The client against a running emulator over real HTTP: every operation and every error class."""

from __future__ import annotations

import ssl
import time

import httpx
import pytest

from reconciler.api.client import YottaClient
from reconciler.api.limiter import FixedLimiter
from reconciler.api.models import CreateRequest, UpdateRequest
from reconciler.errors import (
    ActionNotAllowed,
    AuthError,
    BadResponse,
    InvalidRequest,
    NotFound,
    OutcomeUnknown,
    UsageError,
)

from conftest import API_KEY, FAST_RETRY, create_body, start_emulator, stats


def create(client: YottaClient, name: str = "demo", **kw: object) -> str:
    return client.create(CreateRequest.model_validate(create_body(name, **kw))).id


def update_body(**overrides: object) -> UpdateRequest:
    body = create_body()
    for key in ("image", "serviceMode", "imageRegistry"):
        body.pop(key, None)
    body.update(overrides)
    return UpdateRequest.model_validate(body)


def test_create_detail_list_lifecycle(client: YottaClient) -> None:
    dep_id = create(client, credentialId="361530338086227968")
    assert len(dep_id) == 18 and dep_id.isdigit()
    detail = client.detail(dep_id)
    assert detail.status == "RUNNING"  # zero-length transitions in tests
    assert detail.credentialId == "361530338086227968"
    assert detail.runningWorkers == 2 and detail.totalWorkers == 2
    assert detail.perHourPrice == pytest.approx(2 * (1.85 + 0.001 * 100))
    assert detail.domain and detail.domain.endswith(f"/_serve/{dep_id}")  # served: a URL
    assert detail.resources[0].gpuDisplayName
    assert [d.id for d in client.list()] == [dep_id]
    assert client.list(status=["STOPPED"]) == []


def test_stop_update_start_gives_new_workers(client: YottaClient) -> None:
    dep_id = create(client)
    before = {w.id for w in client.workers(dep_id)}
    client.stop(dep_id)
    assert client.detail(dep_id).status == "STOPPED"
    assert client.detail(dep_id).perHourPrice == 0
    updated = client.update(dep_id, update_body(workers=3, containerVolumeInGb=50))
    assert updated is not None and updated.containerVolumeInGb == 50
    client.start(dep_id)
    detail = client.detail(dep_id)
    assert detail.status == "RUNNING" and detail.runningWorkers == 3
    running = {w.id for w in client.workers(dep_id, status=["RUNNING"])}
    assert running and not running & before
    terminated = client.workers(dep_id, status=["TERMINATED"])
    assert {w.id for w in terminated} == before  # old workers stay listed


def test_scale_running_and_stopped(client: YottaClient) -> None:
    dep_id = create(client)
    client.scale(dep_id, 4)
    assert client.detail(dep_id).runningWorkers == 4
    client.scale(dep_id, 1)
    assert client.detail(dep_id).runningWorkers == 1
    client.stop(dep_id)
    client.scale(dep_id, 3)
    assert client.detail(dep_id).totalWorkers == 3


def test_delete_only_when_stopped(client: YottaClient) -> None:
    dep_id = create(client)
    with pytest.raises(ActionNotAllowed) as err:
        client.delete(dep_id)
    assert err.value.code == 24002 and err.value.operation == "delete"
    assert dep_id in str(err.value)
    client.stop(dep_id)
    client.delete(dep_id)
    with pytest.raises(NotFound) as gone:
        client.detail(dep_id)
    assert gone.value.code == 10007


def test_update_running_is_not_allowed(client: YottaClient) -> None:
    dep_id = create(client)
    with pytest.raises(ActionNotAllowed):
        client.update(dep_id, update_body(workers=3))
    with pytest.raises(ActionNotAllowed):
        client.start(dep_id)


def test_invalid_gpu_type_names_the_type(client: YottaClient) -> None:
    body = create_body(resources=[{"region": "us-east-1", "gpuType": "TPU_v9", "gpuCount": 1}])
    with pytest.raises(InvalidRequest) as err:
        client.create(CreateRequest.model_validate(body))
    assert "gpu type [TPU_v9] not supported" in str(err.value)
    assert err.value.code == 10001 and err.value.http_status == 400


def test_auth_failure_never_contains_key() -> None:
    server = start_emulator(api_key="the-right-key")
    try:
        with YottaClient(API_KEY, server.url, retry=FAST_RETRY) as c, pytest.raises(AuthError) as e:
            c.list()
        assert e.value.http_status == 401
        assert API_KEY not in str(e.value) and API_KEY not in repr(e.value)
        with YottaClient("the-right-key", server.url) as ok:
            assert ok.list() == []
    finally:
        server.stop()


def test_workers_and_logs_paging_both_directions(client: YottaClient) -> None:
    dep_id = create(client, workers=1)
    worker = client.workers(dep_id)[0]
    deadline = time.monotonic() + 5  # the startup sequence is written over ~20 ms
    while len(list(client.iter_logs(dep_id, worker.id))) < 25 and time.monotonic() < deadline:
        time.sleep(0.005)
    pages = client.logs(dep_id, worker.id, page_size=5)
    assert len(pages.logs) == 5 and pages.hasMore
    forward = list(client.iter_logs(dep_id, worker.id, page_size=6))
    assert len(forward) >= 20  # startup sequence spans several pages
    offsets = [e.offset for e in forward]
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
    backward = list(client.iter_logs(dep_id, worker.id, page_size=7, direction="Backward",
                                     end_time=forward[19].timestamp))
    assert [e.offset for e in backward] == list(range(19, -1, -1))
    hits = list(client.iter_logs(dep_id, worker.id, keyword="Loading model weights"))
    assert len(hits) == 4


def test_bad_ids_and_unknown_records(client: YottaClient) -> None:
    with pytest.raises(NotFound):
        client.stop("999999999999999999")
    with pytest.raises(BadResponse, match="field id: the deployment id 'not-a-number' is not"):
        client.detail("not-a-number")  # a clean error naming the field, not a ValueError


def test_retries_converge_and_never_duplicate_create() -> None:
    server = start_emulator(fault_rate=0.4, seed=7)
    try:
        c = YottaClient(API_KEY, server.url, retry=FAST_RETRY)
        created: list[str] = []
        unknown = 0
        for i in range(12):
            try:
                created.append(create(c, f"svc-{i}"))
            except OutcomeUnknown:
                unknown += 1
        for _ in range(10):  # reads ride out the injected faults
            live = c.list()
        names = [d.name for d in live]
        assert len(names) == len(set(names)), "a create was blindly retried"
        assert set(created) <= {d.id for d in live}
        assert unknown > 0 and len(live) <= 12
    finally:
        server.stop()


def test_dropped_create_raises_outcome_unknown_and_commits_once() -> None:
    server = start_emulator(fault_rate=1.0, seed=1)
    server.emulator.faults.kinds = ("drop",)
    try:
        c = YottaClient(API_KEY, server.url, retry=FAST_RETRY)
        with pytest.raises(OutcomeUnknown) as err:
            create(c)
        assert err.value.operation == "create" and "demo" in str(err.value)
        server.emulator.faults.fault_rate = 0
        assert [d.name for d in c.list()] == ["demo"]
        assert stats(server)["endpointCreate"] == 1
    finally:
        server.stop()


def test_envelope_error_on_http_200_and_html_502() -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if request.url.path.endswith("/list"):
            return httpx.Response(200, json={"code": 24001, "message": "serverless does not exist"})
        if calls["n"] <= 3:
            return httpx.Response(502, text="<html>Bad Gateway</html>")
        return httpx.Response(200, json={"code": 10000, "message": "ok", "data": {"id": 7}})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    c = YottaClient("k", "https://api.example.test", http=http, retry=FAST_RETRY)
    with pytest.raises(NotFound) as err:
        c.list()
    assert err.value.http_status == 200 and err.value.code == 24001
    assert c.detail("7").id == "7"  # two 502 pages were retried
    assert calls["n"] == 4


def test_retry_after_is_honoured_and_bounded() -> None:
    seen: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(time.monotonic())
        if len(seen) == 1:
            return httpx.Response(429, headers={"Retry-After": "0.2"}, json={"code": 429})
        return httpx.Response(200, json={"code": 10000, "data": []})

    c = YottaClient("k", "https://x.test", http=httpx.Client(transport=httpx.MockTransport(handler)),
                    retry=FAST_RETRY.__class__(attempts=3, base_seconds=0.01,
                                               max_backoff_seconds=1.0))
    assert c.list() == []
    assert seen[1] - seen[0] >= 0.19


def test_retries_leave_the_shared_random_generator_alone() -> None:
    """Backoff jitter comes from the client's own generator: a retry on one thread must not
    shift the sequence of the random module's generator another user (hypothesis, a seeded
    simulation) draws from."""
    import random

    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] < 3:
            return httpx.Response(503, json={"code": 503})
        return httpx.Response(200, json={"code": 10000, "data": []})

    c = YottaClient("k", "https://x.test", http=httpx.Client(transport=httpx.MockTransport(handler)),
                    retry=FAST_RETRY)
    random.seed(7)
    before = random.getstate()
    assert c.list() == []
    assert calls["n"] == 3  # the call did retry, twice, with a jittered wait
    assert random.getstate() == before


def _tls_context(client: YottaClient) -> ssl.SSLContext:
    context = client.http._transport._pool._ssl_context  # type: ignore[attr-defined]
    assert isinstance(context, ssl.SSLContext)
    return context


def test_a_plain_http_client_loads_no_ca_bundle_and_trusts_no_one() -> None:
    """Loading the CA bundle cost every command ~40 ms (a quarter of the suite's CPU); a plain-
    http endpoint never uses it. The context it gets instead still verifies certificates and
    host names while trusting no authority: TLS it is somehow led to fails closed."""
    https = _tls_context(YottaClient("k", "https://x.test"))
    assert https.cert_store_stats()["x509_ca"] > 0  # the probe sees a loaded bundle
    assert https.verify_mode == ssl.CERT_REQUIRED and https.check_hostname
    for url in ("http://127.0.0.1:9", "HTTP://[::1]:9"):
        plain = _tls_context(YottaClient("k", url))
        assert plain.cert_store_stats() == {"x509": 0, "crl": 0, "x509_ca": 0}, url
        assert plain.verify_mode == ssl.CERT_REQUIRED and plain.check_hostname, url


def test_a_loopback_endpoint_is_never_reached_through_an_environment_proxy(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy elsewhere cannot reach this machine's loopback; it would only be handed the API
    key in clear. Other endpoints keep the environment's proxies."""
    from reconciler.errors import Unavailable

    for variable in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens: unusable
    server = start_emulator()
    try:
        with YottaClient(API_KEY, server.url, retry=FAST_RETRY) as direct:
            assert direct.list() == []
    finally:
        server.stop()
    # precondition: the proxy is honoured where it applies (and is unusable)
    with YottaClient(API_KEY, "http://api.example.invalid", allow_insecure=True,
                     retry=FAST_RETRY) as proxied, pytest.raises(Unavailable):
        proxied.list()


def test_construction_costs_no_network_and_hides_key() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError("constructing the client must not call the network")

    c = YottaClient("super-secret", "https://x.test",
                    http=httpx.Client(transport=httpx.MockTransport(refuse)))
    assert "super-secret" not in repr(c)


def test_plain_http_refused_off_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError) as err:
        YottaClient("k", "http://api.example.com")
    assert "unencrypted" in str(err.value)
    assert YottaClient("k", "http://api.example.com", allow_insecure=True).base_url
    assert YottaClient("k", "http://[::1]:9").base_url == "http://[::1]:9"
    monkeypatch.delenv("YOTTA_API_KEY", raising=False)
    with pytest.raises(UsageError):
        YottaClient(None, "https://x.test")


def test_headers_and_ids_on_the_wire() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"code": 10000, "data": None})

    c = YottaClient("kk", "https://x.test", http=httpx.Client(transport=httpx.MockTransport(handler)))
    c.scale("361530338086227968", 3)
    req = seen[0]
    assert req.headers["X-Api-Key"] == "kk"
    assert req.headers["User-Agent"].startswith("yottactl/")
    assert req.url.path == "/openapi/v1/elastic/deploy/361530338086227968/workers"
    assert req.content == b'{"workers":3}'


def test_twenty_concurrent_requests(client: YottaClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(20) as pool:
        ids = list(pool.map(lambda i: create(client, f"c-{i}"), range(20)))
    assert len(set(ids)) == 20 and len(client.list()) == 20


def test_exhausted_retries_raise_the_typed_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/list"):
            return httpx.Response(429, headers={"Retry-After": "0"}, json={"code": 429,
                                                                           "message": "slow down"})
        return httpx.Response(500, json={"code": 10002, "message": "system error"})

    from reconciler.errors import RateLimited, ServerError

    # a fixed limiter: this is about the errors, not the pacing (the adaptive one would slow
    # these always-429 calls to 1 per 2 s, ~25 s of the suite)
    c = YottaClient("k", "https://x.test", http=httpx.Client(transport=httpx.MockTransport(handler)),
                    retry=FAST_RETRY, limiter=FixedLimiter(4))
    with pytest.raises(RateLimited) as limited:
        c.list()
    assert limited.value.http_status == 429 and "slow down" in str(limited.value)
    with pytest.raises(ServerError) as failed:
        c.detail("361530338086227968")
    assert failed.value.code == 10002 and failed.value.operation == "detail"
    with pytest.raises(OutcomeUnknown):  # a 5xx on create may have committed: never retried
        create(c)
