"""Plan a pull-request review from lint results: check run, sticky summary, inline comments, labels.

Pure: the handlers gather the inputs through the gateway and hand the plan
back to it. The same plan is published by the GitHub App and by the Actions
report command, so both give contributors the same feedback.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from typing import Iterable, NamedTuple

from bot.core import messages as m
from bot.core.commands import KNOWN
from bot.core.config_model import Config
from bot.core.diff import new_side_lines
from bot.core.github_data import Annotation, ChangedFile, CheckRun, InlineComment, LabelSpec
from bot.core.findings import CheckedFile, Finding
from bot.core.mdtext import code, inert, printable, shell_words, table_cell
from bot.core.paths import place
from bot.core.rules import REGISTRY, WARNING

SUMMARY_LIMIT = 65_535  # GitHub's cap on check-run summary and text, and on comment bodies
ANNOTATION_MESSAGE_LIMIT = 64 * 1024 - 1
ANNOTATION_TITLE_LIMIT = 255
# One review makes at most 20 GitHub writes, however many findings there are: the check run takes
# at most 10 requests of 50 annotations, the summary comment 1, the review 1 (one request for all
# its comments), labels the rest (``bot.github.publish``). What is left out is counted in the
# summary, which says how to see everything locally.
MAX_ANNOTATIONS = 500
MAX_INLINE = 25
MAX_LISTED = 100  # findings in the summary's tables
_FINGERPRINT = re.compile(r"<!-- challenge-bot:fp=([0-9a-f]+) -->")


class ReviewInput(NamedTuple):
    head_sha: str
    files: tuple[ChangedFile, ...]  # every changed file of the pull request
    results: tuple[CheckedFile, ...]  # the changed files that were checked
    cfg: Config
    commands: tuple[str, ...] = KNOWN  # the comment commands something answers here (the footer names only those)


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
    """The review, with each finding on the Files-changed tab where ``review.reporter`` puts it."""
    findings = [f for r in review.results for f in r.findings]
    inline = _inline(review)
    # `inline`: a finding that gets a review comment gets no annotation; every other reporter annotates all.
    commented = {id(f) for f, _ in inline} if review.cfg.review_reporter == "inline" else set()
    check = CheckRun(
        m.CHECK_NAME,
        review.head_sha,
        _conclusion(findings),
        _title(findings, len(review.results)),
        _cut(_summary_body(review, findings, with_footer=False)),
        "",
        tuple(_annotation(f, review.cfg) for f in findings if id(f) not in commented)[:MAX_ANNOTATIONS],
    )
    body = _comment(_summary_body(review, findings, with_footer=True))
    return ReviewPlan(check, body, bool(review.results), tuple(c for _, c in inline), m.REVIEW_BODY)


def _comment(text: str) -> str:
    """The sticky comment: its marker, then the text, within GitHub's size limit."""
    return m.SUMMARY_MARKER + "\n" + _cut(text, SUMMARY_LIMIT - len(m.SUMMARY_MARKER) - 1)


def plan_config_error(head_sha: str, error: str) -> ReviewPlan:
    """The review when the config the pull request is checked against cannot be read."""
    # The error may quote the pull request's own config: keep it inert.
    text = m.CONFIG_BROKEN.format(sha=head_sha[:7], error=table_cell(inert(error)))
    check = CheckRun(m.CHECK_NAME, head_sha, "failure", m.TITLE_CONFIG, _cut(text), "")
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
        if len(findings) > MAX_LISTED:
            parts.append(m.NOT_LISTED.format(hidden=_count(len(findings) - MAX_LISTED, "finding"), listed=MAX_LISTED, annotated=MAX_ANNOTATIONS, inline=MAX_INLINE))
        parts += _finding_tables(findings[:MAX_LISTED], cfg)
        paths = sorted({f.path for f in findings})
        parts.append(m.REPRODUCE.format(paths=shell_words(paths)))
        if any(f.fix is not None for f in findings):
            parts.append(m.REPRODUCE_FIX.format(command=code("challenge-bot check --fix " + shell_words(paths))))
    if review.results:
        parts.append(_preview(review))
    if with_footer:
        parts.append(m.FOOTER.format(commands=_commands(review.commands), docs=cfg.docs_url))
    return "\n\n".join(parts)


def _commands(names: tuple[str, ...]) -> str:
    """The footer's sentence on comment commands: only those something answers in this mode."""
    known = [m.FOOTER_COMMAND[name] for name in KNOWN if name in names]
    return m.FOOTER_COMMANDS.format(commands=", ".join(known)) if known else m.FOOTER_NO_COMMANDS


