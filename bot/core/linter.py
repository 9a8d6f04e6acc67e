"""The engine: run the registered rules over one file or over the index, and build findings.

Pure: callers hand in paths and bytes. ``bot.local.workspace`` reads files for the
CLI; the App and the Actions report read them through the GitHub gateway.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Callable, Mapping, NamedTuple

from bot.core import dataset, footer, ids
from bot.core import index as index_mod
from bot.core.config_model import Config
from bot.core.context import REGULAR, FileContext, RepoContext
from bot.core.findings import CheckedFile, Finding, sort_key
from bot.core.paths import is_case_study, is_skipped
from bot.core.rules import REGISTRY, RegistryError, Rule, by_scope


def _run(rules: list[Rule], ctx: FileContext | RepoContext, cfg: Config, path: str) -> list[Finding]:
    findings = []
    for r in rules:
        if not cfg.rule_enabled(r.code):
            continue
        for problem in r.check(ctx):
            if problem.fix is not None and not r.fixable:
                raise RegistryError(f"rule {r.code} yielded a fix but is not registered fixable=True")
            where = problem.path or path
            text = ctx.doc.line_text(problem.line) if isinstance(ctx, FileContext) and ctx.parsed else ""
            findings.append(Finding(where, problem.line, r.code, r.name, r.severity, problem.message, problem.fix, text))
    return findings


def lint_file(path: str, data: bytes | None, cfg: Config, size: int | None = None, kind: str = REGULAR, *, record: bool = True) -> CheckedFile:
    """Lint one file given by its repository-relative path and bytes (None if too large to read).

    An entry of another ``kind`` (a link out of the repository, a FIFO: never read) meets only the
    rules over entries, wherever it is."""
    size = len(data or b"") if size is None else size
    ctx = FileContext(path, cfg, data, size, kind)
    if kind == REGULAR and is_skipped(ctx.place, cfg):
        return CheckedFile(ctx.place.path, checked=False)
    if kind != REGULAR:
        findings = _run(by_scope("entry"), ctx, cfg, ctx.place.path)
    else:
        findings = _run(by_scope("path"), ctx, cfg, ctx.place.path) if ctx.place.inside else []
    want_record, found = record, None  # without the index (a one-file check), no record: its summary is the costly part
    if kind == REGULAR and ctx.place.is_markdown:
        unreadable = _run(by_scope("bytes"), ctx, cfg, ctx.place.path)
        findings += unreadable
        if not unreadable and data is not None:
            findings += _run(by_scope("document"), ctx, cfg, ctx.place.path)
            found = index_mod.record_for(ctx) if want_record and is_case_study(ctx.place.path, cfg) else None
    shown, hidden = _suppress(ctx, findings, cfg)
    return CheckedFile(ctx.place.path, tuple(sorted(shown, key=sort_key)), found, True, tuple(sorted(hidden, key=sort_key)))


def _suppress(ctx: FileContext, findings: list[Finding], cfg: Config) -> tuple[list[Finding], list[Finding]]:
    """Split findings into those shown and those a disable comment or a per-path ignore hides."""
    by_path = cfg.ignored_for(ctx.place.path)
    comments = ctx.directives.disabled if ctx.parsed else {}
    if not by_path and not comments:
        return findings, []
    shown, hidden = [], []
    for f in findings:
        if f.code in by_path:
            hidden.append(f._replace(suppressed_by=f"rules.per_path_ignores: {by_path[f.code]}"))
        elif f.code in comments and REGISTRY[f.code].suppressible:
            hidden.append(f._replace(suppressed_by=f"disable comment on line {comments[f.code]}"))
        else:
            shown.append(f)
    return shown, hidden


def lint_text(path: str, text: str, cfg: Config) -> list[Finding]:
    """Lint Markdown text as if it were the file at ``path``."""
    return list(lint_file(path, text.encode("utf-8"), cfg).findings)


class IndexState(NamedTuple):
    """The generated files as they should be; ``readme`` is None when the markers are unusable.

    ``footers`` maps each case study to its generated footer (``bot.core.footer``)."""

    readme: str | None
    json: str
    problem: str | None
    csv: str = ""
    footers: Mapping[str, str] = MappingProxyType({})


def expected_index(records: list[index_mod.Record], readme_text: str | None, cfg: Config, redirects: ids.Redirects = ids.Redirects()) -> IndexState:
    block = index_mod.render_block(records, cfg)
    try:
        readme = index_mod.replace_block(readme_text or "", block, cfg)
        problem = None
    except index_mod.MarkersMissing as exc:
        readme, problem = None, str(exc)
    catalog = ids.Catalog(records, redirects)
    footers = {r.path: footer.render(r, catalog, cfg) for r in records}
    return IndexState(readme, dataset.render_json(records, cfg, redirects), problem, dataset.render_csv(records, cfg, redirects), footers)


def lint_index(
    records: list[index_mod.Record],
    readme_text: str | None,
    json_text: str | None,
    cfg: Config,
    figures: tuple = (),
    csv_text: str | None = None,
    redirects_text: str | None = None,
    *,
    expected: Callable[[list[index_mod.Record], str | None, Config, ids.Redirects], IndexState] = expected_index,
) -> list[Finding]:
    """CS4xx over the README, index.json, index.csv and the case studies' footers as they are, against
    what the records generate; over the ids, related entries and redirect records of every case
    study; and over the figures' problems (``bot.core.figures.check``) when the front end read the
    figure files. A missing file is None. ``expected`` renders what the generated files should hold
    (the CLI renders a large tree's in parallel: ``bot.local.indexrender``)."""
    redirects = ids.read_redirects(redirects_text, cfg.id_prefix)
    state = expected(records, readme_text, cfg, redirects)
    ctx = RepoContext(
        cfg, readme_text, state.readme, state.problem, json_text, state.json, tuple(figures),
        csv_text=csv_text,
        expected_csv=state.csv,
        records=tuple(records),
        redirects=redirects,
        expected_footers=state.footers,
        published=published_ids(json_text, state.json, records, cfg),
    )
    return sorted(_run(by_scope("repository"), ctx, cfg, cfg.readme), key=sort_key)


def published_ids(json_text: str | None, expected_json: str, records: list[index_mod.Record], cfg: Config) -> dict[str, str]:
    """``ids.published(json_text)``: id -> path as the committed index.json has them. When the file is
    as the records generate it, they are read from the records (in its order, so a duplicate id maps
    as it does there) instead of parsing it again: a large index takes longer to parse than to check."""
    if json_text is not None and json_text == expected_json:
        return {r.id: r.path for r in index_mod.sort_records(records, cfg) if r.id}
    return ids.published(json_text)


class IndexChange(NamedTuple):
    """One case study whose entry in the index changes when it is regenerated."""

    change: str  # added, updated, removed
    path: str
    title: str


def index_changes(records: list[index_mod.Record], json_text: str | None, cfg: Config, redirects: ids.Redirects = ids.Redirects()) -> list[IndexChange]:
    """How regenerating changes the index, case study by case study: each record against its entry
    in the committed index.json (``check`` on a branch says so instead of failing)."""
    catalog = ids.Catalog(records, redirects)
    after = {r.path: (r.title, dataset.case_study(r, catalog)) for r in records}
    before = {entry["path"]: entry for entry in _published_entries(json_text)}
    out = [IndexChange("added" if path not in before else "updated", path, title) for path, (title, entry) in sorted(after.items()) if before.get(path) != entry]
    return out + [IndexChange("removed", path, str(before[path].get("title", ""))) for path in sorted(set(before) - set(after))]


def _published_entries(json_text: str | None) -> list[dict]:
    import json  # only a stale index needs it

    try:
        entries = json.loads(json_text or "")["case_studies"]
    except (ValueError, KeyError, TypeError):
        return []
    return [e for e in entries if isinstance(e, dict) and isinstance(e.get("path"), str)] if isinstance(entries, list) else []


BLOCKING = ("CS402", "CS407")  # regenerating would write nothing sensible, or drop a published id for good


class IndexPlan(NamedTuple):
    """What regenerating the index writes: generated files that change (path -> text), case studies
    whose footer changes (each with its new footer), or the findings that stop it."""

    files: dict[str, str]
    footers: list[tuple[index_mod.Record, str]]
    blocked: list[Finding]


def plan_index(
    records: list[index_mod.Record],
    readme_text: str | None,
    json_text: str | None,
    csv_text: str | None,
    redirects_text: str | None,
    cfg: Config,
) -> IndexPlan:
    """Shared by `challenge-bot index` and the bot's index commit after a merge."""
    blocked = [f for f in lint_index(records, readme_text, json_text, cfg, (), csv_text, redirects_text) if f.code in BLOCKING]
    if blocked:
        return IndexPlan({}, [], blocked)
    state = expected_index(records, readme_text, cfg, ids.read_redirects(redirects_text, cfg.id_prefix))
    generated = ((cfg.readme, readme_text, state.readme), (cfg.index_json, json_text, state.json), (cfg.index_csv, csv_text, state.csv))
    files = {path: new for path, old, new in generated if new is not None and old != new}  # no README: CS402 switched off
    footers = [(r, state.footers[r.path]) for r in sorted(records, key=lambda r: r.path) if r.origin.footer != state.footers[r.path]]
    return IndexPlan(files, footers, [])
