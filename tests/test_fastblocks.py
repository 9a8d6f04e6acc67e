"""The fast path must give exactly what mistune gives, or decline: a differential test.

Every comparison runs both parsers on the same lines: ``fastblocks.blocks`` and
mistune's block parser (``bot.core.mistuneblocks``). They must agree on every
root-level block (kind, first line; paragraph and heading text, heading level
and style; the raw text of HTML blocks) and so on every ``Block`` a rule sees,
end lines included. Declining is allowed; disagreeing never is.
"""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

import mistune.helpers
import pytest
from mistune.list_parser import LIST_PATTERN

from bot.core import document, fastblocks, mistuneblocks
from bot.core.document import split_lines

REPO = Path(__file__).resolve().parent.parent


def _lines(text: str) -> list[str]:
    lines = split_lines(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _shape(tokens: list[dict]) -> list[dict]:
    """What the Document is built from: kind and line of every block, and the text rules read."""
    out = []
    for t in tokens:
        shape = {"type": t["type"], "line": t.get("line")}
        if t["type"] in ("paragraph", "heading"):
            shape["text"] = t["text"]
        if t["type"] == "heading":
            shape["level"], shape["style"] = t["attrs"]["level"], t.get("style")
        if t["type"] == "block_html":
            shape["raw"] = t["raw"]
        out.append(shape)
    return out


def _same(text: str) -> bool | None:
    """True when both parsers agree, None when the fast path declines, False when they disagree."""
    lines = _lines(text)
    fast = fastblocks.blocks(lines, 1)
    if fast is None:
        return None
    slow = mistuneblocks.tokens(lines, 1)
    return _shape(fast) == _shape(slow) and document.to_blocks(fast, lines, 1) == document.to_blocks(slow, lines, 1)


def _body(path: Path) -> str:
    """The Markdown after the front matter, as ``document.parse`` hands it on, the front matter's lines left blank."""
    lines = _lines(path.read_text(encoding="utf-8").lstrip(document.BOM))
    _, start = document._split_front_matter(lines)
    return "\n" * start + "".join(line + "\n" for line in lines[start:])


def _hidden(path: Path) -> bool:  # .git, .venv, bench/.cache ...: not the project's Markdown
    return any(part.startswith(".") or part == "node_modules" for part in path.relative_to(REPO).parts)


REPOSITORY_MARKDOWN = sorted(p for p in REPO.rglob("*.md") if not _hidden(p))


def test_the_patterns_are_mistunes_own():
    parser = mistuneblocks.PARSER
    assert fastblocks.SPECIFICATION == {name: parser.specification[name] for name in fastblocks.SPECIFICATION}
    assert set(fastblocks.ROOT_RULES) == set(parser.rules) and list(fastblocks.ROOT_RULES) == parser.rules
    assert (fastblocks.BLOCK_TAGS, fastblocks.PRE_TAGS) == (mistune.helpers.BLOCK_TAGS, mistune.helpers.PRE_TAGS)
    assert (fastblocks.HTML_TAGNAME, fastblocks.HTML_ATTRIBUTES, fastblocks.LINK_LABEL) == (
        mistune.helpers.HTML_TAGNAME,
        mistune.helpers.HTML_ATTRIBUTES,
        mistune.helpers.LINK_LABEL,
    )
    assert fastblocks.LIST_PATTERN == LIST_PATTERN
    assert parser.compile_sc(list(mistuneblocks._QUOTE_BREAK_RULES)).pattern == fastblocks._break_sc(fastblocks.QUOTE_BREAK_RULES, 3, False).pattern
    from mistune.block_parser import _ATX_HEADING_TRIM  # a private name: checked here, copied there
    from mistune.list_parser import _get_list_break_rules  # the same

    assert fastblocks.ATX_HEADING_TRIM.pattern == _ATX_HEADING_TRIM.pattern
    assert list(fastblocks.LIST_BREAK_RULES) == _get_list_break_rules(parser)
    from mistune.list_parser import _compile_list_break_sc  # the same

    for leading in range(1, 6):
        assert fastblocks.list_break_sc(leading).pattern == _compile_list_break_sc(parser, leading).pattern


@pytest.mark.parametrize("path", REPOSITORY_MARKDOWN, ids=lambda p: str(p.relative_to(REPO)))
def test_repository_markdown_takes_the_fast_path_and_agrees(path):
    assert _same(_body(path)) is True


def test_every_case_study_takes_the_fast_path():
    studies = sorted(p for p in REPO.glob("case_studies/*/*.md"))
    assert len(studies) > 10
    assert [p.name for p in studies if fastblocks.blocks(_lines(_body(p)), 1) is None] == []


# Single lines, some of them only meaningful next to others: the first generator draws from these.
LINES = [
    "Plain text line.", "Another sentence, 3.5 days later.", "**Bold** start.", "2023 was the year.", "2023.", "1.5 days",
    "# Title", "## Main Challenge", "### Sub ###", "#hashtag", "  ## indented heading", "####### seven", "#", "## ", "   # three",
    "- item", "* star item", "+ plus item", "1. first", "2. second", "10. tenth", "1) paren", "-", "- ", "1.", "-   wide item",
    "-     very wide", "-\ttab item", " - one space item", "  - two space item", "   - three", "    - four (code?)",
    "  continued", "   three-space", "    four-space", "     five-space", "      six", "\tTabbed", " \ttab", "\t", "     ",
    "| a | b |", "|---|---|", "| 1 | 2 |", "a | b", "--- | ---",
    "```", "```python", "``` js ", "````", "~~~", "~~~ md", "```a`b", "  ```", "   ~~~", "    ```",
    "> quote", ">", "> ", ">> nested", "> > nested", "   > quote", "> ```", "> - item", "> # heading", ">\tcode", ">     code",
    "<!-- comment -->", "<!--", "-->", "<!-- challenge-bot: disable=CS303 -->", "<div>", "</div>", '<div class="x">', "<span>",
    "<span>text", "</span>", "<pre>", "</pre>", "<details>", "<summary>x</summary>", "<?php", "?>", "<!DOCTYPE html>",
    "<![CDATA[", "]]>", "<br/>", "<img src=x>",
    "---", "***", "___", "- - -", "* * *", "===", "=", "--", "==  ", "-=-",
    "[ref]: https://example.org", '[ref]: /u "title"', "[ref]:", "[ref]: <x>", '"title"', "[ ]: /u", "[a\\]b]: /u", "[x]: /u(v)",
    "![image](x.png)", "\\- escaped", "lazy", "\u00a0", "\u00a0text", "\f", "\v",
    "", "", "", "",
]  # fmt: skip

# Whole blocks, as case studies and logbook notes hold them: the second generator draws from these.
SNIPPETS = [
    "# Title", "## Main Challenge", "## Bugs/Missteps", "### Detail", "Title\n=====", "Sub\n---",
    "A paragraph that\nruns over two lines.", "One line.", "**Bold** then text.", "2023-05-01: the run stopped.",
    "```\ncode\n```", "```python\ndef f():\n    return 1\n\n# comment\n```", "~~~\n## not a heading\n~~~",
    "````\n```\nnested\n```\n````", "```bash\n$ run --flag\n", "``` \nx\n  ```", "~~~~\n~~~\n~~~~", "```\n\n\n```",
    "```\n\tgo code\n```", "   ```\n   indented fence\n   ```", "```log\n[2023-05-01 12:00] loss=2.31\n- not a list\n> not a quote\n```",
    "    indented code\n    more", "\tcode with tab",
    "> A quote\n> over lines", "> quote\nlazy line", "> ```\n> code\n> ```", "> - item\n> - item", ">\n> para",
    "> # Heading in quote", "> quote\n\n> another", "> quote\n## Heading right after",
    "<!-- note -->", "<!--\nmulti\nline\n-->", "<!-- challenge-bot: disable=CS303 -->", "<!-- a\n\n## Not heading\n-->",
    "<div>\nhtml\n</div>", "<details>\n<summary>More</summary>\n\ntext\n</details>",
    "| a | b |\n|---|---|\n| 1 | 2 |", "a | b\n--- | ---\n1 | 2", "| x |\n| - |",
    "- a\n- b\n- c", "- a\n  - b\n    - c\n  - d\n- e", "1. one\n2. two\n3. three", "1. a\n   - b\n2. c", "- a\n\n- b",
    "* x\n+ y\n- z", "- a\n\n  more a\n- b", "- item\n\n  ```\n  code in item\n  ```", "- item\n  ```\n  code\n  ```\n- next",
    "- item\n```\ncode\n```", "1. step\n\n   ```sh\n   make\n   ```\n2. step", "- item\n  > quote in item", "- item\n> quote after",
    "- item\n# heading after", "- item\n---", "- item\n<div>\nx\n</div>", "- item\n<!-- c -->",
    "---", "***", "* * *", "___",
    "[ref]: https://example.org", "See [ref].\n\n[ref]: https://example.org",
    "10. ten\n11. eleven", "3. three\n4. four", "Para\n2. not a list", "Para\n1. list", "Para\n- list", "Para\n> quote",
    "Para\n```\ncode\n```", "Para\n    more para",
    "<!-- case-study-footer:start -->\n<!-- Generated by `challenge-bot index`. -->\n\n---\n\n**Id:** `PC-0001`\n<!-- case-study-footer:end -->",
]  # fmt: skip


def _from_lines(rng: random.Random) -> str:
    out = []
    for _ in range(rng.randint(1, 30)):
        line = rng.choice(LINES)
        if rng.random() < 0.12:
            line = " " * rng.randint(1, 6) + line
        out.append(line)
    return "\n".join(out) + "\n"


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line else line for line in text.split("\n"))


