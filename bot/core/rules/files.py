"""CS3xx: the file itself (encoding, size) and its front matter."""

from __future__ import annotations

from bot.core.context import FileContext
from bot.core.findings import Fix
from bot.core.rules.layout import human_size
from bot.core.rules.registry import REGISTRY, WARNING, Problem, rule


@rule("CS301", "invalid-front-matter", scope="document", hint='fix the front matter (`id`, and the lists `tags`, `sources`, `authors`, `related`)')
def invalid_front_matter(ctx: FileContext):
    """The front matter is not valid: bad YAML, not a mapping, an unknown key or a wrong type.

    **Why:** the index and the labels are built from the front matter, so it
    has to be machine-readable. It sits between two `---` lines at the very
    top and may hold only `id` (the permanent id, like `PC-0007`), `tags` (a
    list from the vocabulary), `sources` (a list of http(s) URLs), `authors`
    (a list of names) and `related` (a list of other case studies, each by id
    or by path).

    **Bad:**

    ```yaml
    ---
    tag: loss-spikes
    sources: https://arxiv.org/abs/2205.01068
    ---
    ```

    **Good:**

    ```yaml
    ---
    id: PC-0007
    tags: [loss-spikes]
    sources:
      - https://arxiv.org/abs/2205.01068
    authors: [Ada Lovelace]
    related: [PC-0003, case_studies/meta/restarts.md]
    ---
    ```
    """
    for line, message in ctx.meta.problems:
        yield Problem(line, message)


@rule("CS302", "unknown-tag", scope="document", fixable=True, hint='use a tag from the vocabulary, or add it to `.github/challenge-bot.yml`')
def unknown_tag(ctx: FileContext):
    """A tag that is not in the tag vocabulary of `.github/challenge-bot.yml`.

    **Why:** a small shared vocabulary is what makes tags useful for finding
    every case study about the same kind of failure. Use an existing tag, or
    add the new one to `tags:` in the config in the same pull request. When
    exactly one tag of the vocabulary is that close (a typo, a plural, the
    case), the finding carries the fix: `check --fix` applies it and the
    pull-request review offers it as a one-click suggestion.

    **Bad:** `tags: [loss-spike]`

    **Good:** `tags: [loss-spikes]`
    """
    vocabulary = ctx.cfg.tag_names
    items = ctx.meta.fields.get("tags", ())
    for item in items:
        if item.value not in vocabulary:
            import difflib  # only needed when there is something to report

            close = difflib.get_close_matches(item.value, vocabulary, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known tags: {', '.join(vocabulary)}"
            yield Problem(item.line, f"unknown tag {item.value!r}{hint}", _tag_fix(ctx, item.value, item.line, {i.value for i in items}))


def _tag_fix(ctx: FileContext, tag: str, line: int, present: set[str]) -> Fix | None:
    """The tag replaced on its line, when one tag of the vocabulary alone is close (and not listed already)."""
    import difflib  # only needed when there is something to report
    import re  # idem

    vocabulary = ctx.cfg.tag_names
    exact = [t for t in vocabulary if t == tag.lower()]
    close = exact or [t for t in vocabulary if difflib.SequenceMatcher(None, tag.lower(), t).ratio() >= _CLOSE]
    if len(close) != 1 or close[0] in present:
        return None
    text = ctx.doc.line_text(line)
    spots = list(re.finditer(rf"(?<![\w-]){re.escape(tag)}(?![\w-])", text))
    if len(spots) != 1:
        return None
    return Fix(line, line, text[: spots[0].start()] + close[0] + text[spots[0].end() :], f"tag {tag!r} -> {close[0]!r}")


_CLOSE = 0.8  # difflib ratio: 'loss-spike' and 'loss-spikes' 0.95, 'loss-spike' and 'loss-divergence' 0.56


@rule("CS303", "missing-sources", scope="document", severity=WARNING, hint='list the papers, logbooks or issues under `sources:`')
def missing_sources(ctx: FileContext):
    """No `sources` are listed in the front matter.

    **Why:** a case study is only as trustworthy as what it rests on. List the
    paper sections, logbooks and issues the facts come from, so readers can
    check them. This is a warning: it does not fail the check.

    **Bad:** no front matter, or `sources: []`

    **Good:**

    ```yaml
    ---
    sources:
      - https://github.com/facebookresearch/metaseq/blob/main/projects/OPT/chronicles/README.md
    ---
    ```
    """
    meta = ctx.meta
    if not meta.readable or ("sources" in meta.key_lines and "sources" not in meta.fields):
        return  # the front matter or its sources are malformed; CS301 already says so
    if not meta.values("sources"):
        line = meta.key_lines.get("sources", ctx.doc.front_matter.start_line if ctx.doc.front_matter else 1)
        yield Problem(line, "no sources listed; add the papers, logbooks or issues this rests on under 'sources:' in the front matter")


@rule("CS310", "empty-tags", scope="document", severity=WARNING, hint="pick the tags that apply from the vocabulary in `.github/challenge-bot.yml`")
def empty_tags(ctx: FileContext):
    """The front matter's `tags` list is empty.

    **Why:** tags are how readers find every case study about the same kind of
    failure: the README's "By failure kind" section, the site's tag pages and
    `index.json` all list case studies by tag, and an untagged one appears in
    none of them. The template starts with `tags: []` for you to fill in. This
    is a warning: it does not fail the check.

    **Bad:** `tags: []`

    **Good:** `tags: [loss-spikes, checkpointing]`
    """
    meta = ctx.meta
    if ctx.place.inside and "tags" in meta.key_lines and "tags" in meta.fields and not meta.values("tags"):
        yield Problem(meta.key_lines["tags"], f"no tags listed; add the ones that apply to 'tags:', from the vocabulary in {ctx.cfg.source}")


@rule("CS304", "not-utf8", scope="bytes", hint='save the file as UTF-8 text')
def not_utf8(ctx: FileContext):
    """The file is not valid UTF-8 text.

    **Why:** GitHub, the index and every reader expect UTF-8. A file in
    another encoding, or binary data saved with a `.md` name, shows up as
    garbage. Re-save the file as UTF-8.

    **Bad:** a file saved as Latin-1 or UTF-16, or an image renamed to `.md`

    **Good:** UTF-8, with or without a byte-order mark
    """
    data = ctx.data
    if data is None:
        return
    if b"\0" in data:
        yield Problem(data.count(b"\n", 0, data.index(b"\0")) + 1, "the file contains NUL bytes: it looks binary, not Markdown text")
        return
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        yield Problem(data.count(b"\n", 0, exc.start) + 1, f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})")


