"""Essences of validated manifests and API answers are built without validating them again
(Essence.from_valid, plan/normalize.py): differential test against pydantic's validation of the
same essence's JSON form, which must give back an equal essence with every value of the same
exact type (a list where a tuple belongs, an int where text belongs, would differ)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.api.models import ListedDeployment
from reconciler.essence import Essence
from reconciler.manifest.loader import load
from reconciler.plan.normalize import essence_from_live, essence_from_spec

ROOT = Path(__file__).resolve().parents[1]


def _same(built: object, validated: object, where: str = "essence") -> None:
    assert type(built) is type(validated), (where, built, validated)
    if dataclasses.is_dataclass(built):
        for f in dataclasses.fields(built):
            _same(getattr(built, f.name), getattr(validated, f.name), f"{where}.{f.name}")
    elif isinstance(built, (tuple, list)):
        assert isinstance(validated, (tuple, list)) and len(built) == len(validated), where
        for i, (a, b) in enumerate(zip(built, validated, strict=True)):
            _same(a, b, f"{where}[{i}]")
    elif isinstance(built, dict):
        assert isinstance(validated, dict) and list(built) == list(validated), where
        for key in built:
            _same(key, key, f"{where} key")
            _same(built[key], validated[key], f"{where}.{key}")
    else:
        assert built == validated, where


def _check(essence: Essence) -> None:
    validated = Essence.model_validate(essence.plain())
    assert essence == validated
    _same(essence, validated)


def test_every_example_manifest(monkeypatch: Any) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_example")
    for name in ("HUGGING_FACE_HUB_TOKEN", "REGISTRY_TOKEN", "COMFY_API_KEY"):
        monkeypatch.setenv(name, "x")
    loaded = load([str(ROOT / "examples" / "manifests")], require_env=False)
    assert len(loaded) >= 3  # precondition: the examples were read
    for item in loaded:
        _check(essence_from_spec(item.manifest.spec))


_text = st.one_of(st.none(), st.just(""), st.text(max_size=12))
_count = st.one_of(st.none(), st.integers(min_value=0, max_value=2**31 - 1))
_resource = st.fixed_dictionaries({}, optional={
    "region": _text, "gpuType": _text, "gpuCount": _count, "gpuDisplayName": _text,
    "singleCardVramInGb": _count})
_listed = st.fixed_dictionaries({"id": st.one_of(st.integers(min_value=1), st.text(min_size=1))},
                                optional={
    "name": _text, "image": _text, "imageRegistry": _text, "credentialId": _text,
    "containerVolumeInGb": _count, "initializationCommand": _text, "totalWorkers": _count,
    "serviceMode": _text, "status": _text,
    "resources": st.one_of(st.none(), st.lists(_resource, max_size=3)),
    "environmentVars": st.one_of(st.none(), st.lists(st.fixed_dictionaries(
        {"key": st.text(min_size=1, max_size=6), "value": st.text(min_size=1, max_size=6)}), max_size=3)),
    "expose": st.one_of(st.none(), st.fixed_dictionaries({}, optional={
        "port": _count, "protocol": st.one_of(st.none(), st.sampled_from(["http", "HTTP", "tcp", ""]))})),
})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_listed)
def test_listed_deployments(data: dict[str, Any]) -> None:
    _check(essence_from_live(ListedDeployment.model_validate(data)))


_spec_resource = st.fixed_dictionaries({
    "region": st.sampled_from(["us-east-1", "us-east-2", "us-west-1"]),
    "gpuType": st.sampled_from(["NVIDIA_H100_80G", "NVIDIA_L4_24G", "NVIDIA_RTX_4090_24G"]),
    "gpuCount": st.just(1)})


@st.composite
def _manifest(draw: Any) -> str:
    mode = draw(st.sampled_from(["ALB", "QUEUE", "CUSTOM"]))
    resources = draw(st.lists(_spec_resource, min_size=1, max_size=3,
                              unique_by=lambda r: (r["region"], r["gpuType"])))
    lines = ["apiVersion: yottactl/v1", "kind: ElasticDeployment", "metadata:", "  name: svc",
             "spec:", f"  image: {draw(st.sampled_from(['vllm/vllm:v1', 'a/b:c', 'img']))}",
             "  resources:",
             *(f"    - {{region: {r['region']}, gpuType: {r['gpuType']}, gpuCount: 1}}"
               for r in resources),
             f"  workers: {draw(st.integers(1, 100))}",
             f"  containerVolumeInGb: {draw(st.integers(20, 500))}", f"  serviceMode: {mode}"]
    if mode == "ALB" or draw(st.booleans()):
        lines.append(f"  expose: {{port: {draw(st.integers(1, 65535))}, "
                     f"protocol: {draw(st.sampled_from(['HTTP', 'http', 'TCP']))}}}")
    if draw(st.booleans()):
        lines.append(f"  imageRegistry: {draw(st.sampled_from(['https://r.example/', 'https://x']))}")
    if draw(st.booleans()):
        lines.append(f"  credentialId: \"{draw(st.integers(0, 10**12))}\"")
    if draw(st.booleans()):
        lines.append("  initializationCommand: echo hi")
    env = draw(st.lists(st.sampled_from(["A", "B", "TOKEN"]), unique=True, max_size=3))
    if env:
        lines.append("  environmentVars:")
        lines += [f"    {k}: ${{env:HF_TOKEN}}" if k == "TOKEN" else f"    {k}: \"v-{k}\""
                  for k in env]
    return "\n".join(lines) + "\n"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_manifest())
def test_manifests(tmp_path_factory: Any, text: str) -> None:
    folder = tmp_path_factory.mktemp("m")
    (folder / "svc.yaml").write_text(text)
    (item,) = load([str(folder)], {"HF_TOKEN": "hf_secret"})
    _check(essence_from_spec(item.manifest.spec))
