"""What the engine finds: one ``Finding`` per problem, and the ``Fix`` that repairs it, as data.

A finding is built once, by ``bot.core.linter``, and reaches every front end
unchanged: the text, GitHub and JSON output, the review planner, the Actions
result file (which writes and reads this same shape) and ``--fix``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from bot.core.index import Record

ERROR = "error"
WARNING = "warning"


class Fix(NamedTuple):
    """Replace lines ``start_line``..``end_line`` (inclusive) with ``replacement``.

    ``end_line == start_line - 1`` inserts ``replacement`` before ``start_line``
    (past the last line: at the end). ``replacement`` may span several lines.
    """

    start_line: int
    end_line: int
    replacement: str
    description: str  # what applying it does, for `check --fix` to print

    @property
    def inserts(self) -> bool:
        return self.end_line < self.start_line

    def as_json(self) -> dict[str, Any]:
        return self._asdict()


class Finding(NamedTuple):
    path: str
    line: int
    code: str
    name: str
    severity: str
    message: str
    fix: Fix | None = None
    line_text: str = ""  # the text of ``line``: review fingerprints and suggestions need it
    suppressed_by: str | None = None  # set when a disable comment or a per-path ignore hides it

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.path,
            "line": self.line,
            "code": self.code,
            "name": self.name,
            "severity": self.severity,
            "message": self.message,
            "fixable": self.fix is not None,
            "fix": self.fix.as_json() if self.fix else None,
            "line_text": self.line_text,
        }
        if self.suppressed_by is not None:
            data["suppressed_by"] = self.suppressed_by
        return data


def sort_key(f: Finding) -> tuple[str, int, str]:
    # Sorts are stable: findings of one rule on one line keep the order the rule gave them
    # (missing sections in section order), which is also the order their fixes insert in.
    return (f.path, f.line, f.code)


class CheckedFile(NamedTuple):
    """One file as the engine saw it: its findings, the ones suppressed, and its index record.

    ``checked`` is False for files the linter skips (README.md, index.json).
    """

    path: str
    findings: tuple[Finding, ...] = ()
    record: Record | None = None
    checked: bool = True
    suppressed: tuple[Finding, ...] = ()
