"""Markdown text -> Document: front matter and root-level blocks with line numbers.

No I/O and no configuration here. mistune 3 keeps no source positions
(lepture/mistune#218), so the parser below stamps every root-level block
token with the 1-based line its match started on. It relies on mistune
internals, which is why ``pyproject.toml`` pins the mistune minor version and
``tests/test_document.py`` checks every heading line against markdown-it-py.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Any, NamedTuple

from mistune.block_parser import BlockParser
from mistune.core import BlockState
from mistune.inline_parser import InlineParser

from bot.core import fastblocks

BOM = "\ufeff"
_FRONT_MATTER_FENCE = re.compile(r"---[ \t]*")
_FRONT_MATTER_END = re.compile(r"(?:---|\.\.\.)[ \t]*")
_INLINE_MARKUP = re.compile(r"[\\`*_\[\]<>&!~]")
_HTML_COMMENT = re.compile(r"\s*<!--.*?-->\s*", re.S)


class FrontMatter(NamedTuple):
    """The raw YAML between the ``---`` fences; ``closed`` is False when the end fence is missing."""

    text: str
    start_line: int  # line of the opening fence
    end_line: int  # line of the closing fence (or the last line when unclosed)
    closed: bool


class Block(NamedTuple):
    """One root-level block: its kind, its first line and, for headings, level and plain text."""

    kind: str
    line: int
    end_line: int
    level: int = 0
    text: str = ""
    style: str = ""

    @property
    def is_heading(self) -> bool:
        return self.kind == "heading"


class Document(NamedTuple):
    """A parsed Markdown file: the lines as written, its front matter and root-level blocks."""

    lines: tuple[str, ...]
    front_matter: FrontMatter | None
    blocks: tuple[Block, ...]
    newline: str = "\n"
    has_bom: bool = False

    @property
    def headings(self) -> tuple[Block, ...]:
        return tuple(b for b in self.blocks if b.is_heading)

    def line_text(self, line: int) -> str:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""

    @property
    def last_line(self) -> int:
        return max(len(self.lines), 1)


class _LineState(BlockState):
    """Block state that knows where each line starts, so offsets map to line numbers."""

    line_starts: list[int]
    first_line: int

    def line_at(self, offset: int) -> int:
        return self.first_line + bisect_right(self.line_starts, offset) - 1

    def add_paragraph(self, text: str) -> None:
        last = self.last_token()
        starts_new = not (last and last["type"] == "paragraph")
        super().add_paragraph(text)
        # Setext headings begin life as paragraphs, so a paragraph must carry
        # its own start line before the underline turns it into a heading.
        if starts_new and self.parent is None:
            self.tokens[-1].setdefault("line", self.line_at(self.cursor))


# The rules mistune checks to end a block quote's lazy continuation. CommonMark
# (and GitHub) also end it at an ATX heading; mistune 3.4 does not, and would
# swallow "## Learnings" right after a quoted line into the quote.
_QUOTE_BREAK_RULES = ["blank_line", "thematic_break", "fenced_code", "list", "block_html"]


class _LineParser(BlockParser):
    state_cls = _LineState

    def __init__(self) -> None:
        super().__init__()
        # mistune's block-HTML start wants a space or a line end after the
        # tag name, so "<div>" right after a list item or a quoted line is
        # taken as lazy text. CommonMark (and GitHub) start an HTML block
        # there. A lookahead keeps the match itself as mistune expects it.
        pattern = self.specification["block_html"]
        self.specification["block_html"] = pattern.replace(r"(?:[ \t]+|\n|$))", r"(?=[ \t]|\n|$|/?>))", 1)
        assert self.specification["block_html"] != pattern, "mistune's block_html pattern changed; re-check document.py"

    def compile_sc(self, rules: list[str] | None = None) -> re.Pattern[str]:
        if rules == _QUOTE_BREAK_RULES:
            rules = [*rules, "atx_heading"]
        return super().compile_sc(rules)

    def parse(self, state: BlockState, rules: list[str] | None = None) -> None:
        # Lists and block quotes find their own extent while scanning the
        # parent; their contents never hold a section, so they are not parsed.
        if state.parent is not None:
            state.cursor = state.cursor_max
            return
        super().parse(state, rules)

    def parse_method(self, m: re.Match[str], state: BlockState) -> int | None:
        if state.parent is not None:
            return super().parse_method(m, state)
        before = len(state.tokens)
        result = super().parse_method(m, state)
        _stamp(state, before, m.start())
        return result

    def _parse_indent_code_fast(self, state: BlockState) -> int | None:
        # This fast path bypasses parse_method, so it is stamped separately.
        if state.parent is not None:
            return super()._parse_indent_code_fast(state)
        before, start = len(state.tokens), state.cursor
        result = super()._parse_indent_code_fast(state)
        _stamp(state, before, start)
        return result


def _stamp(state: BlockState, before: int, offset: int) -> None:
    # A list or block quote may parse the block that ends it in the same call;
    # that inner call stamped its own token first, and setdefault keeps it.
    assert isinstance(state, _LineState)
    line = state.line_at(offset)
    for token in state.tokens[before:]:
        token.setdefault("line", line)


_BLOCK_PARSER = _LineParser()
_INLINE_PARSER: InlineParser | None = None  # built on first use: most headings are plain text


def split_lines(text: str) -> list[str]:
    """Split like mistune does: CRLF, CR and LF each end one line."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")


