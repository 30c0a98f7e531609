"""The emulator's v2 façade (issue 27, docs/API-V2.md): v2's own rules at the HTTP boundary, PATCH
semantics, one world shared with v1 (lifecycle, rate limit, health, stats), the version choice,
and ``GET /v2/vms/types`` whose availability a test sets through ``/_emulator/capacity``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from reconciler.api.client import YottaClient
from reconciler.api.facts import AUTH_HEADER, CODE_ACTION_NOT_ALLOWED, CODE_INVALID, CODE_OK
from reconciler.emulator.server import EmulatorServer

from conftest import API_KEY, FAST_RETRY, create_body, start_emulator

CREDENTIAL = 361530338086227968


def v2_body(name: str = "web", **overrides: Any) -> dict[str, Any]:
    body = create_body(name, webhook="https://hooks.example.com/yotta",
                       containerRegistryAuthId=CREDENTIAL, initializationCommand="echo hi",
                       minSingleCardVcpu=8)
    body.update(overrides)
    return body


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    emulator = start_emulator()
    yield emulator
    emulator.stop()


@pytest.fixture
def v2(server: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url + "/v2", headers={AUTH_HEADER: API_KEY}) as http:
        yield http


def ok(response: httpx.Response) -> Any:
    body = response.json()
    assert response.status_code == 200 and body["code"] == CODE_OK, body
    return body["data"]


def refused(response: httpx.Response, code: int = CODE_INVALID) -> str:
    body = response.json()
    assert body["code"] == code and body["data"] is None, body
    assert response.status_code == (400 if code == CODE_INVALID else 200), body
    return str(body["message"])


@pytest.mark.parametrize(("overrides", "said"), [
    ({"name": "a" * 21}, "name: "),  # v2: at most 20 characters (v1 allows 50)
    ({"name": "1web"}, "name: "),  # a letter first
    ({"name": "web\n"}, "name: "),  # the pattern's $ is the end of the string
    ({"webhook": "https://h.example/" + "x" * 495}, "webhook: "),  # 513 characters
    ({"webhookUrl": "https://h.example/"}, "v2 spells it 'webhook'"),  # v1's spelling
    ({"credentialId": "1"}, "v2 spells it 'containerRegistryAuthId'"),  # update's key
    ({"envVars": [{"key": "A", "value": "b"}]}, "not both"),
    ({"environmentVars": [{"name": "A", "value": "b"}]}, "environmentVars.0: "),  # {key, value}
])
def test_create_enforces_v2_rules(v2: httpx.Client, overrides: dict[str, Any], said: str) -> None:
    message = refused(v2.post("/serverless", json=v2_body(**overrides)))
    assert said in message
    assert ok(v2.get("/serverless")) == []


def test_create_accepts_v2_limits_and_answers_in_v2_shape(v2: httpx.Client) -> None:
    longest = "https://h.example/" + "x" * 494  # 512 characters
    assert len(longest) == 512
    body = v2_body("W" + "b" * 19, webhook=longest, envVars=[{"key": "MODEL", "value": "llama"}])
    del body["environmentVars"]
    created = ok(v2.post("/serverless", json=body))
    assert isinstance(created["id"], str) and created["id"].isdigit()
    assert created["name"] == "W" + "b" * 19 and created["webhook"] == longest
    assert "webhookUrl" not in created
    assert created["environmentVars"] == [{"key": "MODEL", "value": "llama"}]
    assert created["credentialId"] == CREDENTIAL  # all 18 digits
    assert isinstance(created["createdAt"], int) and created["createdAt"] > 10**12  # epoch ms
    workers = ok(v2.get(f"/serverless/{created['id']}/workers"))
    assert workers and all(w["workerId"].isdigit() and w["createdAt"] > 10**12 for w in workers)


def test_patch_leaves_absent_fields_alone_and_null_clears(v2: httpx.Client) -> None:
    dep_id = ok(v2.post("/serverless", json=v2_body()))["id"]
    required = {"name": "web", "resources": v2_body()["resources"], "workers": 3,
                "containerVolumeInGb": 100}
    refused(v2.patch(f"/serverless/{dep_id}", json=required), CODE_ACTION_NOT_ALLOWED)  # RUNNING
    ok(v2.post(f"/serverless/{dep_id}/stop", json={}))

    kept = ok(v2.patch(f"/serverless/{dep_id}", json=required))
    assert kept["totalWorkers"] == 3
    assert kept["webhook"] == "https://hooks.example.com/yotta"
    assert kept["credentialId"] == CREDENTIAL and kept["minSingleCardVcpu"] == 8
    assert kept["initializationCommand"] == "echo hi" and kept["environmentVars"]
    assert kept["expose"] == {"port": 8000, "protocol": "HTTP"}

    cleared = ok(v2.patch(f"/serverless/{dep_id}", json={
        **required, "webhook": None, "credentialId": None, "minSingleCardVcpu": None,
        "initializationCommand": None, "environmentVars": None}))
    assert cleared["webhook"] is None and "credentialId" not in cleared
    assert "minSingleCardVcpu" not in cleared
    assert cleared["initializationCommand"] == "" and cleared["environmentVars"] == []
    assert cleared["expose"] == kept["expose"]  # absent: unchanged

    assert "v2 spells it 'credentialId'" in refused(v2.patch(f"/serverless/{dep_id}", json={
        **required, "containerRegistryAuthId": 1}))  # update's credential key
    assert "'name' is a required" in refused(v2.patch(f"/serverless/{dep_id}", json={"workers": 2}))
    assert "expose: required" in refused(v2.patch(f"/serverless/{dep_id}",
                                                   json={**required, "expose": None}))
    assert "name: " in refused(v2.patch(f"/serverless/{dep_id}", json={**required, "name": "x" * 21}))
    assert "not both" in refused(v2.patch(f"/serverless/{dep_id}", json={
        **required, "envVars": None, "environmentVars": [{"key": "A", "value": "b"}]}))
    for stray in ("webhookUrl", "image"):  # a null is checked too: v1's spelling, not updatable
        assert f"{stray}: not a v2 update field" in refused(
            v2.patch(f"/serverless/{dep_id}", json={**required, stray: None}))
    renamed = ok(v2.patch(f"/serverless/{dep_id}", json={**required, "credentialId": str(CREDENTIAL)}))
    assert renamed["credentialId"] == CREDENTIAL


def test_one_world_behind_both_versions(server: EmulatorServer, v2: httpx.Client) -> None:
    with YottaClient(API_KEY, server.url, retry=FAST_RETRY) as v1:
        from reconciler.api.models import CreateRequest

        dep_id = v1.create(CreateRequest.model_validate(create_body("made-by-v1"))).id
        seen = ok(v2.get(f"/serverless/{dep_id}"))
        assert seen["name"] == "made-by-v1" and seen["status"] == "RUNNING"
        assert httpx.get(seen["domain"]).status_code == 200  # it serves, whoever asks

        worker = ok(v2.get(f"/serverless/{dep_id}/workers"))[0]["workerId"]
        before = httpx.get(f"{server.url}/openapi/v1/elastic/deploy/{dep_id}/workers/{worker}/logs",
                           params={"pageSize": 5}, headers={AUTH_HEADER: API_KEY}).json()["data"]
        page = ok(v2.get(f"/serverless/{dep_id}/workers/{worker}/logs", params={"pageSize": 5}))
        assert before["logs"] and page["logs"][:len(before["logs"])] == before["logs"]  # one logbook
        assert ok(v2.put(f"/serverless/{dep_id}/workers", params={"count": 4})) is True
        assert v1.detail(dep_id).totalWorkers == 4
        assert [d["id"] for d in ok(v2.get("/serverless", params={"statusList": "RUNNING"}))] \
            == [dep_id]
        refused(v2.delete(f"/serverless/{dep_id}"), CODE_ACTION_NOT_ALLOWED)  # delete needs STOPPED
        ok(v2.post(f"/serverless/{dep_id}/stop"))
        assert v1.detail(dep_id).status == "STOPPED"
        assert httpx.get(seen["domain"]).status_code == 503
        ok(v2.post(f"/serverless/{dep_id}/start"))
        ok(v2.post(f"/serverless/{dep_id}/stop"))
        assert ok(v2.delete(f"/serverless/{dep_id}")) is True
        assert v1.list() == []
    counts = httpx.get(f"{server.url}/_emulator/stats").json()
    assert counts["versions"] == {"v1": 5, "v2": 10}  # create, logs, 2 details, list; 10 v2 calls
    assert counts["calls"]["endpointScale"] == 1 and counts["mutated"][dep_id] == 6


def test_v2_shares_the_faults() -> None:
    server = start_emulator(fault_rate=1.0, seed=7)
    server.emulator.faults.kinds = ("drop",)  # committed, then the connection is cut
    try:
        with pytest.raises(httpx.TransportError):
            httpx.post(f"{server.url}/v2/serverless", json=v2_body("dropped"),
                       headers={AUTH_HEADER: API_KEY})
        with YottaClient(API_KEY, server.url, retry=FAST_RETRY) as v1:
            assert [d.name for d in v1.list()] == ["dropped"]
    finally:
        server.stop()


def test_v2_shares_the_rate_limit() -> None:
    server = start_emulator(rate_limit=0.5)  # a burst of one: the next token comes in 2 s
    try:
        assert httpx.get(f"{server.url}/openapi/v1/elastic/deploy/list",
                         headers={AUTH_HEADER: API_KEY}).status_code == 200
        throttled = httpx.get(f"{server.url}/v2/serverless", headers={AUTH_HEADER: API_KEY})
        assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1
        assert httpx.get(f"{server.url}/v2/serverless").status_code == 401  # no key
    finally:
        server.stop()


@pytest.mark.parametrize(("api", "v1_status", "v2_status"), [("v2", 404, 200), ("v1", 200, 404)])
def test_the_version_choice(api: str, v1_status: int, v2_status: int) -> None:
    server = start_emulator(api=api)
    try:
        key = {AUTH_HEADER: API_KEY}
        assert httpx.get(f"{server.url}/openapi/v1/elastic/deploy/list",
                         headers=key).status_code == v1_status
        assert httpx.get(f"{server.url}/v2/serverless", headers=key).status_code == v2_status
    finally:
        server.stop()


def test_only_the_sdks_scale_form(server: EmulatorServer, v2: httpx.Client) -> None:
    dep_id = ok(v2.post("/serverless", json=v2_body()))["id"]
    assert v2.put(f"/serverless/{dep_id}/workers/3").status_code == 404  # openapi.yaml's form
    assert v2.post(f"/serverless/{dep_id}/workers", json={"workers": 3}).status_code == 405  # v1's
    assert "count" in refused(v2.put(f"/serverless/{dep_id}/workers"))
    assert ok(v2.get(f"/serverless/{dep_id}"))["totalWorkers"] == 2


def test_vm_types_report_availability_a_test_can_change(server: EmulatorServer,
                                                        v2: httpx.Client) -> None:
    def available() -> dict[tuple[str, str], bool]:
        types = ok(v2.get("/vms/types"))
        return {(t["gpuType"], r["region"]): r["available"] for t in types for r in t["regions"]}

    first = ok(v2.get("/vms/types"))
    one = first[0]["regions"][0]
    assert set(one) == {"region", "regionName", "available", "vmTypeId"}
    assert all(available().values()) and ("NVIDIA_H100_80G", "us-east-1") in available()
    control = f"{server.url}/_emulator/capacity"
    answer = httpx.post(control, json={"gpuType": "NVIDIA_H100_80G", "region": "us-east-1",
                                       "available": False})
    assert answer.json() == {"unavailable": [{"gpuType": "NVIDIA_H100_80G", "region": "us-east-1"}]}
    assert [pair for pair, up in available().items() if not up] == [("NVIDIA_H100_80G", "us-east-1")]
    httpx.post(control, json={"set": [
        {"gpuType": "NVIDIA_H100_80G", "region": "us-east-1", "available": True},
        {"gpuType": "NVIDIA_L4_24G", "region": "us-west-1", "available": False}]})
    assert [pair for pair, up in available().items() if not up] == [("NVIDIA_L4_24G", "us-west-1")]
    bad = httpx.post(control, json={"gpuType": "NVIDIA_H100_80G", "region": "mars-1",
                                    "available": False})
    assert bad.status_code == 400 and "mars-1" in bad.json()["error"]
    assert ok(v2.get("/vms/types")) != first and httpx.post(f"{server.url}/_emulator/reset")
    assert ok(v2.get("/vms/types")) == first  # reset: all available again, same vmTypeIds
    assert httpx.get(f"{server.url}/_emulator/stats").json()["calls"] == {"getVMTypes": 1}


def test_the_command_line_serves_v2_only() -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", "emulator", "--port", "0",
                             "--api", "v2"], stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stderr is not None
        url = proc.stderr.readline().split("listening on ", 1)[1].split()[0]  # blocks until it listens
        key = {AUTH_HEADER: API_KEY}
        assert httpx.get(f"{url}/v2/vms/types", headers=key).json()["code"] == CODE_OK
        assert httpx.get(f"{url}/openapi/v1/elastic/deploy/list", headers=key).status_code == 404
    finally:
        proc.terminate()
        proc.wait()
