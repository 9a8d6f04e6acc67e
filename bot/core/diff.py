"""Unified diffs as GitHub gives them in a pull request's file list (hunks only, no header)."""

from __future__ import annotations

import re

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
NO_NEWLINE = "\\ No newline at end of file"


def new_side_lines(patch: str) -> set[int]:
    """Line numbers of the new file that the diff shows (added or context): where review comments may go."""
    lines: set[int] = set()
    number = 0
    for row in patch.split("\n"):
        hunk = _HUNK.match(row)
        if hunk:
            number = int(hunk[3])
        elif row.startswith(("+", " ")):
            lines.add(number)
            number += 1
        elif row == "" and number:
            # GitHub drops the trailing space of an empty context line.
            lines.add(number)
            number += 1
    return lines


def added_file_text(patch: str | None) -> str | None:
    """The whole content of an added file from its patch, or None if the patch cannot give it all.

    An added file's patch is one hunk ``@@ -0,0 +1,N @@`` of N added lines;
    a missing or truncated patch (GitHub leaves out large diffs) gives None.
    """
    if not patch:
        return None
    rows = patch.split("\n")
    hunk = _HUNK.match(rows[0])
    if not hunk or hunk[1] != "0" or hunk[3] not in ("0", "1"):
        return None
    expected = int(hunk[4]) if hunk[4] is not None else 1
    body = rows[1:]
    final_newline = True
    if body and body[-1] == NO_NEWLINE:
        final_newline = False
        body = body[:-1]
    if body and body[-1] == "" and len(body) == expected + 1:
        body = body[:-1]  # the patch text itself ended with a newline
    if len(body) != expected or not all(row.startswith("+") for row in body):
        return None
    text = "\n".join(row[1:] for row in body)
    return text + "\n" if final_newline and body else text
