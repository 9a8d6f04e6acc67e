"""Putting text into Markdown safely: table cells, code spans, and text that must stay inert.

Text in the bot's comments comes from contributors' files (and, in Actions,
from an artifact): it must not break a table, escape a code span, render
HTML, links or images, notify people with @mentions, or hide what it says
behind control and bidirectional-override characters.
"""

from __future__ import annotations

import re

# C0 and C1 controls (tab and newline included), DEL, and the Unicode format characters that
# reorder or hide text: bidi embeddings, overrides and isolates, marks, line and paragraph
# separators. Shown as escapes in every output, so what a reader sees is what the file holds.
_FORMAT = "\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
HIDDEN = re.compile(f"[\x00-\x1f{_FORMAT}]")
HIDDEN_BEYOND_C0 = re.compile(f"[{_FORMAT}]")  # what JSON does not escape by itself
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """``text`` with every control and bidi character written as an escape (``\\n``, ``\\u202e``)."""
    if not HIDDEN.search(text):
        return text
    return HIDDEN.sub(lambda m: _ESCAPES.get(m[0]) or f"\\u{ord(m[0]):04x}", text)


def table_cell(text: str) -> str:
    """One line, with pipes escaped, for a Markdown table cell."""
    return printable(" ".join(text.split())).replace("|", "\\|")


_AUTOLINK = re.compile(r"(?i)\b(https?|ftp)(://)|\b(www)(\.)")


def inert(text: str) -> str:
    """No HTML, no links or images, no @mentions. Backslashes, ``[`` and ``]`` are escaped, so
    neither ``[text](url)`` nor ``![alt](src)`` forms; a zero-width space keeps bare URLs
    (GitHub links ``https://…`` and ``www.…`` by itself) and mentions from turning live
    while staying readable."""
    text = printable(text).replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    text = text.replace("<", "&lt;").replace(">", "&gt;").replace("@", "@\u200b")
    return _AUTOLINK.sub(lambda m: (m[1] or m[3]) + "\u200b" + (m[2] or m[4]), text)


def code(text: str) -> str:
    """An inline code span that cannot be closed early or span lines; mentions, HTML and links do not work inside it."""
    return "`" + printable(" ".join(text.replace("`", "'").split())) + "`"


def shell_words(words: list[str]) -> str:
    """Arguments for a shell command shown in a code block: quoted, and on one line."""
    import shlex  # only reviews show commands; keep `check` light

    return " ".join(shlex.quote(" ".join(word.replace("`", "'").split())) for word in words)
