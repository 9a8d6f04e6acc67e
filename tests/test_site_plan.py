"""The site's page plan (bot.core.site): pure, so every page is checked as Markdown without MkDocs."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bot.core import site
from bot.core.index import Record

REPO = site.Repo("https://github.com/o/kb", "main")
CARRIED = {"case_studies/meta/b.md", "case_studies/meta/figures/lr.svg", "case_studies/meta/README.md", "README.md", "case_studies/huggingface/c.md"}


def _record(path: str, tags: tuple[str, ...], title: str = "T", **extra) -> Record:
    record = Record(model=path.split("/")[1], path=path, title=title, summary="S.", tags=tags, sources=("https://example.org/s",))
    return record._replace(**extra) if extra else record


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("README.md", "index.md"),
        ("case_studies/index.json", "data/index.json"),
        ("case_studies/index.csv", "data/index.csv"),
        ("case_studies/meta/README.md", "meta/index.md"),
        ("case_studies/meta", "meta/index.md"),
        ("case_studies/meta/a.md", "meta/a.md"),
        ("case_studies/meta/figures/lr.svg", "meta/figures/lr.svg"),
        ("CONTRIBUTING.md", None),
        ("bot/core/site.py", None),
    ],
)
def test_docs_path(cfg, path, expected):
    assert site.docs_path(path, cfg) == expected


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("[b](b.md)", "[b](b.md)"),
        ("[b](b.md#learnings)", "[b](b.md#learnings)"),
        ("[c](../huggingface/c.md)", "[c](../huggingface/c.md)"),
        ("[overview](README.md)", "[overview](index.md)"),
        ("[home](../../README.md#index)", "[home](../index.md#index)"),
        ("![lr](figures/lr.svg)", "![lr](figures/lr.svg)"),
        ("![gone](figures/gone.svg)", "![gone](https://github.com/o/kb/blob/main/case_studies/meta/figures/gone.svg)"),
        ("[guide](../../CONTRIBUTING.md)", "[guide](https://github.com/o/kb/blob/main/CONTRIBUTING.md)"),
        ('[t](b.md "title")', '[t](b.md "title")'),
        ("[x](https://example.org/a.md) [y](#here) [z](mailto:a@b.c)", "[x](https://example.org/a.md) [y](#here) [z](mailto:a@b.c)"),
        ("[ref]: ../../CONTRIBUTING.md", "[ref]: https://github.com/o/kb/blob/main/CONTRIBUTING.md"),
        ("```\n[b](../../CONTRIBUTING.md)\n```", "```\n[b](../../CONTRIBUTING.md)\n```"),
    ],
)
def test_links_point_where_the_target_lives_on_the_site_or_on_github(cfg, markdown, expected):
    assert site.rewrite_links(markdown, "case_studies/meta/a.md", cfg, CARRIED, REPO) == expected


def test_repo_of_reads_the_docs_url(cfg):
    assert site.repo_of(cfg) == site.Repo("https://github.com/pretraining-challenges/pretraining-challenges", "main")
    assert site.repo_of(cfg._replace(docs_url="https://example.org/rules")).branch == "main"
    assert REPO.pages_url == "https://o.github.io/kb/"


def test_tags_of_takes_names_mappings_and_objects(cfg):
    names = cfg._replace(tags=("a", {"name": "b", "group": "cause", "definition": "B."}, SimpleNamespace(name="c", group=None, definition=None)))
    assert site.tags_of(names) == [site.Tag("a"), site.Tag("b", "cause", "B."), site.Tag("c")]


def test_related_by_id_path_or_slug_first_then_by_shared_tags():
    def study(path, tags, ident=None, related=()):
        return site.Study(_record(path, tags, title=path), "", ident, related)

    a = study("case_studies/meta/a.md", ("x", "y"), "PC-0001", ("PC-0004", "c"))
    b = study("case_studies/meta/b.md", ("x", "y"))
    c = study("case_studies/meta/c.md", ("z",))
    d = study("case_studies/huggingface/d.md", ("x", "y"), "PC-0004")
    e = study("case_studies/huggingface/e.md", ("x",))
    f = study("case_studies/huggingface/f.md", ("q",))
    assert [s.record.path for s in site.related_studies(a, [a, b, c, d, e, f])] == [
        "case_studies/huggingface/d.md", "case_studies/meta/c.md", "case_studies/meta/b.md", "case_studies/huggingface/e.md",
    ]


def test_the_pages_of_a_small_knowledge_base(cfg):
    text = "---\ntags: [loss-spikes]\nid: PC-0007\nrelated: [b]\n---\n\n# A title\n\n## Main Challenge\n\n![a figure](figures/lr.svg)\n\nSee [b](b.md).\n"
    records = [
        _record("case_studies/meta/a.md", ("loss-spikes",), "A title"),
        _record("case_studies/meta/b.md", ("checkpointing",), "B [draft]"),
    ]
    inputs = site.Inputs(
        cfg, records,
        {"case_studies/meta/a.md": text, "case_studies/meta/b.md": "# B\n", "README.md": "# KB\n\nA knowledge base.\n\n## More\n"},
        ("case_studies/index.json", "case_studies/meta/figures/lr.csv", "case_studies/meta/figures/lr.svg"),
    )
    plan = site.plan(inputs)
    page = plan.pages["meta/a.md"]
    assert page.startswith("---\ntags:\n- loss-spikes\ndescription: S.\n---\n\n# A title\n\n**Model:** [")
    assert "**ID:** `PC-0007`" in page
    assert "## Sources\n\n- <https://example.org/s>" in page
    assert "## Related case studies\n\n- [B \\[draft\\]](b.md)\n" in page
    assert "Figure data, with a source for every row: [lr.csv](figures/lr.csv)." in page
    assert page.endswith("Source: [case_studies/meta/a.md](https://github.com/pretraining-challenges/pretraining-challenges/blob/main/case_studies/meta/a.md) on GitHub.\n")
    assert "# OPT-175B" in plan.pages["meta/index.md"] and "_No case studies yet._" in plan.pages["bloomberg/index.md"]
    assert "A knowledge base." in plan.pages["index.md"] and "2 case studies of 3 models" in plan.pages["index.md"]
    assert plan.pages["tags/loss-spikes.md"].endswith("1 case study with this tag:\n\n<!-- material/tags { include: [loss-spikes], toc: false } -->\n")
    assert "No case study has this tag yet." in plan.pages["tags/data-quality.md"]
    assert "- [loss-spikes](loss-spikes.md): 1 case study" in plan.pages["tags/index.md"]
    assert "- [meta/figures/lr.csv](../meta/figures/lr.csv)" in plan.pages["data/index.md"]
    assert "- [index.json](index.json)" in plan.pages["data/index.md"]
    assert plan.copies == {"data/index.json": "case_studies/index.json", "meta/figures/lr.csv": "case_studies/meta/figures/lr.csv", "meta/figures/lr.svg": "case_studies/meta/figures/lr.svg"}
    nav = plan.config["nav"]
    assert nav[0] == {"Home": "index.md"} and nav[-1] == {"Data": "data/index.md"}
    assert {"OPT-175B (Meta AI)": ["meta/index.md", "meta/a.md", "meta/b.md"]} in nav
    assert plan.config["plugins"][1]["tags"]["tags_allowed"] == [t.name for t in site.tags_of(cfg)]
    assert site.studies_with("loss-spikes", records) == ["case_studies/meta/a.md"]


def test_the_generated_footer_is_left_to_the_site():
    text = "# T\n\nBody.\n\n<!-- case-study-footer:start -->\n---\n\n**Id:** `PC-0001`\n<!-- case-study-footer:end -->\n"
    assert site.strip_footer(text) == "# T\n\nBody.\n"
    assert site.strip_footer("# T\n\nBody.\n<!-- case-study-footer:start -->\nunclosed\n") == "# T\n\nBody.\n"
    assert site.strip_footer("# T\n") == "# T\n"