def _finding_tables(findings: list[Finding], cfg: Config) -> list[str]:
    by_path: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        by_path[f.path].append(f)
    tables = []
    for path in sorted(by_path):
        rows = [
            f"| {f.line} | [{f.code} {f.name}]({cfg.rule_url(f.code, f.name)}) | {_cell(f.message)}"
            f"{' (warning)' if f.severity == WARNING else ''} | {REGISTRY[f.code].hint} |"
            for f in by_path[path]
        ]
        tables.append(f"#### {code(path)}\n\n{m.TABLE_HEAD}\n" + "\n".join(rows))
    return tables


def _cell(text: str) -> str:
    """Text from files (or, in Actions, from an artifact) in a table cell: one line, inert."""
    return table_cell(inert(text))


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
        if gone is None:
            continue
        p = place(gone, cfg)
        if p.model is not None and p.inside and p.is_markdown and len(p.parts) == 2 and p.model in cfg.models and p.parts[1] != "README.md":
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
    # Plain text on GitHub, but shown to people: controls and bidi overrides as escapes (the path stays exact: it places the annotation).
    message = _cut(f"{printable(f.message)}\nDocs: {cfg.rule_url(f.code, f.name)}", ANNOTATION_MESSAGE_LIMIT)
    return Annotation(f.path, f.line, f.line, level, f"{f.code} {f.name}"[:ANNOTATION_TITLE_LIMIT], message)


def fingerprint(path: str, code: str, line_text: str) -> str:
    """Identifies a finding across pushes: the same problem on the same text is commented once."""
    return hashlib.sha1(f"{path}\0{code}\0{line_text.strip()}".encode()).hexdigest()[:16]


def _inline(review: ReviewInput) -> list[tuple[Finding, InlineCandidate]]:
    """The review comments ``review.reporter`` asks for, each with its finding: none for
    `annotations`; for `suggestions`, only findings whose fix is a one-click suggestion;
    for `inline` and `both`, every finding on lines of the diff (for `inline`, at most
    ``review.max_inline_comments``: the rest keep their annotations)."""
    cfg = review.cfg
    if cfg.review_reporter == "annotations":
        return []
    patches = {f.path: f.patch for f in review.files}
    out: list[tuple[Finding, InlineCandidate]] = []
    for result in review.results:
        patch = patches.get(result.path)
        visible = new_side_lines(patch) if patch else set()
        for f in result.findings:
            replaces = f.fix is not None and not f.fix.inserts
            if cfg.review_reporter == "suggestions" and not replaces:
                continue
            span = (f.fix.start_line, f.fix.end_line) if f.fix is not None and replaces else (f.line, f.line)
            if not all(n in visible for n in range(span[0], span[1] + 1)):
                continue
            # A finding about something absent (its fix inserts) sits where the thing would go, on
            # text that is not wrong: what identifies it across pushes is its message.
            fp = fingerprint(f.path, f.code, f.message if f.fix is not None and f.fix.inserts else f.line_text)
            body = m.INLINE.format(code=f.code, name=f.name, message=inert(f.message), url=cfg.rule_url(f.code, f.name))
            if f.fix is not None and replaces:
                body += "\n\n" + suggestion(f.fix.replacement)
            body += "\n" + m.FINGERPRINT.format(fp=fp)
            start = span[0] if span[0] != span[1] else None
            out.append((f, InlineCandidate(InlineComment(f.path, span[1], body, start), fp)))
    return out[: inline_limit(cfg)] if cfg.review_reporter == "inline" else out


def inline_limit(cfg: Config) -> int:
    """The most review comments one review posts: the config's number, never above ``MAX_INLINE``."""
    return min(cfg.review_max_inline_comments, MAX_INLINE)


def suggestion(text: str) -> str:
    """A suggestion block whose fence is longer than any run of backticks in the text, so it cannot be closed early."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return m.SUGGESTION.format(fence=fence, text=text)


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
    touched = {p.model for p in (place(path, cfg) for path in paths) if p.inside and p.model is not None and p.model in cfg.models}
    # A model without a label is one only a pull request's own config names: it gets none.
    wanted = {cfg.models[folder].label: cfg.models[folder] for folder in touched if cfg.models[folder].label}
    owned = {model.label for model in cfg.models.values() if model.label}
    current = set(current)
    add = tuple(LabelSpec(label, model.color, model.description) for label, model in sorted(wanted.items()) if label not in current)
    remove = tuple(sorted((current & owned) - set(wanted)))
    return LabelPlan(add, remove)
