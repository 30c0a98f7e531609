"""Several agents on one PostgreSQL state: exactly one leads (the state lock); after `kill -9`
of the leader a standby takes over within 10 s, and nothing is applied twice."""

from __future__ import annotations

import time

from agent_helpers import AgentProcess

from conftest import Cli, stats

TAKEOVER_LIMIT = 10.0  # issue 28: a standby takes over within 10 s


def test_kill_9_of_the_leader_hands_over_to_the_standby(cli: Cli, pg_state: str) -> None:
    cli.write("web")
    args = ("--mode", "heal", "--listen", "off", "--interval", "1", "--source",
            str(cli.manifests))
    env = {"YOTTACTL_STATE": pg_state}
    first = AgentProcess(cli, *args, env=env)
    second = None
    try:
        first.wait_for("leader")
        first.wait_for("cycle", match=lambda e: e["healed"] == ["web"])  # created it
        second = AgentProcess(cli, *args, env=env)
        standby = second.wait_for("standby")
        assert "running `yottactl agent" in standby["leader"]  # it names who leads
        first.wait_for("cycle")  # the leader goes on cycling meanwhile: nothing to do
        assert not any(e.get("event") == "leader" for e in second.seen)  # exactly one leads
        killed = time.monotonic()
        first.proc.kill()  # kill -9: no cleanup, the database session just ends
        first.proc.wait(timeout=30)
        second.wait_for("leader", timeout=TAKEOVER_LIMIT)
        took = time.monotonic() - killed
        assert took <= TAKEOVER_LIMIT
        second.wait_for("cycle", match=lambda e: e["ok"])  # leads a full cycle
        assert [d.name for d in cli.client().list()] == ["web"]
        creates = sum(v for k, v in stats(cli.server).items() if k.startswith("endpointCreate"))
        assert creates == 1  # no duplicate apply
    finally:
        if second is not None:
            assert second.stop() == 0
        if first.proc.poll() is None:
            first.proc.kill()
