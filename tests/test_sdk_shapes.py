"""The emulator accepts the request shapes of Yotta's own Python SDK (``yottactl`` 0.1.6 on the
package index, module ``yotta``), replayed here over plain HTTP without installing it:
``credentialId`` as a JSON integer, ``protocol: "http"`` in lowercase, ``statusList`` comma-joined
and upper-cased, and a GPU type from the SDK's enum. Business errors carry ``"data": null``."""

from __future__ import annotations

from typing import Any

import httpx

from reconciler.api.client import YottaClient
from reconciler.api.facts import API_PREFIX, AUTH_HEADER, CODE_OK
from reconciler.emulator.server import EmulatorServer

from conftest import API_KEY

CREDENTIAL = 361530338086227968  # the SDK's create example; a float would make it ...227970


def sdk_create_body(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "image": "vllm/vllm-openai:v0.6.3",
        "imageRegistry": "https://index.docker.io/v1",
        "credentialId": CREDENTIAL,
        "resources": [{"region": "us-east-1", "gpuType": "NVIDIA_H100_80GB_HBM3_80G",
                       "gpuCount": 1}],
        "workers": 1,
        "containerVolumeInGb": 100,
        "serviceMode": "ALB",
        "expose": {"port": 8000, "protocol": "http"},
        "environmentVars": [{"key": "MODEL", "value": "llama"}],
    }


def ok(response: httpx.Response) -> Any:
    body = response.json()
    assert response.status_code == 200 and body["code"] == CODE_OK, body
    return body["data"]


def test_the_sdks_request_shapes_succeed(emulator: EmulatorServer) -> None:
    sdk = httpx.Client(base_url=emulator.url + API_PREFIX, headers={AUTH_HEADER: API_KEY})
    created = ok(sdk.post("/create", json=sdk_create_body("sdk-demo")))
    dep_id = created["id"]
    assert created["credentialId"] == CREDENTIAL  # exact, all 18 digits

    listed = ok(sdk.get("/list", params={"statusList": "RUNNING,INITIALIZING"}))
    assert dep_id in [d["id"] for d in listed]
    workers = ok(sdk.get(f"/{dep_id}/workers", params={"statusList": "RUNNING,INITIALIZING"}))
    assert workers

    ok(sdk.post(f"/{dep_id}/stop"))
    update = {k: v for k, v in sdk_create_body("sdk-demo").items()
              if k not in ("image", "imageRegistry", "serviceMode")}
    update["credentialId"] = CREDENTIAL + 1
    assert ok(sdk.post(f"/{dep_id}/update", json=update))["credentialId"] == CREDENTIAL + 1

    # yottactl reads what the SDK made: ids exact, the lowercase protocol normalised
    with YottaClient(API_KEY, emulator.url) as client:
        dep = client.detail(dep_id)
    assert dep.credentialId == str(CREDENTIAL + 1) and dep.expose is not None


def test_business_errors_carry_data_null(emulator: EmulatorServer) -> None:
    sdk = httpx.Client(base_url=emulator.url + API_PREFIX, headers={AUTH_HEADER: API_KEY})
    missing = sdk.post("/999999999999999999/stop")
    body = missing.json()
    assert body["code"] != CODE_OK and "data" in body and body["data"] is None
    invalid = sdk.post("/create", json={**sdk_create_body("x"), "workers": 0}).json()
    assert invalid["code"] != CODE_OK and "data" in invalid and invalid["data"] is None
