"""The one colour policy's output side: ANSI styling, or the text unchanged.

Whether to colour is decided once per command (``settings.wants_color``: --no-color, NO_COLOR,
a terminal); every renderer styles through :class:`Style`, never through click.
"""

from __future__ import annotations

_CODES = {"red": 31, "green": 32, "yellow": 33, "blue": 34, "magenta": 35, "cyan": 36,
          "white": 37}


class Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, fg: str | None = None, bold: bool = False) -> str:
        if not self.color:
            return text
        parts = ([str(_CODES[fg])] if fg else []) + (["1"] if bold else [])
        return f"\x1b[{';'.join(parts)}m{text}\x1b[0m" if parts else text
