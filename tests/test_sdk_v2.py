"""Yotta's own v2 SDK (``yottaml`` 0.2.0, pinned in the test extra) drives the emulator's v2 façade
(issue 27, docs/API-V2.md): its ``ElasticApi`` runs a deployment's whole life and its ``GpuApi``
reads ``/v2/vms/types``, with every answer a success, and the emulator's world is checked after
each step. The SDK returns business errors instead of raising (it raises only on HTTP 4xx/5xx),
so each answer's code is asserted, and each answer is validated against the response schema of
Yotta's own v2 OpenAPI document (``tests/yottaml_openapi_v2.json``: the serverless part of
YottaML's ``docs/openapi.yaml``, unchanged). Its ``yotta`` CLI finds the emulator through
YOTTA_BASE_URL.

The platform updates and deletes only STOPPED deployments (docs/ARCHITECTURE.md §1), so the life
is create, get, list, scale, stop, start, stop, update, delete."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner
from jsonschema import Draft202012Validator
from yottaml.elastic import ElasticApi
from yottaml.gpu import GpuApi
from yottaml_cli.cli import cli as yotta

from reconciler.api.facts import CODE_OK
from reconciler.emulator.server import EmulatorServer

from conftest import API_KEY

CREDENTIAL = 361530338086227968  # an 18-digit id, sent by the SDK as a JSON integer
H100 = [{"region": "us-east-1", "gpuType": "NVIDIA_H100_80G", "gpuCount": 1}]


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable: true`` as JSON Schema's ``null`` type."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


DOCUMENT = json.loads((Path(__file__).parent / "yottaml_openapi_v2.json").read_text("utf-8"))
COMPONENTS = _json_schema(DOCUMENT["components"])


def ok(answer: dict[str, Any], schema: str) -> Any:
    """The answer's data, once it is a success that Yotta's document says it may be."""
    assert answer["code"] == CODE_OK, answer
    Draft202012Validator({"$ref": f"#/components/schemas/{schema}",
                          "components": COMPONENTS}).validate(answer)
    return answer["data"]


class Watch:
    """The emulator's world and the one call each step should have made."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.world = server.emulator.world
        self.before: dict[str, int] = {}

    def calls(self) -> dict[str, int]:
        return dict(httpx.get(f"{self.server.url}/_emulator/stats").json()["calls"])

    def step(self, operation: str) -> None:
        now = self.calls()
        grew = {op: n - self.before.get(op, 0) for op, n in now.items() if n != self.before.get(op, 0)}
        assert grew == {operation: 1}, grew  # exactly the operation, through v2
        self.before = now

    def record(self, dep_id: str) -> dict[str, Any]:
        with self.world.lock:
            return self.world.get(int(dep_id))


def test_the_sdk_runs_a_deployments_life(emulator: EmulatorServer) -> None:
    api = ElasticApi(API_KEY, base_url=emulator.url)
    watch = Watch(emulator)

    created = ok(api.create_deployment(
        name="sdk-v2-demo", image="vllm/vllm-openai:v0.6.3", resources=H100, workers=2,
        service_mode="ALB", container_volume_in_gb=100, credential_id=CREDENTIAL,
        environment_vars=[{"key": "MODEL", "value": "llama"}],
        expose={"port": 8000, "protocol": "http"}, webhook="https://hooks.example.com/yotta"),
        "EndpointResponse")
    dep_id = created["id"]
    watch.step("endpointCreate")
    record = watch.record(dep_id)
    assert record["name"] == "sdk-v2-demo" and record["credentialId"] == CREDENTIAL
    assert record["webhookUrl"] == "https://hooks.example.com/yotta"
    assert record["status"] == "RUNNING" and record["workers_wanted"] == 2

    detail = ok(api.get_deployment_detail(dep_id), "EndpointResponse")
    watch.step("endpointDetail")
    assert detail["id"] == dep_id and detail["webhook"] == "https://hooks.example.com/yotta"

    listed = ok(api.get_deployments(status_list=["running", "INITIALIZING"]),  # it upper-cases
                "EndpointListResponse")
    watch.step("endpointList_1")
    assert [d["id"] for d in listed] == [dep_id]

    ok(api.scale_workers(dep_id, 3), "SuccessResponse")
    watch.step("endpointScale")
    assert watch.record(dep_id)["workers_wanted"] == 3
    workers = ok(api.get_workers(dep_id, status_list=["running"]), "WorkerListResponse")
    watch.step("endpointWorkers")
    assert len(workers) == 3 and {w["status"] for w in workers} == {"RUNNING"}

    ok(api.stop_deployment(dep_id), "SuccessResponse")
    watch.step("endpointStop")
    assert watch.record(dep_id)["status"] == "STOPPED"

    ok(api.start_deployment(dep_id), "SuccessResponse")
    watch.step("endpointStart")
    assert watch.record(dep_id)["status"] == "RUNNING"
    ok(api.stop_deployment(dep_id), "SuccessResponse")
    watch.step("endpointStop")

    updated = ok(api.update_deployment(
        dep_id, name="sdk-v2-renamed", resources=H100, workers=1, container_volume_in_gb=120,
        credential_id=CREDENTIAL + 1, webhook=None),  # None: clear it; the rest: left alone
        "EndpointResponse")
    watch.step("endpointUpdate")
    record = watch.record(dep_id)
    assert record["name"] == "sdk-v2-renamed" and record["workers_wanted"] == 1
    assert record["containerVolumeInGb"] == 120 and record["credentialId"] == CREDENTIAL + 1
    assert record["webhookUrl"] == "" and updated["webhook"] is None
    assert record["environmentVars"] == [{"key": "MODEL", "value": "llama"}]  # not sent: kept
    assert record["expose"] == {"port": 8000, "protocol": "http"}

    ok(api.delete_deployment(dep_id), "SuccessResponse")
    watch.step("endpointDelete_2")
    assert watch.world.deployments == {}
    assert httpx.get(f"{emulator.url}/_emulator/stats").json()["versions"] == {"v2": 10}  # no v1 call


def test_the_sdk_reads_gpu_availability(emulator: EmulatorServer) -> None:
    httpx.post(f"{emulator.url}/_emulator/capacity",
               json={"gpuType": "NVIDIA_H100_80G", "region": "us-east-1", "available": False})
    answer = GpuApi(API_KEY, base_url=emulator.url).get_gpus()
    types = {t["gpuType"]: t["regions"] for t in ok(answer, "VMTypesResponse")}
    h100 = {r["region"]: r["available"] for r in types["NVIDIA_H100_80G"]}
    assert h100["us-east-1"] is False and h100["us-west-1"] is True


def test_the_yotta_cli_finds_the_emulator_through_yotta_base_url(emulator: EmulatorServer) -> None:
    env = {"YOTTA_BASE_URL": emulator.url, "YOTTA_API_KEY": API_KEY}
    listed = CliRunner().invoke(yotta, ["serverless", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.output) == {"code": CODE_OK, "message": "success", "data": []}
