"""Positions and wording of manifest errors.

:class:`Locator` re-reads a file's parser events (only when an error needs a position) and
maps a validation location such as ``('spec', 'resources', 0, 'gpuType')`` to a 1-based line
and column. :func:`describe_validation_error` turns a pydantic error into our
message + hint, with "did you mean" for misspelled keys.
"""

from __future__ import annotations

import difflib
import json
from typing import TYPE_CHECKING

from reconciler.manifest.schema import API_VERSION, KIND, SECTION_MODELS

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails


class _Marks:
    """0-based positions of a collection and its parts, shaped like ruamel's ``.lc``."""

    __slots__ = ("col", "items", "keys", "line", "values")

    def __init__(self, line: int, col: int) -> None:
        self.line, self.col = line, col
        self.keys: dict[object, tuple[int, int]] = {}
        self.values: dict[object, tuple[int, int]] = {}
        self.items: list[tuple[int, int]] = []

    def key(self, k: object) -> tuple[int, int]:
        return self.keys[k]

    def value(self, k: object) -> tuple[int, int]:
        return self.values[k]

    def item(self, i: int) -> tuple[int, int]:
        return self.items[i]


class _Map(dict[object, object]):
    lc: _Marks


class _Seq(list[object]):
    lc: _Marks


Loc = tuple[str | int, ...]  # a path into a document: mapping keys and list indices, as pydantic's


def position_tree(text: str) -> list[object]:
    """Each document as dicts/lists carrying positions, from the C parser's events: linear in
    the file's size (ruamel's round-trip loader needed 18 s for 5,000 keys)."""
    from ruamel.yaml import events as ev

    from reconciler.fastyaml import _events, _plain

    docs: list[object] = []
    # (collection, [pending key and its mark])
    stack: list[tuple[_Map | _Seq, list[tuple[object, tuple[int, int]]]]] = []
    anchors: dict[str, object] = {}

    def add(node: object, mark: tuple[int, int]) -> None:
        if not stack:
            docs.append(node)
            return
        container, pending = stack[-1]
        if isinstance(container, _Seq):
            container.append(node)
            container.lc.items.append(mark)
        elif not pending:
            pending.append((node, mark))
        else:
            key, key_mark = pending.pop()
            if key == "<<" and isinstance(node, _Map):  # merge: positions of the source
                for k, v in node.items():
                    if k not in container:
                        container[k] = v
                        container.lc.keys[k], container.lc.values[k] = node.lc.keys[k], node.lc.values[k]
                return
            container[key] = node
            container.lc.keys[key], container.lc.values[key] = key_mark, mark

    for event in _events(text):
        kind = type(event)
        mark = (event.start_mark.line, event.start_mark.column) if event.start_mark else (0, 0)
        if kind is ev.ScalarEvent:
            plain = not event.style and event.implicit[0] and event.tag is None
            value = _plain(event.value) if plain else event.value  # keys as fastyaml reads them
            if event.anchor:
                anchors[event.anchor] = value
            add(value, mark)
        elif kind is ev.MappingStartEvent or kind is ev.SequenceStartEvent:
            node: _Map | _Seq = _Map() if kind is ev.MappingStartEvent else _Seq()
            node.lc = _Marks(*mark)
            if event.anchor:
                anchors[event.anchor] = node
            add(node, mark)
            stack.append((node, []))
        elif kind is ev.MappingEndEvent or kind is ev.SequenceEndEvent:
            stack.pop()
        elif kind is ev.AliasEvent:
            add(anchors.get(event.anchor), mark)
        elif kind is ev.DocumentStartEvent:
            anchors = {}
    return docs


class Locator:
    def __init__(self, path: str, text: str) -> None:
        self.path, self.text = path, text
        self._docs: list[object] | None = None

    def _documents(self) -> list[object]:
        if self._docs is None:
            try:
                self._docs = position_tree(self.text)
            except Exception:  # positions are best effort; the fast parser already accepted it
                self._docs = []
        return self._docs

    def position(self, index: int, loc: Loc, key: bool = False) -> tuple[int, int]:
        """Line/column of ``loc`` in document ``index``: its value, or its key with ``key``.

        A location that does not exist (a missing field) resolves to its nearest parent.
        """
        docs = self._documents()
        if index >= len(docs):
            return 1, 1
        node = docs[index]
        best = parent_key = _start(node)
        for n, step in enumerate(loc):
            last = n == len(loc) - 1
            lc = getattr(node, "lc", None)
            if isinstance(node, dict):
                if isinstance(step, int):  # env mapping form validated as a list
                    keys = list(node.keys())
                    if step >= len(keys):
                        break
                    step = keys[step]
                    nxt = loc[n + 1] if n + 1 < len(loc) else None
                    if nxt in ("key", "value") and lc is not None:
                        pos = lc.key(step) if nxt == "key" else lc.value(step)
                        return pos[0] + 1, pos[1] + 1
                if step not in node:
                    return parent_key if key else best  # missing: point at the parent's key
                if lc is not None:
                    pos = lc.key(step) if (key and last) else lc.value(step)
                    best = (pos[0] + 1, pos[1] + 1)
                    kpos = lc.key(step)
                    parent_key = (kpos[0] + 1, kpos[1] + 1)
                node = node[step]
            elif isinstance(node, list) and isinstance(step, int) and step < len(node):
                if lc is not None:
                    pos = lc.item(step)
                    best = (pos[0] + 1, pos[1] + 1)
                node = node[step]
            else:
                break
        return best


