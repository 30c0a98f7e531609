"""The one sanitiser for text that came from the API (names, statuses, messages, log lines).

API text is data someone else controls: an ESC sequence in a deployment name or a log line could
clear the screen, set the window title or forge output. Two layers, both here:

* :func:`clean` (and :func:`clean_tree` for whole models) escapes every control character
  (C0 except tab, C1, DEL; ESC becomes the four characters ``\\x1b``) in API values before the
  renderers lay them out, so a newline in a name cannot forge a line either.
* :class:`SafeStream` wraps stdout and stderr for every command (installed by the CLI group), so
  a command that forgets the first layer still cannot emit a raw control byte: the only escape
  sequences it lets through are our own colour and line-redraw codes, and only to a terminal.

JSON output needs neither: ``json.dumps`` escapes control characters and keeps exact values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, TextIO, TypeVar, cast

if TYPE_CHECKING:  # imported when output fails: --help stays light (tests/test_startup.py)
    from reconciler.errors import OutputError

# Invisible characters that change how text around them reads: bidi controls (U+202E, the
# right-to-left override, shows "evil\u202egnp.exe" as "evilexe.png"; U+2066-2069 isolates;
# U+200E/200F/061C marks), zero-width characters and joiners, line/paragraph separators
# (U+2028/2029 end lines in some viewers), the soft hyphen and the byte-order mark.
_INVISIBLE = "\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb"
# C0 except tab, DEL, C1 (the characters a terminal may act on), and the invisible ones
_CONTROL = re.compile(f"[\\x00-\\x08\\x0a-\\x1f\\x7f-\\x9f{_INVISIBLE}]")
# the same, but newlines are ours to write (stream layer: API text already lost its newlines)
_STREAM_CONTROL = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{_INVISIBLE}]")
# our own codes: SGR colours, cursor to previous lines, erase line (apply's live progress)
_OWN_CSI = re.compile(r"\x1b\[[0-9;]{0,12}[mFK]")
_NAMED = {"\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")


def clean(text: str) -> str:
    """``text`` with each control or invisible character shown escaped (``\\x1b``, ``\\n``,
    ``\\x9b``, ``\\u202e``).

    Returns the same object when there is nothing to escape (callers may test identity)."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(_escape, text)


T = TypeVar("T")


def clean_tree(value: T, keep: frozenset[str] = frozenset()) -> T:
    """A copy of ``value`` (str, list, tuple, dict, pydantic model or dataclass) with every
    string cleaned.

    Fields or keys named in ``keep`` are left as they are (e.g. values a renderer formats and
    cleans itself). Unchanged parts are returned as they are, so a clean plan costs no copies."""
    return cast(T, _clean_tree(value, keep))


# values with no string inside: returned as they are, before any other test (most of a plan)
_ATOMIC = frozenset({int, float, bool, type(None), bytes})
_COLLECTIONS = frozenset({str, tuple, list, dict})  # empty, each is returned as it is