def _from_snippets(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(1, 14)):
        snippet, r = rng.choice(SNIPPETS), rng.random()
        if r < 0.08:
            snippet = _indent(snippet, rng.choice([" ", "  ", "   ", "    "]))  # under a list item, or code
        elif r < 0.12:
            snippet = _indent(snippet, rng.choice(["> ", ">"]))
        elif r < 0.18:
            snippet = "- " + _indent(snippet, "  ").lstrip(" ")
        elif r < 0.21:
            snippet = "1. " + _indent(snippet, "   ").lstrip(" ")
        parts += [snippet, rng.choice(["\n", "\n\n", "\n\n", "\n\n\n", "\n  \n"])]
    text = "".join(parts) + "\n"
    return text.replace("\n", "\r\n") if rng.random() < 0.05 else text


# Lists as people write them, and as they go wrong: items of every marker and gap, continuation,
# nested and lazy lines, blank lines, and the blocks that end a list or only look as if they did.
ITEM_MARKERS = ["- ", "* ", "+ ", "1. ", "2. ", "9. ", "10. ", "1) ", "-  ", "-   ", "- \t", " - ", "  - ", "-", "- - ", "* * ", "-- "]
ITEM_TEXT = ["text", "**bold**", "`code`", "x", "- - -", "***", "", "\u00a0", "<div>", "<!-- c -->", "# h", "> q", "```", "~~~", "[r]: /u", "1. y", "===", "---", "|a|b|"]


