"""Findings -> text for a terminal, workflow commands for GitHub Actions, or JSON for tools.

Paths and messages come from the files checked: every format shows their control and
bidirectional-override characters as escapes (``bot.core.mdtext.printable``), so a file name
cannot forge a second line (a workflow command) or reorder what a reader sees.
"""

from __future__ import annotations

import json

from bot.core import messages as m
from bot.core.config_model import Config
from bot.core.findings import Finding
from bot.core.linter import IndexChange
from bot.core.mdtext import HIDDEN_BEYOND_C0, code, inert, printable, table_cell
from bot.core.paths import is_case_study
from bot.core.rules import WARNING

FORMATS = ("text", "github", "json")


def text(findings: list[Finding], cfg: Config | None = None, quiet: bool = False) -> list[str]:
    """``path:line: severity CODE name message``, with ``[*]`` when ``--fix`` repairs it and, unless
    ``quiet`` (or without a config), the rule's docs URL, as ruff prints its findings."""
    out = []
    for f in findings:
        fixable = " [*]" if f.fix is not None else ""
        docs = "" if quiet or cfg is None else f" ({cfg.rule_url(f.code, f.name)})"
        out.append(f"{printable(f.path)}:{f.line}: {f.severity} {f.code} {f.name}{fixable} {printable(f.message)}{docs}")
    return out


def _escape_data(value: str) -> str:
    return printable(value).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github(findings: list[Finding]) -> list[str]:
    """Workflow commands, so Actions shows each finding as an annotation on the diff."""
    out = []
    for f in findings:
        command = "warning" if f.severity == WARNING else "error"
        props = f"file={_escape_property(f.path)},line={f.line},title={_escape_property(f'{f.code} {f.name}')}"
        out.append(f"::{command} {props}::{_escape_data(f.message)}")
    return out


def as_json(
    findings: list[Finding], files_checked: int, suppressed: list[Finding] | None = None, cfg: Config | None = None, index: dict | None = None
) -> str:
    """Every finding, every suppressed finding with what suppressed it, and the rules switched off;
    for a check of the whole repository without ``--index``, ``index``: the generated files that are
    stale and how the case studies' entries change."""
    data = {
        "findings": [f.as_json() for f in findings],
        "files_checked": files_checked,
        "suppressed": [f.as_json() for f in suppressed or []],
        "ignored_rules": sorted(cfg.ignore) if cfg is not None else [],
    }
    if index is not None:
        data["index"] = index
    return json_text(data)


def index_note(changes: list[IndexChange], files: list[str], cfg: Config) -> str:
    """What ``check`` says on a branch whose index is stale: information, not a finding. ``files``:
    the generated files that change, and the case studies whose generated footer does."""
    rows = "".join(m.INDEX_NOTE_CHANGE.format(change=c.change, path=printable(c.path), title=printable(c.title)) for c in changes)
    footers = sorted(f for f in files if is_case_study(f, cfg))
    shown = [printable(f) for f in sorted(set(files) - set(footers))] + [m.INDEX_NOTE_FOOTER.format(path=printable(f)) for f in footers]
    return m.INDEX_NOTE.format(changes=m.INDEX_NOTE_HEAD + rows if rows else "", files=", ".join(shown))


def json_text(data: object, indent: int | None = 2) -> str:
    """JSON that keeps non-ASCII text readable but writes DEL, C1 controls and bidi characters as
    ``\\uXXXX`` escapes (JSON escapes the C0 controls itself): the same data, nothing hidden."""
    dumped = json.dumps(data, indent=indent, ensure_ascii=False)
    return HIDDEN_BEYOND_C0.sub(lambda m: f"\\u{ord(m[0]):04x}", dumped)


def markdown_summary(findings: list[Finding], files_checked: int, cfg: Config) -> str:
    """A Markdown report for a CI job summary: one table row per finding, linked to its rule."""
    errors = sum(f.is_error for f in findings)
    lines = ["## challenge-bot", "", summary(errors, len(findings) - errors, files_checked), ""]
    if findings:
        lines += ["| File | Line | Rule | Problem |", "| --- | ---: | --- | --- |"]
        for f in findings:
            lines.append(f"| {table_cell(code(f.path))} | {f.line} | [{f.code} {f.name}]({cfg.rule_url(f.code, f.name)}) | {table_cell(inert(f.message))} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def summary(errors: int, warnings: int, files_checked: int) -> str:
    files = f"{files_checked} file{'s' if files_checked != 1 else ''} checked"
    if not errors and not warnings:
        return f"All clear: {files}, no problems found."
    parts = [f"{errors} error{'s' if errors != 1 else ''}"] + ([f"{warnings} warning{'s' if warnings != 1 else ''}"] if warnings else [])
    return f"Found {' and '.join(parts)} ({files})."
