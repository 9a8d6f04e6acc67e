"""The fast path: root-level blocks found line by line, exactly as mistune's block parser finds them.

``bot.core.document`` needs only the root-level blocks of a document (kind,
first line, heading level and text, paragraph and HTML text), never what is
inside a list or a quote. mistune finds them by running its whole block
parser, building (and here throwing away) every list item and quote. This
module takes the steps mistune 3.4 takes at the root, with mistune's own
patterns (copied below; ``tests/test_fastblocks.py`` asserts they are still
mistune's), and skips the contents: paragraphs, ATX and setext headings,
fenced and indented code, block quotes with their lazy lines, HTML blocks and
comments, thematic breaks, link reference definitions and nested lists,
including the order mistune gives a list or quote ended by the block after it.

It is fast because most lines decide little: a line of text after text, a
blank line, the next "- item" of a list, a continuation line under an item.
The first character of a line says which of mistune's rules could match it,
runs of text are skipped without a look at each line, a list's ordinary lines
are skipped by one regular expression, and patterns are compiled on first use.

Where mistune's behaviour is odd enough not to be worth copying (a reference
definition whose title or destination runs onto the next line, a quote or
list whose end is itself ended by another block, nesting past ``_MAX_DEPTH``),
``blocks`` returns None and mistune parses the document (``bot.core.mistuneblocks``).

The contract is exact equality with mistune (and ``mistuneblocks._LineParser``'s
two changes to it) on every document accepted: ``tests/test_fastblocks.py``
checks it on every Markdown file in the repository, on the benchmark's corpora
and on generated documents.
"""

from __future__ import annotations

import re
import string
from bisect import bisect_left, bisect_right
from functools import lru_cache
from itertools import accumulate
from operator import add
from typing import Any

# --- mistune 3.4's patterns (mistune/helpers.py, block_parser.py, list_parser.py) -------------

HTML_TAGNAME = r"[A-Za-z][A-Za-z0-9-]*"
HTML_ATTRIBUTES = r"(?:\s+[A-Za-z_:][A-Za-z0-9_.:-]*" r'(?:\s*=\s*(?:[^ !"\'=<>`]+|\'[^\']*?\'|"[^\"]*?"))?)*'
LINK_LABEL = r"(?=[\s\S]{0,999}\])(?:[^\\\[\]]|\\.){0,999}"
# fmt: off
BLOCK_TAGS = (
    "address", "article", "aside", "base", "basefont", "blockquote", "body", "caption", "center", "col",
    "colgroup", "dd", "details", "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure",
    "footer", "form", "frame", "frameset", "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "hr",
    "html", "iframe", "legend", "li", "link", "main", "menu", "menuitem", "meta", "nav", "noframes", "ol",
    "optgroup", "option", "p", "param", "section", "source", "summary", "table", "tbody", "td", "tfoot",
    "th", "thead", "title", "tr", "track", "ul",
)
# fmt: on
PRE_TAGS = ("pre", "script", "style", "textarea")
_BLOCK_TAGS_PATTERN = "(" + "|".join(BLOCK_TAGS) + "|" + "|".join(PRE_TAGS) + ")"
LIST_PATTERN = r"^(?P<list_1> {0,3})" r"(?P<list_2>[\*\+-]|\d{1,9}[.)])" r"(?P<list_3>[ \t]*|[ \t].+)$"

