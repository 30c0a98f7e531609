"""The plain manifest shape, read without a YAML parser: a fast path for fastyaml.load_all.

Almost every manifest is block mappings and sequences of ``key: value`` lines, one-line flow
collections (``{region: us-east-1, gpuCount: 1}``), plain or simply quoted scalars and
comments. For that shape, one regular expression splits the whole file into lines in C and a
short loop builds the data, about 2x faster than building it from libyaml's events (most of whose
cost is one Python event object per token). Anything else gives ``None`` and the caller parses
the file with the full reader: anchors, aliases, tags, merge keys, block and multi-line
scalars, escapes, complex or quoted keys, nested flow collections, duplicate keys, empty
documents, tabs, control characters, directives. The fast path therefore never decides what an
unusual file means, and never reports an error: the full reader does both.

Scalars resolve exactly as in fastyaml (its ``_plain``, including the environment values kept
as the text written); ``tests/test_simpleyaml_differential.py`` holds the two readers equal,
value and type, on generated manifests and on every YAML file of the repository.
"""

from __future__ import annotations

import re
import string
from typing import Any

from reconciler.fastyaml import (
    _DOC,
    _SPECIAL_START,
    MERGE,
    _plain,
    env_value,
    is_env_value_of,
    role_below,
)

__all__ = ["load_simple"]

# One match per line: indentation, "- " (a sequence entry's dash and the spaces after it), a
# plain key and what follows its colon, or the rest of the line. Keys are identifier-like:
# anything else (quoted keys, spaces, unicode) does not match as a key and sends the file to
# the full reader.
_LINE = re.compile(r"^( *)(-(?: +|$))?(?:([A-Za-z_$][\w.$/-]*):(?: +|$))?(.*)$", re.MULTILINE)
# Characters the fast path never handles: tabs, CR, control and non-printable characters,
# YAML's other line breaks, a byte-order mark, lone surrogates.
_REFUSED = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\ufeff\u2028\u2029\ud800-\udfff\ufffe\uffff]")
# First characters that make a scalar something other than plain text (indicators); "-" is
# allowed when a non-space follows it (-1, -foo), which _plain resolves.
_INDICATORS = frozenset("?:,[]{}#&*!|>'\"%@`")
_MAX_DEPTH = 16  # deeper files go to the full reader, which enforces the real limit
_MAX_KEY = 1000  # libyaml's simple keys span at most 1,024 characters: longer lines are refused
# First characters of a plain scalar that is text whatever follows: no indicator, and not one
# of fastyaml._plain's special starts (a number, bool or null)
_TEXT_START = frozenset(string.ascii_letters + "_/$()^;\\") - _SPECIAL_START


class _Refused(Exception):
    """The text is outside the shape this reader handles: use the full reader."""


def load_simple(text: str) -> list[Any] | None:
    """Every document of ``text``, as fastyaml.load_all returns them, or None when ``text``
    is outside the plain manifest shape (then fastyaml must read it)."""
    if _REFUSED.search(text) is not None or text.count("\n") > len(text) // 8 + 64:
        return None  # odd characters, or mostly blank or comment lines (cheaper for libyaml)
    try:
        return _Reader(text).documents()
    except _Refused:
        return None


def _plain_value(raw: str, env: bool) -> Any:
    """A plain scalar as fastyaml resolves it (``env``: an environment variable's value)."""
    if env:
        return env_value(raw)
    try:
        value = _plain(raw)
    except Exception:  # no value (`=`), or none ruamel can make (2001-02-30, a 5,000-digit int)
        raise _Refused from None
    if value is MERGE:
        raise _Refused
    return value


def _scalar(text: str, env: bool) -> Any:
    """A whole scalar in block context, a trailing comment allowed after it."""
    first = text[0]
    if first == "'" or first == '"':
        end = text.find(first, 1)
        if first == "'":
            while end != -1 and text.startswith("''", end):
                end = text.find("'", end + 2)
        if end == -1 or not _ends_line(text[end + 1:]):
            raise _Refused  # not closed on this line, or something after it
        inner = text[1:end]
        if first == '"':
            if "\\" in inner:
                raise _Refused
            return inner
        return inner.replace("''", "'")
    if first in _INDICATORS or (first == "-" and (len(text) == 1 or text[1] == " ")):
        raise _Refused
    cut = text.find(" #")
    raw = (text if cut == -1 else text[:cut]).rstrip(" ")
    if ": " in raw or raw.endswith(":"):
        raise _Refused
    return _plain_value(raw, env)


