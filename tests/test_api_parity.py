"""Parity (issue 27): the same manifests, planned against the v1 and the v2 API of an emulator
holding the same deployments, give identical plan JSON apart from the API version field.
Every planner case file (tests/plan_cases, run by test_planner_cases.py) is seeded into the
emulator (its live deployments with their ids and statuses) and planned through each
transport, each time through the one list call a plan makes (api/wire.py reads v2's answer)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ruamel.yaml import YAML

from reconciler.api.client import YottaClient
from reconciler.emulator.server import EmulatorServer
from reconciler.plan.live import live_view
from reconciler.plan.model import Plan
from reconciler.plan.planner import Options, make_plan

from conftest import API_KEY, FAST_RETRY, start_emulator
from helpers import FP, desired, manifest, state
from test_planner_cases import CASES

# raw answer keys a case sets that a create request carries too (the rest are observed values)
SENT_RAW = ("credentialId", "imageRegistry", "environmentVars", "expose")


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    emulator = start_emulator()  # both versions on one port, one world
    yield emulator
    emulator.stop()
    while _POOL:
        _POOL.pop().close()


# one connection pool for the module's cases (an SSL context costs ~0.1 s), made with its
# server: pytest-xdist may tear the module's fixture down and set it up again in one worker
_POOL: list[httpx.Client] = []


def http() -> httpx.Client:
    if not _POOL:
        _POOL.append(httpx.Client())
    return _POOL[0]


def create_body(item: dict[str, Any]) -> dict[str, Any]:
    """A case's live deployment as a create request (api/models.py's wire names)."""
    spec = manifest("live", item.get("spec")).spec
    body: dict[str, Any] = {
        "name": item["name"], "image": spec.image, "serviceMode": spec.serviceMode,
        "resources": [r.model_dump() for r in spec.resources], "workers": spec.workers,
        "containerVolumeInGb": spec.containerVolumeInGb,
        "environmentVars": [{"key": e.key, "value": e.value} for e in spec.environmentVars],
    }
    optional = {"imageRegistry": spec.imageRegistry, "credentialId": spec.credentialId,
                "initializationCommand": spec.initializationCommand,
                "webhookUrl": spec.webhookUrl,
                "expose": spec.expose.model_dump() if spec.expose else None,
                **{k: getattr(spec, k) for k in ("minSingleCardVramInGb", "minSingleCardVcpu",
                                                  "minSingleCardRamInGb")}}
    body.update({k: v for k, v in optional.items() if v not in (None, "")})
    raw = item.get("raw", {})
    body.update({k: raw[k] for k in SENT_RAW if k in raw})
    if "resources" in raw:  # the display fields are the API's, not a request's
        body["resources"] = [{k: r[k] for k in ("region", "gpuType", "gpuCount")}
                             for r in raw["resources"]]
    if "credentialId" in body:
        body["credentialId"] = str(body["credentialId"])
    return body


def seed(server: EmulatorServer, live: list[dict[str, Any]]) -> None:
    assert http().post(f"{server.url}/_emulator/reset").status_code == 200
    answer = http().post(f"{server.url}/_emulator/seed", json={
        "deployments": [create_body(x) for x in live], "ids": [x["id"] for x in live],
        "statuses": [x.get("status", "RUNNING") for x in live]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["ids"] == [x["id"] for x in live]


def planned(server: EmulatorServer, case: dict[str, Any], version: str) -> dict[str, Any]:
    opts = case.get("options", {})
    with YottaClient(API_KEY, server.url, retry=FAST_RETRY, api_version=version,
                     http=http()) as client:
        live = client.list_each(live_view)
        plan = make_plan(
            [desired(d) for d in case.get("desired", [])], live, state(case.get("state", [])),
            FP, Options(targets=frozenset(opts.get("targets", ())),
                        allow_mass_delete=opts.get("allow_mass_delete", False),
                        destroying=opts.get("destroying", False),
                        prevent_destroy=opts.get("prevent_destroy", {})))
    plan = plan.model_copy(update={"api_version": client.api_version})
    assert Plan.from_json(plan.to_json()) == plan
    out: dict[str, Any] = json.loads(plan.to_json())
    return out


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_v1_and_v2_plan_alike(server: EmulatorServer, path: Path) -> None:
    case = YAML(typ="safe").load(path.read_text())
    seed(server, case.get("live", []))
    v1 = planned(server, case, "v1")
    v2 = planned(server, case, "v2")
    # the plan a case expects: the emulator held what the case says (not a vacuous parity)
    assert [c["name"] for c in v1["changes"]] == [e["name"] for e in case.get("expect", [])]
    assert [c["action"] for c in v1["changes"]] == [e["action"] for e in case.get("expect", [])]
    assert "api_version" not in v1 and v2.pop("api_version") == "v2"
    assert v1 == v2
