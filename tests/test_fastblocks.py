"""The fast path for plain documents must give exactly what mistune gives, or decline."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bot.core import fastblocks
from bot.core.document import mistune_tokens, split_lines

REPO = Path(__file__).resolve().parent.parent


def _both(text: str):
    lines = split_lines(text)
    if lines and lines[-1] == "":
        lines.pop()
    fast = fastblocks.blocks(lines, 1)
    slow = [{k: v for k, v in t.items() if k in ("type", "line", "text", "attrs", "style")} for t in mistune_tokens(lines, 1)]
    return fast, [t for t in slow if t["type"] != "list"] + [{"type": "list", "line": t["line"]} for t in slow if t["type"] == "list"]


def _same(text: str) -> bool | None:
    fast, slow = _both(text)
    if fast is None:
        return None
    key = lambda t: (t["line"], t["type"])  # noqa: E731
    return sorted(fast, key=key) == sorted(slow, key=key)


def _body(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    if text.startswith("---\n"):
        end = text.index("\n---\n", 4)
        text = "\n" * (text[:end].count("\n") + 2) + text[end + 5 :]
    return text


REPOSITORY_MARKDOWN = sorted(p for p in REPO.glob("case_studies/*/*.md")) + [REPO / "README.md", REPO / "CONTRIBUTING.md"]


@pytest.mark.parametrize("path", REPOSITORY_MARKDOWN, ids=lambda p: str(p.relative_to(REPO)))
def test_repository_markdown(path):
    assert _same(_body(path)) in (True, None)


def test_the_case_studies_take_the_fast_path():
    studies = sorted(p for p in REPO.glob("case_studies/*/*.md") if p.name != "README.md")
    assert [p.name for p in studies if _same(_body(p)) is not True] == []


PIECES = [
    "Plain text line.",
    "Another sentence, 3.5 days later.",
    "**Bold** start of a paragraph.",
    "2023 was the year.",
    "# Title",
    "## Main Challenge",
    "### Sub ###",
    "#hashtag, not a heading",
    "- item one",
    "- item two",
    "* star item",
    "+ plus item",
    "1. first",
    "2. second",
    "10. tenth",
    "1) paren",
    "  continued under an item",
    "   three-space continuation",
    "    four-space continuation",
    "  - nested item",
    "    - deeper item",
    "| a | b |",
    "![image](x.png)",
    "\\- escaped dash",
    "lazy continuation at column zero",
    "",
    "",
    # outside the plain subset: the fast path must decline these
    "```",
    "> quote",
    "<div>",
    "---",
    "***",
    "Title\n=====",
    "[ref]: https://example.org",
    "\tTabbed",
    "  ## indented heading",
    "-",
    "-     wide item",
    " - indented item",
    "    indented code after a blank",
]


def _generated(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["\n".join(rng.choice(PIECES) for _ in range(rng.randint(2, 25))) + "\n" for _ in range(count)]


def test_generated_documents_agree_or_are_declined():
    outcomes = [_same(text) for text in _generated(3000, 20261126)]
    assert False not in outcomes
    assert outcomes.count(True) > 100  # the generator exercises the fast path, not only the fallback


def test_documents_of_plain_pieces_agree_or_are_declined():
    plain = PIECES[: PIECES.index("```")]
    rng = random.Random(7)
    outcomes = [_same("\n".join(rng.choice(plain) for _ in range(rng.randint(1, 30))) + "\n") for _ in range(2000)]
    assert False not in outcomes
    assert outcomes.count(True) > 600


@pytest.mark.parametrize(
    "text",
    ["a\n```\nb\n```\n", "> q\n", "x\n---\n", "[r]: /u\n", "\tcode\n", "  ## h\n", "- \n", "Para\n2. item\n", " - x\n"],
)
def test_constructs_outside_the_subset_are_declined(text):
    assert fastblocks.blocks(text.rstrip("\n").split("\n"), 1) is None


def test_no_break_space_is_text_not_blank():
    assert _same("Para\n\u00a0\nmore\n") is True
