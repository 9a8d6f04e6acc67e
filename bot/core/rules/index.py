"""CS4xx: the generated index in the README and case_studies/index.json."""

from __future__ import annotations

from bot.core.context import RepoContext
from bot.core.index import marker_line
from bot.core.rules.registry import Problem, rule


@rule("CS401", "index-out-of-date", scope="repository", hint='run `challenge-bot index`, or leave it to the bot after merge')
def index_out_of_date(ctx: RepoContext):
    """A generated file differs from what the case studies generate: the README index,
    `case_studies/index.json`, `case_studies/index.csv`, or a case study's footer.

    **Why:** readers find case studies through the index, tools read the
    dataset from index.json and the CSV, and the footer at the end of each case
    study shows its id, its tags and its related case studies on GitHub. A stale
    one hides new work, links to moved files, or says something the front
    matter no longer does. Never edit them by hand: run `challenge-bot index`.
    On a branch you may leave it: the bot regenerates them when the pull
    request merges. So `challenge-bot check` without paths reports a stale
    index as a note saying how the index will change, not as a finding; `check
    --index` and `index --check` fail on it, for where the index must be current.

    **Bad:** a README index edited by hand, a case study added or retagged
    without regenerating, a footer whose related titles have changed

    **Good:** `challenge-bot index` run after the change (or left to the bot)
    """
    cfg = ctx.cfg
    fix = "run `challenge-bot index` to regenerate it"
    if ctx.expected_readme is not None and ctx.readme_text != ctx.expected_readme:
        yield Problem(marker_line(ctx.readme_text or "", cfg), f"the case-study index in {cfg.readme} is out of date; {fix}", path=cfg.readme)
    for path, text, expected in ((cfg.index_json, ctx.json_text, ctx.expected_json), (cfg.index_csv, ctx.csv_text, ctx.expected_csv)):
        if expected is not None and text != expected:
            state = "missing" if text is None else "out of date"
            yield Problem(1, f"{path} is {state}; {fix}", path=path)
    for record in ctx.records:
        expected = ctx.expected_footers.get(record.path)
        if expected is not None and record.origin.footer != expected:
            state = "missing" if record.origin.footer is None else "out of date"
            line = record.origin.footer_line or 1
            yield Problem(line, f"the generated footer (id, tags, related case studies) is {state}; {fix}", path=record.path)


@rule("CS402", "index-markers-missing", scope="repository", hint='restore the index markers in the README')
def index_markers_missing(ctx: RepoContext):
    """The README lacks the markers between which the index is generated.

    **Why:** the generator only ever writes between the two markers, so the
    rest of the README stays yours. Each marker must appear exactly once,
    start before end, on lines of their own.

    **Bad:** a README with the markers deleted or duplicated

    **Good:**

    ```markdown
    <!-- case-study-index:start -->
    <!-- case-study-index:end -->
    ```
    """
    if ctx.markers_problem is not None:
        yield Problem(1, ctx.markers_problem, path=ctx.cfg.readme)
