"""The pipeline recipes parse as YAML and call only yottactl commands and flags that exist."""

from __future__ import annotations

import shlex
from pathlib import Path

import click
import pytest
from ruamel.yaml import YAML

from reconciler.cli import main

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted((ROOT / "examples" / "ci").rglob("*.yml"))


def run_scripts(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["run"]] if isinstance(node.get("run"), str) else []
        return found + [s for v in node.values() for s in run_scripts(v)]
    if isinstance(node, list):
        return [s for v in node for s in run_scripts(v)]
    return []


def invocations(script: str) -> list[list[str]]:
    joined = script.replace("\\\n", " ")
    out = []
    for line in joined.splitlines():
        if "yottactl " not in line or line.strip().startswith("#"):
            continue
        tokens = shlex.split(line.split("#")[0] if " #" in line else line)
        start = tokens.index("yottactl")
        out.append(tokens[start + 1:])
    return out


def check(args: list[str]) -> None:
    command: click.Command = main
    rest = list(args)
    while isinstance(command, click.Group):
        name = rest.pop(0)
        assert name in command.commands, f"unknown command {name!r}"
        command = command.commands[name]
    known = {opt for p in command.params for opt in getattr(p, "opts", [])}
    for token in rest:
        if token.startswith("-") and token not in (">", "-"):
            flag = token.split("=")[0]
            assert flag in known, f"{command.name}: unknown flag {flag}"


def test_there_are_three_recipes() -> None:
    assert {p.name for p in RECIPES} == {"yottactl-plan.yml", "yottactl-apply.yml",
                                          "yottactl-drift.yml"}


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_recipe_calls_real_commands(recipe: Path) -> None:
    workflow = YAML(typ="safe").load(recipe.read_text())
    assert workflow["jobs"] and "on" in workflow
    calls = [args for script in run_scripts(workflow) for args in invocations(script)]
    assert calls, "a recipe that never calls yottactl"
    for args in calls:
        check(args)
    text = recipe.read_text()
    assert "secrets.YOTTA_API_KEY" in text  # credentials come from the CI secret store


def test_apply_recipe_limits_concurrency_and_approves_explicitly() -> None:
    workflow = YAML(typ="safe").load((ROOT / "examples/ci/github/yottactl-apply.yml").read_text())
    assert workflow["concurrency"]["cancel-in-progress"] is False
    scripts = " ".join(run_scripts(workflow))
    assert "--auto-approve" in scripts and "--lock-timeout" in scripts


def test_checker_rejects_unknown_flags() -> None:
    with pytest.raises(AssertionError):
        check(["plan", "--no-such-flag"])
    with pytest.raises(AssertionError):
        check(["frobnicate"])


def test_pre_commit_hook_and_ack_example() -> None:
    hooks = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text())
    [hook] = hooks
    entry = shlex.split(hook["entry"])
    assert entry[0] == "yottactl"
    check(entry[1:])
    from reconciler.driftreport import parse_acks

    acks = YAML(typ="safe").load((ROOT / "examples/ci/drift-acks.yaml").read_text())
    assert parse_acks(acks, "drift-acks.yaml")[0].type == "scaled"
