"""JSON text to Python data, as ``json.loads`` gives it, read by pydantic-core where it can.

pydantic-core's parser reads bytes directly (no decoded copy of a fleet's 10 MB answer), is
faster, and shares repeated strings (keys, statuses, regions) between the objects it builds.
What it refuses (a byte-order mark, a lone surrogate escape, ...) the standard library reads
exactly as before, and its errors are the standard library's (``tests/test_fast_parsing.py``
compares the two). Pure: no I/O.
"""

from __future__ import annotations

import json

from pydantic_core import from_json


def loads(text: str | bytes, *, deep_ok: bool = True) -> object:
    """Like ``json.loads(text)``; raises ``json.JSONDecodeError`` / ``UnicodeDecodeError``.
    With ``deep_ok=False``, JSON nested deeper than pydantic-core reads (~200 levels) raises
    RecursionError: such data would later fail pydantic's serialisation (``-o json``)."""
    try:
        return from_json(text)
    except ValueError as exc:
        if not deep_ok and "recursion limit exceeded" in str(exc):
            raise RecursionError("JSON nested too deeply") from exc
        return json.loads(text)
