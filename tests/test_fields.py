"""The field table is the one list of deployment fields: every model that names fields agrees with it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from reconciler.api.models import CreateRequest, Deployment, ListedDeployment, UpdateRequest
from reconciler.apply.requests import create_request, update_request
from reconciler.essence import FIELD_NAMES
from reconciler.fields import (
    BY_NAME,
    FIELDS,
    MANIFEST_ONLY,
    NAMES,
    REPLACE_FIELDS,
    WRITTEN_WHEN_UNSET,
    DeploymentField,
    Kind,
)
from reconciler.manifest.schema import IGNORABLE, Spec
from reconciler.plan.live import live_view
from reconciler.plan.normalize import essence_from_live, essence_from_spec

from helpers import live, manifest


def test_manifest_spec_declares_exactly_the_table() -> None:
    assert set(Spec.model_fields) == set(NAMES) | set(MANIFEST_ONLY)
    for f in FIELDS:
        assert Spec.model_fields[f.name].is_required() == f.required, f.name
    assert {p for p in IGNORABLE if "." not in p} == set(NAMES)


def test_request_models_carry_the_table() -> None:
    assert set(CreateRequest.model_fields) == {"name", *NAMES}
    assert set(UpdateRequest.model_fields) == {"name", *(f.name for f in FIELDS if f.updatable)}
    assert set(REPLACE_FIELDS) == {"image", "imageRegistry", "serviceMode"}
    for f in FIELDS:  # the detail response reports every configured field
        assert f.response_name in Deployment.model_fields, f.name


def test_essence_keys_are_the_table_in_order() -> None:
    spec = manifest("web", {"minSingleCardVcpu": 4}).spec
    assert FIELD_NAMES == NAMES
    assert tuple(essence_from_spec(spec).plain()) == NAMES
    assert tuple(essence_from_live(live({"name": "web", "id": "1"})).plain()) == NAMES
    assert essence_from_spec(spec).minSingleCardVcpu == 4
    assert BY_NAME["workers"].response_name == "totalWorkers"


def test_request_bodies_from_the_table() -> None:
    spec = manifest("web", {"minSingleCardVramInGb": 0, "webhookUrl": "",
                            "credentialId": "7"}).spec
    essence = essence_from_spec(spec)
    assert update_request("web", essence).to_wire() == {
        "name": "web",
        "resources": [{"region": "us-east-1", "gpuType": "NVIDIA_H100_80G", "gpuCount": 1}],
        "minSingleCardVramInGb": 0, "workers": 2, "credentialId": "7",
        "containerVolumeInGb": 100, "environmentVars": [{"key": "MODEL", "value": "llama"}],
        "expose": {"port": 8000, "protocol": "HTTP"},
    }
    created = create_request("web", essence).to_wire()
    assert created["image"] == "vllm/vllm-openai:v0.6.3"
    assert created["imageRegistry"] == "https://index.docker.io/v1"
    assert created["serviceMode"] == "ALB"
    assert "initializationCommand" not in created and "webhookUrl" not in created


def test_the_rows_written_when_unset_are_the_table_s_first_rows() -> None:
    """Files since the first release hold these keys even when unset; rows added after them
    are written only when set (tests/test_field_added.py): they must follow, not interleave."""
    assert NAMES[:len(WRITTEN_WHEN_UNSET)] == WRITTEN_WHEN_UNSET


# -- plain rows: every model derives the attribute from the row alone -------------------------

PLAIN = [f for f in FIELDS if f.plain]


def test_plain_rows_are_the_tail_of_the_table() -> None:
    """Derived attributes follow the hand-typed ones: the essence keeps the table's order (and
    state/plan files their bytes) only if plain rows come last."""
    assert PLAIN and [f.name for f in FIELDS[-len(PLAIN):]] == [f.name for f in PLAIN]
    assert all(not f.required and f.kind in (Kind.INT, Kind.TEXT) for f in PLAIN)
    assert all((f.bounds is not None) == (f.kind is Kind.INT) for f in PLAIN)


@pytest.mark.parametrize("row", PLAIN, ids=lambda f: f.name)
def test_a_plain_row_reaches_every_model(row: DeploymentField) -> None:
    value: object = row.bounds[1] if row.bounds else "https://hooks.example.com/x"
    spec = manifest("web", {row.name: value}).spec
    essence = essence_from_spec(spec)
    assert getattr(spec, row.name) == value and essence.top_level(row.name) == value
    if row.updatable:
        assert update_request("web", essence).to_wire()[row.name] == value
    assert create_request("web", essence).to_wire()[row.name] == value
    wire = live({"name": "web", "id": "1", "raw": {row.response_name: value}})
    assert essence_from_live(wire).top_level(row.name) == value
    absent = essence_from_spec(manifest("web").spec)
    assert absent.top_level(row.name) == (None if row.kind is Kind.INT else "")
    assert row.name not in create_request("web", absent).to_wire()  # left out when unset


@pytest.mark.parametrize("row", [f for f in PLAIN if f.bounds], ids=lambda f: f.name)
def test_a_plain_number_keeps_its_bounds(row: DeploymentField) -> None:
    assert row.bounds is not None
    low, high = row.bounds
    for bad in (low - 1, high + 1, "2", True):
        with pytest.raises(ValidationError):
            manifest("web", {row.name: bad})
    body = create_request("web", essence_from_spec(manifest("web").spec)).to_wire()
    over = {**body, row.name: high + 1}
    if row.bounded_on_create:  # the API's create request says so (OpenAPI)
        with pytest.raises(ValidationError):
            CreateRequest.model_validate(over)
    else:
        assert CreateRequest.model_validate(over).to_wire()[row.name] == high + 1
    assert Deployment.model_validate({"id": "1", row.response_name: high + 1})


def test_the_listed_view_reads_the_deployment_model_s_fields_with_its_types() -> None:
    """Planning validates listed items as ListedDeployment: each of its fields is Deployment's,
    typed the same, and the table's response names are all among them."""
    for name, info in ListedDeployment.model_fields.items():
        assert name in Deployment.model_fields, name
        assert info.annotation == Deployment.model_fields[name].annotation, name
    assert {f.response_name for f in FIELDS} <= set(ListedDeployment.model_fields)


