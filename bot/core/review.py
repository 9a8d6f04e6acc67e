"""Plan a pull-request review from lint results: check run, sticky summary, inline comments, labels.

Pure: the handlers gather the inputs through the gateway and hand the plan
back to it. The same plan is published by the GitHub App and by the Actions
report command, so both give contributors the same feedback.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from types import MappingProxyType
from typing import Iterable, Mapping, NamedTuple

from bot.core import messages as m
from bot.core.config import Config
from bot.core.diff import new_side_lines
from bot.core.github_data import Annotation, ChangedFile, CheckRun, InlineComment, LabelSpec
from bot.core.index import Record
from bot.core.linter import Finding
from bot.core.mdtext import code, inert, shell_words, table_cell
from bot.core.paths import place
from bot.core.rules import WARNING

SUMMARY_LIMIT = 65_535  # GitHub's cap on check-run summary and text, and on comment bodies
ANNOTATION_MESSAGE_LIMIT = 64 * 1024 - 1
ANNOTATION_TITLE_LIMIT = 255
_FINGERPRINT = re.compile(r"<!-- challenge-bot:fp=([0-9a-f]+) -->")
ABSENCE_RULES = frozenset({"CS203"})


class FileResult(NamedTuple):
    """What the review knows of one changed file: its findings, the text of their lines, its index record."""

    path: str
    findings: tuple[Finding, ...]
    line_texts: Mapping[int, str] = MappingProxyType({})
    record: Record | None = None


class ReviewInput(NamedTuple):
    head_sha: str
    files: tuple[ChangedFile, ...]  # every changed file of the pull request
    results: tuple[FileResult, ...]  # the changed files that were checked
    cfg: Config
    config_error: str | None = None


class InlineCandidate(NamedTuple):
    comment: InlineComment
    fingerprint: str


class LabelPlan(NamedTuple):
    add: tuple[LabelSpec, ...]
    remove: tuple[str, ...]


class ReviewPlan(NamedTuple):
    check_run: CheckRun
    summary: str
    create_summary: bool  # False: only update a summary posted before (nothing is checked any more)
    inline: tuple[InlineCandidate, ...]
    review_body: str


def plan(review: ReviewInput) -> ReviewPlan:
    findings = [f for r in review.results for f in r.findings]
    if review.config_error is not None:
        return _config_error_plan(review)
    check = CheckRun(
        m.CHECK_NAME,
        review.head_sha,
        _conclusion(findings),
        _title(findings, len(review.results)),
        _cut(_summary_body(review, findings, with_footer=False)),
        "",
        tuple(_annotation(f, review.cfg) for f in findings),
    )
    body = _comment(_summary_body(review, findings, with_footer=True))
    return ReviewPlan(check, body, bool(review.results), tuple(_inline(review)), m.REVIEW_BODY)


def _comment(text: str) -> str:
    """The sticky comment: its marker, then the text, within GitHub's size limit."""
    return m.SUMMARY_MARKER + "\n" + _cut(text, SUMMARY_LIMIT - len(m.SUMMARY_MARKER) - 1)


def _config_error_plan(review: ReviewInput) -> ReviewPlan:
    # The error may quote the pull request's own config: keep it inert.
    text = m.CONFIG_BROKEN.format(sha=review.head_sha[:7], error=inert(table_cell(review.config_error or "")))
    check = CheckRun(m.CHECK_NAME, review.head_sha, "failure", m.TITLE_CONFIG, _cut(text), "")
    body = _comment(f"{m.HEADER_FAIL.format(problems='a configuration error')}\n\n{text}")
    return ReviewPlan(check, body, True, (), "")


def failure_check_run(head_sha: str, text: str) -> CheckRun:
    return CheckRun(m.CHECK_NAME, head_sha, "failure", m.REVIEW_FAILED_TITLE, _cut(text), "")


def _conclusion(findings: list[Finding]) -> str:
    if any(f.is_error for f in findings):
        return "failure"
    return "neutral" if findings else "success"


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _problems(findings: list[Finding]) -> str:
    errors = sum(f.is_error for f in findings)
    warnings = len(findings) - errors
    parts = ([_count(errors, "error")] if errors else []) + ([_count(warnings, "warning")] if warnings else [])
    return " and ".join(parts)


def _title(findings: list[Finding], checked: int) -> str:
    files = _count(checked, "file")
    if not checked:
        return m.TITLE_NOTHING
    if not findings:
        return m.TITLE_PASS.format(files=files)
    template = m.TITLE_FAIL if any(f.is_error for f in findings) else m.TITLE_WARN
    return template.format(problems=_problems(findings), files=files)


def _summary_body(review: ReviewInput, findings: list[Finding], with_footer: bool) -> str:
    sha, cfg = review.head_sha[:7], review.cfg
    if not review.results:
        parts = [m.HEADER_NOTHING, m.NOTHING_CHANGED.format(sha=sha, folder=cfg.case_studies_dir)]
    elif not findings:
        parts = [m.HEADER_PASS, m.CHECKED_AT.format(sha=sha, files=_count(len(review.results), "file"))]
    else:
        header = m.HEADER_FAIL if any(f.is_error for f in findings) else m.HEADER_WARN
        parts = [header.format(problems=_problems(findings)), m.CHECKED_AT.format(sha=sha, files=_count(len(review.results), "file"))]
        parts += _finding_tables(findings, cfg)
        paths = sorted({f.path for f in findings})
        parts.append(m.REPRODUCE.format(paths=shell_words(paths)))
        if any(f.fixable or f.code == "CS203" for f in findings):
            parts.append(m.REPRODUCE_FIX.format(command=code("challenge-bot check --fix " + shell_words(paths))))
    if review.results:
        parts.append(_preview(review))
    if with_footer:
        parts.append(m.FOOTER.format(docs=cfg.docs_url))
    return "\n\n".join(parts)


