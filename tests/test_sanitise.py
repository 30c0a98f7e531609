"""The one sanitiser for API text (reconciler/render/safe.py): values and output streams."""

from __future__ import annotations

import io
from pathlib import Path

from reconciler.plan.model import FieldChange, Plan, Unmanaged
from reconciler.render.safe import SafeStream, clean, clean_tree


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_clean_escapes_c0_c1_esc_del_but_keeps_tab_and_text() -> None:
    assert clean("a\tb") == "a\tb"
    assert clean("x\x1b[2Jy\x07\r\n\x9b\x7f\x00") == "x\\x1b[2Jy\\x07\\r\\n\\x9b\\x7f\\x00"
    assert clean("naïve ✓ 日本") == "naïve ✓ 日本"
    same = "plain"
    assert clean(same) is same


def test_clean_tree_copies_only_what_changes_and_keeps_named_fields() -> None:
    plan = Plan(unmanaged=(Unmanaged(id="1", name="ok"),))
    assert clean_tree(plan) is plan  # nothing to escape: no copy
    hostile = Plan(unmanaged=(Unmanaged(id="1", name="a\x1bb", status="\x07"),),
                   drift=())
    cleaned = clean_tree(hostile)
    assert cleaned.unmanaged[0].name == "a\\x1bb" and cleaned.unmanaged[0].status == "\\x07"
    change = FieldChange(path="image", before="x\x1b", after="y")
    assert clean_tree(change, keep=frozenset({"before"})).before == "x\x1b"
    assert clean_tree({"k\x1b": ["v\x07"]}) == {"k\\x1b": ["v\\x07"]}


def test_stream_off_a_terminal_escapes_every_control_but_newline_and_tab() -> None:
    raw = io.StringIO()
    SafeStream(raw).write("\x1b[31mred\x1b[0m\t\x1b]0;title\x07\r\n")  # type: ignore[arg-type]
    assert raw.getvalue() == "\\x1b[31mred\\x1b[0m\t\\x1b]0;title\\x07\\r\n"


def test_stream_on_a_terminal_passes_only_our_colour_and_redraw_codes() -> None:
    raw = Terminal()
    stream = SafeStream(raw)  # type: ignore[arg-type]
    stream.write("\x1b[1;31mError:\x1b[0m \x1b[2F\x1b[2K")
    assert raw.getvalue() == "\x1b[1;31mError:\x1b[0m \x1b[2F\x1b[2K"
    raw.seek(0), raw.truncate()
    stream.write("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ \x1b[2J \x07 \x9b1m")
    assert "\x1b]" not in raw.getvalue() and "\x1b[2J" not in raw.getvalue()
    assert "\x07" not in raw.getvalue() and "\x9b" not in raw.getvalue()
    assert stream.isatty()


def test_a_newline_in_a_manifest_file_name_cannot_forge_an_error_line(tmp_path: Path) -> None:
    """`validate` prints file:line:column: a file name is chosen by whoever wrote the repo."""
    from click.testing import CliRunner

    from reconciler.cli import main

    (tmp_path / "bad\nx.yaml:4:1: all good.yaml").write_text("kind: [\n")
    result = CliRunner().invoke(main, ["validate", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert not any(line.startswith("x.yaml") for line in lines), result.output
    assert "bad\\x0ax.yaml:4:1: all good.yaml:" in result.output