def _from_list_lines(rng: random.Random) -> str:
    def line() -> str:
        r = rng.random()
        if r < 0.35:
            return rng.choice(ITEM_MARKERS) + rng.choice(ITEM_TEXT)
        if r < 0.6:
            return " " * rng.randint(1, 6) + rng.choice(ITEM_TEXT + ITEM_MARKERS)
        if r < 0.75:
            return ""
        return rng.choice(["  ", "\t", " \t", "     "]) if r < 0.8 else rng.choice(ITEM_TEXT)

    return "\n".join(line() for _ in range(rng.randint(1, 25))) + "\n"


@pytest.mark.parametrize(
    "generator,seed",
    [(_from_lines, 20261126), (_from_lines, 7), (_from_snippets, 20261127), (_from_snippets, 11), (_from_list_lines, 3), (_from_list_lines, 20261130)],
)
def test_generated_documents_agree_or_are_declined(generator, seed):
    rng = random.Random(seed)
    documents = [generator(rng) for _ in range(1500)]
    outcomes = [_same(text) for text in documents]
    assert [text for text, same in zip(documents, outcomes) if same is False] == []
    assert outcomes.count(True) > 0.8 * len(outcomes)  # the odd constructs are declined, the rest are not


# mistune's own oddities, each copied by the fast path: both must agree, and the fast path must not decline.
AGREED = {
    "five spaces continue a paragraph": "Para\n     \nmore\n",
    "five spaces after a heading are code": "# H\n     \ntext\n",
    "a no-break space is text, not a blank line": "Para\n\u00a0\nmore\n",
    "a dash under a paragraph is a setext heading": "Para\n-\n",
    "a setext heading made of a rejected line": "===\n===\n",
    "a lone dash after a blank line is an empty list": "Para\n\n-\n",
    "a numbered line not at 1 continues a paragraph": "Para\n2. item\n",
    "an empty item continues a paragraph": "Para\n- \n",
    "a backtick fence with a backtick in its info is text": "```a`b\n# Heading\n",
    "an unclosed fence runs to the end": "```\n## Learnings\n",
    "a longer closing fence closes": "```\ncode\n`````\n## Learnings\n",
    "a tilde fence is not closed by backticks": "~~~\n```\n## not\n~~~\n## Learnings\n",
    "a fence ends a list item it is not indented under": "- item\n```\ncode\n```\n## Learnings\n",
    "a fence inside an item belongs to the item": "- item\n\n  ```\n  ## not\n  ```\n## Learnings\n",
    "a quote's lazy line": "> quoted\nlazy\n## Learnings\n",
    "a quote starting blank needs markers": ">\nnot lazy\n",
    "a quote ended by a fence": "> q\n```\nx\n```\n",
    "a quote ended by an HTML block": "> q\n<div>\nx\n",
    "a multi-line comment": "<!--\n## not a heading\n-->\n## Learnings\n",
    "an unclosed comment runs to the end": "<!-- open\n## Learnings\n",
    "a disable comment": "<!-- challenge-bot: disable=CS303 -->\n\n# T\n",
    "kind 7 HTML cannot interrupt a paragraph": "Para\n<span>\n",
    "kind 7 HTML on its own": "<span>\ntext\n\nafter\n",
    "a pre block to its end tag": "<pre>\n\n## not\n</pre>\n## Learnings\n",
    "a table is a paragraph": "| a | b |\n|---|---|\n| 1 | 2 |\n",
    "a thematic break, not a list": "- - -\n",
    "nested lists are one list": "- a\n  - b\n    - c\n- d\n",
    "a list of another bullet starts a new list": "- a\n* b\n",
    "a narrower item: fewer spaces break it": "- a\n ```\n x\n ```\n",
    "a reference definition adds no block": "[ref]: https://example.org\n\ntext\n",
    "a tab-indented line is code": "\tcode\n\ntext\n",
    "an indented heading": "   ## Learnings\n",
}


