"""Document + required sections -> Outline: which heading is the title, which is which section.

The structure rules (CS2xx) all read one Outline, so a heading is classified
once and every rule agrees on it: a heading reported as a variant (CS208)
counts as its section everywhere else.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from bot.core.config_model import Section
from bot.core.document import Block, Document

_NOT_WORD = re.compile(r"[\W_]+")
_NUMBERING = re.compile(r"^\d+(?:\.\d+)*[.)]?\s+")


@lru_cache(maxsize=4096)  # the same few heading texts recur in every case study
def normalise(text: str) -> str:
    """Case, spacing, punctuation and leading numbering removed: 'Bugs / Missteps:' -> 'bugs missteps'."""
    text = _NUMBERING.sub("", text.strip())
    return " ".join(_NOT_WORD.sub(" ", text.casefold()).split())


class SectionHeading:
    """A heading that names a required section, exactly or as a variant. Immutable; equal when
    its block, index and name are.

    Not a NamedTuple: its ``index`` field would shadow ``tuple.index``. Not a dataclass either:
    importing ``dataclasses`` (and with it ``inspect``) costs a one-file check a fifth of its start-up."""

    __slots__ = ("block", "index", "name")
    block: Block
    index: int
    name: str

    def __init__(self, block: Block, index: int, name: str) -> None:
        object.__setattr__(self, "block", block)
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "name", name)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"SectionHeading is immutable: cannot set {name}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, SectionHeading)
        return (self.block, self.index, self.name) == (other.block, other.index, other.name)

    def __hash__(self) -> int:
        return hash((self.block, self.index, self.name))

    def __repr__(self) -> str:
        return f"SectionHeading(block={self.block!r}, index={self.index!r}, name={self.name!r})"

    @property
    def line(self) -> int:
        return self.block.line

    @property
    def exact(self) -> bool:
        return self.block.level == 2 and self.block.text == self.name

    @property
    def expected(self) -> str:
        return f"## {self.name}"


class Outline(NamedTuple):
    """The classified headings of one document, in document order."""

    title: Block | None
    late_titles: tuple[Block, ...]  # H1s after the first section (the first one is the misplaced title)
    sections: tuple[SectionHeading, ...]  # every heading naming a section, repeats included
    first_sections: tuple[SectionHeading, ...]  # each section's first heading
    repeats: tuple[SectionHeading, ...]  # the headings that name a section again
    unknown: tuple[Block, ...]  # H2s that name no section
    bodies: dict[int, tuple[Block, ...]]  # heading line -> the blocks under it

    def present(self) -> set[int]:
        return {h.index for h in self.first_sections}

    def in_order(self) -> set[int]:
        """Indices of the first occurrences that form the longest in-order run."""
        firsts = self.first_sections
        return {firsts[i].index for i in _longest_increasing([h.index for h in firsts])}

    def body(self, heading: SectionHeading) -> tuple[Block, ...]:
        return self.bodies.get(heading.line, ())


def build(doc: Document, sections: tuple[Section, ...], end: int | None = None) -> Outline:
    """Classify the headings; with ``end``, the blocks from that line on (a generated footer) belong to no section."""
    names = _name_table(sections)
    headings = tuple(h for h in doc.headings if end is None or h.line < end)
    h2_named = {names.get(normalise(h.text)) for h in headings if h.level == 2} - {None}
    title: Block | None = None
    late_titles: list[Block] = []
    found: list[SectionHeading] = []
    unknown: list[Block] = []
    boundaries: set[int] = set()
    for h in headings:
        index = names.get(normalise(h.text))
        if h.level == 1 and title is None and not found and not unknown:
            title = h
        elif h.level == 2 and index is None:
            unknown.append(h)
        elif index is not None and (h.level == 2 or index not in h2_named):
            # A deeper heading named like a section is a subheading when the
            # real section exists; it is a misplaced section only when not.
            found.append(SectionHeading(h, index, sections[index].name))
        elif h.level == 1:
            late_titles.append(h)
        else:
            continue
        boundaries.add(h.line)
    seen: set[int] = set()
    firsts: list[SectionHeading] = []
    repeats: list[SectionHeading] = []
    for heading in found:
        (repeats if heading.index in seen else firsts).append(heading)
        seen.add(heading.index)
    return Outline(title, tuple(late_titles), tuple(found), tuple(firsts), tuple(repeats), tuple(unknown), _bodies(doc, boundaries, end))


@lru_cache(maxsize=16)
def _name_table(sections: tuple[Section, ...]) -> dict[str, int]:
    table: dict[str, int] = {}
    for index, section in enumerate(sections):
        for name in (section.name, *section.aliases):
            table.setdefault(normalise(name), index)
    return table


def _bodies(doc: Document, boundaries: set[int], end: int | None = None) -> dict[int, tuple[Block, ...]]:
    bodies: dict[int, list[Block]] = {}
    current: list[Block] | None = None
    for block in doc.blocks:
        if end is not None and block.line >= end:
            break
        if block.line in boundaries and block.is_heading:
            current = bodies.setdefault(block.line, [])
        elif current is not None:
            current.append(block)
    return {line: tuple(blocks) for line, blocks in bodies.items()}


def _longest_increasing(values: list[int]) -> list[int]:
    """Positions of one longest strictly increasing subsequence (O(n^2); n is tiny)."""
    if not values:
        return []
    best = [1] * len(values)
    previous = [-1] * len(values)
    for i in range(len(values)):
        for j in range(i):
            if values[j] < values[i] and best[j] + 1 > best[i]:
                best[i], previous[i] = best[j] + 1, j
    # Ties go to the run that ends earliest, so in a swapped pair the later
    # heading is the one reported as out of place.
    end = max(range(len(values)), key=lambda i: (best[i], -i))
    run = []
    while end != -1:
        run.append(end)
        end = previous[end]
    return run[::-1]
