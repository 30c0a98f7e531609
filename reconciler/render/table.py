"""Plain-text tables that fit the terminal width, and human durations. Writes to a stream."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TextIO


def human_duration(ms: int | None) -> str:
    if ms is None:
        return "-"
    seconds = ms // 1000
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes}m"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def render_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    out: TextIO,
    width: int = 120,
    style: Callable[[int, str], str] | None = None,
) -> None:
    """Columns padded to their content; the widest column is cut (…) so lines fit ``width``.
    ``style(column, text)`` may colour a cell (applied after padding, so alignment holds).
    Cells usually hold API values: each is cleaned of control characters first."""
    from reconciler.render.safe import clean

    headers = [clean(h) for h in headers]
    rows = [[clean(cell) for cell in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    while sum(widths) + 2 * (len(widths) - 1) > width and max(widths) > 8:
        widths[widths.index(max(widths))] -= 1

    def fit(text: str, size: int) -> str:
        return text if len(text) <= size else text[: size - 1] + "…"

    out.write("  ".join(fit(h, w).ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()
              + "\n")
    for row in rows:
        cells = []
        for i, (cell, w) in enumerate(zip(row, widths, strict=True)):
            text = fit(cell, w).ljust(w)
            cells.append(style(i, text) if style else text)
        out.write("  ".join(cells).rstrip() + "\n")