@pytest.mark.parametrize("name", sorted(AGREED))
def test_mistunes_oddities_are_copied(name):
    assert _same(AGREED[name]) is True


DECLINED = {
    "a reference definition with a title": '[r]: /u "t"\n',
    "a reference destination on the next line": "[r]:\n/u\n",
    "a reference label over lines": "[a\nb]: /u\n",
    "a quote ended by a list another block ended": "> q\n- a\n```\n",
    "a list line continuing the paragraph before a quote": "Para\n> q\n2. x\n",
    "a closing pre tag continuing a paragraph before a list": "Para\n- a\n</pre>\n",
}


@pytest.mark.parametrize("name", sorted(DECLINED))
def test_what_mistune_does_oddly_is_declined(name):
    assert fastblocks.blocks(_lines(DECLINED[name]), 1) is None
    mistuneblocks.tokens(_lines(DECLINED[name]), 1)  # and mistune still gives every block a line


def test_deep_nesting_is_declined():
    text = "".join("- a\n> q\n" for _ in range(40))
    assert fastblocks.blocks(_lines(text), 1) is None or _same(text) is True


def test_mistune_misordered_blocks_still_get_lines():
    tokens = mistuneblocks.tokens(_lines("Para\n> q\n2. x\n"), 1)
    assert [t["line"] for t in tokens] == sorted(t["line"] for t in tokens)


def _bench_module():
    spec = importlib.util.spec_from_file_location("bench_lint", REPO / "bench" / "lint.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_lint", module)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_corpora_take_the_fast_path(tmp_path):
    bench = _bench_module()
    bench.generate_logbook(tmp_path / "logbook", 60)
    bench.generate_from_repository(tmp_path / "repository", 30)
    files = sorted((tmp_path).rglob("case_studies/*/*.md"))
    assert len(files) == 90
    declined = [p.name for p in files if fastblocks.blocks(_lines(_body(p)), 1) is None]
    assert declined == []
    assert all(_same(_body(p)) for p in files[::9])
