"""The check result that travels from the read-only pull-request job to the reporting job.

Written by ``challenge-bot check --result FILE`` next to the pull request's
code; read by ``challenge-bot report`` in a job that holds a write token. To
the reader it is untrusted data: size-capped, validated field by field, and
cross-checked against GitHub (only paths the pull request changes, only rule
codes the bot knows). Nothing in it is executed or trusted for identity: the
pull request number comes from the event.
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

from bot.core.findings import Finding, Fix
from bot.core.formats import json_text
from bot.core.index import Record
from bot.core.rules import ERROR, REGISTRY, WARNING

VERSION = 2  # 2: findings are Finding.as_json(), with their line text and Fix edits
MAX_BYTES = 5 * 1024 * 1024
MAX_FINDINGS = 10_000
MAX_TEXT = 2_000
_SHA = re.compile(r"[0-9a-f]{40}")


class ResultError(Exception):
    """The result file is not one the bot wrote, or was tampered with."""


def dump(head_sha: str, checked: list[str], findings: list[Finding], records: list[Record]) -> str:
    data = {
        "version": VERSION,
        "head_sha": head_sha,
        "checked": checked,
        "findings": [f.as_json() for f in findings],
        "records": [r.as_json() for r in records],
    }
    return json_text(data, indent=1) + "\n"


class Result(NamedTuple):
    head_sha: str
    checked: list[str]
    findings: list[Finding]
    records: list[Record]


def load(raw: bytes) -> Result:
    """Parse and validate a result file's bytes; ResultError says what is wrong."""
    if len(raw) > MAX_BYTES:
        raise ResultError(f"the result file is {len(raw)} bytes; at most {MAX_BYTES} are accepted")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ResultError(f"the result file is not JSON: {exc}") from None
    _expect(isinstance(data, dict) and data.get("version") == VERSION, "unknown result format (version)")
    head = data.get("head_sha")
    _expect(isinstance(head, str) and bool(_SHA.fullmatch(head)), "head_sha must be a 40-character hex commit id")
    items = data.get("findings")
    _expect(isinstance(items, list) and len(items) <= MAX_FINDINGS, "findings must be a list (at most 10,000)")
    records = data.get("records")
    _expect(isinstance(records, list) and len(records) <= MAX_FINDINGS, "records must be a list")
    checked = data.get("checked")
    _expect(isinstance(checked, list) and len(checked) <= MAX_FINDINGS, "checked must be a list")
    checked_paths = [_path({"path": p}, f"checked[{i}]") for i, p in enumerate(checked)]
    findings = [_finding(item, f"findings[{index}]") for index, item in enumerate(items)]
    return Result(head, checked_paths, findings, [_record(r, f"records[{i}]") for i, r in enumerate(records)])


def _expect(condition: bool, problem: str) -> None:
    if not condition:
        raise ResultError(problem)


def _text(item: dict, key: str, where: str, limit: int = MAX_TEXT, allow_empty: bool = False) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not (allow_empty or value) or len(value) > limit:
        raise ResultError(f"{where}.{key} must be a string of at most {limit} characters")
    _expect("\0" not in value, f"{where}.{key} contains a NUL byte")
    return value


def _path(item: dict, where: str) -> str:
    path = _text(item, "path", where, 500)
    parts = path.split("/")
    _expect(not path.startswith("/") and ".." not in parts and "\\" not in path and all(parts), f"{where}.path {path!r} is not a plain relative path")
    return path


def _line(value: Any, where: str) -> int:
    _expect(isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 10_000_000, f"{where} must be a line number")
    return value


def _finding(item: Any, where: str) -> Finding:
    _expect(isinstance(item, dict), f"{where} must be an object")
    code = _text(item, "code", where, 5)
    rule = REGISTRY.get(code)
    _expect(rule is not None, f"{where}.code {code!r} is not a rule this bot knows")
    assert rule is not None
    _expect(item.get("name") == rule.name, f"{where}.name does not match rule {code}")
    severity = item.get("severity")
    _expect(severity in (ERROR, WARNING), f"{where}.severity must be error or warning")
    fix = item.get("fix")
    if fix is not None:
        _expect(rule.fixable and isinstance(fix, dict), f"{where}.fix is only allowed for fixable rules")
        fix = _fix(fix, f"{where}.fix")
    line_text = _text(item, "line_text", where, MAX_TEXT, allow_empty=True)
    return Finding(_path(item, where), _line(item.get("line"), f"{where}.line"), code, rule.name, severity, _text(item, "message", where), fix, line_text)


def _fix(item: dict, where: str) -> Fix:
    # A replacement may become a suggestion block; the review picks a fence it cannot close.
    replacement = _text(item, "replacement", where, MAX_TEXT, allow_empty=True)
    start = _line(item.get("start_line"), f"{where}.start_line")
    raw_end = item.get("end_line")
    inserts = type(raw_end) is int and raw_end == start - 1
    end = start - 1 if inserts else _line(raw_end, f"{where}.end_line")
    _expect(inserts or start <= end <= start + 1, f"{where} replaces at most two lines, or inserts before one")
    # A replacement becomes a one-click suggestion: keep it to what a heading fix needs.
    _expect(inserts or ("\n" not in replacement and "\r" not in replacement and "`" not in replacement), f"{where}.replacement must be one line without backticks")
    return Fix(start, end, replacement, _text(item, "description", where, 500))


def _record(item: Any, where: str) -> Record:
    _expect(isinstance(item, dict), f"{where} must be an object")
    lists = {}
    for key in ("tags", "sources", "related"):
        values = item.get(key, [] if key == "related" else None)  # results from before ids have no related
        _expect(isinstance(values, list) and len(values) <= 100 and all(isinstance(v, str) and len(v) <= 500 for v in values), f"{where}.{key} must be a list of strings")
        lists[key] = tuple(values)
    return Record(
        _text(item, "model", where, 100),
        _path(item, where),
        _text(item, "title", where, 500),
        _text(item, "summary", where, 1000, allow_empty=True),
        lists["tags"],
        lists["sources"],
        _text({"id": item.get("id", "")}, "id", where, 50, allow_empty=True),
        lists["related"],
    )