@rule("CS305", "file-too-large", scope="bytes", hint='shorten it; link to long logs instead of pasting them')
def file_too_large(ctx: FileContext):
    """The file is larger than the configured limit (`limits.max_file_size`, default 256 KiB).

    **Why:** a case study is read by people; a huge file is almost always a
    pasted log or data dump. Link to the log instead, or summarise it.

    **Bad:** a 3 MB case study with a pasted training log

    **Good:** the key lines quoted, and a link to the full log under `sources`
    """
    if ctx.size > ctx.cfg.max_file_size:
        yield Problem(1, f"the file is {human_size(ctx.size)}; the limit is {human_size(ctx.cfg.max_file_size)} (limits.max_file_size)")


@rule("CS306", "unknown-disable-code", scope="document", suppressible=False, hint="name rule codes such as `CS303`, separated by commas")
def unknown_disable_code(ctx: FileContext):
    """A `challenge-bot: disable=` comment names something that is not a rule code.

    **Why:** a disable comment is how a case study opts out of a rule on
    purpose, for example a first-hand account with no public source to cite
    (CS303). A misspelt code disables nothing and hides the intent. Suppressed
    findings are still listed in `check --format json` under `suppressed`.

    **Bad:** `<!-- challenge-bot: disable=CS33 -->`,
    `<!-- challenge-bot: disable=missing-sources -->`

    **Good:** `<!-- challenge-bot: disable=CS303 -->`, or several:
    `<!-- challenge-bot: disable=CS303, CS206 -->`
    """
    for line, written in ctx.directives.entries:
        if written not in REGISTRY:
            yield Problem(line, f"disable comment names {written or '(nothing)'!r}, which is not a rule code; see `challenge-bot rules`")


@rule("CS307", "missing-id", scope="document", hint="add `id:` with the id `challenge-bot next-id` prints")
def missing_id(ctx: FileContext):
    """The front matter has no `id`: every case study needs a permanent id.

    Markdown outside the case-studies folder (a draft) needs none.

    **Why:** an id such as `PC-0007` names a case study for good: index.json,
    the CSV export, `related:` lists and citations use it, and it survives a
    rename or a merge (see CS404 and CS406). `challenge-bot new` writes the
    next free id for you; for a file started by hand, `challenge-bot next-id`
    prints it. Never change or reuse an id.

    **Bad:** front matter without `id:`

    **Good:**

    ```yaml
    ---
    id: PC-0042
    tags: [loss-spikes]
    ---
    ```
    """
    meta = ctx.meta
    if not ctx.place.inside or not meta.readable or "id" in meta.key_lines:
        return  # a draft outside the case studies, or front matter CS301 already reports
    front = ctx.doc.front_matter
    yield Problem(front.start_line if front else 1, "no permanent id; add `id:` to the front matter with the next free id (`challenge-bot next-id` prints it)")
