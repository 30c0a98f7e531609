"""Text from the API (names, ids, statuses, messages) and from files a pull request can edit,
made inert for the Markdown and HTML of pull-request comments and drift issues.

Escaping character by character is not enough for GitHub: it turns ``@name`` into a mention,
``#12`` and bare URLs into links *after* rendering, in any text outside code. So untrusted text
goes into a code span, whose content no Markdown, HTML or GitHub extension touches:

* :func:`code`: an inline code span fenced with one backtick more than the longest run inside
  (CommonMark §6.1), padded when the text starts or ends with a backtick.
* :func:`prose`: our sentences (which embed API values): the words that are inert in Markdown
  and cannot autolink as they are, every other word as :func:`code`.
* :func:`cell`: either of them made safe inside a table row, where even a code span's ``|``
  would end the cell (GFM tables): shown escaped, as ``\\x7c``, like control characters.
* :func:`html_code`: a ``<code>`` element inside an HTML block (``<summary>``), entity-escaped.

Control characters and bidi overrides are escaped first (:func:`reconciler.render.safe.clean`).
"""

from __future__ import annotations

import html
import re

from reconciler.render.safe import clean

_BACKTICKS = re.compile(r"`+")
# characters with no meaning in Markdown inline text, in the middle of a line
_INERT = re.compile(r"[A-Za-z0-9 ,.;:()=+$%'\"/?→×—…·≈-]*")
# what GFM or GitHub would turn into a link even without Markdown punctuation
_AUTOLINK = re.compile(r"www\.|://|\bGH-[0-9]", re.IGNORECASE)
_QUOTED = re.compile(r"(`[^`]+`)")  # the split keeps each quoted part at an odd index
_SPACES = re.compile(r"( +)")


def code(text: str) -> str:
    """``text`` as an inline code span that nothing inside can end or escape."""
    text = clean(text)
    if not text:
        return "` `"  # `` is not a code span but two literal backticks
    fence = "`" * (1 + max((len(run) for run in _BACKTICKS.findall(text)), default=0))
    # a code span drops one space at each end when both are there (CommonMark §6.1)
    pad = " " if text[0] == "`" or text[-1] == "`" or (text[0] == " " and text[-1] == " ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _inert(text: str) -> bool:
    return _INERT.fullmatch(text) is not None and not _AUTOLINK.search(text)


def prose(text: str) -> str:
    """A sentence of ours that may hold API values: its inert words as they are, `quoted`
    parts (a code span already: no backtick inside) as they are, every other word as
    :func:`code`. Each piece is inert text (no backtick) or a whole code span, so no piece can
    reach into another; nothing that could link or mention is outside code (links and mentions
    need ``@``, ``www.`` or ``://`` within one word)."""
    cleaned = clean(text)
    if _inert(cleaned):
        return cleaned
    out = []
    for n, piece in enumerate(_QUOTED.split(cleaned)):
        if n % 2:  # `yottactl import NAME ID`
            out.append(piece)
            continue
        out.extend(word if not word or word.isspace() or _inert(word) else code(word)
                   for word in _SPACES.split(piece))
    return "".join(out)


def cell(text: str, *, as_code: bool = False) -> str:
    """:func:`code` (``as_code``) or :func:`prose` for a table cell: no ``|`` can end the cell."""
    piped = clean(text).replace("|", "\\x7c")
    return code(piped) if as_code else prose(piped)


def html_code(text: str) -> str:
    """``text`` as a ``<code>`` element in raw HTML (an HTML block is not Markdown)."""
    return f"<code>{html.escape(clean(text), quote=True)}</code>"


__all__ = ["cell", "code", "html_code", "prose"]
