"""Markdown text -> Document: front matter and root-level blocks with line numbers.

No I/O and no configuration here. The root-level blocks come from
``bot.core.fastblocks``, which follows mistune's block parser line by line
without importing it; the few documents it declines go to mistune itself
(``bot.core.mistuneblocks``). ``tests/test_fastblocks.py`` holds the two to
exact agreement, and ``tests/test_document.py`` checks every heading line
against markdown-it-py.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

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


_INLINE_PARSER: Any = None  # mistune's InlineParser, built on first use: most headings are plain text


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
    return to_blocks(tokens, lines, first_line)


def to_blocks(tokens: list[dict[str, Any]], lines: list[str], first_line: int) -> tuple[Block, ...]:
    """Blocks from root-level tokens (either parser's), each ending on its last non-blank line."""
    blocks = []
    following = [token["line"] for token in tokens[1:]]
    following.append(first_line + len(lines))
    for token, next_line in zip(tokens, following):
        line = token["line"]
        # A block ends on the last non-blank line before the next one starts.
        end = next_line - 1
        while end > line and not lines[end - first_line].strip():
            end -= 1
        if token["type"] == "paragraph":  # most blocks: built here, without a call
            blocks.append(_new(Block, ("paragraph", line, end, 0, token["text"], "")))
        else:
            blocks.append(_to_block(token, end))
    return tuple(blocks)


def mistune_tokens(lines: list[str], first_line: int) -> list[dict[str, Any]]:
    """Root-level block tokens from mistune, each stamped with its first line."""
    from bot.core import mistuneblocks  # imports mistune (a third of start-up): only for documents the fast path declines

    return mistuneblocks.tokens(lines, first_line)


def _to_block(token: dict[str, Any], end_line: int) -> Block:
    kind = token["type"]
    # tuple.__new__ skips the NamedTuple's keyword handling: a document has a hundred blocks.
    if kind == "paragraph":
        return _new(Block, (kind, token["line"], end_line, 0, token["text"], ""))
    if kind == "heading":
        text = inline_text(token["text"])
        return _new(Block, (kind, token["line"], end_line, token["attrs"]["level"], text, token.get("style", "atx")))
    if kind == "block_html":
        raw = token["raw"]
        if not _HTML_COMMENT.sub("", raw).strip():
            kind = "html_comment"
        return _new(Block, (kind, token["line"], end_line, 0, raw, ""))
    return _new(Block, (kind, token["line"], end_line, 0, "", ""))  # code, lists, quotes, breaks: no rule reads their text


_new = tuple.__new__


def inline_text(markdown: str) -> str:
    """The plain text of inline Markdown: what a reader sees, markup removed."""
    if not _INLINE_MARKUP.search(markdown):
        return " ".join(markdown.split())
    global _INLINE_PARSER
    if _INLINE_PARSER is None:
        from mistune.inline_parser import InlineParser  # only for headings with markup: most are plain text

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
