"""The typed essence kept the state and plan files byte-compatible with the previous release
(files in tests/release_files/ were written by it: the dict-shaped essence, format 1)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from reconciler.essence import Essence
from reconciler.plan.model import Plan
from reconciler.state.backend import StateFile

FILES = Path(__file__).parent / "release_files"


def test_state_file_from_the_previous_release_keeps_its_essences_byte_for_byte(tmp_path: Path) -> None:
    shutil.copy(FILES / "v1.state.json", tmp_path / "s.json")
    state = StateFile(tmp_path / "s.json").read()
    assert state is not None and set(state.deployments) == {"web", "jobs"}
    web = state.deployments["web"].spec
    assert isinstance(web, Essence) and web.environmentVars["HF_TOKEN"].startswith("sensitive:")
    assert web.expose is not None and web.expose.port == 8000
    assert state.deployments["jobs"].spec.minSingleCardVramInGb == 0
    # the essence (`spec`) is written exactly as the release wrote it, key order included
    # (other state fields may have been added since: only the essence is this test's business)
    written = json.loads((FILES / "v1.state.json").read_text())["deployments"]
    now = json.loads(state.model_dump_json(indent=1))["deployments"]
    for name, entry in written.items():
        assert json.dumps(now[name]["spec"]) == json.dumps(entry["spec"]), name


def test_essences_in_a_previous_plan_file_round_trip_unchanged() -> None:
    text = (FILES / "v1_mixed.plan.json").read_text()
    old, new = json.loads(text), json.loads(Plan.from_json(text).to_json())
    for before, after in zip(old["changes"], new["changes"], strict=True):
        assert after["desired"] == before["desired"] and after["live_snapshot"] == before["live_snapshot"]
        assert list(after["desired"] or {}) == list(before["desired"] or {})  # key order too
    assert any(isinstance(c.desired, Essence) for c in Plan.from_json(text).changes)
