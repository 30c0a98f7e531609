"""Fast YAML reading: libyaml's C parser (ruamel.yaml.clib) events, built into plain Python data.

ruamel's safe constructor spends ~90% of load time in Python-level tag resolution; building
dicts/lists straight from the C parser's events is ~8x faster, iterative (no recursion, so a
100,000-deep document cannot crash the process) and enforces our depth limit as it goes.
Plain scalars resolve per the YAML 1.2 core schema, as ruamel's safe loader does, except the
values under a manifest's ``spec.environmentVars`` (mapping or ``[{key, value}]`` form): those
are strings in the API, so a plain one is kept as the text the user wrote (:class:`PlainText`:
``3.10`` stays "3.10", not 3.1) and the schema decides which plain words need quotes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from typing import Any

from reconciler.errors import ManifestIssue
from reconciler.scalars import PlainText


@functools.cache
def _ruamel() -> tuple[Any, Any]:
    """ruamel's event classes and libyaml parser, imported on first use: a plain manifest never
    needs them (reconciler/simpleyaml.py reads it), and importing ruamel.yaml cost ~10 ms of
    every command's start-up."""
    from ruamel.yaml import events

    try:  # the C extension; the pure-Python parser is a slower but equivalent fallback
        from _ruamel_yaml import CParser
    except ImportError:  # pragma: no cover - ruamel.yaml.clib is a declared dependency
        CParser = None
    return events, CParser

_DECIMAL = re.compile(r"(?:0|[1-9][0-9]*)")  # the common case, resolved without ruamel
_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_STD = "tag:yaml.org,2002:"
_SCALAR_TAGS = frozenset({"str", "int", "float", "bool", "null"})


# Values that aliases may add to one file. An alias shares its anchor's value
# (no copy), but whoever walks the data (interpolation, validation, str() of a variable) visits
# every repetition: nine aliases of nine aliases of ... expand to billions. A manifest has ~50
# values; a generous fleet file with `<<: *defaults` in every document stays far below this.
MAX_VALUES = 100_000


class YamlStructureError(Exception):
    """A structural problem the parser accepts but a manifest may not have (position 1-based)."""

    def __init__(self, message: str, line: int, column: int, hint: str = "") -> None:
        super().__init__(message)
        self.line, self.column, self.hint = line, column, hint


class _NoValue(Exception):
    """ruamel's safe loader has no value for this scalar (a plain `=` or `<<`)."""


# First characters of plain scalars that may resolve to something other than a string
# (ruamel's YAML 1.2 implicit resolvers); every other plain scalar is a string.
_SPECIAL_START = frozenset("0123456789+-.~nNtTfF<=")
_WORD_START = frozenset("nNtTfF")  # of those, the letters: in YAML 1.2, only null, true, false


class _MergeKey(str):
    """The plain scalar ``<<``: a merge key. A quoted '<<' is an ordinary key (as in ruamel),
    so merges are recognised by identity with :data:`MERGE`, never by text."""


MERGE = _MergeKey("<<")


def _plain(value: str) -> Any:
    if value and value[0] not in _SPECIAL_START:
        return value  # fast path: most scalars (names, images, regions) cannot be non-strings
    if value in _NULL:
        return None
    if value == "<<":
        return MERGE  # the merge key; mappings handle it (as a value ruamel refuses it)
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if value[0] in _WORD_START:
        return value  # `name`, `fast`: only the null and boolean words above are not text
    if _DECIMAL.fullmatch(value):
        return int(value)
    return _reference(value, None)


@functools.cache
def _reference_loader() -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True)


