"""The rollout name NAME@alt belongs to NAME only by record (R-23 findings 1, 2): a live
`web@alt` the state did not record as web's rollout (nor the user imported) is never adopted,
replaced or deleted by the manifest `web`; a manifest cannot take such a name itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reconciler.plan.rollout import V1_NAME_LIMIT, V2_NAME_LIMIT, alternate_name

from conftest import Cli, create_body, manifest_text, start_emulator


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Cli]:
    server = start_emulator(transition_seconds=0.05)
    yield Cli(server, tmp_path)
    server.stop()


def mutated(cli: Cli) -> dict[str, int]:
    return dict(httpx.get(f"{cli.server.url}/_emulator/stats").json()["mutated"])


def someone_elses(cli: Cli, name: str = "web@alt") -> str:
    """A deployment another team made (in the console) under ``name``, already RUNNING: how
    fast the emulator turns a create into RUNNING must not decide what a test plans."""
    seeded = httpx.post(f"{cli.server.url}/_emulator/seed",
                        json={"deployments": [create_body(name, image="team2/app:v1")]})
    assert seeded.status_code == 200, seeded.text
    return str(seeded.json()["ids"][0])


@pytest.mark.parametrize("rollout", ["recreate", "blueGreen"])
def test_a_lost_state_readopts_the_alt_name_and_never_creates_a_second(fleet: Cli,
                                                                        rollout: str) -> None:
    """After a rollout, web lives as web@alt; the state is lost. `@alt` is reserved in manifest
    names, so a live web@alt is web's rollout: adopted like a live `web` would be (a new state
    asks for --adopt first), never a second deployment created beside it."""
    ours = someone_elses(fleet)  # web@alt, RUNNING: what a finished rollout leaves
    (fleet.manifests / "web.yaml").write_text(
        manifest_text("web", image="team2/app:v1") + f"lifecycle:\n  rollout: {rollout}\n")
    assert not fleet.state.exists()  # precondition: the state is lost
    plan = fleet("plan", str(fleet.manifests))
    assert plan.exit_code == 0, plan.output
    assert "will be adopted" in plan.output and f"id {ours}  live as web@alt" in plan.output
    assert "status RUNNING" in plan.output  # precondition: blue serves (else nothing to roll out)
    refused = fleet("apply", str(fleet.manifests), "--auto-approve")  # a new state: --adopt
    assert refused.exit_code == 1 and "--adopt" in refused.output, refused.output
    adopted = fleet("apply", str(fleet.manifests), "--auto-approve", "--adopt")
    assert adopted.exit_code == 0, adopted.output
    with fleet.client() as c:
        live = c.list()
    # adopted, then brought to the manifest's spec (recreate: updated in place under its live
    # name; blueGreen: rolled out to the other slot): one deployment, never a second beside it
    assert len(live) == 1 and live[0].name in ("web", "web@alt"), [d.name for d in live]
    assert (live[0].id == ours) == (rollout == "recreate") and live[0].status == "RUNNING"
    if rollout == "recreate":  # an update keeps the live name: it is no rename
        assert live[0].name == "web@alt"
    assert mutated(fleet).get(ours, 0) > 0  # precondition: the adopted one was acted on
    assert fleet("plan", str(fleet.manifests), "--detailed-exitcode").exit_code == 0


def test_imported_alt_name_is_managed_and_its_live_name_shown(fleet: Cli) -> None:
    ours = someone_elses(fleet)  # e.g. a lost state after a rollout: web lives as web@alt
    fleet.write("web", image="team2/app:v1", workers=3)
    imported = fleet("import", "web", ours, str(fleet.manifests))
    assert imported.exit_code == 0, imported.output
    plan = fleet("plan", str(fleet.manifests), "--out", str(fleet.folder / "p.plan"))
    assert plan.exit_code == 0 and "web will be updated" in plan.output, plan.output
    assert f"id {ours}  live as web@alt" in plan.output
    markdown = fleet("show", str(fleet.folder / "p.plan"), "-o", "markdown")
    assert f"- id: `{ours}`, live as `web@alt`" in markdown.output, markdown.output



def test_alt_suffix_is_reserved_in_manifests(fleet: Cli) -> None:
    long = "x" * 39 + "-y"  # its rollout name is cut and hashed: <cut>-<6 hex>@alt
    for name in ("web@alt", alternate_name(long + "z" * 9)):
        fleet.write(name)
    result = fleet("validate", str(fleet.manifests))
    assert result.exit_code == 1, result.output
    for name in ("web@alt", alternate_name(long + "z" * 9)):
        assert f"{name}.yaml:4:" in result.output, result.output
    assert "reserved" in result.output and "@alt" in result.output


def test_drift_reports_a_taken_rollout_name(fleet: Cli) -> None:
    (fleet.manifests / "web.yaml").write_text(manifest_text("web") + "lifecycle:\n"
                                                                     "  rollout: blueGreen\n")
    assert fleet("apply", str(fleet.manifests), "--auto-approve").exit_code == 0
    theirs = someone_elses(fleet)
    (fleet.manifests / "web.yaml").write_text(
        manifest_text("web", image="team1/app:v2") + "lifecycle:\n  rollout: blueGreen\n")
    assert "its rollout name web@alt is live on" in fleet("plan", str(fleet.manifests)).output
    drift = fleet("drift", str(fleet.manifests))
    assert drift.exit_code == 2, drift.output  # findings, not "cannot compute drift"
    assert "apply refuses it: its rollout name web@alt is live on " + theirs in drift.output
    assert "unmanaged" in drift.output and theirs in drift.output


@pytest.mark.parametrize("limit", [V1_NAME_LIMIT, V2_NAME_LIMIT])
def test_alternate_names_fit_the_api_limits(limit: int) -> None:
    """The scheme takes the limit: v1's 50 characters today, v2's 20 when yottactl speaks it
    (R-23 nit 12). Every rollout name fits, ends in the reserved suffix, and two names never
    share one."""
    names = [("w" * n)[:n] for n in range(1, 51)] + ["x" * 40 + "a", "x" * 40 + "b"]
    alternates = [alternate_name(n, limit) for n in names]
    assert all(len(a) <= limit and a.endswith("@alt") for a in alternates)
    assert len(set(alternates)) == len(names)
