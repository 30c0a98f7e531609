"""``${env:NAME}`` and ``${var:NAME}`` interpolation plus the size/depth guard, in one pass over
a loaded document.

Pure: takes the environment and the variables as mappings. Every string that received a value
from the environment is recorded as *sensitive* by its path, so later stages never print it;
its template keeps the ``${env:...}`` text with variables already filled in (they are plain).
Variables are typed: a value that is exactly ``${var:NAME}`` becomes the variable's value
(``workers: ${var:workers}`` is an integer); inside longer text the variable's text is used.
``$${`` escapes a literal ``${``. A value that is exactly one ``${env:NAME}`` becomes
:class:`FromEnv` (number fields accept it) or, when NAME is unset or empty,
:class:`Unresolved` (its problem is reported once, by the loader, not again by the schema).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from reconciler.fastyaml import expanded_size
from reconciler.scalars import FromEnv, FromVariable, Unresolved

MAX_DEPTH = 64
MAX_NODES = 100_000  # a manifest has ~50 values; alias bombs expand to billions
# What ${var:...} and ${env:...} values may add to one file, over all its documents: a 1 MiB
# variable named 10,000 times would otherwise make a 10 GiB manifest out of a small one.
MAX_ADDED_VALUES = MAX_NODES
MAX_ADDED_CHARS = 10 * 1024 * 1024

Path = tuple[str | int, ...]
# what tokens() finds, as a regular expression: the reference its differential test holds it to
TOKEN = re.compile(r"\$\$\{|\$\{(env|var):([^}]*)\}")
_WHOLE_VAR = re.compile(r"\$\{var:([A-Za-z_][A-Za-z0-9_]*)\}")  # fullmatch only: `$` passes "…\n"
_VAR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WHOLE_ENV = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Variable:
    """A ``${var:NAME}`` value: typed ``value``, ``text`` for use inside longer strings (as
    written, so ``--var tag=1.10`` stays "1.10"), and ``source`` for messages."""

    value: object
    text: str
    source: str


# yottactl's own credentials (reconciler/settings.py) and libpq's password: whoever holds them
# decides where they go, so a manifest (a file any pull request can edit) cannot put them in a
# deployment's environment or webhook URL, to be read by the image the same manifest names
CREDENTIALS = frozenset({"YOTTA_API_KEY", "YOTTACTL_STATE", "YOTTACTL_FINGERPRINT_KEY",
                         "PGPASSWORD"})


def valid_name(name: str) -> bool:
    return _VAR.fullmatch(name) is not None


class DocumentTooComplex(Exception):
    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


@dataclass
class Growth:
    """What substitutions have added to one file so far (shared by its documents)."""

    values: int = 0
    chars: int = 0
    sizes: dict[int, int] = field(default_factory=dict)  # expanded_size's memo

    def add(self, value: object, path: Path) -> None:
        self.values += expanded_size(value, self.sizes)
        if isinstance(value, str):
            self.chars += len(value)
        if self.values > MAX_ADDED_VALUES or self.chars > MAX_ADDED_CHARS:
            what = (f"{MAX_ADDED_VALUES} values" if self.values > MAX_ADDED_VALUES
                    else f"{MAX_ADDED_CHARS // (1024 * 1024)} MiB of text")
            raise DocumentTooComplex(f"${{var:...}}/${{env:...}} values add more than {what} "
                                     "to this file", path)


@dataclass
class Interpolated:
    value: object
    sensitive: set[Path] = field(default_factory=set)
    templates: dict[Path, str] = field(default_factory=dict)  # sensitive path -> raw text
    missing: list[tuple[Path, str]] = field(default_factory=list)
    undefined: list[tuple[Path, str]] = field(default_factory=list)  # ${var:X} with no value
    not_scalar: list[tuple[Path, str]] = field(default_factory=list)  # list/map var inside text
    from_variable: dict[Path, str] = field(default_factory=dict)  # path -> variable it came from
    used: set[str] = field(default_factory=set)  # variable names used
    env_templates: dict[Path, str] = field(default_factory=dict)  # every ${env:} text, set or not
    empty: list[tuple[Path, str]] = field(default_factory=list)  # set to "" (fork PRs' secrets)
    credentials: list[tuple[Path, str]] = field(default_factory=list)  # CREDENTIALS asked for
    # the ${env:} values substituted: secrets the command must never show (reconciler/redact.py)
    env_values: set[str] = field(default_factory=set)


def interpolate(
    document: object, environ: Mapping[str, str], variables: Mapping[str, Variable] | None = None,
    growth: Growth | None = None,
) -> Interpolated:
    """A copy of ``document`` with variables substituted; raises :class:`DocumentTooComplex`.
    ``growth``: what earlier documents of the same file added (one budget per file)."""
    result = Interpolated(None)
    added = growth if growth is not None else Growth()
    known: Mapping[str, Variable] = variables or {}

    def env(name: str, path: Path) -> str | None:
        """NAME's value, recorded as a secret; None (the problem recorded) when it is yottactl's
        own credential, not a valid name, unset or empty."""
        if name in CREDENTIALS:
            result.credentials.append((path, name))
            return None
        value = environ.get(name) if _VAR.fullmatch(name) else None
        if value is None:
            result.missing.append((path, name))
            return None
        if value == "":
            result.empty.append((path, name))
            return None
        added.add(value, path)
        result.env_values.add(value)  # an API error echoing it back must not print it
        return value

    def sub(text: str, path: Path) -> object:
        if "$" not in text:
            return text
        if (whole_env := _WHOLE_ENV.fullmatch(text)) is not None:  # the usual form: a secret
            written = result.env_templates[path] = str(text)  # not the reader's PlainText
            name = whole_env.group(1)
            if (value := env(name, path)) is None:
                return Unresolved(written)
            result.sensitive.add(path)
            result.templates[path] = written
            return FromEnv(value, name)
        whole = _WHOLE_VAR.fullmatch(text)
        if whole and whole.group(1) in known:
            name = whole.group(1)
            result.used.add(name)
            result.from_variable[path] = name
            added.add(known[name].value, path)  # before copying it
            copied = copy.deepcopy(known[name].value)
            return FromVariable(copied, name) if isinstance(copied, str) else copied
        env_used = env_seen = unresolved = False
        template: list[str] = []

        def replace(token: str, kind: str | None, name: str) -> str:
            nonlocal env_used, env_seen, unresolved
            if kind is None:  # $${
                template.append(token)
                return "${"
            if kind == "var":
                variable = known.get(name)
                if variable is None:
                    result.undefined.append((path, name))
                    template.append(token)
                    return token
                result.used.add(name)
                result.from_variable[path] = name
                if isinstance(variable.value, (dict, list)):
                    result.not_scalar.append((path, name))
                added.add(variable.text, path)
                template.append(variable.text.replace("${", "$${"))
                return variable.text
            template.append(token)
            env_seen = True
            value = env(name, path)
            if value is None:
                unresolved = True
                return token  # keep validating the rest of the document
            env_used = True
            return value

        pieces: list[str] = []
        at = 0
        for start, end, kind, name in tokens(text):
            pieces.append(text[at:start])
            template.append(text[at:start])
            pieces.append(replace(text[start:end], kind, name))
            at = end
        pieces.append(text[at:])
        template.append(text[at:])
        if env_seen:
            result.env_templates[path] = "".join(template)
        if env_used:
            result.sensitive.add(path)
            result.templates[path] = result.env_templates[path]
        out = "".join(pieces)
        return Unresolved(out) if unresolved else out

    result.value = _walk(document, (), 0, sub, [MAX_NODES])
    return result


def tokens(text: str) -> Iterator[tuple[int, int, str | None, str]]:
    """(start, end, kind, name) of each ``$${`` (kind None) and ``${env:NAME}`` / ``${var:NAME}``
    in ``text``, left to right, as TOKEN.finditer finds them, in linear time: the regular
    expression looks for a closing brace to the end of the text from every ``${env:`` that has
    none, and a pull request's 128 KiB of ``${env:`` took it 10 s (hours at the 10 MiB cap)."""
    closing = True  # a `}` may still follow (once none does, no `${env:...}` can match again)
    at = 0
    while (start := text.find("$", at)) != -1:
        if text.startswith("$${", start):
            yield start, start + 3, None, ""
            at = start + 3
            continue
        if closing and (text.startswith("${env:", start) or text.startswith("${var:", start)):
            end = text.find("}", start + 6)
            if end != -1:
                yield start, end + 1, text[start + 2:start + 5], text[start + 6:end]
                at = end + 1
                continue
            closing = False
        at = start + 1


def _walk(node: object, path: Path, depth: int, sub: Callable[[str, Path], object],
          budget: list[int]) -> object:
    """``node`` with ``sub`` applied to every string. A module function, not a closure: a
    recursive closure holds itself, a reference cycle that would keep each document alive until
    a cyclic collection, which planning defers (app/plan._no_gc_pauses)."""
    budget[0] -= 1
    if budget[0] < 0:
        raise DocumentTooComplex(
            f"document holds more than {MAX_NODES} values once YAML aliases are expanded "
            "(a manifest has about 50)", path
        )
    if depth > MAX_DEPTH:
        raise DocumentTooComplex(f"nesting deeper than {MAX_DEPTH} levels", path)
    if isinstance(node, dict):
        out: dict[object, object] = {}
        for k, v in node.items():
            # a scalar without `$` (most of a manifest) is counted and kept as it is, its path
            # never built; the rest (and a scalar over a limit: _walk raises, naming it) walked
            if isinstance(v, (dict, list)) or (isinstance(v, str) and "$" in v) or \
                    budget[0] <= 0 or depth >= MAX_DEPTH:
                out[k] = _walk(v, (*path, str(k)), depth + 1, sub, budget)
            else:
                budget[0] -= 1
                out[k] = v
        return out
    if isinstance(node, list):
        items: list[object] = []
        for i, v in enumerate(node):
            if isinstance(v, (dict, list)) or (isinstance(v, str) and "$" in v) or \
                    budget[0] <= 0 or depth >= MAX_DEPTH:
                items.append(_walk(v, (*path, i), depth + 1, sub, budget))
            else:
                budget[0] -= 1
                items.append(v)
        return items
    if isinstance(node, str):
        return sub(node, path)
    return node
