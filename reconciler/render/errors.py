"""How an error reads on stderr: `Error: summary`, its detail, `hint: ...`.

Summaries and hints may quote the API (messages, live names): one line each, cleaned.
"""

from __future__ import annotations

from reconciler.errors import YottactlError
from reconciler.render.safe import clean, clean_lines
from reconciler.render.style import Style


def error_text(err: YottactlError, color: bool) -> str:
    lines = [f"{Style(color)('Error:', fg='red', bold=True)} {clean(err.summary)}"]
    if err.detail:
        lines.append(clean_lines(err.detail))
    if err.hint:
        lines.append(f"hint: {clean(err.hint)}")
    return "".join(line + "\n" for line in lines)
