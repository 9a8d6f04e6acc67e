"""Front matter: the plain form read line by line gives what PyYAML composes, on every input it accepts."""

from __future__ import annotations

import random

import pytest
import yaml

from bot.core import document, frontmatter
from conftest import REPO

PLAIN = ["PC-0001", "loss-spikes", "https://example.org/a#L1-L9", "https://example.org/a?x=1&y=[2]", "Hugo Laurençon", "tr8-104B", "x-", "a  b", "ünïcödé ×"]
# Values a plain reader could get wrong: other types, indicators, comments, quotes, other line breaks.
TRICKY = [
    "2023", "1.5", "0x1F", ".inf", "2021-01-01", "yes", "No", "on", "null", "~", "true", "<<", "=",
    "", "a: b", "a:", "a #b", "a#b", "'quoted'", '"double"', "-x", "?x", ":x", "a\tb", "[a]", "{a: b}", "a,b",
    "&anchor x", "*alias", "!!str x", "| x", "> x", "a ]", "%x", "@x", "`x`", "x\u2028y", "x\x85y", "\ufeffx", "x\xa0",
]  # fmt: skip
KEYS = ["id", "tags", "sources", "authors", "related"] * 4 + ["other", "Tags", "x" * 1030]


def _value(rng: random.Random) -> str:
    pick = lambda: rng.choice(TRICKY if rng.random() < 0.15 else PLAIN)  # noqa: E731
    indent = rng.choice(["", "  ", "    "])
    form = rng.choice([0, 0, 1, 1, 2, 2, 3, 4, 5, 6])
    if form == 0:
        return f" {pick()}"
    if form == 1:
        return " [" + rng.choice([", ", ",", " , "]).join(pick() for _ in range(rng.randint(0, 3))) + rng.choice(["]", " ]", "] ", ""])
    if form == 2:
        return "".join(f"\n{indent}-{rng.choice([' ', '  '])}{pick()}" for _ in range(rng.randint(1, 3)))
    if form == 3:
        return f"\n{indent}- {pick()}\n{rng.choice(['', ' ', '   '])}- {pick()}"  # indents that may not agree
    if form == 4:
        return rng.choice(["", "  ", " # a comment", "\n\n", "\n  nested: x", "\n  - a\n    continued"])
    if form == 5:
        return f" {pick()}\n  {pick()}"  # a value on two lines
    return f" {pick()}{rng.choice(['', ' ', '  '])}"


def _front_matter(rng: random.Random) -> str:
    lines = [f"{rng.choice(KEYS)}:{_value(rng)}" for _ in range(rng.randint(1, 5))]
    if rng.random() < 0.1:
        lines.insert(rng.randrange(len(lines) + 1), rng.choice(["# comment", "", "  ", "- item", "key value", "---x"]))
    return "\n".join(lines)


def _composed(text: str):
    try:
        return frontmatter.yaml_pairs(text)
    except (yaml.YAMLError, frontmatter._NotAMapping) as exc:
        return type(exc).__name__


def test_the_plain_reader_agrees_with_pyyaml_on_generated_front_matter():
    rng = random.Random(11)
    read = declined = 0
    for _ in range(6000):
        text = _front_matter(rng)
        plain = frontmatter.plain_pairs(text)
        if plain is None:
            declined += 1
            continue
        read += 1
        assert plain == _composed(text), repr(text)
    # Both ways are taken often: the comparison above is not vacuous, nor is the fallback.
    assert min(read, declined) > 1000, (read, declined)


@pytest.mark.parametrize("path", sorted(p.relative_to(REPO).as_posix() for p in REPO.glob("case_studies/*/*.md") if p.name != "README.md"))
def test_every_case_study_front_matter_is_read_the_plain_way(path):
    front = document.parse((REPO / path).read_text(encoding="utf-8")).front_matter
    assert front is not None
    assert frontmatter.plain_pairs(front.text) == frontmatter.yaml_pairs(front.text)


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("id: PC-0001\ntags: [loss-spikes, rollback]\nsources:\n  - https://a.org/x#L2", True),
        ("tags:\n- a\n- b", True),
        ("tags: []", True),
        ("tags: [2023]", True),  # an integer, as PyYAML has it: CS301 reports it
        ("tags:", False),  # null: PyYAML places it
        ("tags: [a, b,]", False),
        ("tags: 'a'", False),
        ("tags: [a] # note", False),
        ("tags:\n  - a\n - b", False),
        ("id: PC-0001\n\ntags: [a]", False),
        ("sources:\n  - https://a.org/x\n    continued", False),
    ],
)
def test_what_the_plain_reader_takes(text, plain):
    assert (frontmatter.plain_pairs(text) is not None) == plain
    if plain:
        assert frontmatter.plain_pairs(text) == frontmatter.yaml_pairs(text)


def test_both_readers_give_the_same_findings():
    text = "id: PC-7\ntags: [2023, loss-spikes, loss-spikes]\nsources:\n  - ftp://x\nextra: 1"
    front = document.parse(f"---\n{text}\n---\n# T\n").front_matter
    assert front is not None and frontmatter.plain_pairs(text) is not None
    assert frontmatter.read(front) == frontmatter._read_mapping(frontmatter.yaml_pairs(text), 2, "PC") == frontmatter.Metadata(
        fields={},
        key_lines={"id": 2, "tags": 3, "sources": 4},
        problems=(
            (2, "'id' must be a permanent id like PC-0007 (never changed once given), got 'PC-7'"),
            (3, "each entry of 'tags' must be a non-empty string"),
            (3, "'loss-spikes' is listed twice in 'tags'"),
            (5, "source 'ftp://x' is not an http(s) URL"),
            (6, "unknown front matter key 'extra'; allowed keys: id, tags, sources, authors, related"),
        ),
    )
