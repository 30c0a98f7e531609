"""A plan keeps the essence of each deployment, not its models: memory held per deployment by
a finished plan run (live views, manifest views, state, plan, and any garbage left in reference
cycles) stays bounded. tracemalloc counts bytes, so the bound does not depend on the machine's
speed or load."""

from __future__ import annotations

import gc
import pathlib
import tracemalloc
from pathlib import Path

import httpx
import pytest

from reconciler.app.plan import build_plan
from reconciler.plan.live import LiveDeployment
from reconciler.plan.normalize import essence_from_live, mask
from reconciler.plan.planner import Desired
from reconciler.settings import Settings
from reconciler.state.backend import StateFile
from reconciler.state.model import State, StateEntry

from conftest import API_KEY, EmulatorServer, create_body, manifest_text

N = 300
SECRET = ("environmentVars.HF_TOKEN",)
BOUND = 7 * 1024  # bytes a finished plan run holds per deployment (~5.7 KB; models held 19 KB)


def _fleet(server: EmulatorServer, folder: Path) -> Settings:
    bodies = [create_body(f"svc-{i:04d}", image=f"vllm/vllm-openai:v0.6.{i % 7}", environmentVars=[
        {"key": "MODEL", "value": f"model-{i}"}, {"key": "HF_TOKEN", "value": "hf_x"}],
        resources=[{"region": "us-east-1", "gpuType": "NVIDIA_RTX_4090_24G", "gpuCount": 1}],
        containerVolumeInGb=50) for i in range(N)]
    httpx.post(f"{server.url}/_emulator/seed", json={"deployments": bodies}).raise_for_status()
    manifests = folder / "m"
    manifests.mkdir()
    for i in range(N):
        (manifests / f"svc-{i:04d}.yaml").write_text(manifest_text(
            f"svc-{i:04d}", image=f"vllm/vllm-openai:v0.6.{i % 7}", model=f"model-{i}",
            workers=3 if i % 50 == 0 else 2))
    settings = Settings(endpoint=server.url, api_key=API_KEY, state_path=str(folder / "s.json"))
    fp = settings.fingerprinter()
    entries = {}
    for d in settings.client().list():
        spec = mask(essence_from_live(d), SECRET, fp)
        entries[d.name or ""] = StateEntry(id=d.id, spec=spec, sensitive=SECRET,
                                           fingerprint=fp.obj(spec), status=d.status)
    state = State.empty().model_copy(update={"deployments": entries, "key_verifier": fp.verifier()})
    StateFile(settings.state_path or "").write(state)
    return settings


def test_a_plan_run_holds_a_few_kilobytes_per_deployment(
        emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_x")
    settings = _fleet(emulator, tmp_path)
    paths = [str(tmp_path / "m")]
    build_plan(settings, paths)  # first run: imports and caches are not the plan's memory
    gc.collect()
    gc.disable()  # as during planning (workflow): garbage in reference cycles counts as held
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        run = build_plan(settings, paths)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
        gc.enable()
    # not the plan's: pathlib interns the parts of every path it parses, and the interpreter's
    # table of interned strings grows by one block (3.7 MB) whenever it passes a size, which
    # depends on what ran before in this process
    interning = [tracemalloc.Filter(False, pathlib.__file__.replace("__init__.py", "*"))]
    held = sum(stat.size_diff for stat in after.filter_traces(interning).compare_to(
        before.filter_traces(interning), "filename"))
    # preconditions: a real plan of the whole fleet, with the lean views it is meant to keep
    assert len(run.live) == N and len(run.desired) == N and run.state is not None
    assert len(run.state.deployments) == N and len(run.plan.pending) == N // 50
    assert all(isinstance(d, LiveDeployment) for d in run.live)
    assert all(isinstance(d, Desired) for d in run.desired.values())
    assert held / N <= BOUND, f"{held / N:.0f} bytes per deployment"


def test_planning_leaves_no_young_objects_for_the_next_collection_to_scan(
        emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Planning runs without the cyclic GC; what it made is long-lived afterwards. Left young,
    all of it would be scanned by the first collection after planning (55 ms at 10,000
    deployments) and again as it ages; it goes to the oldest generation unscanned."""
    monkeypatch.setenv("HF_TOKEN", "hf_x")
    settings = _fleet(emulator, tmp_path)
    gc.collect()
    old_before = len(gc.get_objects(generation=2))
    run = build_plan(settings, [str(tmp_path / "m")])
    young = len(gc.get_objects(generation=0)) + len(gc.get_objects(generation=1))
    old = len(gc.get_objects(generation=2)) - old_before
    # preconditions: a whole fleet was planned, its objects are tracked, the GC is back on
    assert gc.isenabled() and len(run.desired) == N and young + old > 10 * N, (young, old)
    assert young < 2000, f"{young} objects left in the young generations ({old} old)"
