"""Findings -> text for a terminal, workflow commands for GitHub Actions, or JSON for tools."""

from __future__ import annotations

import json

from bot.core.linter import Finding
from bot.core.mdtext import code, inert, table_cell
from bot.core.rules import WARNING

FORMATS = ("text", "github", "json")


def text(findings: list[Finding]) -> list[str]:
    return [f"{f.path}:{f.line}: {f.code} {f.name} {f.message}" for f in findings]


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


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


def as_json(findings: list[Finding], files_checked: int) -> str:
    return json.dumps({"findings": [f.as_json() for f in findings], "files_checked": files_checked}, indent=2, ensure_ascii=False)


def markdown_summary(findings: list[Finding], files_checked: int, cfg) -> str:
    """A Markdown report for a CI job summary: one table row per finding, linked to its rule."""
    errors = sum(f.is_error for f in findings)
    lines = ["## challenge-bot", "", summary(errors, len(findings) - errors, files_checked), ""]
    if findings:
        lines += ["| File | Line | Rule | Problem |", "| --- | ---: | --- | --- |"]
        for f in findings:
            lines.append(f"| {table_cell(code(f.path))} | {f.line} | [{f.code} {f.name}]({cfg.rule_url(f.code, f.name)}) | {inert(table_cell(f.message))} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def summary(errors: int, warnings: int, files_checked: int) -> str:
    files = f"{files_checked} file{'s' if files_checked != 1 else ''} checked"
    if not errors and not warnings:
        return f"All clear: {files}, no problems found."
    parts = [f"{errors} error{'s' if errors != 1 else ''}"] + ([f"{warnings} warning{'s' if warnings != 1 else ''}"] if warnings else [])
    return f"Found {' and '.join(parts)} ({files})."
