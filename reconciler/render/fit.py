"""Fit a Markdown report into a size limit (GitHub caps comment and issue bodies at 65,536
characters): whole lines only, open ``<details>`` blocks and code fences closed, and a note that
says what was left out. Pure; the commands apply it to their rendered Markdown."""

from __future__ import annotations

GITHUB_BODY_LIMIT = 65_536
# what the closers and the note may need beyond the kept lines (the note is short and fixed)
_RESERVE = 600


def fit_markdown(text: str, limit: int, what: str = "report") -> str:
    """``text`` unchanged when it fits in ``limit`` characters, else truncated with a note."""
    if len(text) <= limit:
        return text
    if limit < _RESERVE * 2:
        raise ValueError(f"limit {limit} is too small to hold a truncated {what}")
    lines = text.splitlines(keepends=True)
    kept: list[str] = []
    size = 0
    open_details = 0
    in_fence = False
    for line in lines:
        if size + len(line) > limit - _RESERVE:
            break
        kept.append(line)
        size += len(line)
        open_details += line.count("<details") - line.count("</details>")
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
    if kept and not kept[-1].endswith("\n"):
        kept.append("\n")
    omitted = len(lines) - len(kept)
    closers = ("```\n" if in_fence else "") + "\n</details>\n" * max(open_details, 0)
    note = (f"\n> **Truncated:** {omitted} more line(s) of this {what} are not shown (limit "
            f"{limit:,} characters). The full {what} is in the CI run's artifacts.\n")
    return "".join(kept) + closers + note
