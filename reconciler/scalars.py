"""Where a manifest string came from, carried as ``str`` subclasses from the YAML reader and the
``${env:...}`` interpolation to the schema's validators (which see raw input before pydantic
turns every subclass into a plain ``str``).

- :class:`PlainText`: an unquoted scalar under ``environmentVars``, kept exactly as written
  (``3.10`` stays "3.10", ``01234`` stays "01234"); the schema refuses the ones YAML tools
  read as null or booleans.
- :class:`FromEnv`: a whole value that came from one ``${env:NAME}``; number fields accept it
  when it holds a whole number.
- :class:`Unresolved`: ``${env:NAME}`` whose variable is unset or empty. Its problem is reported
  once, by the loader (or skipped under ``validate --skip-env``); validators let it through.
"""

from __future__ import annotations


class PlainText(str):
    """An unquoted YAML scalar kept as its source text."""

    __slots__ = ()


class FromEnv(str):
    """A value substituted from exactly one ``${env:NAME}`` (sensitive: never echo it)."""

    variable: str

    def __new__(cls, value: str, variable: str) -> FromEnv:
        self = super().__new__(cls, value)
        self.variable = variable
        return self

    def __repr__(self) -> str:  # what the user wrote, never the value: messages quote it
        return f"${{env:{self.variable}}}"


class FromVariable(str):
    """A whole value from one ``${var:NAME}`` whose value is text (``--var workers=3``)."""

    variable: str

    def __new__(cls, value: str, variable: str) -> FromVariable:
        self = super().__new__(cls, value)
        self.variable = variable
        return self


class Unresolved(str):
    """``${env:NAME}`` text whose variable has no value here."""

    __slots__ = ()


# Plain words that YAML 1.2 reads as null, and words YAML 1.1 tools (and YAML 1.2 for the
# first two) read as booleans: as environment values they must be quoted to mean a string.
NULL_WORDS = frozenset({"", "~", "null", "Null", "NULL"})
BOOL_WORDS = frozenset(
    w for word in ("true", "false", "yes", "no", "on", "off") for w in (word, word.title(), word.upper())
)
