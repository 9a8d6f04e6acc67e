"""A fast path for plain documents: root-level blocks without running mistune's block parser.

Most case studies are paragraphs, ATX headings and bullet or numbered lists.
For a document built only from those, the root-level blocks can be found line
by line, following the same rules mistune applies (list extent included), at
a fraction of the cost. Anything else (fences, quotes, HTML, setext
underlines, thematic breaks, reference definitions, tabs in indentation,
indented code) makes ``blocks`` return None, and mistune parses the document.

The contract is exact equality with mistune on every document this accepts;
``tests/test_fastblocks.py`` checks it on the repository's own Markdown, the
benchmark corpus and generated documents.
"""

from __future__ import annotations

import re
import string
from typing import Any

from mistune.block_parser import _ATX_HEADING_TRIM

# Any line that could start a construct outside the plain subset. Each alternative
# begins with one of _SUSPICIOUS, so most lines are cleared by their first character.
_OUTSIDE = re.compile(
    r"[ \t]*(?:```|~~~|>|<|\[[^\]\n]*\]:)"  # fences, quotes, HTML, reference definitions
    r"|[ \t]*([-*_])(?:[ \t]*\1){2,}[ \t]*$"  # thematic breaks
    r"|[ \t]*(?:=+|-+)[ \t]*$"  # setext underlines
    r"| *\t"  # tabs in the indentation
    r"| +#{1,6}(?:[ \t]|$)"  # indented headings
    r"|[ \t]*(?:[-+*]|\d{1,9}[.)])(?:[ \t]*$| {5}|\t)"  # empty items, items with wide or tab spacing
)
_SUSPICIOUS = frozenset(" \t`~><[=-*_+#0123456789")
_LINE = re.compile(
    r"(?P<blank>[ \t\v\f]*$)"  # mistune's blank line: a no-break space is text
    r"|(?P<atx>#{1,6}(?!#)(?:[ \t]|$))"
    r"|(?P<marker>(?P<lead> {0,3})(?P<bullet>[-+*]|\d{1,9}[.)])(?P<gap> {1,4})(?=\S))"
)
BLANK, ATX, MARKER, TEXT = "blank", "atx", "marker", None


def blocks(lines: list[str], first_line: int) -> list[dict[str, Any]] | None:
    """mistune-shaped root tokens (type, line, text, attrs) for a plain document, or None."""
    kinds: list[str | None] = []
    marks: list[re.Match[str] | None] = []
    for line in lines:
        if line[:1] in _SUSPICIOUS and _OUTSIDE.match(line):
            return None
        m = _LINE.match(line)
        kinds.append(m.lastgroup if m else TEXT)
        marks.append(m)
    return _tokens(lines, kinds, marks, first_line)


def _tokens(lines: list[str], kinds: list, marks: list, first_line: int) -> list[dict[str, Any]] | None:
    tokens: list[dict[str, Any]] = []
    i, count = 0, len(lines)
    while i < count:
        kind, line = kinds[i], lines[i]
        if kind == BLANK:
            i += 1
        elif kind == ATX:
            tokens.append(_heading(line, first_line + i))
            i += 1
        elif kind == MARKER:
            if line[0] == " ":
                return None  # an indented marker at the root: leave the subtleties to mistune
            tokens.append({"type": "list", "line": first_line + i})
            i = _list_end(lines, kinds, marks, i)
        elif line[0] == " ":
            return None  # indented text at the root: a paragraph or indented code, mistune decides
        else:
            end = _paragraph_end(kinds, marks, i)
            if end is None:
                return None
            tokens.append({"type": "paragraph", "line": first_line + i, "text": "".join(f"{row}\n" for row in lines[i:end])})
            i = end
    return tokens


def _heading(line: str, number: int) -> dict[str, Any]:
    level = len(line) - len(line.lstrip("#"))
    text = line[level:].strip(string.whitespace)  # ASCII whitespace only, as mistune strips it
    if text:
        text = _ATX_HEADING_TRIM.sub("", text)
    return {"type": "heading", "text": text, "attrs": {"level": level}, "style": "atx", "line": number}


def _paragraph_end(kinds: list, marks: list, start: int) -> int | None:
    """Index after the paragraph starting at ``start``; None where mistune's rules get subtle."""
    i = start + 1
    while i < len(kinds):
        kind = kinds[i]
        if kind == BLANK or kind == ATX:
            return i
        if kind == MARKER:
            marker = marks[i]
            if marker["lead"]:
                return None  # an indented list start interrupting a paragraph
            digits = marker["bullet"][:-1]
            if not digits or digits == "1":
                return i  # bullet lists, and numbered lists starting at 1, interrupt a paragraph
            return None  # other numbered lines continue it in mistune: not worth mirroring
        i += 1
    return i


def _list_end(lines: list[str], kinds: list, marks: list, start: int) -> int:
    """Index after the list starting at ``start``, by mistune's item-collection rules."""
    kind_of_list = _kind(marks[start]["bullet"])
    i = start
    while True:
        marker = marks[i]
        leading = len(marker["lead"]) + len(marker["bullet"])
        continue_width = leading + len(marker["gap"])
        sibling_indent = min(leading, 3)
        j, blank_before = i + 1, False
        next_item = None
        while j < len(lines):
            kind = kinds[j]
            if kind == BLANK:
                blank_before, j = True, j + 1
                continue
            line = lines[j]
            if len(line) - len(line.lstrip(" ")) >= continue_width:
                blank_before, j = False, j + 1
                continue
            if kind == ATX:
                return j
            if kind == MARKER:
                other = marks[j]
                if len(other["lead"]) <= sibling_indent and _kind(other["bullet"]) == kind_of_list:
                    next_item = j
                    break
                if len(other["lead"]) <= sibling_indent:
                    return j  # a list of another kind starts
            if blank_before:
                return j
            j += 1  # a lazy continuation line
        if next_item is None:
            return j
        i = next_item


def _kind(marker: str) -> str:
    return marker[-1] if marker[-1] in ".)" else marker
