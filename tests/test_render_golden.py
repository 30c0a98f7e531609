"""Golden files for the three plan renders (text, Markdown, JSON) of representative plans."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from reconciler.render.plan_markdown import render_markdown
from reconciler.render.plan_text import render_text

from test_planner_cases import run_case

HERE = Path(__file__).parent
CASES = sorted((HERE / "render_cases").glob("*.yaml"))
SECRETS = ("s3cr3t-new", "s3cr3t-old")


def renders(path: Path) -> dict[str, str]:
    plan = run_case(YAML(typ="safe").load(path.read_text()))
    text, color, markdown = io.StringIO(), io.StringIO(), io.StringIO()
    render_text(plan, text)
    render_text(plan, color, color=True)
    render_markdown(plan, markdown)
    return {"txt": text.getvalue(), "color.txt": color.getvalue(), "md": markdown.getvalue(),
            "json": plan.to_json()}


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_render_golden(path: Path) -> None:
    for suffix, actual in renders(path).items():
        golden = HERE / "golden" / f"{path.stem}.{suffix}"
        if os.environ.get("UPDATE_GOLDEN"):
            golden.write_text(actual)
        assert actual == golden.read_text(), f"{golden.name} differs (UPDATE_GOLDEN=1 to refresh)"
        for secret in SECRETS:
            assert secret not in actual
    assert "\x1b[" not in renders(path)["txt"]  # colour only when asked


def test_render_is_deterministic() -> None:
    assert renders(CASES[0]) == renders(CASES[0])
