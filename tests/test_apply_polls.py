"""Waits share their polls (apply/polling.py): N deployments waiting at once cost one list call
per poll, not a detail call each, and a wait still needs two polls in a row that show its
status, taken after the call it waits for. Through the emulator over HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from conftest import Cli, serving, start_emulator

N = 20


@pytest.mark.both_apis
def test_concurrent_waits_share_their_polls(tmp_path: Path, api_version: str) -> None:
    server = start_emulator(transition_seconds=1.0, **serving(api_version))
    try:
        cli = Cli(server, tmp_path, api_version)
        for i in range(N):
            cli.write(f"svc-{i:02d}", workers=1)
        result = cli("apply", str(cli.manifests), "--auto-approve", "--parallelism", str(N))
        assert result.exit_code == 0, result.output
        calls = httpx.get(f"{server.url}/_emulator/stats").json()["calls"]
        polls = sum(n for op, n in calls.items() if "Detail" in op or "List" in op)
        # one detail poll per wait would be 2N at least (a wait is confirmed by a second poll);
        # shared, they are a few lists (plan, the create guard, a list every 0.5 s of waiting)
        assert sum(n for op, n in calls.items() if "Create" in op) == N, calls
        assert polls < N, calls
        with cli.client() as api:
            assert {d.status for d in api.list()} == {"RUNNING"}
    finally:
        server.stop()