def _ends_line(rest: str) -> bool:
    """Is ``rest`` (after a quoted scalar or a flow collection) blank or a comment?"""
    return not rest.strip(" ") or (rest[0] == " " and rest.lstrip(" ")[0] == "#")


# One scalar inside a one-line flow collection: 'single' (without '' escapes), "double"
# (without escapes) or plain (no indicator first, none of ,:{}[]#'" inside).
# (spaces only between other characters, so a long run of spaces is matched in linear time)
_FLOW_PLAIN = r"""(?:[^\s,:{}\[\]#'"&*!|>%@`?-]|-[^\s,:{}\[\]#'"?])(?: *[^ ,:{}\[\]#'"?])*"""
_FLOW_SCALAR = rf"""(?:'([^']*)'|"([^"\\]*)"|({_FLOW_PLAIN}))"""
_FLOW_MAP_ENTRY = re.compile(rf" *{_FLOW_SCALAR} *: +{_FLOW_SCALAR} *([,}}])")
_FLOW_SEQ_ENTRY = re.compile(rf" *{_FLOW_SCALAR} *([,\]])")
_FLOW_EMPTY = re.compile(r"\{ *\}|\[ *\]")
# The usual flow mapping, `{region: us-east-1, gpuCount: 1}`: identifier keys and values of
# ASCII letters, digits and _ . / - (no space, quote or indicator), matched whole, then split
# into its pairs by one findall. Anything else takes the general entry-by-entry reading above.
_WORD = r"(?:[\w./]|-[\w./])[\w./-]*"
_SIMPLE_FLOW_MAP = re.compile(rf"\{{ *[A-Za-z_]\w*: +{_WORD}(?: *, *[A-Za-z_]\w*: +{_WORD})* *\}}",
                              re.ASCII)
_SIMPLE_FLOW_PAIR = re.compile(rf"([A-Za-z_]\w*): +({_WORD})", re.ASCII)


def _flow_value(match: re.Match[str], first: int, env: bool) -> Any:
    """The scalar whose three alternatives are groups ``first`` .. ``first + 2``."""
    single, double, plain = match.group(first, first + 1, first + 2)
    if plain is None:
        return single if single is not None else double
    return _plain_value(plain, env)


def _flow(text: str, role: int) -> Any:
    """A one-line flow mapping or sequence of scalars (``role``: the collection's own)."""
    is_map = text[0] == "{"
    if len(text) > _MAX_KEY:  # (also what keeps _SIMPLE_FLOW_PAIR's findall cheap: on a long
        raise _Refused  # run of key characters it is quadratic) a key might pass libyaml's limit
    empty = _FLOW_EMPTY.match(text)
    if empty is not None:
        if not _ends_line(text[empty.end():]):
            raise _Refused
        return {} if is_map else []
    mapping: dict[Any, Any] = {}
    simple = _SIMPLE_FLOW_MAP.match(text) if is_map else None
    if simple is not None and _ends_line(text[simple.end():]):
        for key_text, value_text in _SIMPLE_FLOW_PAIR.findall(text, 0, simple.end()):
            key = _plain_value(key_text, False)
            if key in mapping:
                raise _Refused
            mapping[key] = _plain_value(value_text, is_env_value_of(role, key))
        return mapping
    items: list[Any] = []
    pattern, at, separator = (_FLOW_MAP_ENTRY if is_map else _FLOW_SEQ_ENTRY), 1, ","
    while separator == ",":
        match = pattern.match(text, at)
        if match is None:
            raise _Refused  # not scalars, a trailing comma, or not closed on this line
        at, separator = match.end(), match[match.lastindex or 0]
        if not is_map:
            items.append(_flow_value(match, 1, env=False))
            continue
        key = _flow_value(match, 1, env=False)
        if key in mapping:
            raise _Refused
        env = is_env_value_of(role, key)
        mapping[key] = _flow_value(match, 4, env=env)
    if not _ends_line(text[at:]):
        raise _Refused
    return mapping if is_map else items


