"""Every rule, from fixture files that declare their own expected findings."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bot.core.linter import lint_file, lint_text
from bot.core.rules import REGISTRY
from helpers import GOOD, expected_findings, found

FIXTURES = Path(__file__).parent / "fixtures" / "case_studies"
PASS = sorted((FIXTURES / "pass").glob("*.md"))
FAIL = sorted((FIXTURES / "fail").glob("*.md"))


def _lint(path: Path, cfg):
    return list(lint_file(f"case_studies/meta/{path.name}", path.read_bytes(), cfg).findings)


@pytest.mark.parametrize("path", PASS, ids=lambda p: p.name)
def test_passing_fixture_has_no_findings(path, cfg):
    assert _lint(path, cfg) == []


@pytest.mark.parametrize("path", FAIL, ids=lambda p: p.name)
def test_failing_fixture_yields_exactly_its_expectations(path, cfg):
    expected = expected_findings(path.read_text(encoding="utf-8"))
    assert expected, "a failing fixture must declare what it expects"
    assert found(_lint(path, cfg)) == expected


def test_every_document_rule_has_a_failing_fixture():
    declared = {code for path in FAIL for _, code in expected_findings(path.read_text(encoding="utf-8"))}
    document_rules = {code for code, r in REGISTRY.items() if r.scope == "document"}
    assert document_rules - declared == set()


@pytest.mark.parametrize("code", sorted(code for code, r in REGISTRY.items() if r.fixable))
def test_every_fixable_rule_has_a_fixture_its_fix_cleans(code, cfg):
    from bot.core import fixer

    fixtures = [p for p in FAIL if code in {c for _, c in expected_findings(p.read_text(encoding="utf-8"))}]
    assert fixtures, f"{code} is fixable but no failing fixture shows it"
    for path in fixtures:
        before = _lint(path, cfg)
        # A rule may leave a finding without a fix when no single fix is right (CS302: no close tag).
        fixable = [f for f in before if f.code == code and f.fix is not None]
        assert fixable, f"{path.name} shows no {code} finding with a fix"
        fixed, changes = fixer.apply(path.read_text(encoding="utf-8"), fixable)
        after = lint_file(f"case_studies/meta/{path.name}", fixed.encode(), cfg).findings
        assert [c.line for c in changes] == [f.line for f in fixable]
        # What is left is what was there before, less the fixed findings; an inserted
        # section brings the template's guidance for the contributor to replace (CS209).
        inserted = sum(1 for f in fixable if f.fix is not None and f.fix.inserts)
        expected = Counter(f.code for f in before if f not in fixable) + Counter({"CS209": inserted} if inserted else {})
        assert Counter(f.code for f in after) == expected, path.name


def test_every_rule_reports_through_a_test_that_names_it():
    """Rules over paths, bytes and the index have no Markdown fixture: a test names each of them."""
    here = Path(__file__).parent
    text = "\n".join(p.read_text(encoding="utf-8") for p in here.glob("test_*.py"))
    fixtures = {code for path in FAIL for _, code in expected_findings(path.read_text(encoding="utf-8"))}
    assert [code for code in REGISTRY if code not in fixtures and f'"{code}"' not in text] == []


def test_a_clean_file_passes(cfg):
    assert lint_text("case_studies/meta/good.md", GOOD, cfg) == []


def test_messages_name_the_exact_expected_heading(cfg):
    findings = _lint(FIXTURES / "fail" / "cs208-variants.md", cfg)
    assert [f.message for f in findings] == [
        "heading '## main challenge <!-- expect: CS208 -->' should be exactly '## Main Challenge'",
        "heading '## What Didn't Work <!-- expect: CS208 -->' should be exactly '## Solution that Did Not Work'",
        "heading '## 3. Solution That Worked: <!-- expect: CS208 -->' should be exactly '## Solution that Worked'",
        "heading '## Bugs / Missteps <!-- expect: CS208 -->' should be exactly '## Bugs/Missteps'",
        "heading '### Learnings <!-- expect: CS208 -->' should be exactly '## Learnings'",
    ]
    assert all(f.fix is not None for f in findings)


def test_setext_variant_fix_replaces_both_lines(cfg):
    findings = _lint(FIXTURES / "fail" / "cs208-level-and-setext.md", cfg)
    fixes = [(f.line, f.fix.start_line, f.fix.end_line, f.fix.replacement) for f in findings]
    assert fixes == [
        (8, 8, 9, "## Main Challenge"),
        (17, 17, 18, "## Solution that Worked"),
        (22, 22, 22, "## Bugs/Missteps"),
        (26, 26, 26, "## Lessons Learned".replace("Lessons Learned", "Learnings")),
    ]


def test_out_of_order_message_says_where_it_belongs(cfg):
    findings = _lint(FIXTURES / "fail" / "cs204-swapped-neighbours.md", cfg)
    assert [f.message for f in findings] == [
        "section '## Solution that Worked' is out of order; it belongs before '## Bugs/Missteps'"
    ]


def test_unknown_section_suggests_the_closest_name(cfg):
    findings = _lint(FIXTURES / "fail" / "cs207-unknown-section.md", cfg)
    assert [f.message for f in findings] == [
        "unknown section '## Solutions that Did Not Help'; did you mean '## Solution that Did Not Work'?",
        "unknown section '## Results'; use one of the required sections, or make it a '###' subheading inside one",
    ]


def test_unknown_tag_suggests_the_closest_tag(cfg):
    findings = _lint(FIXTURES / "fail" / "cs302-unknown-tag.md", cfg)
    assert findings[0].message == "unknown tag 'loss-spike'; did you mean 'loss-spikes'?"
    assert findings[1].message.startswith("unknown tag 'flux-capacitor'; known tags: loss-divergence, ")


def test_missing_sources_is_a_warning(cfg):
    findings = _lint(FIXTURES / "fail" / "cs303-empty-sources.md", cfg)
    assert [(f.code, f.severity, f.is_error) for f in findings] == [("CS303", "warning", False)]


def test_ignored_rules_are_not_reported(cfg):
    quiet = cfg._replace(ignore=frozenset({"CS303"}))
    assert _lint(FIXTURES / "fail" / "cs303-empty-sources.md", quiet) == []


def _crlf_bom(text: str) -> bytes:
    return "\ufeff".encode() + text.replace("\n", "\r\n").encode("utf-8")


@pytest.mark.parametrize("path", FAIL[:6] + PASS, ids=lambda p: p.name)
def test_crlf_and_bom_keep_line_numbers(path, cfg):
    plain = lint_file(f"case_studies/meta/{path.name}", path.read_bytes(), cfg).findings
    windows = lint_file(f"case_studies/meta/{path.name}", _crlf_bom(path.read_text(encoding="utf-8")), cfg).findings
    assert found(windows) == found(plain)


# --- bytes rules -------------------------------------------------------------


def test_invalid_utf8_is_reported_at_its_line_and_stops_there(cfg):
    data = GOOD.encode().replace(b"step 14,500", b"step \xff14,500")
    findings = lint_file("case_studies/meta/latin.md", data, cfg).findings
    assert [(f.line, f.code) for f in findings] == [(12, "CS304")]
    offset = data.index(b"\xff")
    assert findings[0].message == f"the file is not valid UTF-8 (byte 0xff at offset {offset})"


def test_binary_content_is_reported(cfg):
    findings = lint_file("case_studies/meta/image.md", b"\x89PNG\r\n\x1a\n\0\0\0IHDR", cfg).findings
    assert [(f.line, f.code, f.message) for f in findings] == [
        (3, "CS304", "the file contains NUL bytes: it looks binary, not Markdown text")
    ]


def test_utf16_file_is_not_utf8(cfg):
    findings = lint_file("case_studies/meta/wide.md", GOOD.encode("utf-16"), cfg).findings
    assert [f.code for f in findings] == ["CS304"]


def test_oversized_file_is_reported_without_being_read(cfg):
    findings = lint_file("case_studies/meta/huge.md", None, cfg, size=50 * 1024 * 1024).findings
    assert [(f.line, f.code, f.message) for f in findings] == [
        (1, "CS305", "the file is 50 MiB; the limit is 256 KiB (limits.max_file_size)")
    ]


# --- layout rules --------------------------------------------------------------

LAYOUT = [
    ("case_studies/meta/good-name.md", 100, []),
    ("case_studies/loose.md", 100, ["CS101"]),
    ("case_studies/meta/2021/deep.md", 100, ["CS101"]),
    ("case_studies/meta/assets/notes.md", 100, ["CS101"]),
    ("case_studies/mistral/x.md", 100, ["CS102"]),
    ("case_studies/mistral/assets/x.png", 100, ["CS102"]),
    ("case_studies/meta/Bad Name.md", 100, ["CS103"]),
    ("case_studies/meta/snake_case.md", 100, ["CS103"]),
    ("case_studies/meta/upper.MD", 100, ["CS103"]),
    ("case_studies/meta/long.markdown", 100, ["CS103"]),
    ("case_studies/meta/-leading.md", 100, ["CS103"]),
    ("case_studies/meta/data.csv", 100, ["CS104"]),
    ("case_studies/meta/.DS_Store", 100, ["CS104"]),
    ("case_studies/logo.png", 100, ["CS104"]),
    ("case_studies/meta/assets/loss.png", 100, []),
    ("case_studies/meta/assets/nested/loss.webp", 100, []),
    ("case_studies/meta/assets/run.zip", 100, ["CS104"]),
    ("case_studies/meta/assets/loss.png", 2 * 1024 * 1024, ["CS104"]),
    ("case_studies/meta/assets/run.zip", 2 * 1024 * 1024, ["CS104", "CS104"]),
    ("case_studies/README.md", 100, []),
    ("case_studies/meta/README.md", 100, []),
    ("case_studies/index.json", 100, []),
    ("docs/notes.txt", 100, []),
]


@pytest.mark.parametrize(("path", "size", "codes"), LAYOUT, ids=[row[0] + f"@{row[1]}" for row in LAYOUT])
def test_layout_rules(path, size, codes, cfg):
    data = GOOD.encode() if path.endswith((".md", ".MD", ".markdown")) else b""
    findings = lint_file(path, data, cfg, size=size if not data else None).findings
    assert sorted(f.code for f in findings if f.code.startswith("CS1")) == codes


def test_unknown_model_message_shows_the_registry_entry(cfg):
    (finding,) = lint_file("case_studies/mistral/x.md", GOOD.encode(), cfg).findings
    assert finding.message == (
        "unknown model folder 'mistral'; known models: meta, huggingface, bloomberg. To add it, give it an entry "
        'under "models:" in .github/challenge-bot.yml with name, label, color, description and paper, e.g. '
        'mistral: {name: "...", label: "model: mistral", color: "ededed", description: "...", paper: "https://..."}'
    )


def test_markdown_outside_the_case_studies_gets_content_rules_only(cfg):
    findings = lint_text("drafts/Notes.md", "# Draft\n", cfg)
    assert Counter(f.code for f in findings) == Counter({"CS203": 5, "CS303": 1})
