"""CS408, CS409: the figures drawn from the case studies' numbers (``bot.core.figures``)."""

from __future__ import annotations

from bot.core.context import RepoContext
from bot.core.rules.registry import Problem, rule


@rule("CS408", "invalid-figure-data", scope="repository", hint="fix the figure's .yml spec or .csv data as the message says")
def invalid_figure_data(ctx: RepoContext):
    """A figure's spec (`<name>.yml`) or data (`<name>.csv`) under `<model>/figures/` is incomplete or malformed.

    **Why:** every figure is drawn from data points the sources state, so each
    CSV row must name its source, and every value must be a number or a date
    the drawing can place. A spec, its CSV and its SVG belong together: a
    lone CSV or SVG is an orphan.

    **Bad:** a row with an empty `source` column; `step` given as `~15k`; a
    series in the data that the spec's `styles:` does not style

    **Good:**

    ```csv
    step,base_lr,series,label,source
    14500,3.75e-5,base LR,exp2: LR cut by 25%,https://github.com/huggingface/m4-logs/blob/6034608/tr-190-80b/chronicles.md
    ```
    """
    for problem in ctx.figures:
        if problem.code == "CS408":
            yield Problem(problem.line, problem.message, path=problem.path)


@rule("CS409", "figure-out-of-date", scope="repository", hint="run `challenge-bot figures` and commit the SVG")
def figure_out_of_date(ctx: RepoContext):
    """A figure's SVG is missing, or was not drawn from its current spec and data.

    **Why:** the SVG shown in the case study must be the picture of the
    numbers in its CSV. `challenge-bot figures` draws every SVG and stamps it
    with a fingerprint of its inputs; this rule compares the stamp with the
    files, so it needs no drawing library. Never edit an SVG by hand.

    **Bad:** a CSV row changed without redrawing; an SVG edited in an editor

    **Good:** `challenge-bot figures` run after the change, and the SVG committed
    """
    for problem in ctx.figures:
        if problem.code == "CS409":
            yield Problem(problem.line, problem.message, path=problem.path)
