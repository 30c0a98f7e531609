"""Positions and wording of manifest errors.

:class:`Locator` re-reads a file with ruamel's round-trip loader (only when an error needs a
position) and maps a validation location such as ``('spec', 'resources', 0, 'gpuType')`` to a
1-based line and column. :func:`describe_validation_error` turns a pydantic error into our
message + hint, with "did you mean" for misspelled keys.
"""

from __future__ import annotations

import difflib
from typing import Any

from reconciler.manifest.schema import API_VERSION, KIND, SECTION_MODELS


class Locator:
    def __init__(self, path: str, text: str) -> None:
        self.path, self.text = path, text
        self._docs: list[Any] | None = None

    def _documents(self) -> list[Any]:
        if self._docs is None:
            from ruamel.yaml import YAML

            try:
                self._docs = list(YAML(typ="rt").load_all(self.text))
            except Exception:  # positions are best effort; the fast parser already accepted it
                self._docs = []
        return self._docs

    def position(self, index: int, loc: tuple[Any, ...], key: bool = False) -> tuple[int, int]:
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


def _start(node: Any) -> tuple[int, int]:
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
)


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    section = ".".join(str(p) for p in loc if not isinstance(p, int))
    model = SECTION_MODELS.get(section)
    return list(model.model_fields) if model else []


def describe_validation_error(
    error: Any, document: Any
) -> tuple[tuple[Any, ...], str, str, bool]:
    """(location, message, hint, point-at-key) for one pydantic error dict."""
    loc: tuple[Any, ...] = tuple(error["loc"])
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
    if loc == ("spec",) and ": " in message:  # a cross-field rule names its field first
        name, _, message = message.partition(": ")
        loc, field = (*loc, name), name
    hint = _HINTS.get(field, "")
    if kind == "string_type" and "environmentVars" in loc:
        hint = 'environment values are strings: quote it, e.g. DEBUG: "true"'
    if "defined twice" in message:
        hint = "each environment variable may appear once"
    if "; did you mean" in message:
        message, _, suggestion = message.partition("; ")
        hint = suggestion
    rule = next((h for words, h in _MESSAGE_HINTS if words in message), "")
    hint = rule or hint or _RULE_HINTS.get(kind, "")
    return loc, message, hint or "`yottactl schema` lists every field and its allowed values", False
