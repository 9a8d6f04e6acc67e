"""Hiding findings on purpose, never silently: disable comments in a case study and per-path ignores.

``<!-- challenge-bot: disable=CS303 -->`` (codes separated by commas), as a
block of its own anywhere in the file, switches those rules off for that
file. Suppressed findings are still reported, marked with what hid them, in
``check --format json`` and the Actions result.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from bot.core.document import Document

_DIRECTIVE = re.compile(r"<!--\s*challenge-bot:\s*disable\s*=\s*(.*?)\s*-->", re.S)
_CODE = re.compile(r"CS\d{3}")


class Directives(NamedTuple):
    disabled: dict[str, int]  # what looks like a rule code -> line of the comment that names it
    entries: tuple[tuple[int, str], ...]  # (line, entry as written), for CS306 to check against the registry


def read(doc: Document) -> Directives:
    disabled: dict[str, int] = {}
    entries: list[tuple[int, str]] = []
    for block in doc.blocks:
        if block.kind != "html_comment" or "challenge-bot" not in block.text:
            continue
        for match in _DIRECTIVE.finditer(block.text):
            for entry in (e.strip() for e in match.group(1).split(",")):
                entries.append((block.line, entry))
                if _CODE.fullmatch(entry):
                    disabled.setdefault(entry, block.line)
    return Directives(disabled, tuple(entries))
