"""Markdown reports fit GitHub's 65,536-character body limit: whole lines, closed blocks, a note."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from reconciler.render.fit import GITHUB_BODY_LIMIT, fit_markdown

from conftest import Cli

CONTENT = st.sampled_from(["- item ✓ ünïcode", "| a | b |", "plain text " * 20, ""])
BLOCK = st.one_of(
    CONTENT.map(lambda line: [line]),
    st.lists(CONTENT, max_size=8).map(lambda ls: ["<details><summary>x</summary>", "", *ls,
                                                  "</details>"]),
    st.lists(CONTENT, max_size=8).map(lambda ls: ["```", *ls, "```"]),
)
DOCUMENTS = st.lists(BLOCK, max_size=120).map(
    lambda blocks: "<!-- marker -->\n" + "".join(line + "\n" for b in blocks for line in b))


def balanced(text: str) -> bool:
    fences = sum(1 for line in text.splitlines() if line.startswith("```"))
    return text.count("<details") == text.count("</details>") and fences % 2 == 0


@given(DOCUMENTS, st.integers(min_value=1200, max_value=20_000))
def test_fitted_text_is_a_prefix_with_closed_blocks_and_a_note(text: str, limit: int) -> None:
    assert balanced(text)
    fitted = fit_markdown(text, limit)
    assert len(fitted) <= limit
    if len(text) <= limit:
        assert fitted == text
        return
    shown, note = fitted.split("\n> **Truncated:** ")
    assert note.endswith("The full report is in the CI run's artifacts.\n")
    assert balanced(shown)
    omitted = int(note.split()[0])
    lines = text.splitlines(keepends=True)
    kept = "".join(lines[: len(lines) - omitted])  # what the note says was kept ...
    assert omitted > 0 and kept.startswith("<!-- marker -->\n") and shown.startswith(kept)
    added = shown[len(kept):]  # ... is shown verbatim, followed only by closers
    assert set(added.splitlines()) <= {"", "```", "</details>"}


def test_cut_inside_details_closes_it() -> None:
    blocks = "".join(f"<details><summary>d{i}</summary>\n\n" + "- change\n" * 30 + "\n</details>\n\n"
                     for i in range(50))
    text = "<!-- yottactl-plan -->\n### yottactl plan\n\n" + blocks
    fitted = fit_markdown(text, 2000, "plan")
    assert len(fitted) <= 2000 < len(text)
    assert fitted.count("<details>") == fitted.count("</details>") >= 1
    assert fitted.rstrip().endswith("The full plan is in the CI run's artifacts.")
    assert fit_markdown(text, len(text)) == text


def test_plan_markdown_max_chars_end_to_end(cli: Cli) -> None:
    for i in range(40):
        cli.write(f"endpoint-{i:02d}")
    full = cli("plan", str(cli.manifests), "-o", "markdown")
    assert full.exit_code == 0 and len(full.output) > 5000  # the precondition: it must be cut
    cut = cli("plan", str(cli.manifests), "-o", "markdown", "--max-chars", "5000")
    assert cut.exit_code == 0, cut.output
    assert len(cut.output) <= 5000
    assert cut.output.startswith("<!-- yottactl-plan -->\n")
    assert "**Truncated:**" in cut.output and cut.output.count("<details>") == cut.output.count(
        "</details>")
    assert GITHUB_BODY_LIMIT == 65_536
    bad = cli("plan", str(cli.manifests), "-o", "markdown", "--max-chars", "10")
    assert bad.exit_code != 0 and "--max-chars" in bad.output


def test_drift_report_file_and_max_chars(cli: Cli) -> None:
    for i in range(60):
        cli.write(f"endpoint-{i:02d}")
    report = cli.folder / "drift.json"
    result = cli("drift", str(cli.manifests), "-o", "markdown", "--report", str(report),
                 "--max-chars", "2000")
    assert result.exit_code == 2, result.output  # 60 pending creations
    data = json.loads(report.read_text())
    assert data["kind"] == "yottactl-drift-report" and len(data["findings"]) == 60
    assert len(result.stdout) <= 2000 and "**Truncated:**" in result.stdout
    assert result.stdout.startswith("<!-- yottactl-drift -->\n")
