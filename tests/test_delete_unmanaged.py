"""`yottactl delete-unmanaged ID...`: deletes what plan and drift report as unmanaged (leftovers,
duplicates of a managed name), by id, after showing and confirming; never a managed id."""

from __future__ import annotations

from reconciler.api.models import CreateRequest

from conftest import Cli, create_body, stats

MUTATING = ("endpointCreate", "endpointUpdate", "endpointStart", "endpointStop",
            "endpointScale", "endpointDelete_2")


def _mutations(cli: Cli) -> dict[str, int]:
    calls = stats(cli.server)
    return {op: calls.get(op, 0) for op in MUTATING}


def _managed_web(cli: Cli) -> str:
    cli.write("web")
    done = cli("apply", "--auto-approve", str(cli.manifests))
    assert done.exit_code == 0, done.output
    with cli.client() as client:
        (web,) = [d for d in client.list() if d.name == "web"]
    return web.id


def test_a_duplicate_is_stopped_then_deleted_and_the_managed_one_is_untouched(cli: Cli) -> None:
    managed = _managed_web(cli)
    with cli.client() as client:  # a leftover carrying a managed name
        duplicate = client.create(CreateRequest.model_validate(create_body("web"))).id
    plan = cli("plan", str(cli.manifests))
    assert f"yottactl delete-unmanaged {duplicate}" in plan.output  # the hint names the verb
    drift = cli("drift", str(cli.manifests))
    assert drift.exit_code == 2 and f"yottactl delete-unmanaged {duplicate}" in drift.output
    state_before = cli.state.read_text()
    before = _mutations(cli)

    done = cli("delete-unmanaged", duplicate, "--auto-approve")
    assert done.exit_code == 0, done.output
    assert f"web #{duplicate}" in done.output and "will be deleted" in done.output  # shown first
    after = _mutations(cli)
    assert after["endpointStop"] - before["endpointStop"] == 1  # RUNNING: stopped first
    assert after["endpointDelete_2"] - before["endpointDelete_2"] == 1
    with cli.client() as client:
        assert [(d.name, d.id) for d in client.list()] == [("web", managed)]
    listed = cli("state", "list")
    assert f"web\t{managed}" in listed.output  # the managed entry of the same name is kept
    assert '"web"' in state_before and managed in cli.state.read_text()
    assert not cli.state.with_name(cli.state.name + ".journal").exists() or \
        cli.state.with_name(cli.state.name + ".journal").read_text() == ""
    again = cli("plan", "--detailed-exitcode", str(cli.manifests))
    assert again.exit_code == 0 and "duplicate" not in again.output


def test_a_managed_id_is_refused_as_destroys_job(cli: Cli) -> None:
    managed = _managed_web(cli)
    before = _mutations(cli)
    refused = cli("delete-unmanaged", managed, "--auto-approve")
    assert refused.exit_code == 1, refused.output
    assert "managed by this state" in refused.output
    assert "yottactl destroy --target web" in refused.output
    assert _mutations(cli) == before
    # R-22 finding 9: a refusal shows no plan (an empty "Plan: 0 to create, ..." followed it)
    assert "Plan:" not in refused.output and "nothing was deleted" in refused.output
    with cli.client() as client:  # nor does a refused id among deletable ones
        leftover = client.create(CreateRequest.model_validate(create_body("leftover"))).id
    mixed = cli("delete-unmanaged", leftover, managed, "123456789012345678", "--auto-approve")
    assert mixed.exit_code == 1, mixed.output
    assert "2 of the ids cannot be deleted here; nothing was deleted" in mixed.output
    assert "managed by this state" in mixed.output and "no live deployment has id" in mixed.output
    assert "Plan:" not in mixed.output and "will be deleted" not in mixed.output, mixed.output
    assert _mutations(cli) == {**before, "endpointCreate": before["endpointCreate"] + 1}


def test_an_unknown_or_malformed_id_is_a_clean_error(cli: Cli) -> None:
    _managed_web(cli)
    before = _mutations(cli)
    unknown = cli("delete-unmanaged", "123456789012345678", "--auto-approve")
    assert unknown.exit_code == 1 and "no live deployment has id 123456789012345678" in unknown.output
    malformed = cli("delete-unmanaged", "web", "--auto-approve")
    assert malformed.exit_code == 1 and "is not a deployment id" in malformed.output
    assert "Traceback" not in unknown.output + malformed.output
    assert _mutations(cli) == before


def test_it_asks_first_and_refuses_without_a_state(cli: Cli) -> None:
    with cli.client() as client:
        leftover = client.create(CreateRequest.model_validate(create_body("leftover"))).id
    no_state = cli("delete-unmanaged", leftover, "--auto-approve")
    assert no_state.exit_code == 1 and "does not exist" in no_state.output  # all look unmanaged
    _managed_web(cli)
    before = _mutations(cli)
    unconfirmed = cli("delete-unmanaged", leftover)  # no terminal, no --auto-approve
    assert unconfirmed.exit_code == 1 and "without confirmation" in unconfirmed.output
    assert _mutations(cli) == before
    done = cli("delete-unmanaged", leftover, "--auto-approve")
    assert done.exit_code == 0, done.output
    with cli.client() as client:
        assert leftover not in {d.id for d in client.list()}
