"""The rule registry refuses malformed rules at import time."""

from __future__ import annotations

import re

import pytest

from bot.core.rules import REGISTRY, RegistryError
from bot.core.rules.registry import rule

CONTRACT = {
    "CS101": ("outside-model-folder", "error"),
    "CS102": ("unknown-model", "error"),
    "CS103": ("bad-file-name", "error"),
    "CS104": ("unexpected-file", "error"),
    "CS105": ("symlink-outside-repository", "error"),
    "CS106": ("not-a-regular-file", "error"),
    "CS201": ("missing-title", "error"),
    "CS202": ("extra-title", "error"),
    "CS203": ("missing-section", "error"),
    "CS204": ("section-out-of-order", "error"),
    "CS205": ("duplicate-section", "error"),
    "CS206": ("empty-section", "error"),
    "CS207": ("unknown-section", "error"),
    "CS208": ("section-name-variant", "error"),
    "CS209": ("template-placeholder", "error"),
    "CS301": ("invalid-front-matter", "error"),
    "CS302": ("unknown-tag", "error"),
    "CS303": ("missing-sources", "warning"),
    "CS304": ("not-utf8", "error"),
    "CS305": ("file-too-large", "error"),
    "CS306": ("unknown-disable-code", "error"),
    "CS307": ("missing-id", "error"),
    "CS310": ("empty-tags", "warning"),
    "CS401": ("index-out-of-date", "error"),
    "CS402": ("index-markers-missing", "error"),
    "CS403": ("duplicate-id", "error"),
    "CS404": ("retired-id", "error"),
    "CS405": ("unknown-related", "error"),
    "CS406": ("invalid-redirect", "error"),
    "CS407": ("missing-redirect", "error"),
    "CS408": ("invalid-figure-data", "error"),
    "CS409": ("figure-out-of-date", "error"),
}


def test_the_public_contract_is_implemented_exactly():
    assert {code: (r.name, r.severity) for code, r in REGISTRY.items()} == CONTRACT
    assert sorted(code for code, r in REGISTRY.items() if r.fixable) == ["CS203", "CS208", "CS302"]
    assert [code for code, r in REGISTRY.items() if not r.suppressible] == ["CS306"]


def test_every_rule_has_a_one_line_hint():
    for code, r in REGISTRY.items():
        assert r.hint.strip() and "\n" not in r.hint and not r.hint.endswith("."), code


def test_every_rule_documents_why_with_examples():
    for code, r in REGISTRY.items():
        assert "**Why:**" in r.doc and "**Bad:**" in r.doc and "**Good:**" in r.doc, code


def _doc():
    """Documented."""
    yield from ()


@pytest.mark.parametrize(
    ("code", "name", "scope", "message"),
    [
        ("CS1", "x", "path", "code must look like CS101"),
        ("XX101", "x", "path", "code must look like CS101"),
        ("CS501", "x", "path", "code must look like CS101"),
        ("CS203", "again", "document", "code already registered to missing-section"),
        ("CS299", "Not_Kebab", "document", "name 'Not_Kebab' must be kebab-case"),
        ("CS299", "missing-section", "document", "name 'missing-section' already registered"),
        ("CS299", "fine-name", "path", "scope 'path' does not fit the CS2xx band"),
    ],
)
def test_malformed_rules_are_refused(code, name, scope, message):
    with pytest.raises(RegistryError, match=re.escape(message)):
        rule(code, name, scope=scope, hint="h")(_doc)
    assert "CS299" not in REGISTRY


def test_a_rule_without_docstring_is_refused():
    def undocumented(ctx):
        yield from ()

    with pytest.raises(RegistryError, match="docstring is its documentation"):
        rule("CS299", "no-docs", scope="document", hint="h")(undocumented)


def test_bad_severity_is_refused():
    with pytest.raises(RegistryError, match="severity must be"):
        rule("CS299", "loud", scope="document", hint="h", severity="fatal")(_doc)


def test_a_rule_without_a_hint_is_refused():
    with pytest.raises(RegistryError, match="the hint is one line"):
        rule("CS299", "no-hint", scope="document", hint=" ")(_doc)
    assert "CS299" not in REGISTRY


def test_lookup_takes_a_code_in_any_case_or_a_name():
    from bot.core.rules import lookup

    assert lookup("cs203") is REGISTRY["CS203"] and lookup("missing-section") is REGISTRY["CS203"]
    assert lookup("CS999") is None and lookup("nothing-like-it") is None