def _finding_tables(findings: list[Finding], cfg: Config) -> list[str]:
    by_path: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        by_path[f.path].append(f)
    tables = []
    for path in sorted(by_path):
        rows = [
            f"| {f.line} | [{f.code} {f.name}]({cfg.rule_url(f.code, f.name)}) | {_cell(f.message)}"
            f"{' (warning)' if f.severity == WARNING else ''} | {m.FIX_HINTS.get(f.code, '')} |"
            for f in by_path[path]
        ]
        tables.append(f"#### {code(path)}\n\n{m.TABLE_HEAD}\n" + "\n".join(rows))
    return tables


def _cell(text: str) -> str:
    """Text from files (or, in Actions, from an artifact) in a table cell: one line, inert."""
    return inert(table_cell(text))


def _preview(review: ReviewInput) -> str:
    cfg = review.cfg
    rows = []
    for result in review.results:
        if result.record is None:
            continue
        r = result.record
        status = "added" if _status(review.files, r.path) == "added" else "updated"
        tags = " ".join(code(t) for t in r.tags)
        rows.append(f"| {status} | {_cell(cfg.models[r.model].name)} | {_cell(r.title)} ({code(r.path)}) | {_cell(r.summary)} | {table_cell(tags)} |")
    for f in review.files:
        gone = f.previous_path if f.status == "renamed" else (f.path if f.status == "removed" else None)
        p = place(gone, cfg) if gone else None
        if p and p.inside and p.is_markdown and len(p.parts) == 2 and p.model in cfg.models and p.parts[1] != "README.md":
            rows.append(f"| removed | {_cell(cfg.models[p.model].name)} | {table_cell(code(gone))} | | |")
    return m.PREVIEW_HEAD + "\n" + "\n".join(rows) if rows else m.PREVIEW_NONE


def _status(files: Iterable[ChangedFile], path: str) -> str:
    return next((f.status for f in files if f.path == path), "modified")


def _cut(text: str, limit: int = SUMMARY_LIMIT) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - len(m.TRUNCATED)] + m.TRUNCATED


def _annotation(f: Finding, cfg: Config) -> Annotation:
    level = "warning" if f.severity == WARNING else "failure"
    message = _cut(f"{f.message}\nDocs: {cfg.rule_url(f.code, f.name)}", ANNOTATION_MESSAGE_LIMIT)
    return Annotation(f.path, f.line, f.line, level, f"{f.code} {f.name}"[:ANNOTATION_TITLE_LIMIT], message)


def fingerprint(path: str, code: str, line_text: str) -> str:
    """Identifies a finding across pushes: the same problem on the same text is commented once."""
    return hashlib.sha1(f"{path}\0{code}\0{line_text.strip()}".encode()).hexdigest()[:16]


def _inline(review: ReviewInput) -> list[InlineCandidate]:
    cfg = review.cfg
    if not cfg.review_inline_comments:
        return []
    patches = {f.path: f.patch for f in review.files}
    out: list[InlineCandidate] = []
    for result in review.results:
        patch = patches.get(result.path)
        visible = new_side_lines(patch) if patch else set()
        for f in result.findings:
            span = (f.fix.start_line, f.fix.end_line) if f.fix else (f.line, f.line)
            if not all(n in visible for n in range(span[0], span[1] + 1)):
                continue
            line_text = result.line_texts.get(f.line, "")
            # A missing section is reported where it would go, not on text that is wrong:
            # what identifies it is the section named in the message.
            fp = fingerprint(f.path, f.code, f.message if f.code in ABSENCE_RULES else line_text)
            body = m.INLINE.format(code=f.code, name=f.name, message=inert(f.message), url=cfg.rule_url(f.code, f.name))
            if f.fix is not None:
                body += "\n\n" + m.SUGGESTION.format(text=f.fix.replacement)
            body += "\n" + m.FINGERPRINT.format(fp=fp)
            start = span[0] if span[0] != span[1] else None
            out.append(InlineCandidate(InlineComment(f.path, span[1], body, start), fp))
    return out


def new_inline(candidates: Iterable[InlineCandidate], existing_bodies: Iterable[str], limit: int) -> list[InlineComment]:
    """The candidates not already commented on (by fingerprint), at most ``limit``, once per fingerprint."""
    seen = {fp for body in existing_bodies for fp in _FINGERPRINT.findall(body)}
    out = []
    for candidate in candidates:
        if candidate.fingerprint in seen:
            continue
        seen.add(candidate.fingerprint)
        out.append(candidate.comment)
    return out[:limit]


def plan_labels(paths: Iterable[str], current: Iterable[str], cfg: Config) -> LabelPlan:
    """The registry labels of the models the pull request touches; only labels the bot owns are removed."""
    touched = {p.model for p in (place(path, cfg) for path in paths) if p.inside and p.model in cfg.models}
    wanted = {cfg.models[folder].label: cfg.models[folder] for folder in touched}
    owned = {model.label for model in cfg.models.values()}
    current = set(current)
    add = tuple(LabelSpec(label, model.color, model.description) for label, model in sorted(wanted.items()) if label not in current)
    remove = tuple(sorted((current & owned) - set(wanted)))
    return LabelPlan(add, remove)