class _Reader:
    def __init__(self, text: str) -> None:
        # (indent, dash, key, rest) per line, without blank and comment-only lines; a line
        # `---` (document start) is kept as a marker
        self.lines: list[tuple[int, str, str, str]] = []
        self.starts: list[int] = []  # indexes in self.lines where a document starts
        for indent, dash, key, rest in _LINE.findall(text):
            if not dash and not key:
                if not rest or rest.startswith("#"):  # (not isspace(): "\xa0" is text)
                    continue
                if indent == "" and rest.startswith("---"):
                    if rest[3:].strip(" ") and not rest[3:].startswith(" #"):
                        raise _Refused  # content after ---
                    self.starts.append(len(self.lines))
                    continue
            self.lines.append((len(indent), dash, key, rest))
        self.at = 0

    def documents(self) -> list[Any]:
        lines, starts = self.lines, self.starts
        # each document runs from its start (0, or a `---`) to the next start; a `---` on the
        # first content line only opens the first document
        begins = [0, *(b for b in starts if b > 0)]
        ends = [*begins[1:], len(lines)]
        if len(set(starts)) != len(starts) or any(b >= e for b, e in zip(begins, ends, strict=True)):
            raise _Refused  # an empty document (or none): the full reader says what it is
        out = []
        for end in ends:
            indent, dash, key, _ = lines[self.at]
            if indent or dash or not key:
                raise _Refused  # a document that is not a block mapping at column 0
            out.append(self.mapping(0, _DOC, 1, end))
            if self.at != end:
                raise _Refused
        return out

    def node(self, indent: int, role_of: tuple[int, object], depth: int, end: int) -> Any:
        """The block collection starting at the current line, indented ``indent``."""
        if depth > _MAX_DEPTH:
            raise _Refused
        _, dash, key, _ = self.lines[self.at]
        parent_role, parent_key = role_of
        if dash:
            return self.sequence(indent, role_below(parent_role, parent_key, False), depth, end)
        if key:
            return self.mapping(indent, role_below(parent_role, parent_key, True), depth, end)
        raise _Refused  # a multi-line scalar or something else

    def value_after_key(self, indent: int, role: int, key: object, rest: str, depth: int,
                        end: int) -> Any:
        """The value of ``key`` (a mapping at ``indent``) whose line ends with ``rest``."""
        if rest and not rest.startswith("#"):
            env = is_env_value_of(role, key)
            if rest[0] == "{" or rest[0] == "[":
                value = _flow(rest, role_below(role, key, rest[0] == "{"))
            else:
                value = _scalar(rest, env)
            if self.at < end and self.lines[self.at][0] > indent:
                raise _Refused  # a continuation line
            return value
        if self.at < end:
            next_indent, next_dash = self.lines[self.at][:2]
            if next_indent > indent or (next_indent == indent and next_dash):
                return self.node(next_indent, (role, key), depth + 1, end)
        return None

    def mapping(self, indent: int, role: int, depth: int, end: int) -> dict[Any, Any]:
        lines = self.lines
        out: dict[Any, Any] = {}
        while self.at < end:
            line_indent, dash, key_text, rest = lines[self.at]
            if line_indent != indent or dash or not key_text:
                if line_indent >= indent and not (dash and line_indent == indent):
                    raise _Refused
                break
            if len(key_text) > _MAX_KEY:
                raise _Refused
            key = key_text if key_text[0] in _TEXT_START else _plain_value(key_text, False)
            if key in out:
                raise _Refused  # duplicate keys: the full reader reports them
            self.at += 1
            # the common cases, inlined: a one-line value (no continuation line) that is not
            # an environment value, and is plain text, or a whole number (as fastyaml._plain)
            if rest and not is_env_value_of(role, key) and (
                    self.at == end or lines[self.at][0] <= indent):
                if (rest[0] in _TEXT_START and " #" not in rest and ": " not in rest
                        and rest[-1] != ":" and rest[-1] != " "):
                    out[key] = rest
                    continue
                if (rest.isdigit() and rest.isascii() and len(rest) < 16
                        and (rest[0] != "0" or len(rest) == 1)):
                    out[key] = int(rest)
                    continue
            out[key] = self.value_after_key(indent, role, key, rest, depth, end)
        return out

    def sequence(self, indent: int, role: int, depth: int, end: int) -> list[Any]:
        lines, out = self.lines, []
        while self.at < end:
            line_indent, dash, key_text, rest = lines[self.at]
            if line_indent != indent or not dash:
                if line_indent > indent:
                    raise _Refused
                break
            column = indent + len(dash)
            if key_text:  # "- key: value": a mapping whose keys sit at `column`
                lines[self.at] = (column, "", key_text, rest)
                out.append(self.mapping(column, role_below(role, None, True), depth + 1, end))
            elif not rest or rest.startswith("#") or rest.startswith("- "):
                raise _Refused  # an empty entry, or a nested block under the dash
            else:
                self.at += 1
                if rest[0] == "{" or rest[0] == "[":
                    out.append(_flow(rest, role_below(role, None, rest[0] == "{")))
                else:
                    out.append(_scalar(rest, False))
                if self.at < end and lines[self.at][0] > indent:
                    raise _Refused
        return out
