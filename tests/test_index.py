"""The generated README index: records, content, order, escaping, determinism, "By failure kind"."""

from __future__ import annotations

import random

import pytest

from bot.core import index
from bot.core.config_model import Tag
from bot.core.index import MarkersMissing, Origin, Record, first_sentence, render_block, replace_block
from bot.core.linter import lint_file
from helpers import GOOD


def _record(cfg, path, text):
    return lint_file(path, text.encode(), cfg).record


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("The loss spiked. Then it fell.", "The loss spiked."),
        ("Adam (e.g. AdamW) diverged at 1.2e-4. Then more.", "Adam (e.g. AdamW) diverged at 1.2e-4."),
        ("Run 11.0 started on 5 Nov. 2021 went wrong. More.", "Run 11.0 started on 5 Nov."),
        ("See Fig. 1 for the plot. Then more.", "See Fig. 1 for the plot."),
        ("Smith et al. 2023 saw it too. More.", "Smith et al. 2023 saw it too."),
        ("No terminal punctuation", "No terminal punctuation"),
        ("Why? Because. ", "Why?"),
        ("x " * 200, ("x " * 119).strip() + "…"),
    ],
)
def test_first_sentence(text, sentence):
    assert first_sentence(text) == sentence


def test_record_takes_title_summary_tags_sources(cfg):
    text = GOOD.replace("The loss spiked at step 14,500.", "The **loss** spiked at [step 14,500](https://x.org). It fell later.")
    assert _record(cfg, "case_studies/meta/good.md", text) == Record(
        model="meta",
        path="case_studies/meta/good.md",
        title="A good case study",
        summary="The loss spiked at step 14,500.",
        tags=("loss-spikes",),
        sources=("https://example.org/paper",),
        id="PC-0001",
        related=(),
        origin=Origin(id_line=2, related_lines=(), footer=None, footer_line=0),
    )


def test_record_takes_related_entries_and_the_footer_as_found(cfg):
    block = "<!-- case-study-footer:start -->\nold footer\n<!-- case-study-footer:end -->"
    text = GOOD.replace("tags: [loss-spikes]\n", "tags: [loss-spikes]\nrelated:\n  - PC-0002\n  - case_studies/bloomberg/c.md\n") + "\n" + block + "\n"
    record = _record(cfg, "case_studies/meta/good.md", text)
    assert (record.related, record.origin) == (
        ("PC-0002", "case_studies/bloomberg/c.md"),
        Origin(id_line=2, related_lines=(5, 6), footer=block, footer_line=text.count("\n", 0, text.index(block)) + 1),
    )
    assert record.summary == "The loss spiked at step 14,500."


def test_summary_from_a_list_when_the_section_starts_with_one(cfg):
    text = GOOD.replace("The loss spiked at step 14,500.", "- Eleven rollbacks were needed. And more.\n  continued\n- second item")
    assert _record(cfg, "case_studies/meta/good.md", text).summary == "Eleven rollbacks were needed."


def test_files_that_are_not_case_studies_have_no_record(cfg):
    assert _record(cfg, "case_studies/meta/README.md", GOOD) is None
    assert _record(cfg, "case_studies/mistral/x.md", GOOD) is None
    assert _record(cfg, "drafts/x.md", GOOD) is None


TWO_TAGS = (Tag("loss-spikes", "symptom", "The loss jumps."), Tag("rollback", "fix", "Restarted from an earlier checkpoint."))


def test_block_lists_every_model_sorted_by_title_with_escaping(cfg):
    cfg = cfg._replace(tags=TWO_TAGS)
    records = [
        Record("meta", "case_studies/meta/b.md", "beta | pipes", "Has a | pipe.", ("loss-spikes",), ()),
        Record("meta", "case_studies/meta/a.md", "Alpha [draft]", "First.", (), ()),
        Record("bloomberg", "case_studies/bloomberg/c.md", "Gamma", "Third.", ("flux-capacitor", "loss-spikes"), ()),
    ]
    assert render_block(records, cfg) == "\n".join(
        [
            index.NOTE,
            "",
            "### OPT-175B (Meta AI)",
            "",
            "[Paper](https://arxiv.org/abs/2205.01068) · 2 case studies",
            "",
            "| Case study | Summary | Tags |",
            "| --- | --- | --- |",
            "| [Alpha \\[draft\\]](case_studies/meta/a.md) | First. |  |",
            "| [beta \\| pipes](case_studies/meta/b.md) | Has a \\| pipe. | [`loss-spikes`](#loss-spikes) |",
            "",
            "### IDEFICS-80B (Hugging Face M4)",
            "",
            "[Paper](https://huggingface.co/HuggingFaceM4/idefics-80b) · 0 case studies",
            "",
            "_No case studies yet._",
            "",
            "### BloombergGPT (Bloomberg)",
            "",
            "[Paper](https://arxiv.org/abs/2303.17564) · 1 case study",
            "",
            "| Case study | Summary | Tags |",
            "| --- | --- | --- |",
            "| [Gamma](case_studies/bloomberg/c.md) | Third. | `flux-capacitor` [`loss-spikes`](#loss-spikes) |",
            "",
            "### By failure kind",
            "",
            index.BY_KIND_INTRO,
            "",
            "#### Symptoms",
            "",
            "What the people running the training saw.",
            "",
            "##### `loss-spikes`",
            "",
            "The loss jumps.",
            "",
            "- [beta \\| pipes](case_studies/meta/b.md) · OPT-175B (Meta AI)",
            "- [Gamma](case_studies/bloomberg/c.md) · BloombergGPT (Bloomberg)",
            "",
            "#### Fixes",
            "",
            "What the team did about it, when that recurs across runs.",
            "",
            "##### `rollback`",
            "",
            "Restarted from an earlier checkpoint.",
            "",
            "_No case studies yet._",
        ]
    )