LISTED = [
    {"id": "1", "name": "web"},
    {"id": 361530338086227968, "name": "big", "credentialId": 42, "resources": None,
     "environmentVars": None, "status": "STOPPED", "perHourPrice": 0},
    {"id": "2", "name": "x", "resources": [{"gpuType": "L4"}, {"region": "r", "gpuCount": 2,
                                            "gpuDisplayName": "shown"}],
     "expose": {"port": 0}, "imageRegistry": "https://r.example/", "cost": 1.5,
     "unknownField": {"kept": "by Deployment only"}, "environmentVars": [
         {"key": "B", "value": "2"}, {"key": "A", "value": "1"}], "totalWorkers": 3,
     "minSingleCardVcpu": 4, "webhookUrl": "https://hooks.example.com/x"},
]


@pytest.mark.parametrize("wire", LISTED, ids=lambda w: str(w["name"]))
def test_the_plan_s_live_view_is_the_same_from_the_full_model_and_the_listed_one(
        wire: dict[str, Any]) -> None:
    full, listed = live_view(Deployment.model_validate(wire)), live_view(
        ListedDeployment.model_validate(wire))
    assert full == listed
    assert full.essence == essence_from_live(Deployment.model_validate(wire))


# every field of the detail response, in the API's order, plus one the spec does not know
FULL_WIRE: dict[str, Any] = {
    "id": 361530338086227968, "name": "web", "creator": "someone@example.com",
    "domain": "web.example.com", "imageRegistry": "https://index.docker.io/v1",
    "image": "vllm/vllm-openai:v0.6.3",
    "resources": [{"region": "us-east-1", "gpuType": "NVIDIA_H100_80G", "gpuCount": 1}],
    "minSingleCardVramInGb": 80, "minSingleCardVcpu": 8, "minSingleCardRamInGb": 64,
    "credentialId": 42, "containerVolumeInGb": 100, "initializationCommand": "",
    "environmentVars": [{"key": "MODEL", "value": "llama"}], "expose": {"port": 8000},
    "totalWorkers": 2, "runningWorkers": 1, "cost": 1.5, "perSecondPrice": 0.001,
    "perHourPrice": 3.6, "serviceMode": "ALB", "webhookUrl": "https://hooks.example.com/x",
    "status": "RUNNING", "laterField": {"kept": True},
}


def test_the_detail_model_is_the_listed_one_plus_the_detail_only_fields() -> None:
    """One declaration of the shared fields (and their validators): the detail model extends
    the listed one instead of repeating it."""
    assert issubclass(Deployment, ListedDeployment)
    assert set(Deployment.model_fields) - set(ListedDeployment.model_fields) == {
        "creator", "runningWorkers", "cost", "perSecondPrice"}  # domain: a rollout's plan
    assert Deployment.model_validate(FULL_WIRE).model_extra == {"laterField": {"kept": True}}
    assert ListedDeployment.model_validate(FULL_WIRE).model_extra in (None, {})


def test_get_json_keeps_its_bytes() -> None:
    """`get -o json` / `-o yaml` key order is what scripts and people have seen so far
    (golden file written before the listed and detail models shared their fields)."""
    from reconciler.report.observe import masked_view

    golden = Path(__file__).parent / "golden" / "get_detail.json"
    view = json.dumps(masked_view(Deployment.model_validate(FULL_WIRE)), indent=2) + "\n"
    assert view == golden.read_text()
    listed = Deployment.model_validate({"id": "1", "name": None, "totalWorkers": 2, "cost": 0.0})
    assert list(listed.model_dump(exclude_none=True)) == [
        "id", "resources", "environmentVars", "totalWorkers", "cost"]