@functools.lru_cache(maxsize=4096)
def _reference(value: str, tag: str | None) -> Any:
    """Resolve and construct one scalar exactly as ruamel's safe loader does (octal `0o17`,
    `01234`, `1_000`, `0x1F`, `.5`, timestamps, ...): the rare forms, so agreement costs no speed."""
    from ruamel.yaml.nodes import ScalarNode

    loader = _reference_loader()
    if tag is None:
        tag = str(loader.resolver.resolve(ScalarNode, value, (True, False)))
    construct = loader.constructor.yaml_constructors.get(tag)
    if construct is None:
        raise _NoValue(tag)
    return construct(loader.constructor, ScalarNode(tag, value))


def _shown(value: str) -> str:
    """A scalar for a message: quoted, at most 40 characters."""
    return repr(value if len(value) <= 40 else value[:37] + "...")


def _scalar(event: Any) -> Any:
    tag = event.tag
    if tag in (None, "!"):
        if event.style or not event.implicit[0] or tag == "!":
            return event.value
        try:
            return _plain(event.value)
        except _NoValue:
            mark = event.start_mark
            raise YamlStructureError(f"plain {event.value!r} has no value in YAML", mark.line + 1,
                                     mark.column + 1, f'quote it: "{event.value}"') from None
        except ValueError as exc:  # a date or number ruamel cannot make (2001-02-30, 5,000 digits)
            mark = event.start_mark
            raise YamlStructureError(f"plain {_shown(event.value)} reads as a date or number YAML "
                                     f"cannot make ({str(exc)[:80]})", mark.line + 1,
                                     mark.column + 1, "quote it to keep it as text") from None
    name = str(tag).removeprefix(_STD).removeprefix("!!")
    if name not in _SCALAR_TAGS:
        mark = event.start_mark
        raise YamlStructureError(f"unsupported tag {tag}", mark.line + 1, mark.column + 1,
                                 "manifests use plain YAML values without tags")
    try:
        return _reference(event.value, _STD + name)
    except Exception:  # ruamel's ConstructorError/ValueError: the tag does not fit the text
        mark = event.start_mark
        raise YamlStructureError(f"{event.value!r} is not a valid !!{name}", mark.line + 1,
                                 mark.column + 1, "remove the tag or fix the value") from None


def _event_source(text: str) -> Callable[[], Any]:
    """The next parser event of ``text`` on each call, None after the last (the C parser's
    own get_event: no generator frame to resume per event)."""
    parser = _ruamel()[1]
    if parser is not None:
        return parser(text).get_event  # type: ignore[no-any-return]
    from ruamel.yaml import YAML  # pragma: no cover

    events: Iterator[Any] = iter(YAML(typ="safe", pure=True).parse(text))  # pragma: no cover
    return lambda: next(events, None)  # pragma: no cover


def _events(text: str) -> Iterator[Any]:
    next_event = _event_source(text)
    while (event := next_event()) is not None:
        yield event


# Where a collection sits in a manifest document; only environment values are read differently.
_DOC, _SPEC, _ENV_MAP, _ENV_LIST, _ENV_ITEM = 1, 2, 3, 4, 5


def _child_role(stack: list[tuple[Any, list[Any], set[Any], int]], is_mapping: bool) -> int:
    if not stack:
        return _DOC if is_mapping else 0
    _, pending, _, role = stack[-1]
    return role_below(role, pending[0][0] if pending else None, is_mapping)


def role_below(role: int, key: object, is_mapping: bool) -> int:
    """The role of a collection that is ``key``'s value (None: a sequence entry) in a
    collection with ``role`` (simpleyaml follows the same roles)."""
    if role == _DOC and key == "spec" and is_mapping:
        return _SPEC
    if role == _SPEC and key == "environmentVars":
        return _ENV_MAP if is_mapping else _ENV_LIST
    if role == _ENV_LIST and is_mapping:
        return _ENV_ITEM
    return 0


def _is_env_value(role: int, pending: list[Any]) -> bool:
    """Is the next scalar of a collection with ``role`` an environment variable's value?"""
    return bool(pending) and is_env_value_of(role, pending[0][0])  # a value, not a key