def test_the_introduction_names_every_group_with_its_definition():
    assert index.BY_KIND_INTRO == (
        "Every tag of the vocabulary, what it means, and the case studies that carry it. A case study's tags name "
        "symptoms (what the people running the training saw), causes (why it happened: the root cause the sources name), "
        "layers (where in the training stack the problem or its fix sits) and fixes (what the team did about it, when that recurs across runs)."
    )


def test_replace_block_touches_only_the_inside(cfg):
    readme = "Intro\r\n<!-- case-study-index:start -->\r\nold\r\n<!-- case-study-index:end -->\r\nOutro\r\n"
    assert replace_block(readme, "new\nblock", cfg) == (
        "Intro\r\n<!-- case-study-index:start -->\r\nnew\r\nblock\r\n\r\n<!-- case-study-index:end -->\r\nOutro\r\n"
    )
    once = replace_block(readme, "x", cfg)
    assert replace_block(once, "x", cfg) == once


@pytest.mark.parametrize(
    ("readme", "problem"),
    [
        ("nothing", "README lacks the index markers; add the lines <!-- case-study-index:start --> and <!-- case-study-index:end --> where the index should go"),
        ("<!-- case-study-index:start -->\n", "README must hold each index marker exactly once (found 1 start and 0 end markers)"),
        ("<!-- case-study-index:start -->\n<!-- case-study-index:start -->\n<!-- case-study-index:end -->", "README must hold each index marker exactly once (found 2 start and 1 end markers)"),
        ("<!-- case-study-index:end -->\n<!-- case-study-index:start -->\n", "the end marker <!-- case-study-index:end --> comes before the start marker"),
    ],
)
def test_bad_markers(readme, problem, cfg):
    with pytest.raises(MarkersMissing) as caught:
        replace_block(readme, "x", cfg)
    assert str(caught.value) == problem


def test_markers_count_only_on_lines_of_their_own(cfg):
    readme = (
        "Put the markers (`<!-- case-study-index:start -->` and `<!-- case-study-index:end -->`) in your README.\n"
        "<!-- case-study-index:start -->\nold\n  <!-- case-study-index:end -->  \n"
    )
    assert replace_block(readme, "x", cfg) == readme.replace("start -->\nold\n  <!--", "start -->\nx\n\n<!--")
    assert index.marker_line(readme, cfg) == 2


@pytest.mark.parametrize(
    ("around", "counts"),
    [
        ("{m}", True), ("  {m}\t ", True), ("\u00a0{m}\u3000", True), ("x {m}", False), ("{m} x", False), ("`{m}`", False),
    ],
    ids=["alone", "spaces and tabs", "unicode spaces", "text before", "text after", "quoted"],
)
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r", "\u2028", "\x0b", "\x1c"], ids=["lf", "crlf", "cr", "line-separator", "vt", "fs"])
def test_a_marker_is_found_on_a_line_of_its_own_whatever_ends_the_line(around, counts, newline, cfg):
    marker = cfg.index_start
    line = around.format(m=marker)
    readme = newline.join(["# Title", line, "text", line]) + newline
    expected = [readme.index(line) + line.index(marker), readme.rindex(line) + line.index(marker)] if counts else []
    assert index._marker_offsets(readme, marker) == expected


def test_markers_are_found_where_a_line_by_line_reading_finds_them(cfg):
    def line_by_line(readme: str, marker: str) -> list[int]:
        offsets, at = [], 0
        for line in readme.splitlines(keepends=True):
            if line.strip() == marker:
                offsets.append(at + line.index(marker))
            at += len(line)
        return offsets

    marker, rng = cfg.index_start, random.Random(7)
    pieces = [marker, " ", "\t", "\n", "\r", "\r\n", "\u2028", "\x1c", "\x1f", "\u00a0", "x", "`", "\x0b", "\x85"]
    for _ in range(20_000):
        readme = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        assert index._marker_offsets(readme, marker) == line_by_line(readme, marker), repr(readme)
