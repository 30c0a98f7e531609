"""One client, two transports: what the v2 transport sends (paths, methods, the field table's
v2 names, PATCH's explicit nulls) and how it reads v2 answers back into the same models as v1,
at the transport boundary (httpx's MockTransport). Against the emulator: tests/test_api_v2_e2e.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from reconciler.api.client import YottaClient
from reconciler.api.models import CreateRequest, UpdateRequest

from conftest import create_body

DEP_ID = "361530338086227968"
CRED = "361530338086220001"


def recording(answer: Callable[[httpx.Request], Any]) -> tuple[list[httpx.Request], httpx.Client]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"code": 10000, "message": "ok", "data": answer(request)})

    return seen, httpx.Client(transport=httpx.MockTransport(handler))


def client(version: str, http: httpx.Client) -> YottaClient:
    return YottaClient("k", "https://api.test", http=http, api_version=version)


def v1_answer(**overrides: Any) -> dict[str, Any]:
    """A detail answer as v1 spells it."""
    body = create_body("web", credentialId=CRED, webhookUrl="https://hooks.test/y")
    body.pop("workers")
    return {"id": DEP_ID, "status": "RUNNING", "totalWorkers": 2, **body, **overrides}


def v2_answer() -> dict[str, Any]:
    """The same deployment as v2 spells it: envVars, webhook, containerRegistryAuthId."""
    v1 = v1_answer()
    out = {k: v for k, v in v1.items()
           if k not in ("environmentVars", "webhookUrl", "credentialId")}
    return {**out, "envVars": v1["environmentVars"], "webhook": v1["webhookUrl"],
            "containerRegistryAuthId": int(CRED), "createdAt": 1767225600123}


def test_create_sends_the_v2_names_to_the_v2_path() -> None:
    bodies = {}
    for version in ("v1", "v2"):
        seen, http = recording(lambda r: v1_answer())
        request = CreateRequest.model_validate(
            create_body("web", credentialId=CRED, webhookUrl="https://hooks.test/y"))
        client(version, http).create(request)
        (sent,) = seen
        bodies[version] = (sent.method, sent.url.path, json.loads(sent.content))
    method, path, body = bodies["v2"]
    assert (method, path) == ("POST", "/v2/serverless")
    assert body["containerRegistryAuthId"] == int(CRED) and "credentialId" not in body
    assert body["webhook"] == "https://hooks.test/y" and "webhookUrl" not in body
    v1_method, v1_path, v1_body = bodies["v1"]
    assert (v1_method, v1_path) == ("POST", "/openapi/v1/elastic/deploy/create")
    assert v1_body["credentialId"] == CRED and v1_body["webhookUrl"] == "https://hooks.test/y"
    # nothing else differs: the same request, two spellings
    renamed = {"credentialId": "containerRegistryAuthId", "webhookUrl": "webhook"}
    assert {renamed.get(k, k) for k in v1_body} == set(body)


def test_update_is_a_patch_that_clears_with_null() -> None:
    """PATCH keeps what it does not name: a field the manifest no longer sets (the webhook,
    the credential) is sent as null, so the live deployment loses it as v1's update does."""
    seen, http = recording(lambda r: None)
    body = create_body("web")
    for key in ("image", "serviceMode", "imageRegistry"):
        body.pop(key, None)
    client("v2", http).update(DEP_ID, UpdateRequest.model_validate(body))
    (sent,) = seen
    assert (sent.method, sent.url.path) == ("PATCH", f"/v2/serverless/{DEP_ID}")
    patch = json.loads(sent.content)
    assert "webhook" in patch and patch["webhook"] is None
    assert "credentialId" in patch and patch["credentialId"] is None  # update's name for it
    assert patch["initializationCommand"] is None
    assert patch["name"] == "web" and patch["workers"] == 2
    assert patch["environmentVars"] == body["environmentVars"]

    seen, http = recording(lambda r: None)
    client("v2", http).update(DEP_ID, UpdateRequest.model_validate(
        {**body, "credentialId": CRED, "webhookUrl": "https://hooks.test/z"}))
    patch = json.loads(seen[0].content)
    assert patch["credentialId"] == int(CRED) and patch["webhook"] == "https://hooks.test/z"


@pytest.mark.parametrize(("operation", "method", "path", "query"), [
    (lambda c: c.scale(DEP_ID, 3), "PUT", f"/v2/serverless/{DEP_ID}/workers", "count=3"),
    (lambda c: c.stop(DEP_ID), "POST", f"/v2/serverless/{DEP_ID}/stop", ""),
    (lambda c: c.start(DEP_ID), "POST", f"/v2/serverless/{DEP_ID}/start", ""),
    (lambda c: c.delete(DEP_ID), "DELETE", f"/v2/serverless/{DEP_ID}", ""),
    (lambda c: c.list(["RUNNING", "STOPPED"]), "GET", "/v2/serverless",
     "statusList=RUNNING%2CSTOPPED"),
])
def test_each_operation_takes_the_sdks_route(operation: Callable[[YottaClient], object],
                                             method: str, path: str, query: str) -> None:
    seen, http = recording(lambda r: [] if r.method == "GET" else True)
    operation(client("v2", http))
    (sent,) = seen
    assert (sent.method, sent.url.path, sent.url.query.decode()) == (method, path, query)
    assert sent.content == b""  # scale's count is in the query, as the SDK sends it