def is_env_value_of(role: int, key: object) -> bool:
    """Is the value of ``key`` in a mapping with ``role`` an environment variable's value?
    (Every value of the mapping form; ``value`` in an entry of the list form.)"""
    return role == _ENV_MAP or (role == _ENV_ITEM and key == "value")


def env_value(raw: str) -> PlainText | None:
    """A plain environment variable's value: the text as written; null stays null (an
    overlay's delete)."""
    return None if raw in _NULL else PlainText(raw)


_MERGE_SEEN = ("<<",)  # marks a mapping that had its merge (no YAML key is a tuple)


def _anchor(anchors: dict[str, Any], event: Any, value: Any) -> None:
    if event.anchor in anchors:  # ruamel's safe loader refuses this too
        mark = event.start_mark
        raise YamlStructureError(f"anchor &{event.anchor} is defined twice", mark.line + 1,
                                 mark.column + 1, "give each anchor its own name")
    anchors[event.anchor] = value


def load_all(text: str, max_depth: int = 64, max_values: int = MAX_VALUES) -> list[Any]:
    """Every document in ``text`` as dicts/lists/scalars. Raises ruamel's MarkedYAMLError for
    syntax errors and :class:`YamlStructureError` for duplicate keys, depth, bad tags, an alias
    of a collection inside itself, and more than ``max_values`` values repeated by aliases."""
    documents: list[Any] = []
    # per open collection: (container, [pending key], keys that came from a << merge, role)
    stack: list[tuple[Any, list[Any], set[Any], int]] = []
    anchors: dict[str, Any] = {}
    # collections that are a << merge's value, with their start event: a merge copies keys,
    # so it happens when the collection is complete, not when it starts (still empty)
    merging: list[tuple[Any, Any]] = []
    repeated = 0  # values that aliases add, over the whole file (measured only at aliases)
    sizes: dict[int, int] = {}

    def add(value: Any, event: Any) -> None:
        if not stack:
            documents.append(value)
            return
        container, pending, merged, _ = stack[-1]
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
            if key is MERGE:  # merge key: as ruamel's SafeConstructor.flatten_mapping
                sources = value if isinstance(value, list) else [value]
                if _MERGE_SEEN in merged or not all(isinstance(s, dict) for s in sources):
                    raise YamlStructureError(
                        "<< used twice in a mapping" if _MERGE_SEEN in merged else
                        "<< merges a mapping or a list of mappings", mark.line + 1,
                        mark.column + 1, "merge one anchored mapping, e.g. <<: *defaults")
                merged.add(_MERGE_SEEN)
                for source in sources:
                    for k, v in source.items():
                        if k not in container:
                            container[k] = v
                            merged.add(k)
                return
            if key in container and key not in merged:
                raise YamlStructureError(f"duplicate key {key!r}", mark.line + 1, mark.column + 1,
                                         "each key may appear once per mapping: remove or rename one")
            container[key] = value
            merged.discard(key)

    ev = _ruamel()[0]
    scalar_event, mapping_start = ev.ScalarEvent, ev.MappingStartEvent
    next_event = _event_source(text)
    while (event := next_event()) is not None:
        kind = type(event)
        if kind is scalar_event:
            if event.ctag is None and not event.anchor and stack:  # ctag: .tag is a property
                # hot path: an untagged scalar inside a collection (most of a manifest)
                raw = event.value
                container, pending, _, role = stack[-1]
                if event.style or not event.implicit[0]:
                    value = raw
                elif role and _is_env_value(role, pending):
                    value = env_value(raw)
                else:
                    try:
                        value = _plain(raw)
                    except (_NoValue, ValueError):
                        value = _scalar(event)  # raises with the position
                    if value is MERGE and (pending or type(container) is not dict):
                        value = "<<"  # a value, not a key: plain text (ruamel refuses it)
                if type(container) is dict:  # add(value, event), inlined for the common cases
                    if not pending:  # a key
                        pending.append((value, event.start_mark))
                        continue
                    key = pending[0][0]
                    if key not in container and key is not MERGE:
                        container[pending.pop()[0]] = value
                        continue
                elif type(container) is list:
                    container.append(value)
                    continue
                add(value, event)
                continue
            if (stack and stack[-1][3] and event.tag is None and not event.style
                    and event.implicit[0] and _is_env_value(stack[-1][3], stack[-1][1])):
                value = env_value(event.value)
            else:
                value = _scalar(event)
            if event.anchor:
                _anchor(anchors, event, value)
            add(value, event)
        elif kind is mapping_start or kind is ev.SequenceStartEvent:
            if len(stack) >= max_depth:
                mark = event.start_mark
                raise YamlStructureError(f"nesting deeper than {max_depth} levels", mark.line + 1,
                                         mark.column + 1, "manifests nest only a few levels")
            new: Any = {} if kind is mapping_start else []
            if event.anchor:
                _anchor(anchors, event, new)
            role = _child_role(stack, kind is mapping_start)
            parent = stack[-1] if stack else None
            if parent is not None and type(parent[0]) is dict and parent[1] \
                    and parent[1][0][0] is MERGE:
                merging.append((new, event))  # merged when complete (`<<: [*a, *b]`, `<<: {..}`)
            else:
                add(new, event)
            stack.append((new, [], set(), role))
        elif isinstance(event, (ev.MappingEndEvent, ev.SequenceEndEvent)):
            done = stack.pop()[0]
            if merging and merging[-1][0] is done:
                add(*merging.pop())
        elif isinstance(event, ev.AliasEvent):
            if event.anchor not in anchors:
                mark = event.start_mark
                raise YamlStructureError(f"unknown alias *{event.anchor}", mark.line + 1,
                                         mark.column + 1, "define &name before using *name")
            value = anchors[event.anchor]
            if isinstance(value, (dict, list)):
                if any(open_[0] is value for open_ in stack):
                    mark = event.start_mark
                    raise YamlStructureError(
                        f"alias *{event.anchor} is inside the collection it names", mark.line + 1,
                        mark.column + 1, "a value cannot contain itself: write it out")
                repeated += expanded_size(value, sizes)
                if repeated > max_values:
                    mark = event.start_mark
                    raise YamlStructureError(
                        f"more than {max_values} values once YAML aliases are expanded "
                        f"(at alias *{event.anchor})", mark.line + 1, mark.column + 1,
                        "an alias (*name) repeats a whole block: write the values out, or "
                        "alias fewer, smaller blocks")
            add(value, event)
        elif isinstance(event, ev.DocumentStartEvent):
            anchors = {}
    return documents


def yaml_issue(path: str, source: str, exc: Exception) -> ManifestIssue:
    """A YAML syntax error as a located manifest issue (every YAML file yottactl reads)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    text = f"{context}, {problem}" if context and context not in problem else str(problem)
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    lines = source.splitlines()
    at = lines[line - 1][col - 1 : col] if 0 < line <= len(lines) else ""
    if at == "\t" or "\\t" in text:
        hint = "YAML forbids tabs for indentation: indent with spaces"
    elif "duplicate key" in text:
        hint = "each key may appear once per mapping: remove or rename the repeated one"
    else:
        hint = "check quoting and indentation near this position"
    return ManifestIssue(path, line, col, "", f"YAML syntax error: {text}", hint)


def expanded_size(node: Any, sizes: dict[int, int]) -> int:
    """How many values ``node`` holds with every shared (aliased) part counted each time it
    appears. Each collection is measured once (``sizes``, by id, while ``node`` is alive)."""
    if not isinstance(node, (dict, list)):
        return 1
    known = sizes.get(id(node))
    if known is None:
        children = node.values() if isinstance(node, dict) else node
        known = sizes[id(node)] = 1 + sum(expanded_size(child, sizes) for child in children)
    return known
