"""The pure review planner: sizes within GitHub's limits, and contributors' text kept inert."""

from __future__ import annotations

from bot.core import messages as m
from bot.core.github_data import ChangedFile
from bot.core.index import Record
from bot.core.findings import CheckedFile, Finding, Fix
from bot.core.review import MAX_ANNOTATIONS, MAX_INLINE, MAX_LISTED, SUMMARY_LIMIT, ReviewInput, new_inline, plan, plan_config_error, plan_labels, suggestion

HEAD = "f" * 40


def _finding(path: str, line: int, message: str = "missing section '## Learnings'") -> Finding:
    return Finding(path, line, "CS203", "missing-section", "error", message)


def test_a_huge_review_shows_a_bounded_part_and_says_how_to_see_the_rest(cfg):
    results = tuple(
        CheckedFile(f"case_studies/meta/file-{i:04d}.md", tuple(_finding(f"case_studies/meta/file-{i:04d}.md", n) for n in range(1, 30)))
        for i in range(400)
    )
    review = plan(ReviewInput(HEAD, (), results, cfg))
    note = m.NOT_LISTED.format(hidden="11500 findings", listed=MAX_LISTED, annotated=MAX_ANNOTATIONS, inline=MAX_INLINE)
    for summary in (review.summary, review.check_run.summary):
        assert len(summary) <= SUMMARY_LIMIT and note in summary and "### Reproduce locally" in summary
        assert summary.count("| [CS203 missing-section](") == MAX_LISTED
    assert review.summary.startswith(m.SUMMARY_MARKER + "\n")
    assert len(review.check_run.annotations) == MAX_ANNOTATIONS
    assert [(a.path, a.start_line) for a in review.check_run.annotations[-2:]] == [("case_studies/meta/file-0017.md", 6), ("case_studies/meta/file-0017.md", 7)]


def test_a_summary_over_githubs_limit_is_cut_visibly(cfg):
    results = (CheckedFile("case_studies/meta/a.md", tuple(_finding("case_studies/meta/a.md", n, "x" * 2000) for n in range(1, 60))),)
    review = plan(ReviewInput(HEAD, (), results, cfg))
    assert len(review.summary) <= SUMMARY_LIMIT and review.summary.endswith(m.TRUNCATED)
    assert len(review.check_run.summary) <= SUMMARY_LIMIT and review.check_run.summary.endswith(m.TRUNCATED)


def _outside_code(markdown: str) -> str:
    """The text GitHub renders as prose: fenced blocks and code spans removed (mentions and HTML do not work in code)."""
    import re

    markdown = re.sub(r"^```.*?^```", "", markdown, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", markdown)


def test_contributors_text_cannot_mention_people_or_break_out(cfg):
    path = "case_studies/meta/a` @octo/team `b.md"
    record = Record("meta", path, "Title <img src=x> @alice", "Summary | with a pipe @bob", ("loss-spikes`@carol",), ())
    result = CheckedFile(path, (_finding(path, 3, "heading '## @dave <b>x</b>' is odd")._replace(line_text="## @dave"),), record)
    files = (ChangedFile(path, "added", "a" * 40, "@@ -0,0 +1,3 @@\n+a\n+b\n+c"),)
    review = plan(ReviewInput(HEAD, files, (result,), cfg._replace(review_reporter="both")))
    prose = _outside_code(review.summary)
    for needle in ("@octo", "@alice", "@bob", "@carol", "@dave", "<img", "<b>"):
        assert needle not in prose, needle
    assert "#### `case_studies/meta/a' @octo/team 'b.md`" in review.summary  # the backtick cannot close the span
    assert "challenge-bot check 'case_studies/meta/a'\"'\"' @octo/team '\"'\"'b.md'\n```" in review.summary
    assert "Summary \\| with a pipe @\u200bbob" in review.summary
    (inline,) = review.inline
    assert "@dave" not in inline.comment.body and "@\u200bdave" in inline.comment.body


def test_a_config_error_from_the_pull_request_is_inert(cfg):
    review = plan_config_error(HEAD, ".github/challenge-bot.yml: unknown key '@octo/team <script>'")
    assert "@octo" not in review.summary and "<script>" not in review.summary
    assert "unknown key '@\u200bocto/team &lt;script&gt;'" in review.check_run.summary


def test_inline_candidates_already_commented_are_skipped_once_each():
    from bot.core.review import InlineCandidate
    from bot.core.github_data import InlineComment

    first = InlineCandidate(InlineComment("p", 1, "one"), "aaa")
    again = InlineCandidate(InlineComment("p", 9, "one again"), "aaa")
    other = InlineCandidate(InlineComment("p", 2, "two"), "bbb")
    assert new_inline([first, again, other], ["<!-- challenge-bot:fp=ccc -->"], limit=10) == [first.comment, other.comment]
    assert new_inline([first, other], ["x <!-- challenge-bot:fp=bbb -->"], limit=10) == [first.comment]
    assert new_inline([first, other], [], limit=1) == [first.comment]


def test_labels_only_the_bots_own_are_removed(cfg):
    labels = plan_labels(["case_studies/meta/a.md", "docs/x.md"], ["model: IDEFICS", "good first issue"], cfg)
    assert [spec.name for spec in labels.add] == ["model: OPT-175B"]
    assert labels.remove == ("model: IDEFICS",)


def test_a_suggestion_fence_outlasts_any_backticks_in_the_text():
    assert suggestion("## Learnings") == "```suggestion\n## Learnings\n```"
    assert suggestion("## A ````` B `` C") == "``````suggestion\n## A ````` B `` C\n``````"


def test_only_replacing_fixes_become_suggestions(cfg):
    path = "case_studies/meta/x.md"
    variant = Finding(path, 2, "CS208", "section-name-variant", "error", "heading", Fix(2, 2, "## Learnings", "d"), "## lessons")
    missing = Finding(path, 3, "CS203", "missing-section", "error", "missing section '## Bugs/Missteps'", Fix(3, 2, "## Bugs/Missteps\n", "d"), "## Learnings")
    files = (ChangedFile(path, "added", "a" * 40, "@@ -0,0 +1,3 @@\n+a\n+b\n+c"),)
    review = plan(ReviewInput(HEAD, files, (CheckedFile(path, (variant, missing)),), cfg._replace(review_reporter="both")))
    bodies = {c.comment.line: c.comment.body for c in review.inline}
    assert "```suggestion\n## Learnings\n```" in bodies[2]
    assert "suggestion" not in bodies[3] and "missing section" in bodies[3]