def _clean_tree(value: object, keep: frozenset[str]) -> object:
    kind = type(value)
    if kind is str:
        return clean(cast(str, value))
    if kind in _ATOMIC:
        return value
    if isinstance(value, str):  # str subclasses: enums' values, PlainText
        return clean(value)
    names = _field_names(kind, keep)
    if names is not None:  # a pydantic model or a dataclass (essences)
        updates: dict[str, object] = {}
        fields = getattr(value, "__dict__", None)  # a model's values: faster than getattr
        for name in names:
            old = getattr(value, name) if fields is None else fields[name]
            kind = type(old)
            if kind in _ATOMIC or (kind in _COLLECTIONS and not old):  # most fields
                continue
            new = clean(old) if kind is str else _clean_tree(old, keep)
            if new is not old:
                updates[name] = new
        if not updates:
            return value
        import dataclasses

        if dataclasses.is_dataclass(value):
            return dataclasses.replace(value, **updates)  # type: ignore[type-var]
        return value.model_copy(update=updates)  # type: ignore[attr-defined]
    if isinstance(value, dict):
        out: dict[object, object] = {}
        changed = False
        for k, v in value.items():
            new_key = clean(k) if isinstance(k, str) else k
            new_value = v if k in keep else _clean_tree(v, keep)
            changed = changed or new_key is not k or new_value is not v
            out[new_key] = new_value
        return out if changed else value
    if isinstance(value, (list, tuple)):
        items = [_clean_tree(v, keep) for v in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return type(value)(items) if isinstance(value, tuple) else items
    return value


_FIELDS: dict[tuple[type, frozenset[str]], tuple[str, ...] | None] = {}


def _field_names(kind: type, keep: frozenset[str]) -> tuple[str, ...] | None:
    """The fields of a pydantic model or dataclass type, less ``keep``; None for other types.
    Worked out once per type: a plan of 10,000 changes has a handful of types."""
    key = (kind, keep)
    if key not in _FIELDS:
        import dataclasses

        from pydantic import BaseModel  # already imported by whoever built the model

        names: tuple[str, ...] | None = None
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            names = tuple(name for name in kind.model_fields if name not in keep)
        elif dataclasses.is_dataclass(kind):
            names = tuple(f.name for f in dataclasses.fields(kind) if f.name not in keep)
        _FIELDS[key] = names
    return _FIELDS[key]


def clean_lines(text: str) -> str:
    """Multi-line text we composed (e.g. an error's detail): each line cleaned, newlines kept."""
    return "\n".join(clean(line) for line in text.split("\n"))


class SafeStream:
    """A text stream that escapes control characters before they reach ``raw``.

    ``\\n`` and ``\\t`` pass; on a terminal so do our own colour / redraw sequences; every
    other control character (ESC, BEL, ``\\r``, C1, DEL...) is written escaped."""

    def __init__(self, raw: TextIO, name: str = "output") -> None:
        self._raw = raw
        self._name = name
        self._drop_when_closed = False
        self.reader_gone = False  # a write or flush met a closed pipe while dropping was on
        # a write or flush failed otherwise (ENOSPC, EIO) while dropping was on: the command
        # finishes its steps, then ends with an error (exit 1), not as a closed pipe would
        self.failure: OutputError | None = None
        try:
            self._tty = bool(raw.isatty())
        except (AttributeError, ValueError):
            self._tty = False

    def drop_when_closed(self) -> None:
        """From now on a closed pipe (EPIPE) drops output instead of raising BrokenPipeError:
        for commands that must not stop between an API call and its record (apply, destroy).
        The caller ends the command afterwards as a closed pipe ends any other (see
        :attr:`reader_gone`)."""
        self._drop_when_closed = True

    @property
    def raw(self) -> TextIO:
        return self._raw

    def write(self, text: str) -> int:
        if self.reader_gone or self.failure:
            return len(text)
        if _STREAM_CONTROL.search(text):
            text = self.sanitise(text)
        try:
            self._raw.write(text)
        except OSError as exc:
            self._failed(exc)
        return len(text)

    def flush(self) -> None:
        if self.reader_gone or self.failure:
            return
        try:
            self._raw.flush()
        except OSError as exc:
            self._failed(exc)

    def _failed(self, exc: OSError) -> None:
        """A closed pipe stays BrokenPipeError (the command ends quietly); any other failure
        is an OutputError: a clear message and exit 1, never a traceback. While dropping, both
        are remembered and the command goes on."""
        if isinstance(exc, BrokenPipeError):
            if not self._drop_when_closed:
                raise exc
            self.reader_gone = True
            return
        from reconciler.errors import OutputError

        failure = OutputError.of(self._name, exc)
        if not self._drop_when_closed:
            raise failure from None
        self.failure = failure

    def sanitise(self, text: str) -> str:
        if not self._tty:
            return _STREAM_CONTROL.sub(_escape, text)
        parts, last = [], 0
        for match in _OWN_CSI.finditer(text):
            parts.append(_STREAM_CONTROL.sub(_escape, text[last:match.start()]))
            parts.append(match.group())
            last = match.end()
        parts.append(_STREAM_CONTROL.sub(_escape, text[last:]))
        return "".join(parts)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def isatty(self) -> bool:
        return self._tty

    def __getattr__(self, name: str) -> object:  # flush, fileno, encoding, buffer...
        return getattr(self._raw, name)


def install(stdout: TextIO, stderr: TextIO) -> tuple[TextIO, TextIO]:
    """Wrapped streams for ``sys.stdout`` / ``sys.stderr`` (already wrapped ones stay as they are)."""
    out = stdout if isinstance(stdout, SafeStream) else SafeStream(stdout, "output")
    err = stderr if isinstance(stderr, SafeStream) else SafeStream(stderr, "error")
    return out, err  # type: ignore[return-value]


__all__ = ["SafeStream", "clean", "clean_lines", "clean_tree", "install"]
