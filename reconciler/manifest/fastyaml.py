"""Fast YAML reading: libyaml's C parser (ruamel.yaml.clib) events, built into plain Python data.

ruamel's safe constructor spends ~90% of load time in Python-level tag resolution; building
dicts/lists straight from the C parser's events is ~8x faster, iterative (no recursion, so a
100,000-deep document cannot crash the process) and enforces our depth limit as it goes.
Plain scalars resolve per the YAML 1.2 core schema, as ruamel's safe loader does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from ruamel.yaml import events as ev

try:  # the C extension; the pure-Python parser is a slower but equivalent fallback
    from _ruamel_yaml import CParser as _Parser
except ImportError:  # pragma: no cover - ruamel.yaml.clib is a declared dependency
    _Parser = None

_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$")
_OCT = re.compile(r"^0o[0-7_]+$")
_HEX = re.compile(r"^0x[0-9a-fA-F_]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?$")
_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_INF = {".inf": float("inf"), "+.inf": float("inf"), "-.inf": float("-inf"), ".nan": float("nan")}
_STD = "tag:yaml.org,2002:"


class YamlStructureError(Exception):
    """A structural problem the parser accepts but a manifest may not have (position 1-based)."""

    def __init__(self, message: str, line: int, column: int, hint: str = "") -> None:
        super().__init__(message)
        self.line, self.column, self.hint = line, column, hint


_SPECIAL_START = frozenset("0123456789+-.~nNtTfF")


def _plain(value: str) -> Any:
    if value and value[0] not in _SPECIAL_START:
        return value  # fast path: most scalars (names, images, regions) cannot be non-strings
    if value in _NULL:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if _INT.match(value):
        return int(value.replace("_", ""))
    if _OCT.match(value):
        return int(value[2:].replace("_", ""), 8)
    if _HEX.match(value):
        return int(value[2:].replace("_", ""), 16)
    if _FLOAT.match(value) and any(c.isdigit() for c in value):
        return float(value.replace("_", ""))
    if value.lower() in _INF:
        return _INF[value.lower()]
    return value


def _scalar(event: Any) -> Any:
    tag = event.tag
    if tag in (None, "!"):
        return _plain(event.value) if not event.style and event.implicit[0] else event.value
    name = str(tag).removeprefix(_STD).removeprefix("!!")
    converters: dict[str, Callable[[str], Any]] = {"str": str, "int": lambda v: int(v, 0), "float": float,
                  "bool": lambda v: v in _TRUE, "null": lambda v: None}
    if name not in converters:
        mark = event.start_mark
        raise YamlStructureError(f"unsupported tag {tag}", mark.line + 1, mark.column + 1,
                                 "manifests use plain YAML values without tags")
    try:
        return converters[name](event.value)
    except ValueError:
        mark = event.start_mark
        raise YamlStructureError(f"{event.value!r} is not a valid !!{name}", mark.line + 1,
                                 mark.column + 1, "remove the tag or fix the value") from None


def _events(text: str) -> Iterator[Any]:
    if _Parser is not None:
        parser = _Parser(text)
        check, get = parser.check_event, parser.get_event  # hot loop: bound methods
        while check():
            yield get()
        return
    from ruamel.yaml import YAML  # pragma: no cover

    yield from YAML(typ="safe", pure=True).parse(text)  # pragma: no cover


def load_all(text: str, max_depth: int = 64) -> list[Any]:
    """Every document in ``text`` as dicts/lists/scalars. Raises ruamel's MarkedYAMLError for
    syntax errors and :class:`YamlStructureError` for duplicate keys, depth, bad tags."""
    documents: list[Any] = []
    # per open collection: (container, [pending key], keys that came from a << merge)
    stack: list[tuple[Any, list[Any], set[Any]]] = []
    anchors: dict[str, Any] = {}

    def add(value: Any, event: Any) -> None:
        if not stack:
            documents.append(value)
            return
        container, pending, merged = stack[-1]
        if isinstance(container, list):
            container.append(value)
        elif not pending:
            if isinstance(value, (dict, list)):
                mark = event.start_mark
                raise YamlStructureError("a mapping key must be a scalar", mark.line + 1,
                                         mark.column + 1, "keys are plain words like `image:`")
            pending.append((value, event.start_mark))
        else:
            key, mark = pending.pop()
            if key == "<<" and isinstance(value, (dict, list)):  # merge key
                for source in value if isinstance(value, list) else [value]:
                    for k, v in source.items() if isinstance(source, dict) else ():
                        if k not in container:
                            container[k] = v
                            merged.add(k)
                return
            if key in container and key not in merged:
                raise YamlStructureError(f"duplicate key {key!r}", mark.line + 1, mark.column + 1,
                                         "each key may appear once per mapping: remove or rename one")
            container[key] = value
            merged.discard(key)

    scalar_event, mapping_start = ev.ScalarEvent, ev.MappingStartEvent
    for event in _events(text):
        kind = type(event)
        if kind is scalar_event:
            if event.tag is None and not event.anchor and stack:
                # hot path: an untagged scalar inside a collection (most of a manifest)
                raw = event.value
                value = _plain(raw) if not event.style and event.implicit[0] else raw
                container, pending, _ = stack[-1]
                if pending and type(container) is dict and pending[0][0] not in container:
                    container[pending.pop()[0]] = value
                    continue
                add(value, event)
                continue
            value = _scalar(event)
            if event.anchor:
                anchors[event.anchor] = value
            add(value, event)
        elif kind is mapping_start or kind is ev.SequenceStartEvent:
            if len(stack) >= max_depth:
                mark = event.start_mark
                raise YamlStructureError(f"nesting deeper than {max_depth} levels", mark.line + 1,
                                         mark.column + 1, "manifests nest only a few levels")
            new: Any = {} if kind is mapping_start else []
            if event.anchor:
                anchors[event.anchor] = new
            add(new, event)
            stack.append((new, [], set()))
        elif isinstance(event, (ev.MappingEndEvent, ev.SequenceEndEvent)):
            stack.pop()
        elif isinstance(event, ev.AliasEvent):
            if event.anchor not in anchors:
                mark = event.start_mark
                raise YamlStructureError(f"unknown alias *{event.anchor}", mark.line + 1,
                                         mark.column + 1, "define &name before using *name")
            add(anchors[event.anchor], event)
        elif isinstance(event, ev.DocumentStartEvent):
            anchors = {}
    return documents
