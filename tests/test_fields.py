"""The field table is the one list of deployment fields: every model that names fields agrees with it."""

from __future__ import annotations

from reconciler.api.models import CreateRequest, Deployment, UpdateRequest
from reconciler.apply.requests import create_request, update_request
from reconciler.fields import BY_NAME, FIELDS, MANIFEST_ONLY, NAMES, REPLACE_FIELDS
from reconciler.manifest.schema import IGNORABLE, Spec
from reconciler.plan.normalize import Essence, essence_from_live, essence_from_spec

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
    assert tuple(Essence.model_fields) == NAMES
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
