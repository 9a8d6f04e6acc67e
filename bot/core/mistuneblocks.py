"""The slow path: root-level blocks from mistune's own block parser, each stamped with its first line.

mistune 3 keeps no source positions (lepture/mistune#218), so the parser below
stamps every root-level block token with the 1-based line its match started
on. It relies on mistune internals, which is why ``pyproject.toml`` pins the
mistune minor version. ``bot.core.fastblocks`` gives the same tokens for the
documents it accepts, without importing mistune; this module parses the rest
and is the reference the differential tests hold the fast path to.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Any

from mistune.block_parser import BlockParser
from mistune.core import BlockState

from bot.core import fastblocks


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
        assert self.specification["block_html"] != pattern, "mistune's block_html pattern changed; re-check mistuneblocks.py"
        assert self.specification["block_html"] == fastblocks.SPECIFICATION["block_html"], "fastblocks must follow the same change"

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


PARSER = _LineParser()


def tokens(lines: list[str], first_line: int) -> list[dict[str, Any]]:
    """Root-level block tokens from mistune, each stamped with its first line, in line order."""
    src = "\n".join(lines) + "\n"
    state = _LineState()
    state.process(src)
    state.first_line = first_line
    state.line_starts = [0] + [m.end() for m in re.finditer("\n", src)]
    PARSER.parse(state)
    found = [t for t in state.tokens if t["type"] != "blank_line"]
    if any("line" not in t for t in found):
        # mistune puts a quote or list before a paragraph it did not start when the block
        # that ended it continued an earlier paragraph ("Para\n> q\n2. x"): give it a line, keep the order sane.
        previous = first_line
        for token in found:
            previous = token.setdefault("line", previous)
        found.sort(key=lambda t: t["line"])
    return found
