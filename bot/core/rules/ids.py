"""CS403-CS407: permanent ids, `related:` entries and redirect records, across every case study."""

from __future__ import annotations

from collections import defaultdict

from bot.core import ids
from bot.core.context import RepoContext
from bot.core.index import Record
from bot.core.rules.registry import Problem, rule

NEXT = "give it the next free id (`challenge-bot next-id` prints it)"


@rule("CS403", "duplicate-id", scope="repository", hint="give one of them the next free id (`challenge-bot next-id`)")
def duplicate_id(ctx: RepoContext):
    """Two case studies have the same `id`.

    **Why:** an id names exactly one case study, for good. Two files with one
    id usually come from two pull requests that each took the next free id.
    The case study the published index already lists under the id keeps it;
    the other gets a new one (it was never published under the old one).

    **Bad:** `id: PC-0042` in two files

    **Good:** `id: PC-0042` in one, `id: PC-0043` in the other
    """
    holders = defaultdict(list)
    for record in ctx.records:
        if record.id:
            holders[record.id].append(record)
    for identifier, records in holders.items():
        if len(records) < 2:
            continue
        keeper = next((r for r in records if ctx.published.get(identifier) == r.path), min(records, key=lambda r: r.path))
        for record in records:
            if record is not keeper:
                yield Problem(record.origin.id_line, f"id {identifier} is already the id of {keeper.path}; {NEXT}", path=record.path)


@rule("CS404", "retired-id", scope="repository", hint="give the case study the next free id (`challenge-bot next-id`)")
def retired_id(ctx: RepoContext):
    """A case study uses an id that a redirect record retired.

    **Why:** when a case study is merged into another or withdrawn, its
    redirect record in `case_studies/redirects.yml` retires its id, so that
    old citations and links never land on something else. A retired id is
    never given out again.

    **Bad:** a new case study with `id: PC-0013` when `redirects.yml` has
    `- {id: PC-0013, from: case_studies/meta/old.md, to: PC-0004}`

    **Good:** the new case study takes the next free id
    """
    retired = ctx.redirects.retired()
    for record in ctx.records:
        redirect = retired.get(record.id)
        if redirect is not None:
            where = f"merged into {redirect.to}" if redirect.to else "withdrawn"
            yield Problem(
                record.origin.id_line,
                f"id {record.id} was retired ({redirect.source} was {where}; {ctx.cfg.redirects} line {redirect.line}) and is never reused; {NEXT}",
                path=record.path,
            )


@rule("CS405", "unknown-related", scope="repository", hint="name an existing case study by its id")
def unknown_related(ctx: RepoContext):
    """A `related:` entry names no case study, or the case study itself.

    **Why:** the footer of each case study links to its related case studies,
    and index.json lists them by id; an entry that names nothing is a broken
    link. Name related case studies by id (ids never change), or by their
    path from the repository root. The message suggests case studies that
    share the most tags.

    **Bad:** `related: [PC-9999, case_studies/meta/no-such-file.md]`

    **Good:** `related: [PC-0003, case_studies/meta/fp16-loss-scale-collapse-about-a-quarter-of-the-way-through.md]`
    """
    catalog = ids.Catalog(ctx.records, ctx.redirects)
    for record in ctx.records:
        for target, line in zip(record.related, record.origin.related_lines):
            found = catalog.find(target)
            if found is not None and found.path == record.path:
                yield Problem(line, f"related entry {target!r} names this case study itself", path=record.path)
            elif found is None:
                yield Problem(line, f"related entry {target!r} names no case study; {_instead(target, record, catalog, ctx.cfg.redirects)}", path=record.path)


def _instead(target: str, record: Record, catalog: ids.Catalog, redirects_path: str) -> str:
    redirect = catalog.redirected(target)
    now = catalog.find(redirect.to) if redirect is not None and redirect.to else None
    if redirect is not None and now is not None:
        return f"it moved: name {now.id or now.path} instead ({redirects_path} line {redirect.line})"
    suggestions = ids.candidates(record, catalog.records)
    if not suggestions:
        return "name a case study by its id (see case_studies/index.json)"
    return "case studies sharing its tags: " + "; ".join(f"{r.id or r.path} ({r.title})" for r in suggestions)


@rule("CS406", "invalid-redirect", scope="repository", hint="fix the record in the redirects file")
def invalid_redirect(ctx: RepoContext):
    """A record in `case_studies/redirects.yml` is malformed, or points nowhere.

    **Why:** a renamed, merged or withdrawn case study leaves a record
    `{id, from, to}` instead of disappearing, so that its id stays retired
    and old links can be redirected: `from` is the path it had, `to` the id
    (or path) of the case study that holds its content now (its own id for a
    rename), left out when it was withdrawn. A record whose `from` is still a
    case study, or whose `to` names none, redirects nowhere.

    **Bad:** `- {id: PC-0013, from: case_studies/meta/old.md, to: PC-9999}`

    **Good:**

    ```yaml
    - {id: PC-0012, from: case_studies/meta/old-name.md, to: PC-0012}   # renamed
    - {id: PC-0013, from: case_studies/meta/merged.md, to: PC-0004}     # merged
    - {id: PC-0014, from: case_studies/meta/withdrawn.md}               # withdrawn
    ```
    """
    path = ctx.cfg.redirects
    for line, message in ctx.redirects.problems:
        yield Problem(line, message, path=path)
    catalog = ids.Catalog(ctx.records, ctx.redirects)
    for redirect in ctx.redirects.records:
        if redirect.source in catalog.by_path:
            yield Problem(redirect.line, f"{redirect.source} is still a case study; a record is for one that was renamed, merged or withdrawn", path=path)
        elif redirect.to is not None and catalog.find(redirect.to) is None:
            yield Problem(redirect.line, f"'to' {redirect.to!r} names no case study", path=path)


@rule("CS407", "missing-redirect", scope="repository", hint="add the record the message shows to the redirects file")
def missing_redirect(ctx: RepoContext):
    """A case study the published index lists was renamed or removed without a redirect record.

    **Why:** ids and paths in `case_studies/index.json` are published: people
    cite them and link to them. A case study that moves or goes away leaves a
    record in `case_studies/redirects.yml` (see CS406), so its id is never
    reused and its old path still leads somewhere. `challenge-bot index`
    refuses to drop a published id until the record exists.

    **Bad:** `git mv case_studies/meta/old.md case_studies/meta/new.md` alone

    **Good:** the move, plus `- {id: PC-0012, from: case_studies/meta/old.md, to: PC-0012}`
    """
    live = defaultdict(list)
    for r in ctx.records:
        if r.id:
            live[r.id].append(r)
    recorded = {r.source for r in ctx.redirects.records}
    retired = {r.id for r in ctx.redirects.records}
    for identifier, old in sorted(ctx.published.items()):
        holders = live.get(identifier, [])
        now = holders[0] if holders else None
        if any(r.path == old for r in holders) or old in recorded:
            continue
        if now is not None:
            record = f"- {{id: {identifier}, from: {old}, to: {identifier}}}"
            yield Problem(now.origin.id_line, f"{identifier} moved from {old}; add `{record}` to {ctx.cfg.redirects}", path=now.path)
        elif identifier not in retired:
            record = f"- {{id: {identifier}, from: {old}, to: <the id it was merged into>}}"
            yield Problem(1, f"{identifier} ({old}) is gone; add `{record}` to {ctx.cfg.redirects} (leave out `to` if it was withdrawn)", path=ctx.cfg.redirects)
