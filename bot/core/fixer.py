"""``--fix``: rewrite section-name variants (CS208) and insert stubs for missing sections (CS203).

Pure: FileContext in, new text and a list of what changed out. Line endings,
the byte-order mark and the final newline are kept as they were.
"""

from __future__ import annotations

from typing import NamedTuple

from bot.core.context import FileContext
from bot.core.linter import Finding
from bot.core.template import stub



class Change(NamedTuple):
    line: int
    description: str


def fix(ctx: FileContext, findings: list[Finding]) -> tuple[str, list[Change]]:
    lines = list(ctx.doc.lines)
    changes: list[Change] = []
    # Edits are applied bottom-up so earlier line numbers stay valid.
    edits: list[tuple[int, int, list[str]]] = []
    for f in findings:
        if f.code == "CS208" and f.fix is not None:
            edits.append((f.fix.start_line, f.fix.end_line, f.fix.replacement.split("\n")))
            changes.append(Change(f.line, f"'{ctx.doc.line_text(f.line).strip()}' -> '{f.fix.replacement}'"))
    for line, names in _missing_by_position(ctx).items():
        block = [text for name in names for text in (*stub(ctx.cfg.template, name).rstrip("\n").split("\n"), "")]
        where = f"before line {line}" if line <= len(lines) else "at the end"
        if line > len(lines):
            block = ([""] if lines and lines[-1].strip() else []) + block[:-1]
        edits.append((line, line - 1, block))
        changes.extend(Change(min(line, len(lines) or 1), f"inserted '## {name}' {where}; fill it in") for name in names)
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        lines[start - 1 : end] = replacement
    return _join(ctx, lines), sorted(changes, key=lambda c: c.line)


def _missing_by_position(ctx: FileContext) -> dict[int, list[str]]:
    """Missing section names grouped by the line they go before (past the end: appended)."""
    present = ctx.outline.present()
    firsts = ctx.outline.first_sections
    out: dict[int, list[str]] = {}
    for index, name in enumerate(ctx.cfg.section_names):
        if index in present:
            continue
        later = [h.line for h in firsts if h.index > index]
        out.setdefault(min(later) if later else len(ctx.doc.lines) + 1, []).append(name)
    return out


def _join(ctx: FileContext, lines: list[str]) -> str:
    doc = ctx.doc
    text = doc.newline.join(lines)
    if ctx.text.endswith(("\n", "\r")) or not ctx.text:
        text += doc.newline
    return ("\ufeff" if doc.has_bom else "") + text