SPECIFICATION = {
    "blank_line": r"(^[ \t\v\f]*\n)+",
    "atx_heading": r"^ {0,3}(?P<atx_1>#{1,6})(?!#+)(?P<atx_2>[ \t]*|[ \t]+.*?)$",
    "setex_heading": r"^ {0,3}(?P<setext_1>=|-){1,}[ \t]*$",
    "fenced_code": r"^(?P<fenced_1> {0,3})(?P<fenced_2>`{3,}|~{3,})" r"[ \t]*(?P<fenced_3>.*?)$",
    "indent_code": r"^(?: {4}| *\t)[^\n]+(?:\n+|$)" r"((?:(?: {4}| *\t)[^\n]+(?:\n+|$))|\s)*",
    "thematic_break": r"^ {0,3}((?:-[ \t]*){3,}|(?:_[ \t]*){3,}|(?:\*[ \t]*){3,})$",
    "ref_link": r"^ {0,3}\[(?P<reflink_1>" + LINK_LABEL + r")\]:",
    "block_quote": r"^ {0,3}>(?P<quote_1>.*?)$",
    "list": LIST_PATTERN,
    # mistuneblocks._LineParser's version: a lookahead lets "<div>" start a block (mistune wants a space or line end).
    "block_html": (
        r"^ {0,3}(?:"
        r"(?:</?" + _BLOCK_TAGS_PATTERN + r"(?=[ \t]|\n|$|/?>))"
        r"|<!--"
        r"|<\?"
        r"|<![A-Z]"
        r"|<!\[CDATA\[)"
    ),
    "raw_html": r"^ {0,3}(" r"</?" + HTML_TAGNAME + r"|" r"<!--|" r"<\?|" r"<![A-Z]|" r"<!\[CDATA\[)",
}
ROOT_RULES = (
    "fenced_code", "indent_code", "atx_heading", "setex_heading", "thematic_break",
    "block_quote", "list", "ref_link", "raw_html", "blank_line",
)  # fmt: skip
# What ends a quote's lazy lines: mistune's list, plus the ATX heading mistuneblocks._LineParser adds.
QUOTE_BREAK_RULES = ("blank_line", "thematic_break", "fenced_code", "list", "block_html", "atx_heading")
LIST_BREAK_RULES = ("thematic_break", "fenced_code", "atx_heading", "block_quote", "block_html", "list")

ATX_HEADING_TRIM = re.compile(r"(\s+|^)#+\s*$")
_LINE_HAS_TEXT = re.compile(r"(\s*)\S")
_QUOTE_LINE = re.compile(r" {0,3}>(.*)")
_LEADING_TAB = re.compile(r"( {0,3})\t")
_BULLETS = {".": r"\d{1,9}\.", ")": r"\d{1,9}\)", "*": r"\*", "+": r"\+", "-": "-"}
ASCII_WHITESPACE = " \t\n\r\f"


@lru_cache(maxsize=None)  # patterns are compiled on first use: most documents need few, and a one-file check pays for each
def compile_sc(rules: tuple[str, ...]) -> re.Pattern[str]:
    """mistune's ``Parser.compile_sc``: one alternation, named by rule, tried in order."""
    return re.compile("|".join(f"(?P<{name}>{SPECIFICATION[name]})" for name in rules), re.M)


