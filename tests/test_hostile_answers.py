"""Answers that are well-formed JSON but break the API's contract in ways a plan could act on:
one id listed twice, the success code as a string, impossible worker counts. Each is refused at
the client boundary (BadResponse: a clean message, exit 1) or shown honestly; nothing is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.api.facts import API_PREFIX

from hostile_api import HostileApi, deployment
from hostile_api import HostileCli as Env


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[Env]:
    api = HostileApi().start()
    yield Env(api, tmp_path, "web", YOTTACTL_HTTP_TIMEOUT="5")
    api.stop()


LIST_COMMANDS = [["get"], ["get", "-o", "json"], ["plan", "{manifests}"],
                 ["drift", "{manifests}"], ["apply", "{manifests}", "--auto-approve"],
                 ["export", "--dir", "{tmp}/out"]]

TWICE = [
    ([deployment("101", "web"), deployment("101", "api")], "'101' is listed as both 'web' and 'api'"),
    ([deployment("101", "web"), deployment(101, "web")], "'101' is listed twice as 'web'"),
]


@pytest.mark.parametrize("listed,message", TWICE, ids=["two names", "one name"])
@pytest.mark.parametrize("args", LIST_COMMANDS, ids=" ".join)
def test_one_id_listed_twice_is_a_bad_answer(hostile: Env, args: list[str],
                                             listed: list[dict[str, Any]], message: str) -> None:
    hostile.api.answer("/list", listed)
    result = hostile(*args)
    assert result.exit_code == 1, result.output
    assert f"unexpected answer: deployment id {message}" in result.stderr, result.output
    assert not hostile.state.exists() and not (hostile.tmp / "out").exists()  # nothing written
    asked = {r.split("?")[0] for r in hostile.api.requests}
    assert asked == {API_PREFIX + "/list"}, asked  # no call acted on the answer


def test_two_deployments_of_one_name_are_a_legitimate_answer(hostile: Env) -> None:
    """The API allows duplicate names (distinct ids): those are planned (an ambiguity error
    naming both), never refused as malformed."""
    hostile.api.answer("/list", [deployment("101", "web"), deployment("102", "web")])
    result = hostile("plan", "{manifests}")
    assert result.exit_code == 1 and "2 live deployments have this name (101, 102)" in \
        result.output, result.output
    assert "unexpected answer" not in result.output + result.stderr



def test_the_success_code_as_a_string_of_digits_is_success(hostile: Env) -> None:
    """The spec says int32; a gateway that quotes numbers sends "10000": one meaning, read as it.
    (It was 'list failed: success'.)"""
    hostile.api.answer("/list", body=json.dumps({"code": "10000", "message": "success",
                                                 "data": [deployment("101", "web")]}).encode())
    result = hostile("get", "-o", "json")
    assert result.exit_code == 0, result.output
    assert [d["id"] for d in json.loads(result.stdout)] == ["101"]
    assert "web" in hostile("plan", "{manifests}").output


@pytest.mark.parametrize("code,message", [
    ('"24002"', "list failed: elastic action not allowed (HTTP 200, code 24002)"),
    ('"abc"', "unexpected answer: field code: expected an integer, got 'abc'"),
    ('"-10000"', "unexpected answer: field code: expected an integer, got '-10000'"),
    ("true", "unexpected answer: field code: expected an integer, got True"),
    (None, "unexpected answer: field code: expected an integer, got nothing"),
    ("10500", "list failed: not a success, although its message says 'success' (HTTP 200, "
              "code 10500)"),
], ids=["quoted error code", "text", "negative", "bool", "missing", "error saying success"])
def test_an_envelope_code_that_is_not_success_is_never_reported_as_success(
        hostile: Env, code: str | None, message: str) -> None:
    text = "elastic action not allowed" if code == '"24002"' else "success"
    envelope = f'"code": {code}, ' if code is not None else ""
    hostile.api.answer("/list", body=(
        f'{{{envelope}"message": "{text}", "data": []}}').encode())
    for args in (["get"], ["plan", "{manifests}"]):
        result = hostile(*args)
        assert result.exit_code == 1, result.output
        assert message in result.stderr, result.stderr
        assert "failed: success" not in result.output + result.stderr


COUNTS = [("totalWorkers", -3), ("runningWorkers", -3), ("totalWorkers", 10**30),
          ("runningWorkers", 2**31)]
SHOWS_COUNTS = [["get"], ["get", "web"], ["get", "-o", "json"],
                ["plan", "{manifests}"], ["export", "--dir", "{tmp}/out"]]


@pytest.mark.parametrize("field,count", COUNTS, ids=[f"{f}={c}" for f, c in COUNTS])
@pytest.mark.parametrize("args", SHOWS_COUNTS, ids=" ".join)
def test_an_impossible_worker_count_is_a_bad_answer(hostile: Env, args: list[str], field: str,
                                                    count: int) -> None:
    """The spec types counts int32; a count is never negative. Neither is shown raw nor
    planned on (plan reads totalWorkers only, so runningWorkers cannot reach it)."""
    hostile.api.answer("/list", [deployment("101", "web", **{field: count})])
    if args[0] == "plan" and field == "runningWorkers":
        result = hostile(*args)
        # the count as a number of its own (a temp path such as pytest-315 holds "-3")
        shown = re.search(rf"(?<![\w-]){re.escape(str(count))}(?!\d)", result.output)
        assert result.exit_code == 0 and not shown, result.output
        return
    hostile.api.answer("/101", deployment("101", "web", **{field: count}))
    result = hostile(*args)
    assert result.exit_code == 1, result.output
    assert f"unexpected answer: field data[0].{field}: input should be" in result.stderr, \
        result.stderr
    assert str(count) not in result.stdout and not (hostile.tmp / "out").exists()


def test_worker_counts_at_the_int32_bounds_are_shown(hostile: Env) -> None:
    hostile.api.answer("/list", [deployment("101", "web", totalWorkers=2**31 - 1,
                                            runningWorkers=0)])
    result = hostile("get")
    assert result.exit_code == 0 and f"0/{2**31 - 1}" in result.stdout, result.output


EVIL = "evil\x1b]0;owned\x07\nname"


def test_export_of_all_skips_each_unexportable_name_and_writes_the_rest(hostile: Env) -> None:
    hostile.api.answer("/list", [deployment("101", EVIL), deployment("102", "web"),
                                 deployment("103", "dup"), deployment("104", "dup"),
                                 deployment("105", "api")])
    result = hostile("export", "--dir", "{tmp}/out")
    out = hostile.tmp / "out"
    assert sorted(p.name for p in out.iterdir()) == ["api.yaml", "web.yaml"], result.output
    assert result.exit_code == 1, result.output  # incomplete: a script must not take it as done
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning: ")]
    assert warnings == [
        "Warning: skipped live deployment 101 has the name 'evil\\x1b]0;owned\\x07\\nname', which "
        "is not a valid deployment name; rename it in the console, then export it",
        "Warning: skipped live deployments 103, 104 share the name 'dup'; export each by id into "
        "its own --dir (`yottactl export ID --dir DIR`) and rename its metadata.name"]
    assert "export incomplete: 3 live deployments skipped (warnings above), 2 written" in \
        result.stderr
    assert "\x1b" not in result.output + result.stderr
    assert f"wrote {out / 'api.yaml'}" in result.stdout


def test_export_by_name_is_all_or_nothing(hostile: Env) -> None:
    hostile.api.answer("/list", [deployment("101", EVIL), deployment("102", "web")])
    assert hostile("export", "web", "--dir", "{tmp}/one").exit_code == 0
    assert [p.name for p in (hostile.tmp / "one").iterdir()] == ["web.yaml"]
    refused = hostile("export", "web", "101", "--dir", "{tmp}/two")
    assert refused.exit_code == 1 and "not a valid deployment name" in refused.stderr
    assert not (hostile.tmp / "two").exists()