def parse(text: str) -> Document:
    """Parse Markdown text (BOM and CRLF allowed) into a Document."""
    has_bom = text.startswith(BOM)
    if has_bom:
        text = text[1:]
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = split_lines(text)
    if lines and lines[-1] == "":
        lines.pop()
    front_matter, body_start = _split_front_matter(lines)
    blocks = _parse_blocks(lines[body_start:], first_line=body_start + 1)
    return Document(tuple(lines), front_matter, blocks, newline, has_bom)


def _split_front_matter(lines: list[str]) -> tuple[FrontMatter | None, int]:
    if not lines or not _FRONT_MATTER_FENCE.fullmatch(lines[0]):
        return None, 0
    for index in range(1, len(lines)):
        if _FRONT_MATTER_END.fullmatch(lines[index]):
            text = "\n".join(lines[1:index])
            return FrontMatter(text, 1, index + 1, True), index + 1
    # Unclosed: report it, but parse the whole file as Markdown so the
    # structure rules still see the title and sections.
    return FrontMatter("\n".join(lines[1:]), 1, len(lines), False), 0


def _parse_blocks(lines: list[str], first_line: int) -> tuple[Block, ...]:
    tokens = fastblocks.blocks(lines, first_line)
    if tokens is None:
        tokens = mistune_tokens(lines, first_line)
    blocks = []
    for index, token in enumerate(tokens):
        following = tokens[index + 1]["line"] if index + 1 < len(tokens) else first_line + len(lines)
        blocks.append(_to_block(token, _end_line(token, following, lines, first_line)))
    return tuple(blocks)


def mistune_tokens(lines: list[str], first_line: int) -> list[dict[str, Any]]:
    """Root-level block tokens from mistune, each stamped with its first line."""
    src = "\n".join(lines) + "\n"
    state = _LineState()
    state.process(src)
    state.first_line = first_line
    state.line_starts = [0] + [m.end() for m in re.finditer("\n", src)]
    _BLOCK_PARSER.parse(state)
    return [t for t in state.tokens if t["type"] != "blank_line"]


def _end_line(token: dict[str, Any], following: int, lines: list[str], first_line: int) -> int:
    """The last non-blank line before the next block starts."""
    end = following - 1
    while end > token["line"] and not lines[end - first_line].strip():
        end -= 1
    return end


def _to_block(token: dict[str, Any], end_line: int) -> Block:
    kind = token["type"]
    if kind == "heading":
        return Block(
            "heading",
            token["line"],
            end_line,
            level=token["attrs"]["level"],
            text=inline_text(token["text"]),
            style=token.get("style", "atx"),
        )
    if kind == "block_html" and not _HTML_COMMENT.sub("", token["raw"]).strip():
        kind = "html_comment"
    text = token.get("text") or token.get("raw") or ""
    return Block(kind, token["line"], end_line, text=text)


def inline_text(markdown: str) -> str:
    """The plain text of inline Markdown: what a reader sees, markup removed."""
    if not _INLINE_MARKUP.search(markdown):
        return " ".join(markdown.split())
    global _INLINE_PARSER
    if _INLINE_PARSER is None:
        _INLINE_PARSER = InlineParser()
    tokens = _INLINE_PARSER(markdown.strip(), {"ref_links": {}})
    return " ".join("".join(_plain(tokens)).split())


def _plain(tokens: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for token in tokens:
        if "children" in token:
            out.extend(_plain(token["children"]))
        elif token["type"] in ("text", "codespan"):
            out.append(token.get("raw", ""))
        elif token["type"] in ("softbreak", "linebreak"):
            out.append(" ")
    return out
