"""A saved plan never creates what already exists (issue 22): `apply --plan` lists the live
deployments again, and a create whose name is now live or mapped makes the plan stale; the
executor checks once more, against a fresh list, right before it sends a create."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from reconciler.api.models import CreateRequest, Deployment
from reconciler.app.apply import desired_essences
from reconciler.app.plan import build_plan
from reconciler.apply.executor import Executor
from reconciler.apply.guard import CreateGuard, NameTaken
from reconciler.apply.requests import SecretSource
from reconciler.settings import resolve
from reconciler.state.model import State

from conftest import Cli, create_body


def live_ids(cli: Cli, name: str) -> list[str]:
    return sorted(d.id for d in cli.client().list() if d.name == name)


def saved_create_plan(cli: Cli) -> str:
    cli.write("web")
    plan_file = str(cli.folder / "create.plan.json")
    made = cli("plan", str(cli.manifests), "--out", plan_file)
    assert made.exit_code == 0 and "web will be created" in made.stdout, made.output
    assert live_ids(cli, "web") == []  # the plan was made while nothing carried the name
    return plan_file


def test_the_same_saved_plan_applied_twice_creates_once_and_says_why(cli: Cli) -> None:
    plan_file = saved_create_plan(cli)
    first = cli("apply", "--plan", plan_file)
    assert first.exit_code == 0, first.output
    created = live_ids(cli, "web")
    assert len(created) == 1
    again = cli("apply", "--plan", plan_file)
    assert again.exit_code == 1, again.output
    assert "stale" in again.stderr and "applied already" in again.stderr
    assert f"as live deployment {created[0]}" in again.stderr
    assert "serial" in again.stderr  # and that the state moved on since the plan
    assert live_ids(cli, "web") == created


def test_a_saved_create_plan_after_another_apply_is_stale(cli: Cli) -> None:
    plan_file = saved_create_plan(cli)
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    created = live_ids(cli, "web")
    refused = cli("apply", "--plan", plan_file)
    assert refused.exit_code == 1 and "applied already" in refused.stderr, refused.output
    assert live_ids(cli, "web") == created


def test_a_saved_create_plan_whose_name_appeared_live_is_stale(cli: Cli) -> None:
    plan_file = saved_create_plan(cli)
    twin = cli.client().create(CreateRequest.model_validate(create_body("web"))).id
    refused = cli("apply", "--plan", plan_file)
    assert refused.exit_code == 1, refused.output
    assert f"web: now exists live (id {twin})" in refused.stderr
    assert live_ids(cli, "web") == [twin]


def test_a_saved_replace_plan_applied_twice_replaces_once(cli: Cli) -> None:
    cli.write("web")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    cli.write("web", image="vllm/vllm-openai:v0.7.0")
    plan_file = str(cli.folder / "replace.plan.json")
    assert cli("plan", str(cli.manifests), "--out", plan_file).exit_code == 0
    assert cli("apply", "--plan", plan_file).exit_code == 0
    replaced = live_ids(cli, "web")
    again = cli("apply", "--plan", plan_file)
    assert again.exit_code == 1 and "applied already" in again.stderr, again.output
    assert live_ids(cli, "web") == replaced and len(replaced) == 1


def test_the_executor_refuses_a_create_whose_name_went_live_after_the_plan(
        cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last-moment check: planned while nothing carried the name, then a deployment of
    that name appears (the console, another team's state) before the create is sent."""
    cli.write("web")
    cli.write("api")
    for key, value in cli.env.items():  # as the CLI would see them (HF_TOKEN for ${env:})
        monkeypatch.setenv(key, value)
    settings = resolve()
    run = build_plan(settings, [str(cli.manifests)], state=None)
    assert sorted(c.name for c in run.plan.pending) == ["api", "web"]
    twin = cli.client().create(CreateRequest.model_validate(create_body("web"))).id
    fp = settings.fingerprinter()
    executor = Executor(settings.client(), settings.state_file(), State.empty(), fp,
                        SecretSource(fp, desired_essences(run)))
    result = executor.run(run.plan)
    assert "not created" in result.failed["web"] and twin in result.failed["web"]
    assert result.succeeded == ["api"]
    assert live_ids(cli, "web") == [twin] and len(live_ids(cli, "api")) == 1
    assert executor.guard.lists == 1  # both creates were checked against one list


def test_creates_asking_together_share_one_list() -> None:
    """300 creates at once make one list call, not 300; a create asking after the list went
    stale gets a new one."""
    now = [0.0]
    calls: list[int] = []
    release = threading.Event()

    def list_live() -> Sequence[Deployment]:
        calls.append(1)
        release.wait(5)
        return []

    guard = CreateGuard(list_live, fresh_seconds=2.0, clock=lambda: now[0])
    threads = [threading.Thread(target=guard.check, args=(f"n{i}", State.empty(), ()))
               for i in range(300)]
    for t in threads:
        t.start()
    release.set()
    for t in threads:
        t.join()
    assert len(calls) == 1
    now[0] = 1.5
    guard.check("later", State.empty(), ())
    assert len(calls) == 1  # still fresh
    now[0] = 5.0
    guard.check("much-later", State.empty(), ())
    assert len(calls) == 2


def test_a_name_held_live_is_refused_unless_this_run_deleted_it() -> None:
    holder = Deployment.model_validate({"id": "111111111111111111", "name": "web",
                                        "status": "STOPPED"})
    guard = CreateGuard(lambda: [holder])
    try:
        guard.check("web", State.empty(), ())
    except NameTaken as exc:
        assert "111111111111111111" in exc.summary
    else:
        raise AssertionError("a create of a live name was allowed")
    guard.check("web", State.empty(), {"111111111111111111"})  # a replace deleted it first
