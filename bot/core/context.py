"""What a rule sees: one file (path, bytes, parsed forms computed once) or the repository index."""

from __future__ import annotations

from functools import cached_property
from typing import NamedTuple

from bot.core import document
from bot.core import frontmatter
from bot.core import outline
from bot.core.config import Config
from bot.core.paths import Place, place


class FileContext:
    """One file. ``data`` is None when the file was too large to read. Parsed forms are computed once, on demand."""

    def __init__(self, path: str, cfg: Config, data: bytes | None, size: int) -> None:
        self.path, self.cfg, self.data, self.size = path, cfg, data, size

    @cached_property
    def place(self) -> Place:
        return place(self.path, self.cfg)

    @cached_property
    def text(self) -> str:
        assert self.data is not None
        return self.data.decode("utf-8")

    @cached_property
    def doc(self) -> document.Document:
        return document.parse(self.text)

    @cached_property
    def outline(self) -> outline.Outline:
        return outline.build(self.doc, self.cfg.sections)

    @cached_property
    def meta(self) -> frontmatter.Metadata:
        return frontmatter.read(self.doc.front_matter)

    @property
    def body_start(self) -> int:
        """The first line after the front matter."""
        front = self.doc.front_matter
        return front.end_line + 1 if front else 1


class RepoContext(NamedTuple):
    """The generated index as it is on disk and as it should be."""

    cfg: Config
    readme_text: str | None
    expected_readme: str | None  # None when the markers are missing or malformed
    markers_problem: str | None
    json_text: str | None
    expected_json: str
