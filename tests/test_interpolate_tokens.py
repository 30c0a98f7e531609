"""``${env:...}``, ``${var:...}`` and ``$${`` are found by a hand-written scanner
(interpolate.tokens), held equal to the regular expression it replaces (interpolate.TOKEN), which
took quadratic time on text with many ``${env:`` and no closing brace."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.manifest.interpolate import TOKEN, Growth, interpolate, tokens

PARTS = ["$", "$$", "{", "}", "${", "$${", "env:", "var:", "${env:", "${var:", "A", "x_1", " ",
         "\n", "é", ":", "env", "${env:}", "$${env:A}", "${ENV:A}", "${env:A}"]


def by_regex(text: str) -> list[tuple[int, int, str | None, str]]:
    return [(m.start(), m.end(), None if m.group(0) == "$${" else m.group(1), m.group(2) or "")
            for m in TOKEN.finditer(text)]


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(PARTS), max_size=14).map("".join))
def test_the_scanner_finds_what_the_regular_expression_finds(text: str) -> None:
    assert list(tokens(text)) == by_regex(text), text


def test_fixed_cases() -> None:
    for text in ["${env:A}", "a ${var:b} c", "$${env:A}", "${env:A", "${env:A $${x", "$$${env:A}",
                 "${env:${env:A}}", "${var:}", "x}${env:A}", "${env:a}b${var:c}$${", "$"]:
        assert list(tokens(text)) == by_regex(text), text
    assert by_regex("${env:A $${x") == [(8, 11, None, "")]  # precondition: a case that matters


def test_a_hostile_megabyte_is_scanned_in_linear_time() -> None:
    """1 MiB of `${env:` without a closing brace: the regular expression's rescans took ~10 s
    at 128 KiB; the scanner takes milliseconds. One generous bound, far from both."""
    text = "${env:" * 174_763 + "$${"
    started = time.perf_counter()
    found = list(tokens(text))
    result = interpolate({"image": text}, {}, {}, Growth())
    assert time.perf_counter() - started < 2.0
    assert found == [(len(text) - 3, len(text), None, "")]  # only the escape at the end
    assert result.value == {"image": text[:-3] + "${"} and not result.missing
