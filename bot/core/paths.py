"""Where a repository path sits in the knowledge base. Pure string work on POSIX paths."""

from __future__ import annotations

import posixpath
from functools import lru_cache
from typing import Iterable, NamedTuple

from bot.core.config_model import CONFIG_PATH, Config

MARKDOWN_SUFFIXES = (".md", ".markdown")
SKIPPED_NAMES = ("README.md",)


class Place(NamedTuple):
    """A path split into the parts the layout rules talk about."""

    path: str
    inside: bool  # under the case-studies folder
    parts: tuple[str, ...]  # the parts below the case-studies folder

    @property
    def is_markdown(self) -> bool:
        return self.path.lower().endswith(MARKDOWN_SUFFIXES)

    @property
    def model(self) -> str | None:
        return self.parts[0] if len(self.parts) > 1 else None

    @property
    def in_assets(self) -> bool:
        return len(self.parts) > 2 and self.parts[1] == "assets"


def place(path: str, cfg: Config) -> Place:
    path = posixpath.normpath(path.replace("\\", "/")).lstrip("/")
    root = cfg.case_studies_dir.strip("/")
    if path.startswith(root + "/"):
        return Place(path, True, tuple(path[len(root) + 1 :].split("/")))
    return Place(path, False, ())


def is_skipped(p: Place, cfg: Config) -> bool:
    """README files of the case-studies folder and its model folders, the generated index.json and
    index.csv, and the redirects file (the repository rules check those)."""
    if p.path in _normalised(cfg.index_json, cfg.index_csv, cfg.redirects):
        return True
    return p.inside and len(p.parts) <= 2 and p.parts[-1] in SKIPPED_NAMES


@lru_cache(maxsize=8)  # asked for every file checked, of the same few paths
def _normalised(*paths: str) -> frozenset[str]:
    return frozenset(posixpath.normpath(path) for path in paths)


def is_case_study(path: str, cfg: Config) -> bool:
    """A Markdown file at exactly <case studies>/<registered model>/<file>.md."""
    p = place(path, cfg)
    return (
        p.inside
        and p.is_markdown
        and len(p.parts) == 2
        and p.model in cfg.models
        and not is_skipped(p, cfg)
    )



def changes_rules(paths: Iterable[str], cfg: Config) -> bool:
    """Whether changing ``paths`` changes the rules every case study is checked against (the config,
    the template or the bot itself), so that all of them are checked again, not only those changed."""
    rules = {CONFIG_PATH, cfg.template_path}
    return any(path in rules or path.startswith("bot/") for path in paths)
