"""The result artifact is untrusted: every field is validated, hostile content refused."""

from __future__ import annotations

import json

import pytest

from bot.core.findings import Finding, Fix
from bot.core.index import Record
from bot.github.result import MAX_BYTES, ResultError, dump, load

SHA = "a" * 40
GOOD_FINDING = Finding(
    "case_studies/meta/x.md", 21, "CS208", "section-name-variant", "error", "heading '## Bugs / Missteps' should be exactly '## Bugs/Missteps'",
    Fix(21, 21, "## Bugs/Missteps", "'## Bugs / Missteps' -> '## Bugs/Missteps'"), "## Bugs / Missteps",
)
MISSING = Finding(
    "case_studies/meta/x.md", 30, "CS203", "missing-section", "error", "missing section '## Learnings'",
    Fix(31, 30, "\n## Learnings\n\n_Give the lessons._", "inserted '## Learnings' at the end; fill it in"), "Last line.",
)
RECORD = Record("meta", "case_studies/meta/x.md", "Title", "Summary.", ("loss-spikes",), ("https://example.org",))


def _raw(**changes) -> dict:
    data = json.loads(dump(SHA, ["case_studies/meta/x.md"], [GOOD_FINDING, MISSING], [RECORD]))
    for key, value in changes.items():
        data[key] = value
    return data


def _finding(**changes) -> dict:
    item = _raw()["findings"][0]
    item.update(changes)
    return item


def test_round_trip():
    result = load(json.dumps(_raw()).encode())
    assert (result.head_sha, result.checked, result.findings, result.records) == (SHA, ["case_studies/meta/x.md"], [GOOD_FINDING, MISSING], [RECORD])


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"not json", "the result file is not JSON"),
        (b"\xff\xfe", "the result file is not JSON"),
        (json.dumps([1]).encode(), "unknown result format (version)"),
        (json.dumps(_raw(version=1)).encode(), "unknown result format (version)"),
        (json.dumps(_raw(head_sha="HEAD")).encode(), "head_sha must be a 40-character hex commit id"),
        (json.dumps(_raw(findings={"a": 1})).encode(), "findings must be a list"),
        (json.dumps(_raw(findings=[_finding(path="../../etc/passwd")])).encode(), "findings[0].path '../../etc/passwd' is not a plain relative path"),
        (json.dumps(_raw(findings=[_finding(path="/etc/passwd")])).encode(), "findings[0].path '/etc/passwd' is not a plain relative path"),
        (json.dumps(_raw(findings=[_finding(code="CS999")])).encode(), "findings[0].code 'CS999' is not a rule this bot knows"),
        (json.dumps(_raw(findings=[_finding(name="friendly")])).encode(), "findings[0].name does not match rule CS208"),
        (json.dumps(_raw(findings=[_finding(severity="fatal")])).encode(), "findings[0].severity must be error or warning"),
        (json.dumps(_raw(findings=[_finding(line=0)])).encode(), "findings[0].line must be a line number"),
        (json.dumps(_raw(findings=[_finding(line=True)])).encode(), "findings[0].line must be a line number"),
        (json.dumps(_raw(findings=[_finding(message="x" * 2001)])).encode(), "findings[0].message must be a string of at most 2000 characters"),
        (json.dumps(_raw(findings=[_finding(fix={"start_line": 21, "end_line": 21, "replacement": "## X\n```\n@everyone", "description": "d"})])).encode(), "findings[0].fix.replacement must be one line without backticks"),
        (json.dumps(_raw(findings=[_finding(fix={"start_line": 21, "end_line": 24, "replacement": "x", "description": "d"})])).encode(), "findings[0].fix replaces at most two lines, or inserts before one"),
        (json.dumps(_raw(findings=[_finding(fix={"start_line": 21, "end_line": 0, "replacement": "x", "description": "d"})])).encode(), "findings[0].fix.end_line must be a line number"),
        (json.dumps(_raw(findings=[_finding(fix={"start_line": 21, "end_line": 21, "replacement": "x" * 2001, "description": "d"})])).encode(), "findings[0].fix.replacement must be a string of at most 2000 characters"),
        (json.dumps(_raw(findings=[_finding(fix={"start_line": 21, "end_line": 21, "replacement": "x"})])).encode(), "findings[0].fix.description must be a string"),
        (json.dumps(_raw(findings=[_finding(code="CS206", name="empty-section", fix={"start_line": 1, "end_line": 1, "replacement": "x", "description": "d"})])).encode(), "findings[0].fix is only allowed for fixable rules"),
        (json.dumps(_raw(records=[{"model": "meta"}])).encode(), "records[0].tags must be a list of strings"),
        (json.dumps(_raw(checked=["ok.md", "a/../b"])).encode(), "checked[1].path 'a/../b' is not a plain relative path"),
    ],
)
def test_hostile_or_broken_results_are_refused(data, problem):
    with pytest.raises(ResultError) as caught:
        load(data)
    assert str(caught.value).startswith(problem)


def test_a_huge_result_is_refused_before_parsing():
    with pytest.raises(ResultError, match=f"at most {MAX_BYTES} are accepted"):
        load(b" " * (MAX_BYTES + 1))
