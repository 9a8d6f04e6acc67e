"""The case-study template: guidance text to detect, section stubs to insert, new files to write."""

from __future__ import annotations

import re
import unicodedata

from bot.core.config_model import Template
from bot.core.document import parse

TITLE_FIELD = "{title}"
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")
_EMPHASIS = re.compile(r"[_*]")


def read_template(text: str, section_names: tuple[str, ...]) -> Template:
    """Collect the guidance paragraphs and one stub per section from the template text."""
    doc = parse(text)
    placeholders = []
    stubs: dict[str, str] = {}
    current: str | None = None
    start = 0
    for block in doc.blocks:
        if block.is_heading and block.level <= 2:
            if current is not None:
                stubs[current] = _lines(doc.lines, start, block.line - 1)
            current = block.text if block.level == 2 and block.text in section_names else None
            start = block.line
        elif block.kind == "paragraph" and current is not None:
            placeholders.append(normalise_space(block.text))
    if current is not None:
        stubs[current] = _lines(doc.lines, start, len(doc.lines))
    return Template(text=text, placeholders=tuple(placeholders), stubs=stubs)


def _lines(lines: tuple[str, ...], first: int, last: int) -> str:
    return "\n".join(lines[first - 1 : last]).strip("\n") + "\n"


def normalise_space(text: str) -> str:
    """Whitespace collapsed and emphasis marks dropped, so guidance is found however it was re-wrapped."""
    return " ".join(_EMPHASIS.sub("", text).split())


def stub(template: Template, section: str) -> str:
    """The text of a missing section, as the template has it (a bare heading if it has none)."""
    return template.stubs.get(section, f"## {section}\n")


def render(template: Template, title: str, case_id: str = "") -> str:
    """A new case study: the template with its title, and ``case_id`` as the first front-matter key."""
    text = template.text.replace(TITLE_FIELD, title)
    if not case_id:
        return text
    if text.startswith("---\n"):
        return f"---\nid: {case_id}\n" + text[4:]
    return f"---\nid: {case_id}\n---\n\n" + text


def slugify(title: str, limit: int = 60) -> str:
    """A lowercase kebab-case file stem for a title, cut at a word boundary."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = _SLUG_JUNK.sub("-", ascii_title.lower()).strip("-")
    if len(slug) > limit:
        slug = slug[:limit].rsplit("-", 1)[0]
    return slug
