"""A pull request's own rules under its base branch's trust (``bot.core.config_trust``)."""

from __future__ import annotations

from bot.core.config_model import DOCS_URL, Config, Model, Section, Tag
from bot.core.config_trust import for_pull_request
from bot.core.review import plan_labels

BASE = Config(
    sections=(Section("Main Challenge"),),
    models={"meta": Model("meta", "OPT-175B", "model: OPT-175B", "0866ff", "Meta's run", "https://arxiv.org/abs/2205.01068")},
    tags=(Tag("loss-spikes", "symptom", "Spikes."),),
    docs_url="https://docs.example.org/rules.md",
    max_file_size=1000,
    max_asset_size=5000,
    asset_types=("png", "svg"),
    review_reporter="annotations",
    review_max_inline_comments=5,
)


def test_the_pull_requests_rules_with_the_bases_links_labels_limits_and_review_settings() -> None:
    head = BASE._replace(
        sections=(Section("Main Challenge"), Section("Timeline")),
        tags=(),
        models={
            "meta": Model("meta", "OPT-175B (renamed)", "model: Pwned", "ff0000", "@team", "https://arxiv.org/abs/2205.01068v2"),
            "new": Model("new", "New <b>model</b>", "model: New", "00ff00", "New one", "https://example.org/paper"),
        },
        docs_url="https://phish.example/rules.md",
        max_file_size=10**9,
        max_asset_size=10,
        asset_types=("png", "exe"),
        review_reporter="both",
        review_max_inline_comments=1000,
        ignore=frozenset({"CS203"}),
    )
    merged = for_pull_request(head, BASE)
    assert (merged.sections, merged.tags, merged.ignore) == (head.sections, (), frozenset({"CS203"}))  # its rules
    assert dict(merged.models) == {
        "meta": Model("meta", "OPT-175B (renamed)", "model: OPT-175B", "0866ff", "Meta's run", "https://arxiv.org/abs/2205.01068v2"),
        "new": Model("new", "New <b>model</b>", "", "00ff00", "", "https://example.org/paper"),
    }
    assert (merged.docs_url, merged.review_reporter, merged.review_max_inline_comments) == ("https://docs.example.org/rules.md", "annotations", 5)
    assert (merged.max_file_size, merged.max_asset_size, merged.asset_types) == (1000, 10, ("png",))  # only ever stricter


def test_without_a_usable_base_config_the_defaults_are_trusted_and_no_label_is_made() -> None:
    merged = for_pull_request(BASE, None)
    assert (merged.docs_url, merged.max_file_size, merged.review_reporter) == (DOCS_URL, 1000, "suggestions")
    assert [m.label for m in merged.models.values()] == [""]
    assert plan_labels(["case_studies/meta/a.md"], ["model: OPT-175B"], merged) == ((), ())  # nothing added, nothing taken away
