"""Putting text into Markdown safely: table cells, code spans, and text that must stay inert.

Text in the bot's comments comes from contributors' files (and, in Actions,
from an artifact): it must not break a table, escape a code span, render
HTML or notify people with @mentions.
"""

from __future__ import annotations


def table_cell(text: str) -> str:
    """One line, with pipes escaped, for a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def inert(text: str) -> str:
    """No HTML and no @mentions (a zero-width space after @ keeps the text readable)."""
    return text.replace("<", "&lt;").replace(">", "&gt;").replace("@", "@\u200b")


def code(text: str) -> str:
    """An inline code span that cannot be closed early or span lines; mentions and HTML do not work inside it."""
    return "`" + " ".join(text.replace("`", "'").split()) + "`"


def shell_words(words: list[str]) -> str:
    """Arguments for a shell command shown in a code block: quoted, and on one line."""
    import shlex  # only reviews show commands; keep `check` light

    return " ".join(shlex.quote(" ".join(word.replace("`", "'").split())) for word in words)
