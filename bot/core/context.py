"""What a rule sees: one file (path, bytes, parsed forms computed once) or the repository index."""

from __future__ import annotations

from functools import cached_property
from types import MappingProxyType
from typing import Mapping, NamedTuple

from bot.core import document
from bot.core import footer as footer_mod
from bot.core import frontmatter
from bot.core import ids
from bot.core import outline
from bot.core import suppression
from bot.core.config_model import Config
from bot.core.paths import Place, place


# What a path is on disk, when the CLI finds something other than a regular file there. Such an
# entry is never read: only the rules over entries (CS105, CS106) look at it.
REGULAR = "file"
SYMLINK_OUT = "symlink-out"  # a symbolic link that leads out of the repository
SYMLINK_BROKEN = "symlink-broken"  # a symbolic link that leads nowhere
FIFO, SOCKET, DEVICE = "fifo", "socket", "device"


class FileContext:
    """One file. ``data`` is None when the file was too large to read. Parsed forms are computed once, on demand.

    ``kind`` is ``REGULAR`` unless the front end found another kind of entry at the path."""

    def __init__(self, path: str, cfg: Config, data: bytes | None, size: int, kind: str = REGULAR) -> None:
        self.path, self.cfg, self.data, self.size, self.kind = path, cfg, data, size, kind

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

    @property
    def parsed(self) -> bool:
        """Whether the document has been parsed (rules over bytes run before, and may stop, the parse)."""
        return "doc" in self.__dict__

    @cached_property
    def directives(self) -> suppression.Directives:
        return suppression.read(self.doc)

    @cached_property
    def outline(self) -> outline.Outline:
        found = self.footer
        return outline.build(self.doc, self.cfg.sections, end=found.start if found else None)

    @cached_property
    def meta(self) -> frontmatter.Metadata:
        return frontmatter.read(self.doc.front_matter, self.cfg.id_prefix)

    @cached_property
    def footer(self) -> footer_mod.Located | None:
        """The generated footer (``bot.core.footer``), which belongs to no section."""
        return footer_mod.locate(self.doc.lines)

    @property
    def body_start(self) -> int:
        """The first line after the front matter."""
        front = self.doc.front_matter
        return front.end_line + 1 if front else 1


class RepoContext(NamedTuple):
    """The generated index as it is on disk and as it should be, and every case study's record."""

    cfg: Config
    readme_text: str | None
    expected_readme: str | None  # None when the markers are missing or malformed
    markers_problem: str | None
    json_text: str | None
    expected_json: str
    figures: tuple = ()  # bot.core.figures.FigureProblem values, when the front end read the figure files
    csv_text: str | None = None
    expected_csv: str | None = None  # None: not checked
    records: tuple = ()  # bot.core.index.Record values, one per case study
    redirects: ids.Redirects = ids.Redirects()
    expected_footers: Mapping[str, str] = MappingProxyType({})  # case-study path -> its footer as generated
    published: Mapping[str, str] = MappingProxyType({})  # id -> path, as the committed index.json has them
