"""Root-level heading lines from our mistune parser, checked against markdown-it-py's token map.

markdown-it-py is a test-only oracle: a CommonMark parser that records source
lines. Both must agree on the level and line of every root-level heading.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from bot.core.document import parse

REPO = Path(__file__).resolve().parent.parent
_ORACLE = MarkdownIt("commonmark")


def oracle_headings(text: str) -> list[tuple[int, int]]:
    body = text.lstrip("\ufeff")
    return [(int(t.tag[1]), t.map[0] + 1) for t in _ORACLE.parse(body) if t.type == "heading_open" and t.level == 0]


def our_headings(text: str) -> list[tuple[int, int]]:
    return [(b.level, b.line) for b in parse(text).headings]


def _without_front_matter(text: str) -> str:
    """Blank the front matter lines, so both parsers see the same body at the same lines."""
    doc = parse(text)
    if not doc.front_matter or not doc.front_matter.closed:
        return text
    lines = text.replace("\r\n", "\n").split("\n")
    return "\n".join([""] * doc.front_matter.end_line + lines[doc.front_matter.end_line :])


def _repository_markdown() -> list[Path]:
    def hidden(path: Path) -> bool:  # .git, .venv, .pytest_cache, bench/.cache ...: not the project's Markdown
        return any(part.startswith(".") or part == "node_modules" for part in path.relative_to(REPO).parts)

    return sorted(p for p in REPO.rglob("*.md") if not hidden(p))


@pytest.mark.parametrize("path", _repository_markdown(), ids=lambda p: str(p.relative_to(REPO)))
def test_repository_markdown_matches_the_oracle(path):
    text = _without_front_matter(path.read_text(encoding="utf-8"))
    assert our_headings(text) == oracle_headings(text)


TRAPS = {
    "fence": "```\n## Learnings\n```\n",
    "tilde fence": "~~~ md\n# Title\n~~~\n",
    "unclosed fence": "```\n## Learnings\n",
    "indented code": "    ## Learnings\n",
    "quote": "> ## Learnings\n",
    "lazy quote": "> a quoted line\n## Learnings\n",
    "quote with fence": "> ```\n> ## x\n> ```\n",
    "list item": "- item\n  ## Learnings\n",
    "list then heading": "- item\n## Learnings\n",
    "ordered list": "1. one\n2. two\n\n   ## inside\n",
    "html block": "<div>\n## Learnings\n</div>\n",
    "html comment": "<!--\n## Learnings\n-->\n",
    "setext h1": "Title\n=====\n",
    "setext h2": "Learnings\n---------\n",
    "two-line setext": "Solution that\nWorked\n---\n",
    "thematic break": "text\n\n---\n",
    "atx closing hashes": "## Learnings ##\n",
    "indented atx": "   ## Learnings\n",
    "escaped hash": "\\## Learnings\n",
    "no space": "##Learnings\n",
    "empty heading": "##\n",
    "seven hashes": "####### too deep\n",
    "paragraph": "Some text that runs\nover two lines.\n",
    "table": "| a | b |\n| --- | --- |\n| 1 | 2 |\n",
    "reference": "[ref]: https://example.org\n",
}


def _tricky_documents(count: int, seed: int = 20261126) -> list[str]:
    rng = random.Random(seed)
    pieces = list(TRAPS.values()) + ["# Title\n", "## Main Challenge\n", "### Sub\n", "\n", "\n\n", "Text.\n"]
    docs = []
    for _ in range(count):
        text = "".join(rng.choice(pieces) + rng.choice(["", "\n"]) for _ in range(rng.randint(3, 12)))
        docs.append(text.replace("\n", "\r\n") if rng.random() < 0.2 else text)
    return docs


@pytest.mark.parametrize("name", sorted(TRAPS))
def test_each_trap_matches_the_oracle(name):
    text = f"# Title\n\n{TRAPS[name]}\n## Main Challenge\n\nText.\n"
    assert our_headings(text) == oracle_headings(text)


_CONTAINED_HEADING = re.compile(r"^(?: +|> ?)#{1,6}(?:[ \t]|$)")


def _end_containers_after_headings(text: str) -> str:
    """Put a blank line after each heading inside a list item or quote (see the divergence test below)."""
    lines = text.replace("\r\n", "\n").split("\n")
    out = []
    for line in lines:
        out.append(line)
        if _CONTAINED_HEADING.match(line):
            out.append("")
    return "\n".join(out)


def test_generated_tricky_documents_match_the_oracle():
    docs = _tricky_documents(400)
    mismatches = [d for d in docs if our_headings(d) != oracle_headings(d)]
    # The only divergence allowed is the known lazy-continuation one; with a
    # blank line after contained headings, every document must agree.
    unexplained = [d for d in mismatches if our_headings(_end_containers_after_headings(d)) != oracle_headings(_end_containers_after_headings(d))]
    assert unexplained == []
    assert len(mismatches) < len(docs) // 10


def test_known_divergence_lazy_line_after_a_contained_heading():
    """mistune 3.4 continues a list item or quote lazily after a heading; CommonMark ends it.

    Only a setext heading placed directly under such a line is affected (it is
    read as part of the container). Pinned here so a mistune upgrade that
    fixes it is noticed; real case studies separate blocks with blank lines.
    """
    text = "- item\n  ## inside\nLearnings\n---------\n"
    assert oracle_headings(text) == [(2, 3)]
    assert our_headings(text) == []
    assert our_headings(_end_containers_after_headings(text)) == [(2, 4)] == oracle_headings(_end_containers_after_headings(text))


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_numbers_survive_line_endings_and_bom(newline):
    text = "\ufeff---\ntags: []\n---\n\n# T\n\nText\n\n## Main Challenge\n".replace("\n", newline)
    doc = parse(text)
    assert [(b.level, b.line, b.text) for b in doc.headings] == [(1, 5, "T"), (2, 9, "Main Challenge")]
    assert doc.has_bom and doc.front_matter.end_line == 3


def test_heading_text_is_plain_text():
    doc = parse("## **Bugs**/`Missteps` <!-- note --> [link](x)\n")
    assert doc.headings[0].text == "Bugs/Missteps link"


def test_blocks_know_their_extent():
    doc = parse("# T\n\npara one\npara two\n\n\n- a\n- b\n\n## S\n")
    assert [(b.kind, b.line, b.end_line) for b in doc.blocks] == [
        ("heading", 1, 1),
        ("paragraph", 3, 4),
        ("list", 7, 8),
        ("heading", 10, 10),
    ]


def test_html_comment_blocks_are_told_apart():
    doc = parse("<!-- just a note -->\n\n<div>x</div>\n")
    assert [b.kind for b in doc.blocks] == ["html_comment", "block_html"]


def test_unclosed_front_matter_leaves_the_body_parsed():
    doc = parse("---\ntags: [a]\n\n# Title\n")
    assert not doc.front_matter.closed
    assert [(b.level, b.line) for b in doc.headings] == [(1, 4)]


def test_logbook_blocks_know_their_kind_and_extent():
    text = (
        "# T\n\n"
        "## Main Challenge\n\n"
        "```bash\n## not a heading\n```\n\n"
        "> quoted\nlazy line\n\n"
        "| a | b |\n|---|---|\n\n"
        "<!--\nmulti-line note\n-->\n\n"
        "- item\n\n  ```\n  code under the item\n  ```\n- next\n\n"
        "    indented under the item, not code\n\n"
        "---\n\n"
        "    indented code\n"
    )
    doc = parse(text)
    assert [(b.kind, b.line, b.end_line) for b in doc.blocks] == [
        ("heading", 1, 1),
        ("heading", 3, 3),
        ("block_code", 5, 7),
        ("block_quote", 9, 10),
        ("paragraph", 12, 13),
        ("html_comment", 15, 17),
        ("list", 19, 26),
        ("thematic_break", 28, 28),
        ("block_code", 30, 30),
    ]
    assert doc.blocks[4].text == "| a | b |\n|---|---|\n"  # tables are paragraphs to mistune without its table plugin


def test_a_document_the_fast_path_declines_is_parsed_by_mistune_the_same_way():
    from bot.core import fastblocks

    text = '# T\n\n[ref]: /url "a title"\n\n## Main Challenge\n\nText.\n'
    assert fastblocks.blocks(text.split("\n")[:-1], 1) is None
    assert [(b.kind, b.line, b.text) for b in parse(text).blocks] == [
        ("heading", 1, "T"),
        ("heading", 5, "Main Challenge"),
        ("paragraph", 7, "Text.\n"),
    ]


def test_headings_and_paragraphs_need_no_mistune_import():
    import subprocess
    import sys

    probe = "import sys; from bot.core.document import parse; parse('# T\\n\\n- a\\n\\n```\\nx\\n```\\n'); print('mistune' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout == "False\n"