def test_v2_answers_read_as_the_same_models() -> None:
    models = {}
    for version, answer in (("v1", v1_answer()), ("v2", v2_answer())):
        _, http = recording(lambda r, a=answer: [a] if r.url.path.endswith(("list", "less"))
                            else a)
        c = client(version, http)
        models[version] = (c.detail(DEP_ID), c.list()[0], c.list_each(lambda d: d)[0])
    for v1, v2 in zip(models["v1"], models["v2"], strict=True):
        assert v2.environmentVars == v1.environmentVars and v1.environmentVars
        assert v2.webhookUrl == v1.webhookUrl == "https://hooks.test/y"
        assert v2.credentialId == v1.credentialId == CRED
    assert models["v2"][0].model_extra == {"createdAt": "2026-01-01T00:00:00.123Z"}


def test_v2_workers_and_log_lines_read_as_v1s() -> None:
    def answer(request: httpx.Request) -> Any:
        if request.url.path.endswith("/logs"):
            return {"logs": [{"timestamp": 1767225600123, "log": "ready", "offset": 0}],
                    "hasMore": True, "nextSearchAfterTime": 1767225600123,
                    "nextSearchAfterOffset": 0}
        return [{"workerId": "7", "status": "RUNNING", "createdAt": 1767225600000}]

    seen, http = recording(answer)
    c = client("v2", http)
    (worker,) = c.workers(DEP_ID)
    assert worker.id == "7" and worker.status == "RUNNING"
    page = c.logs(DEP_ID, "7")
    assert page.logs[0].timestamp == "2026-01-01T00:00:00.123Z"
    assert page.nextSearchAfterTime == "1767225600123"  # the cursor goes back as received
    assert seen[1].url.path == f"/v2/serverless/{DEP_ID}/workers/7/logs"


def test_what_v2_sends_is_what_yottas_own_document_describes() -> None:
    """Every key the v2 transport sends is one YottaML's OpenAPI document names for the
    request (tests/yottaml_openapi_v2.json), with its type, a null aside (PATCH's "clear");
    create also carries the four optional keys the SDK sends that the document omits."""
    from pathlib import Path

    import jsonschema

    document = json.loads((Path(__file__).parent / "yottaml_openapi_v2.json").read_text())
    schemas = document["components"]["schemas"]
    sdk_extras = {"minSingleCardVramInGb", "minSingleCardVcpu", "minSingleCardRamInGb",
                  "initializationCommand"}  # yottaml's create_deployment sends them
    full = create_body("web", credentialId=CRED, webhookUrl="https://hooks.test/y",
                       initializationCommand="./serve", minSingleCardVramInGb=24,
                       minSingleCardVcpu=8, minSingleCardRamInGb=64)
    update = {k: v for k, v in full.items() if k not in ("image", "serviceMode", "imageRegistry")}
    for request, schema_name, extras in (
            (CreateRequest.model_validate(full), "CreateEndpointRequest", sdk_extras),
            (UpdateRequest.model_validate(update), "UpdateEndpointRequest", set()),
            (UpdateRequest.model_validate({k: update[k] for k in (
                "name", "resources", "workers", "containerVolumeInGb")}),
             "UpdateEndpointRequest", set())):
        seen, http = recording(lambda r: v1_answer())
        c = client("v2", http)
        if isinstance(request, CreateRequest):
            c.create(request)
        else:
            c.update(DEP_ID, request)
        body = json.loads(seen[0].content)
        schema = {**schemas[schema_name], "components": {"schemas": schemas},
                  "additionalProperties": False}
        schema["properties"] = {**schema["properties"], **{k: {} for k in extras}}
        sent = {k: v for k, v in body.items() if v is not None}
        jsonschema.validate(sent, schema)  # its $refs resolve in the "components" it carries


def test_gpu_types_read_whatever_shape_of_region_the_sources_show() -> None:
    """GET /v2/vms/types: regions as the OpenAPI document has them, and as plain names (how
    the SDK's own tests mock them): a region without `available` is unknown, not unavailable."""
    from reconciler.plan.availability import availability_of

    _, http = recording(lambda r: [
        {"gpuType": "NVIDIA_H100_80G", "regions": [
            {"region": "us-east-1", "regionName": "US East 1", "available": False,
             "vmTypeId": 7}, {"region": "us-east-2"}]},
        {"gpuType": "NVIDIA_L4_24G", "regions": ["us-east-1"]},
        {"gpuType": "NVIDIA_A100_80G", "regions": None}])
    types = client("v1", http).gpu_types()  # the v2 endpoint, whichever version manages
    assert [t.gpuType for t in types] == ["NVIDIA_H100_80G", "NVIDIA_L4_24G", "NVIDIA_A100_80G"]
    assert availability_of(types) == {("NVIDIA_H100_80G", "us-east-1"): False}
