"""``--fix``: apply the ``Fix`` edits that findings carry. Knows no rule: a fix is data.

Pure: the file's text and its findings in, the new text and what changed out.
Line endings, the byte-order mark and the final newline are kept as they were.
"""

from __future__ import annotations

from typing import NamedTuple

from bot.core.document import split_lines
from bot.core.findings import Finding


class Change(NamedTuple):
    line: int
    description: str


def apply(text: str, findings: list[Finding] | tuple[Finding, ...]) -> tuple[str, list[Change]]:
    """Apply every finding's fix; the edits never overlap (each rule fixes lines no other rule touches)."""
    fixes = [(f.fix, index, f) for index, f in enumerate(findings) if f.fix is not None]
    if not fixes:
        return text, []
    body = text[1:] if text.startswith("\ufeff") else text
    newline = "\r\n" if "\r\n" in body else "\n"
    lines = split_lines(body)
    final_newline = bool(lines) and lines[-1] == ""
    if final_newline:
        lines.pop()
    # Bottom-up, so earlier line numbers stay valid; for insertions at one place, the last first,
    # so that they end up in the order they were found.
    for fix, _, _ in sorted(fixes, key=lambda item: (item[0].start_line, item[0].end_line, item[1]), reverse=True):
        lines[fix.start_line - 1 : fix.end_line] = fix.replacement.split("\n")
    new = newline.join(lines) + (newline if final_newline or not text else "")
    changes = [Change(f.line, fix.description) for fix, _, f in fixes]
    return ("\ufeff" if text.startswith("\ufeff") else "") + new, sorted(changes, key=lambda c: c.line)
