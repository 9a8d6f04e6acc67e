"""CS4xx: the generated index in the README and case_studies/index.json."""

from __future__ import annotations

from bot.core.context import RepoContext
from bot.core.index import marker_line
from bot.core.rules.registry import rule


@rule("CS401", "index-out-of-date", scope="repository")
def index_out_of_date(ctx: RepoContext):
    """The README index (or `case_studies/index.json`) differs from what the case studies generate.

    **Why:** readers find case studies through the index; a stale index hides
    new work and links to moved files. Never edit the block by hand: run
    `challenge-bot index`. In pull requests you may leave it: the bot
    regenerates the index when the pull request merges.

    **Bad:** a README index edited by hand, or a case study added without
    regenerating

    **Good:** `challenge-bot index` run after the change (or left to the bot)
    """
    cfg = ctx.cfg
    fix = "run `challenge-bot index` to regenerate it"
    if ctx.expected_readme is not None and ctx.readme_text != ctx.expected_readme:
        yield marker_line(ctx.readme_text or "", cfg), f"the case-study index in {cfg.readme} is out of date; {fix}", None, cfg.readme
    if ctx.json_text != ctx.expected_json:
        state = "missing" if ctx.json_text is None else "out of date"
        yield 1, f"{cfg.index_json} is {state}; {fix}", None, cfg.index_json


@rule("CS402", "index-markers-missing", scope="repository")
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
        yield 1, ctx.markers_problem, None, ctx.cfg.readme
