"""Capacity before approval (issue 27): under v2, `plan` asks GET /v2/vms/types once, beside the
list call, and marks each create or replacement whose GPU type and region show unavailable as
at risk, naming the other resources[] entries the manifest allows; --require-capacity makes it
an error. In text, Markdown and JSON; against the emulator, whose availability the test sets."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from conftest import Cli, manifest_text, stats
from hostile_api import HostileApi
from hostile_api import HostileCli as Env

ASKED = "    - {region: us-east-1, gpuType: NVIDIA_RTX_4090_24G, gpuCount: 1}\n"
ALTERNATIVE = "    - {region: us-east-2, gpuType: NVIDIA_L4_24G, gpuCount: 1}\n"
v2_only = pytest.mark.parametrize("api_version", ["v2"])


def write(cli: Cli, name: str = "web", *, alternative: bool = True, **kw: object) -> None:
    text = manifest_text(name, **kw)  # type: ignore[arg-type]
    assert ASKED in text  # the entry the tests make unavailable
    (cli.manifests / f"{name}.yaml").write_text(
        text.replace(ASKED, ASKED + (ALTERNATIVE if alternative else "")))


def no_capacity(cli: Cli, gpu: str = "NVIDIA_RTX_4090_24G", region: str = "us-east-1") -> None:
    answer = httpx.post(f"{cli.server.url}/_emulator/capacity",
                        json={"gpuType": gpu, "region": region, "available": False})
    assert answer.status_code == 200, answer.text


WARNING = ("web: at risk: GET /v2/vms/types shows no capacity for NVIDIA_RTX_4090_24G in "
           "us-east-1; the manifest also allows NVIDIA_L4_24G in us-east-2 (shows capacity)")


@v2_only
def test_a_create_without_capacity_is_at_risk_in_every_format(cli: Cli) -> None:
    write(cli)
    no_capacity(cli)
    text = cli.run("plan", str(cli.manifests))
    assert text.returncode == 0, text.stderr
    assert f"Warning: {WARNING}" in text.stdout
    calls = stats(cli.server)
    assert calls.get("getVMTypes") == 1 and calls.get("endpointList_1") == 1  # one of each
    markdown = cli.run("plan", str(cli.manifests), "-o", "markdown").stdout
    assert ("> **Warning:** web: at risk: GET /v2/vms/types shows no capacity for "
            "`NVIDIA_RTX_4090_24G` in us-east-1; the manifest also allows `NVIDIA_L4_24G` in "
            "us-east-2 (shows capacity)") in markdown
    plan = json.loads(cli.run("plan", str(cli.manifests), "-o", "json").stdout)
    (change,) = plan["changes"]
    assert change["capacity"] == {
        "unavailable": [{"gpuType": "NVIDIA_RTX_4090_24G", "region": "us-east-1",
                         "available": False}],
        "alternatives": [{"gpuType": "NVIDIA_L4_24G", "region": "us-east-2", "available": True}]}
    (diagnostic,) = [d for d in plan["diagnostics"] if d["code"] == "capacity-at-risk"]
    assert diagnostic["severity"] == "warning" and diagnostic["deployment"] == "web"
    saved = cli.folder / "plan.json"
    assert cli.run("plan", str(cli.manifests), "--out", str(saved)).returncode == 0
    shown = json.loads(cli.run("show", str(saved), "-o", "json").stdout)
    assert shown["changes"][0]["capacity"] == change["capacity"]  # kept by saved plans


@v2_only
def test_require_capacity_makes_it_an_error(cli: Cli) -> None:
    write(cli, alternative=False)
    assert cli.run("plan", str(cli.manifests), "--require-capacity").returncode == 0
    no_capacity(cli)
    result = cli.run("plan", str(cli.manifests), "--require-capacity")
    assert result.returncode == 1
    assert "at risk: GET /v2/vms/types shows no capacity for NVIDIA_RTX_4090_24G" in \
        result.stdout + result.stderr
    assert "the manifest allows no other GPU type or region" in result.stdout + result.stderr


@v2_only
def test_replacements_are_checked(cli: Cli) -> None:
    write(cli)
    assert cli.run("apply", str(cli.manifests), "--auto-approve").returncode == 0
    no_capacity(cli)
    write(cli, image="vllm/vllm-openai:v0.7.0")  # a replacement creates a new deployment
    out = cli.run("plan", str(cli.manifests)).stdout
    assert "replace" in out and f"Warning: {WARNING}" in out


def at_risk(cli: Cli, gpu: str, region: str, *, action: str) -> None:
    """--require-capacity refuses the one change, in text, Markdown and JSON alike."""
    text = cli.run("plan", str(cli.manifests), "--require-capacity")
    assert text.returncode == 1, text.stdout + text.stderr
    said = f"web: at risk: GET /v2/vms/types shows no capacity for {gpu} in {region}"
    assert said in text.stdout + text.stderr
    markdown = cli.run("plan", str(cli.manifests), "-o", "markdown")
    assert markdown.returncode == 0 and "shows no capacity for `" + gpu in markdown.stdout
    plan = json.loads(cli.run("plan", str(cli.manifests), "-o", "json").stdout)
    (change,) = plan["changes"]
    assert change["action"] == action
    assert change["capacity"]["unavailable"] == [{"gpuType": gpu, "region": region,
                                                  "available": False}]
    assert [d["code"] for d in plan["diagnostics"]] == ["capacity-at-risk"]


@v2_only
def test_every_change_that_needs_new_workers_is_checked(cli: Cli) -> None:
    """Not only creates: an update onto another GPU type (stop, update, start), a scale-up of
    running workers and a start all ask the platform for new workers."""
    write(cli, alternative=False)
    assert cli.run("apply", str(cli.manifests), "--auto-approve").returncode == 0
    no_capacity(cli, "NVIDIA_L4_24G", "us-east-1")
    (cli.manifests / "web.yaml").write_text((cli.manifests / "web.yaml").read_text().replace(
        "gpuType: NVIDIA_RTX_4090_24G", "gpuType: NVIDIA_L4_24G"))
    at_risk(cli, "NVIDIA_L4_24G", "us-east-1", action="update")
    no_capacity(cli)  # the deployment's own pair
    write(cli, alternative=False, workers=6)  # 2 -> 6 running workers
    at_risk(cli, "NVIDIA_RTX_4090_24G", "us-east-1", action="scale")
    write(cli, alternative=False, workers=1)  # a scale-down frees workers: nothing to ask
    assert "at risk" not in cli.run("plan", str(cli.manifests), "--require-capacity").stdout
    write(cli, alternative=False, state="stopped")
    assert cli.run("apply", str(cli.manifests), "--auto-approve").returncode == 0
    assert "at risk" not in cli.run("plan", str(cli.manifests), "--require-capacity").stdout
    write(cli, alternative=False)  # stopped -> running
    at_risk(cli, "NVIDIA_RTX_4090_24G", "us-east-1", action="start")


def test_v1_asks_nothing_and_warns_of_nothing(cli: Cli) -> None:
    assert cli.api_version == "v1"  # the emulator serves both: the capacity is set all the same
    write(cli)
    no_capacity(cli)
    out = cli.run("plan", str(cli.manifests))
    assert out.returncode == 0 and "at risk" not in out.stdout
    assert "getVMTypes" not in stats(cli.server)


def test_require_capacity_under_v1_is_an_error_not_a_silent_pass(cli: Cli) -> None:
    """A pull request setting `api: v1` must not remove a CI capacity gate unseen."""
    assert cli.api_version == "v1"
    write(cli)
    before = stats(cli.server)
    out = cli.run("plan", str(cli.manifests), "--require-capacity")
    assert out.returncode == 1
    assert "capacity can only be checked under API v2" in out.stderr
    assert "--api-version v2" in out.stderr
    assert stats(cli.server) == before  # refused before any API call


@pytest.mark.parametrize("require", [False, True])
def test_when_the_endpoint_cannot_say_the_plan_says_capacity_was_not_checked(
        tmp_path: Path, require: bool) -> None:
    api = HostileApi().start()
    try:
        api.answer("/v2/serverless", [])  # the list works; GET /v2/vms/types answers 10007
        env = Env(api, tmp_path, "web", YOTTA_API_VERSION="v2")
        result = env("plan", "{manifests}", *(["--require-capacity"] if require else []))
        assert result.exit_code == (1 if require else 0), result.output
        assert "GPU capacity not checked: GET /v2/vms/types failed" in result.output
        assert any(r.startswith("/v2/vms/types") for r in api.requests)
    finally:
        api.stop()


UNSAID = [[], None, [{"gpuType": "NVIDIA_RTX_4090_24G", "regions": ["us-east-1"]}],
          [{"gpuType": "NVIDIA_RTX_4090_24G", "regions": [{"region": "us-east-1"}]}]]


@pytest.mark.parametrize("require", [False, True])
@pytest.mark.parametrize("types", UNSAID, ids=["empty", "null", "plain-region", "no-flag"])
def test_a_pair_the_endpoint_does_not_confirm_is_not_passed_by_require_capacity(
        tmp_path: Path, require: bool, types: object) -> None:
    """Not listed, or listed without `available`: unknown, never called unavailable (no
    at-risk marking), but --require-capacity cannot pass what it could not confirm."""
    api = HostileApi().start()
    try:
        api.answer("/v2/serverless", [])  # the plan creates web
        api.answer("/v2/vms/types", types)
        env = Env(api, tmp_path, "web", YOTTA_API_VERSION="v2")
        result = env("plan", "{manifests}", *(["--require-capacity"] if require else []))
        assert result.exit_code == (1 if require else 0), result.output
        assert ("web: capacity not confirmed: GET /v2/vms/types does not say whether "
                "NVIDIA_RTX_4090_24G in us-east-1 has capacity") in result.output
        assert "at risk" not in result.output
        plan = json.loads(env("plan", "{manifests}", "-o", "json").stdout)
        (diagnostic,) = [d for d in plan["diagnostics"] if d["code"].startswith("capacity")]
        assert diagnostic["code"] == "capacity-unknown" and diagnostic["deployment"] == "web"
        assert diagnostic["severity"] == "warning"  # -o json without the flag
        assert plan["changes"][0].get("capacity") is None
    finally:
        api.stop()


@v2_only
def test_apply_require_capacity_refuses_before_anything_changes(cli: Cli) -> None:
    """CI running `apply --auto-approve` can gate too: the plan's capacity errors exit 1 before
    the first call that changes anything, as a mandatory policy does."""
    write(cli, alternative=False)
    no_capacity(cli)
    for output in ("text", "json"):
        result = cli.run("apply", str(cli.manifests), "--auto-approve", "--require-capacity",
                         "-o", output)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "web: at risk: GET /v2/vms/types shows no capacity for NVIDIA_RTX_4090_24G" in \
            result.stdout + result.stderr
    calls = stats(cli.server)
    assert set(calls) == {"getVMTypes", "endpointList_1"}, calls  # looked, changed nothing
    httpx.post(f"{cli.server.url}/_emulator/capacity",
               json={"gpuType": "NVIDIA_RTX_4090_24G", "region": "us-east-1", "available": True})
    done = cli.run("apply", str(cli.manifests), "--auto-approve", "--require-capacity")
    assert done.returncode == 0, done.stdout + done.stderr


def test_apply_require_capacity_under_v1_is_refused_before_any_call(cli: Cli) -> None:
    write(cli)
    before = stats(cli.server)
    result = cli.run("apply", str(cli.manifests), "--auto-approve", "--require-capacity")
    assert result.returncode == 1
    assert "capacity can only be checked under API v2" in result.stderr
    assert stats(cli.server) == before


def test_apply_require_capacity_does_not_take_a_saved_plan(cli: Cli) -> None:
    saved = cli.folder / "plan.json"
    saved.write_text("{}")
    result = cli.run("apply", "--plan", str(saved), "--require-capacity")
    assert result.returncode == 1
    assert "--require-capacity checks a new plan's changes, not a saved plan" in result.stderr
    assert "yottactl plan --require-capacity --out FILE" in result.stderr