@lru_cache(maxsize=None)
def _pattern(text: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(text, flags)


# The root rules each first character can start, in mistune's order (blank lines and indented code
# are found before these). ATX headings and quotes are matched without the pattern's lazy scan to
# the line end, which costs more than all the rest on long lines; the match is the same.
_ATX = re.compile(r"^ {0,3}(?P<atx_1>#{1,6})(?!#)(?P<atx_2>(?:[ \t].*)?)$", re.M)
_FAST = {
    "atx_heading": _ATX,
    "block_quote": re.compile(r"^ {0,3}>", re.M),
}
_BY_FIRST = {
    "`": ("fenced_code",), "~": ("fenced_code",), "#": ("atx_heading",), "=": ("setex_heading",),
    "-": ("setex_heading", "thematic_break", "list"), "_": ("thematic_break",), "*": ("thematic_break", "list"),
    "+": ("list",), ">": ("block_quote",), "[": ("ref_link",), "<": ("raw_html",), **{d: ("list",) for d in "0123456789"},
}  # fmt: skip
_BULLET_CHARS = frozenset("-*+")
_NOT_A_BREAK = {c: c + " \t" for c in "-*+"}  # what a thematic break or setext underline of that character is made of
_CANDIDATES: dict[str, tuple[tuple[str, re.Pattern[str]], ...]] = {}  # filled from _BY_FIRST on first use
_SIMPLE_REF = r"[ \t]*[^\x00-\x20\x7f<()\\]+[ \t]*"  # a destination alone on its line, no escapes or parens


_fence_ends: dict[tuple[str, int], re.Pattern[str]] = {}
_list_items: dict[tuple[str, int], re.Pattern[str]] = {}

# First characters of a line that some block rule could match; any other line is paragraph text.
_SPECIAL = frozenset(" \t\v\f`~#=-_*+>[<0123456789") | {""}
_MAX_DEPTH = 8  # lists ended by quotes ended by lists ...: past this, mistune decides
_BLANK = {"type": "blank_line"}  # shared: blank-line tokens are only looked at, then dropped


def _candidates(char: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    found = _CANDIDATES.get(char)
    if found is None:
        rules = _BY_FIRST.get(char, ())
        found = _CANDIDATES[char] = tuple((rule, _FAST.get(rule) or _pattern(SPECIFICATION[rule], re.M)) for rule in rules)
    return found


class _Decline(Exception):
    """mistune would do something here that this module does not copy."""


def blocks(lines: list[str], first_line: int) -> list[dict[str, Any]] | None:
    """mistune-shaped root tokens (type, line; text, attrs, style, raw where mistune has them), or None.

    ``lines`` are the document's lines without their newlines; the first is line ``first_line``."""
    try:
        return _Parser(lines, first_line).run()
    except (_Decline, RecursionError):
        return None


class _Parser:
    def __init__(self, lines: list[str], first_line: int) -> None:
        self.lines, self.first, self.n = lines, first_line, len(lines)
        self.src = "\n".join(lines) + "\n"  # what mistune parses (mistuneblocks.tokens)
        # Where each line starts in src (and src's end): the lengths so far, plus one newline per line.
        self.starts = list(map(add, accumulate(map(len, lines), initial=0), range(len(lines) + 1)))
        self.tokens: list[dict[str, Any]] = []
        self.depth = 0

    def run(self) -> list[dict[str, Any]]:
        lines, tokens, n = self.lines, self.tokens, self.n
        i = 0
        while i < n:
            line = lines[i]
            first = line[:1]
            if first not in _SPECIAL:  # no rule matches this line or the text lines after it: paragraph text
                j = i + 1
                while j < n and lines[j][:1] not in _SPECIAL:
                    j += 1
                self._text(i, j)
                i = j
                continue
            if not line:  # blank lines: only the blank_line rule matches an empty line
                i += 1
                while i < n and not lines[i].strip(" \t\v\f"):
                    i += 1
                tokens.append(_BLANK)
                continue
            if (first == " " or first == "\t") and _is_indent_code_line(line):  # BlockParser._parse_indent_code_fast
                if tokens and tokens[-1]["type"] == "paragraph":
                    self._text(i)
                    i += 1
                    continue
                j = i + 1
                while j < n and (_is_indent_code_line(lines[j]) or not lines[j].strip()):
                    j += 1
                tokens.append({"type": "block_code", "line": self.first + i})
                i = j
                continue
            if first in _BULLET_CHARS and line[1:2] == " " and line.strip(_NOT_A_BREAK[first]):
                i = self._list("", first, line[1:], i)  # "- text": neither a setext underline nor a break, so a list
                continue
            if first == "#":  # only the ATX heading rule can match: its pattern decides
                m = _ATX.match(line)
                if m:
                    tokens.append(_heading(m.group("atx_1"), m.group("atx_2"), self.first + i))
                    i += 1
                    continue
            end = None
            if not line.strip(" \t\v\f"):
                end = self._dispatch("blank_line", None, i)  # type: ignore[arg-type]
            else:
                # mistune tries its rules in order and the first that matches decides; the
                # first character after at most three spaces tells which rules can match.
                start = self.starts[i]
                char = line.lstrip(" ")[:1]
                for rule, pattern in _CANDIDATES.get(char) or _candidates(char):
                    m = pattern.match(self.src, start)
                    if m:
                        end = self._dispatch(rule, m, i)
                        break
            if end is None:
                self._text(i)
                i += 1
            else:
                i = end
        return self._finish()

    def _finish(self) -> list[dict[str, Any]]:
        out = []
        for token in self.tokens:
            if token["type"] == "blank_line":
                continue
            span = token.pop("_span", None)
            if span is not None:
                token["text"] = self.src[self.starts[span[0]] : self.starts[span[1]]]
            out.append(token)
        return out

    # --- paragraphs ----------------------------------------------------------------------

    def _last_is_paragraph(self) -> bool:
        return bool(self.tokens) and self.tokens[-1]["type"] == "paragraph"

    def _text(self, i: int, j: int = 0) -> None:
        """Lines ``i`` up to ``j`` (or line ``i`` alone) as paragraph text: they continue the paragraph before them, or start one."""
        j = j or i + 1
        if self.tokens and self.tokens[-1]["type"] == "paragraph":
            span = self.tokens[-1]["_span"]
            if span[1] != i:
                raise _Decline("a line joins a paragraph across the block before it")  # "</pre>" ending a list
            span[1] = j
        else:
            self.tokens.append({"type": "paragraph", "line": self.first + i, "_span": [i, j]})

    # --- one block, as BlockParser.parse_method runs it on the root state -------------------

    def _dispatch(self, rule: str, m: re.Match[str], i: int) -> int | None:
        """The index after the block rule ``rule`` matched at line ``i``; None when it declines the line."""
        if rule == "atx_heading":
            self.tokens.append(_heading(m.group("atx_1"), m.group("atx_2"), self.first + i))
            return i + 1
        if rule == "list":
            return self._list(m.group("list_1"), m.group("list_2"), m.group("list_3"), i)
        if rule == "fenced_code":
            return self._fence(m, i)
        if rule == "blank_line":
            j = i + 1
            while j < self.n and not self.lines[j].strip(" \t\v\f"):
                j += 1
            self.tokens.append(_BLANK)
            return j
        if rule == "thematic_break":
            self.tokens.append({"type": "thematic_break", "line": self.first + i})
            return i + 1
        if rule == "block_quote":
            return self._quote(i)
        if rule in ("raw_html", "block_html"):
            return self._html(m, i)
        if rule == "setex_heading":
            return self._setext(m, i)
        if rule == "ref_link":
            return self._ref_link(m, i)
        raise _Decline(rule)  # indent_code: _parse_indent_code_fast takes every line it would match

    def _setext(self, m: re.Match[str], i: int) -> int | None:
        if self._last_is_paragraph():
            token = self.tokens[-1]
            token.update(type="heading", style="setext", attrs={"level": 1 if m.group("setext_1") == "=" else 2})
            return i + 1
        m2 = compile_sc(("thematic_break", "list")).match(self.src, self.starts[i])
        return self._dispatch(m2.lastgroup, m2, i) if m2 else None  # type: ignore[arg-type]

    def _fence(self, m: re.Match[str], i: int) -> int | None:
        marker, info = m.group("fenced_2"), m.group("fenced_3")
        char = marker[0]
        if info and char == "`" and "`" in info:
            return None  # CommonMark example 145: not a fence
        key = (char, len(marker))
        end = _fence_ends.get(key)
        if end is None:
            end = _fence_ends[key] = re.compile(r"^ {0,3}" + char + "{" + str(len(marker)) + r",}[ \t]*(?:\n|$)", re.M)
        self.tokens.append({"type": "block_code", "line": self.first + i})
        closing = end.search(self.src, m.end() + 1)
        return bisect_right(self.starts, closing.end()) - 1 if closing else self.n

    def _html(self, m: re.Match[str], i: int) -> int | None:
        """BlockParser.parse_raw_html: the seven kinds of HTML block."""
        marker = m.group(0).strip()
        if marker == "<!--":
            return self._html_to_end("-->", m.end(), i)
        if marker == "<?":
            return self._html_to_end("?>", m.end(), i)
        if marker == "<![CDATA[":
            return self._html_to_end("]]>", m.end(), i)
        if marker.startswith("<!"):
            return self._html_to_end(">", m.end(), i)
        close_tag = open_tag = ""
        if marker.startswith("</"):
            close_tag = marker[2:].lower()
            if close_tag in BLOCK_TAGS:
                return self._html_to_blank(i)
        else:
            open_tag = marker[1:].lower()
            if open_tag in PRE_TAGS:
                return self._html_to_end("</" + open_tag + ">", m.end(), i)
            if open_tag in BLOCK_TAGS:
                return self._html_to_blank(i)
        if self._last_is_paragraph():  # kind 7 may not interrupt a paragraph
            self._text(i)
            return i + 1
        line_end = self.starts[i + 1]
        end = _pattern(HTML_ATTRIBUTES + r"[ \t]*>[ \t]*(?:\n|$)") if open_tag else _pattern(r"[ \t]*>[ \t]*(?:\n|$)")
        if end.match(self.src, m.end(), line_end):
            return self._html_to_blank(i)
        return None

    def _html_to_end(self, end_marker: str, start: int, i: int) -> int:
        found = self.src.find(end_marker, start)
        end = self.n if found == -1 else bisect_right(self.starts, found)
        self.tokens.append({"type": "block_html", "line": self.first + i, "raw": self.src[self.starts[i] : self.starts[end]]})
        return end

    def _html_to_blank(self, i: int) -> int:
        j = i + 1
        while j < self.n and self.lines[j].strip(" \t\v\f"):
            j += 1
        self.tokens.append({"type": "block_html", "line": self.first + i, "raw": self.src[self.starts[i] : self.starts[j]]})
        return j

    def _ref_link(self, m: re.Match[str], i: int) -> int | None:
        """BlockParser.parse_ref_link, for a definition whose destination is alone on its line."""
        if self._last_is_paragraph():
            self._text(i)
            return i + 1
        label = m.group("reflink_1")
        if "\n" in label:
            raise _Decline("a reference label over several lines")
        if not " ".join(label.split()):
            return None
        if not _pattern(_SIMPLE_REF).fullmatch(self.src, m.end(), self.starts[i + 1] - 1):
            raise _Decline("a reference definition other than [label]: destination")
        for j in range(i + 1, self.n):  # a title may follow on the next lines, up to a blank line
            rest = self.lines[j].lstrip(ASCII_WHITESPACE)
            if not self.lines[j].strip(" \t\v\f") or not rest:
                break
            if rest[0] in "\"'(":
                raise _Decline("a reference definition with a title")
            break
        return i + 1  # defines a link, adds no block

    # --- block quotes (BlockParser.extract_block_quote) ---------------------------------------

    def _quote(self, i: int) -> int:
        self._enter()
        lines, n = self.lines, self.n
        content = _quote_content(lines[i])
        assert content is not None
        j, end_pos = i + 1, None
        if compile_sc(("blank_line", "indent_code", "fenced_code")).match(content + "\n"):
            while j < n and _quote_content(lines[j]) is not None:
                j += 1
        else:
            previous_blank = False
            while j < n:
                quoted = _quote_content(lines[j])
                if quoted is not None:
                    previous_blank = not quoted.strip()
                    j += 1
                    continue
                if previous_blank:
                    break  # CommonMark example 249: laziness needs a line right after the quote
                m = _break(QUOTE_BREAK_RULES, self.src, self.starts[j], lines[j])
                if m:
                    end_pos = self._quote_break(m, j)
                    if end_pos:
                        break
                j += 1  # a lazy continuation line
        token = {"type": "block_quote", "line": self.first + i}
        self.depth -= 1
        if end_pos:
            self.tokens.insert(len(self.tokens) - 1, token)  # before the block that ended it
            return end_pos
        self.tokens.append(token)
        return j

    def _quote_break(self, m: re.Match[str], j: int) -> int | None:
        if m.lastgroup != "list":
            return self._dispatch(m.lastgroup, m, j)  # type: ignore[arg-type]
        before = len(self.tokens)
        last_is_paragraph = self._last_is_paragraph()
        end = self._list(m.group("list_1"), m.group("list_2"), m.group("list_3"), j)
        if last_is_paragraph and len(self.tokens) == before:
            raise _Decline("a list line that continues the paragraph before the quote")
        if len(self.tokens) != before + 1:
            raise _Decline("a quote ended by a list that another block ended")
        return end

    # --- lists (mistune/list_parser.py) -----------------------------------------------------

    def _list(self, spaces: str, marker: str, text: str, i: int) -> int:
        ordered = len(marker) > 1
        if (not text.strip() or (ordered and int(marker[:-1]) != 1)) and self._last_is_paragraph():
            self._text(i)  # an empty item, or a list not starting at 1, may not interrupt a paragraph
            return i + 1
        self._enter()
        token = {"type": "list", "line": self.first + i}
        char = marker[-1]
        bullet = _BULLETS[char]
        quick = char if char in "-*+" else ""  # a next item at column 0 is told without a regex
        not_a_break = quick + " \t"  # what a thematic break of that bullet is made of
        patterns: dict[int, re.Pattern[str]] = {}
        lines, src, starts, n, tokens = self.lines, self.src, self.starts, self.n, self.tokens
        j, end_pos, index = i + 1, None, 0
        item: tuple[str, str, str] | None = (spaces, marker, text)
        while item is not None:  # one item per round: list_parser._collect_list_item_lines
            spaces, marker, text = item
            item = None
            leading = len(spaces) + len(marker)
            gap = len(text) - len(text.lstrip(" "))
            first = text[gap : gap + 1]
            if first and first != "\t" and not first.isspace():
                width, starts_with_text = leading + (1 if gap >= 5 else gap), True
            else:
                rest, width = _continue_width(text, leading)
                starts_with_text = bool(rest)
            item_re = patterns.get(leading)
            if item_re is None:
                item_re = patterns[leading] = _item_pattern(bullet, leading)
            indent = min(leading, 3)
            previous_blank = has_text = False
            # Items written alike ("- text", "1. text", each with one space) keep one width, and then
            # the lines most lists are made of (continuation lines, blank lines before one, the next
            # such item, lazy text) are skipped at C speed: none of them ends the list.
            skip = _fast_forward(marker, width) if not spaces and width == leading + 1 and starts_with_text else None
            while j < n:
                if skip is not None and not previous_blank:
                    end = skip.match(src, starts[j]).end()  # type: ignore[union-attr]  # an empty match at worst
                    if end > starts[j]:
                        j, has_text = bisect_left(starts, end, j), True
                        if j >= n:
                            break
                raw = lines[j]
                c = raw[:1]
                if c not in _SPECIAL:  # text at column 0: neither blank, indented, an item nor a break
                    if previous_blank:
                        break
                    has_text = has_text or bool(raw.strip())
                    j += 1  # a lazy continuation line
                    while j < n and lines[j][:1] not in _SPECIAL:
                        j += 1
                    continue
                if not raw.strip(" \t\v\f"):
                    previous_blank = True
                    j += 1
                    continue
                if (c == " " or c == "\t") and _has_continuation_indent(raw, width):
                    if previous_blank and not starts_with_text and not has_text:
                        break  # CommonMark example 280: an item starts with at most one blank line
                    has_text = has_text or bool(raw.strip())
                    previous_blank = False
                    j += 1
                    continue
                if c == quick and raw[1:2] in ("", " ", "\t") and (c == "+" or raw.strip(not_a_break) or raw.count(c) < 3):
                    item = ("", c, raw[1:])  # the next item (not a thematic break)
                    j += 1
                    break
                b = _break(LIST_BREAK_RULES, src, starts[j], raw, indent)
                if b is None or b.lastgroup != "thematic_break":
                    m2 = item_re.match(_expand_leading_tabs(raw))
                    if m2:
                        item = (m2.group("listitem_1"), m2.group("listitem_2"), m2.group("listitem_3"))
                        j += 1
                        break
                if b is not None:
                    if b.lastgroup == "list":
                        break
                    index = len(tokens)
                    end_pos = self._dispatch(b.lastgroup, b, j)  # type: ignore[arg-type]
                    if end_pos:
                        break
                if previous_blank:
                    break
                has_text = has_text or bool(raw.strip())
                j += 1  # a lazy continuation line
        self.depth -= 1
        if end_pos:
            tokens.insert(index, token)  # before the block that ended it
            return end_pos
        tokens.append(token)
        return j

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _Decline("containers nested too deep")


def _heading(hashes: str, rest: str, line: int) -> dict[str, Any]:
    text = rest.strip(string.whitespace)
    if "#" in text:  # closing hashes: the only thing the trim can remove
        text = ATX_HEADING_TRIM.sub("", text)
    return {"type": "heading", "text": text, "attrs": {"level": len(hashes)}, "style": "atx", "line": line}


def _is_indent_code_line(line: str) -> bool:
    """block_parser._is_indent_code_line (the line without its newline)."""
    if len(line) > 4 and line.startswith("    "):
        return True
    index = len(line) - len(line.lstrip(" "))
    return index + 1 < len(line) and line[index] == "\t"


def _quote_content(line: str) -> str | None:
    """block_parser._parse_block_quote_line, without the newline: the text after '>', or None."""
    m = _QUOTE_LINE.match(line)
    if m is None:
        return None
    text = m.group(1)
    tab = _LEADING_TAB.match(text)
    if tab:
        text = tab.group(1) + " " * (3 - len(tab.group(1))) + text[tab.end() :]
    return text[1:] if text[:1] == " " else text


def _continue_width(text: str, leading: int) -> tuple[str, int]:
    """list_parser._compile_continue_width: the item's first text, and the indent that continues it."""
    text = _expand_leading_tabs(text, leading)
    if _LINE_HAS_TEXT.match(text):
        indent = len(text) - len(text.lstrip(" "))
        space_width = 1 if indent >= 5 else indent
        return text[space_width:] + "\n", leading + space_width
    return "", leading + 1


def _has_continuation_indent(line: str, columns: int) -> bool:
    spaces = len(line) - len(line.lstrip(" "))
    if spaces >= columns:
        return True
    if line[spaces : spaces + 1] != "\t":
        return False
    width = 0
    for char in line:
        if char == " ":
            width += 1
        elif char == "\t":
            width += 4 - width % 4
        else:
            break
        if width >= columns:
            return True
    return False


def _expand_leading_tabs(line: str, column: int = 0) -> str:
    spaces = len(line) - len(line.lstrip(" "))
    if line[spaces : spaces + 1] != "\t":
        return line
    parts = []
    index = 0
    while index < len(line):
        char = line[index]
        if char == " ":
            parts.append(" ")
            column += 1
        elif char == "\t":
            size = 4 - column % 4
            parts.append(" " * size)
            column += size
        else:
            break
        index += 1
    return "".join(parts) + line[index:]


@lru_cache(maxsize=None)
def _fast_forward(marker: str, width: int) -> re.Pattern[str] | None:
    """The lines an item of ``marker`` (one digit, or a bullet; one space after it) cannot end on, in any number."""
    if len(marker) == 1:  # a bullet: not a thematic break made of it
        item = re.escape(marker) + r"[ ](?=\S)" + (r"(?![%s \t]*\n)" % re.escape(marker) if marker != "+" else "")
    elif len(marker) == 2 and marker[0].isdigit():
        item = r"[0-9]" + re.escape(marker[1]) + r"[ ](?=\S)"
    else:
        return None
    cont = r"[ ]{%d}(?=[^\n]*\S)[^\n]*\n" % width
    item += r"[^\n]*\n"
    lazy = r"[^\s`~#=\-_*+>\[<0-9][^\n]*\n"  # text a lazy continuation line starts with, after a line that is not blank
    return re.compile(r"(?:(?:[ \t\v\f]*\n)+(?=%s|%s)|%s|%s|%s)*" % (cont, item, cont, item, lazy))


def _item_pattern(bullet: str, leading: int) -> re.Pattern[str]:
    key = (bullet, min(leading, 3))
    found = _list_items.get(key)
    if found is None:
        found = _list_items[key] = re.compile(
            r"^(?P<listitem_1> {0," + str(key[1]) + "})" r"(?P<listitem_2>" + bullet + ")" r"(?P<listitem_3>[ \t]*|[ \t][^\n]+)$"
        )
    return found


def list_break_sc(leading: int) -> re.Pattern[str]:
    """list_parser._compile_list_break_sc: an item narrower than three columns lets fewer spaces break it."""
    return _break_sc(LIST_BREAK_RULES, min(leading, 3), True)


def _break(rules: tuple[str, ...], src: str, start: int, line: str, indent: int = 3) -> re.Match[str] | None:
    """The list's (``indent`` < 3: narrower than three columns) or the quote's break pattern matched
    at ``start``, without compiling the block-HTML rule (66 tag names: the costliest pattern to
    compile) for lines it cannot match: of these rules, only it matches a line whose first
    character after the spaces is '<'."""
    in_list = rules is LIST_BREAK_RULES
    if line.lstrip(" ")[:1] == "<":
        return _break_sc(("block_html",), indent, in_list).match(src, start)
    return _break_sc(_WITHOUT_HTML[rules], indent, in_list).match(src, start)


@lru_cache(maxsize=None)
def _break_sc(rules: tuple[str, ...], indent: int, behind: bool) -> re.Pattern[str]:
    """A list's break patterns (``behind``: each after a newline, as list_parser writes them), or a quote's (compile_sc)."""
    if not behind:
        return compile_sc(rules)
    pairs = [(name, SPECIFICATION[name]) for name in rules]
    if indent < 3:
        pairs = [(name, pattern.replace(" {0,3}", " {0,%d}" % indent, 1)) for name, pattern in pairs]
    return re.compile("|".join(r"(?P<%s>(?<=\n)%s)" % pair for pair in pairs), re.M)


_WITHOUT_HTML: dict[tuple[str, ...], tuple[str, ...]] = {
    rules: tuple(rule for rule in rules if rule != "block_html") for rules in (LIST_BREAK_RULES, QUOTE_BREAK_RULES)
}