def _start(node: object) -> tuple[int, int]:
    lc = getattr(node, "lc", None)
    if lc is not None and lc.line is not None:
        return lc.line + 1, (lc.col or 0) + 1
    return 1, 1


_HINTS = {
    "containerVolumeInGb": "the volume must be at least 20 GB",
    "workers": "workers must be between 1 and 100",
    "serviceMode": "use ALB (load-balanced HTTP), QUEUE (async jobs) or CUSTOM",
    "name": "names start with a letter and use letters, digits, @ . _ - (at most 50)",
    "port": "ports are 1-65535",
    "image": "e.g. vllm/vllm-openai:v0.6.3",
}


_RULE_HINTS = {
    "string_type": "quote the value to make it a string",
    "int_type": "use a whole number without quotes",
    "int_parsing": "use a whole number without quotes",
    "bool_type": "use true or false",
    "string_too_short": "give a non-empty value",
    "tuple_type": "use a YAML list (- item)",
    "dict_type": "use a YAML mapping (key: value)",
    "model_type": "use a YAML mapping (key: value)",
}
_MESSAGE_HINTS = (
    ("same gpuCount", "every resources entry must use one gpuCount (the workers' card count)"),
    ("listed more than once", "list each region/gpuType pair once"),
    ("requires expose", "add expose: {port: 8000, protocol: HTTP}, or use QUEUE/CUSTOM"),
    ("numeric credential id", "credential ids are the numbers shown in the Yotta console"),
    ("which is reserved: NAME@alt", "choose a name that does not end in @alt (e.g. web-alt)"),
)


def _allowed_keys(loc: Loc) -> list[str]:
    section = ".".join(str(p) for p in loc if not isinstance(p, int))
    model = SECTION_MODELS.get(section)
    return list(model.model_fields) if model else []


def describe_validation_error(
    error: ErrorDetails, document: object, name_hint: str = ""
) -> tuple[Loc, str, str, bool]:
    """(location, message, hint, point-at-key) for one pydantic error dict; ``name_hint``: the
    API version's naming rule for metadata.name (manifest/versions.py; default v1's)."""
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    field = next((str(p) for p in reversed(loc) if not isinstance(p, int)), "")
    # model validators on a section report at the section; drop pydantic's union/branch tags
    loc = tuple(p for p in loc if p not in ("function-after[_documented_rules(), Spec]",))
    if kind == "extra_forbidden":
        parent, bad = loc[:-1], str(loc[-1])
        close = difflib.get_close_matches(bad, _allowed_keys(parent), n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}?" if close else (
            "allowed here: " + ", ".join(_allowed_keys(parent)))
        return loc, f"unknown field {bad!r}", hint, True
    if kind == "missing":
        return loc, "required field is missing", f"add `{field}:` here", True
    if kind == "literal_error" and loc == ("apiVersion",):
        return loc, f"unsupported apiVersion {error.get('input')!r}", f"use apiVersion: {API_VERSION}", False
    if kind == "literal_error" and loc == ("kind",):
        return loc, f"unsupported kind {error.get('input')!r}", f"use kind: {KIND}", False
    if kind == "model_type" and not loc:
        return loc, "document is not a mapping", "a manifest is a mapping of keys", False
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind == "string_pattern_mismatch" and field == "name":  # the regex helps no one
        message = f"{error.get('input')!r} is not a valid deployment name"
    if loc == ("spec",) and ": " in message:  # a cross-field rule names its field first
        name, _, message = message.partition(": ")
        loc, field = (*loc, name), name
    hint = name_hint if name_hint and loc == ("metadata", "name") else _HINTS.get(field, "")
    if kind == "string_type" and "environmentVars" in loc and field == "key":
        read = error.get("input")
        what = ("a boolean" if isinstance(read, bool) else "null" if read is None
                else "a number")  # YAML reads 3.10 as 3.1: show what it read
        shown = json.dumps(read) if isinstance(read, (bool, int, float, type(None))) else "?"
        return (loc, f"a variable name must be text, but YAML read {what} here ({shown})",
                'quote the name, e.g. "3.10": x (unquoted, YAML reads names like 3.10, 7 or '
                "true as numbers or booleans)", False)
    if kind in ("string_type", "env_bool", "env_null") and "environmentVars" in loc:
        hint = 'environment values are strings: quote it, e.g. DEBUG: "true" or EMPTY: ""'
    if kind == "env_not_a_number":
        hint = "set the variable to a whole number such as 2"
    if "defined twice" in message:
        hint = "each environment variable may appear once"
    if "; did you mean" in message or "; known: " in message:
        message, _, suggestion = message.partition("; ")
        hint = suggestion
    if message.startswith(("unknown GPU type", "unknown region")):  # the catalog is not final
        hint = (f"{hint} " if hint else "") + "If it is new, add it to a catalog file " + (
            "(YOTTACTL_CATALOG) or pass --allow-unknown-gpu" if "GPU" in message
            else "(YOTTACTL_CATALOG)")
    rule = next((h for words, h in _MESSAGE_HINTS if words in message), "")
    hint = rule or hint or _RULE_HINTS.get(kind, "")
    return loc, message, hint or "`yottactl schema` lists every field and its allowed values", False
