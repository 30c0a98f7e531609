"""`yottactl catalog refresh` (issue 27): the GPU types and regions GET /v2/vms/types lists are
added to the user catalog, so `validate` accepts them; what the file held stays (prices too),
new types get no invented price, built-in entries are not copied over their prices."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from hostile_api import HostileApi
from hostile_api import HostileCli as Env

NEW_GPU, NEW_REGION = "NVIDIA_X300_192G", "eu-west-9"
TYPES = [
    {"gpuType": NEW_GPU, "regions": [
        {"region": "us-east-1", "regionName": "US East 1", "available": True, "vmTypeId": 1},
        {"region": NEW_REGION, "regionName": "EU West 9", "available": False, "vmTypeId": 2}]},
    {"gpuType": "NVIDIA_H100_80G", "regions": [
        {"region": "us-east-1", "regionName": "US East 1", "available": True, "vmTypeId": 3}]},
    # API text is untrusted: a name that is not a plain identifier never enters the catalog
    {"gpuType": "EVIL`\n<b>\x1b[2J", "regions": [{"region": "us-east-1", "available": True}]},
    {"gpuType": "NVIDIA_Y_1", "regions": [{"region": "../etc", "available": True}]},
]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    api = HostileApi().start()
    api.answer("/v2/vms/types", TYPES)
    yield Env(api, tmp_path, "web")
    api.stop()


def uses_new_gpu(env: Env) -> None:
    path = env.manifests / "web.yaml"
    path.write_text(path.read_text().replace("{region: us-east-1, gpuType: NVIDIA_RTX_4090_24G",
                                             f"{{region: {NEW_REGION}, gpuType: {NEW_GPU}"))


def test_refresh_adds_what_the_endpoint_lists_and_validate_accepts_it(env: Env) -> None:
    uses_new_gpu(env)
    before = env("validate", "{manifests}")
    assert before.exit_code == 1 and f"unknown GPU type '{NEW_GPU}'" in before.output
    catalog = env.tmp / "catalog.json"
    catalog.write_text(json.dumps({"gpuTypes": {"MY_GPU_1": {"pricePerHour": 2.5}},
                                   "storagePricePerGbHour": 0.002}))
    result = env("catalog", "refresh", "--file", str(catalog))
    assert result.exit_code == 0, result.output
    assert f"added GPU types: {NEW_GPU}" in result.output
    assert f"added regions: {NEW_REGION}" in result.output
    written = json.loads(catalog.read_text())
    assert written["gpuTypes"] == {"MY_GPU_1": {"pricePerHour": 2.5},  # as the user wrote it
                                   NEW_GPU: {"displayName": NEW_GPU}}  # no invented price
    assert written["regions"] == {NEW_REGION: "EU West 9"}  # built-in ones are not copied
    assert written["storagePricePerGbHour"] == 0.002
    assert "skipped 2 GPU type(s)" in result.output
    env.env["YOTTACTL_CATALOG"] = str(catalog)
    after = env("validate", "{manifests}")
    assert after.exit_code == 0, after.output
    again = env("catalog", "refresh")  # the default file: YOTTACTL_CATALOG
    assert again.exit_code == 0 and "no new GPU types" in again.output
    assert json.loads(catalog.read_text()) == written


def test_refresh_needs_a_file(env: Env) -> None:
    result = env("catalog", "refresh")
    assert result.exit_code == 1
    assert "--file FILE" in result.output and "YOTTACTL_CATALOG" in result.output


YAML_CATALOG = """\
# our catalog: reviewed by the platform team
gpuTypes:
  NVIDIA_H100_80G: {pricePerHour: 9.9}  # negotiated price, display name stays built-in
regions:
  # the lab
  lab-1: Lab One
storagePricePerGbHour: 0.002
"""


@pytest.mark.parametrize("name", ["catalog.yaml", "my-catalog"])
def test_refresh_keeps_a_yaml_catalog_yaml_and_its_entries_as_written(env: Env,
                                                                       name: str) -> None:
    """YOTTACTL_CATALOG=my.yaml stays YAML with its comments; an entry it holds gains no key
    (a price-only override of a built-in type keeps the built-in display name)."""
    catalog = env.tmp / name
    catalog.write_text(YAML_CATALOG)
    env.env["YOTTACTL_CATALOG"] = str(catalog)
    result = env("catalog", "refresh")
    assert result.exit_code == 0, result.output
    text = catalog.read_text()
    added = (f"  {NEW_GPU}:\n    displayName: {NEW_GPU}\n", f"  {NEW_REGION}: EU West 9\n")
    assert text == YAML_CATALOG.replace("regions:\n", added[0] + "regions:\n").replace(
        "storagePricePerGbHour", added[1] + "storagePricePerGbHour"), text
    assert "_comment" not in text and not text.lstrip().startswith("{")
    uses_new_gpu(env)
    assert env("validate", "{manifests}").exit_code == 0
    again = env("catalog", "refresh")
    assert again.exit_code == 0 and catalog.read_text() == text  # nothing new: untouched
