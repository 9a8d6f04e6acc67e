"""The engine: run the registered rules over one file or over the index, and build findings.

Pure: callers hand in paths and bytes. ``bot.local.workspace`` reads files for the
CLI; the App and the Actions report read them through the GitHub gateway.
"""

from __future__ import annotations

from typing import NamedTuple

from bot.core import index as index_mod
from bot.core.config import Config
from bot.core.context import FileContext, RepoContext
from bot.core.paths import is_case_study, is_skipped
from bot.core.rules import ERROR, REGISTRY, Rule, by_scope


class Fix(NamedTuple):
    """Replace lines ``start_line``..``end_line`` (inclusive) with ``replacement``."""

    start_line: int
    end_line: int
    replacement: str


class Finding(NamedTuple):
    path: str
    line: int
    code: str
    name: str
    severity: str
    message: str
    fix: Fix | None = None

    @property
    def fixable(self) -> bool:
        return REGISTRY[self.code].fixable

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def as_json(self) -> dict:
        return {
            "path": self.path,
            "line": self.line,
            "code": self.code,
            "name": self.name,
            "severity": self.severity,
            "message": self.message,
            "fixable": self.fixable,
        }


class FileResult:
    """What linting one file gave: its findings, its index record and the parsed context."""

    __slots__ = ("findings", "record", "context", "checked")

    def __init__(
        self,
        findings: list[Finding] | None = None,
        record: index_mod.Record | None = None,
        context: FileContext | None = None,
        checked: bool = True,  # False for files the linter skips (README.md, index.json)
    ) -> None:
        self.findings = findings or []
        self.record, self.context, self.checked = record, context, checked

    def line_texts(self) -> dict[int, str]:
        """The text of each finding's line (fingerprints and suggestions need it)."""
        if self.context is None:
            return {}
        doc = self.context.doc
        return {f.line: doc.line_text(f.line) for f in self.findings}


def sort_key(f: Finding) -> tuple:
    return (f.path, f.line, f.code, f.message)


def _run(rules: list[Rule], ctx, cfg: Config, path: str) -> list[Finding]:
    findings = []
    for r in rules:
        if not cfg.rule_enabled(r.code):
            continue
        for item in r.check(ctx):
            line, message, fix, where = (*item, None, None)[:4]
            fix = Fix(*fix) if fix else None
            findings.append(Finding(where or path, line, r.code, r.name, r.severity, message, fix))
    return findings


def lint_file(path: str, data: bytes | None, cfg: Config, size: int | None = None) -> FileResult:
    """Lint one file given by its repository-relative path and bytes (None if too large to read)."""
    size = len(data) if size is None else size
    ctx = FileContext(path, cfg, data, size)
    if is_skipped(ctx.place, cfg):
        return FileResult(checked=False)
    findings = _run(by_scope("path"), ctx, cfg, ctx.place.path) if ctx.place.inside else []
    if not ctx.place.is_markdown:
        return FileResult(findings)
    unreadable = _run(by_scope("bytes"), ctx, cfg, ctx.place.path)
    findings += unreadable
    if unreadable or data is None:
        return FileResult(sorted(findings, key=sort_key))
    findings += _run(by_scope("document"), ctx, cfg, ctx.place.path)
    record = index_mod.record_for(ctx) if is_case_study(ctx.place.path, cfg) else None
    return FileResult(sorted(findings, key=sort_key), record, ctx)


def lint_text(path: str, text: str, cfg: Config) -> list[Finding]:
    """Lint Markdown text as if it were the file at ``path``."""
    return lint_file(path, text.encode("utf-8"), cfg).findings


class IndexState(NamedTuple):
    """The generated files as they should be; ``readme`` is None when the markers are unusable."""

    readme: str | None
    json: str
    problem: str | None


def expected_index(records: list[index_mod.Record], readme_text: str | None, cfg: Config) -> IndexState:
    block = index_mod.render_block(records, cfg)
    try:
        readme = index_mod.replace_block(readme_text or "", block, cfg)
        problem = None
    except index_mod.MarkersMissing as exc:
        readme, problem = None, str(exc)
    return IndexState(readme, index_mod.render_json(records, cfg), problem)


def lint_index(records: list[index_mod.Record], readme_text: str | None, json_text: str | None, cfg: Config) -> list[Finding]:
    """CS4xx over the README and index.json as they are, against what the records generate."""
    state = expected_index(records, readme_text, cfg)
    ctx = RepoContext(cfg, readme_text, state.readme, state.problem, json_text, state.json)
    return sorted(_run(by_scope("repository"), ctx, cfg, cfg.readme), key=sort_key)
