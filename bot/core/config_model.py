"""The configuration as values: what ``.github/challenge-bot.yml`` becomes once validated.

Pure types with their defaults and nothing else: the modules that only need
to read a ``Config`` (paths, outline, template, context, the rules) import this
module, never the loader in ``bot.core.config``, so the loader can import the
rule registry without a cycle. ``bot.core.config_schema`` takes the defaults of
optional keys from here, so each default is written once.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Mapping, NamedTuple

CONFIG_PATH = ".github/challenge-bot.yml"
DOCS_URL = "https://github.com/pretraining-challenges/pretraining-challenges/blob/main/docs/rules.md"
RAW_URL = "https://raw.githubusercontent.com/pretraining-challenges/pretraining-challenges/main/"  # where the published schemas live


class Section(NamedTuple):
    """A required section: its canonical heading text and the other names people use for it."""

    name: str
    aliases: tuple[str, ...] = ()


class Model(NamedTuple):
    """A model folder under the case studies, as registered in the config."""

    folder: str
    name: str
    label: str
    color: str
    description: str
    paper: str


class Tag(NamedTuple):
    """A tag of the vocabulary: its name, its group (a key of ``TAG_GROUPS``) and a one-line definition."""

    name: str
    group: str
    definition: str


class TagGroup(NamedTuple):
    name: str
    title: str  # the heading of its part of the README's "By failure kind" section
    definition: str


# The groups a tag belongs to, in the order the README and index.json list them.
TAG_GROUPS: tuple[TagGroup, ...] = (
    TagGroup("symptom", "Symptoms", "What the people running the training saw."),
    TagGroup("cause", "Causes", "Why it happened: the root cause the sources name."),
    TagGroup("layer", "Layers", "Where in the training stack the problem or its fix sits."),
    TagGroup("fix", "Fixes", "What the team did about it, when that recurs across runs."),
)


# How a pull request's findings reach the Files-changed tab (``review.reporter``), each with what it
# does; the summary comment always lists every finding. One place per finding, as reviewdog's
# reporters are, so nothing shows twice except a one-click fix next to its annotation.
REPORTERS: Mapping[str, str] = MappingProxyType({
    "suggestions": "an annotation for every finding, and a review comment only where it carries a one-click suggestion",
    "annotations": "an annotation for every finding, no review comments",
    "inline": "a review comment for every finding on a line of the diff, an annotation only for the rest",
    "both": "an annotation and a review comment for every finding on a line of the diff",
})


class Template(NamedTuple):
    """What the linter needs from ``templates/case-study.md``."""

    text: str = ""
    placeholders: tuple[str, ...] = ()
    stubs: Mapping[str, str] = MappingProxyType({})


class Config(NamedTuple):
    """The validated configuration. Paths are relative to the repository root."""

    sections: tuple[Section, ...]
    models: Mapping[str, Model]
    tags: tuple[Tag, ...]
    index_start: str = "<!-- case-study-index:start -->"
    index_end: str = "<!-- case-study-index:end -->"
    case_studies_dir: str = "case_studies"
    readme: str = "README.md"
    index_json: str = "case_studies/index.json"
    index_csv: str = "case_studies/index.csv"
    redirects: str = "case_studies/redirects.yml"
    id_prefix: str = "PC"
    template_path: str = "templates/case-study.md"
    max_file_size: int = 256 * 1024
    max_asset_size: int = 1024 * 1024
    asset_types: tuple[str, ...] = ("png", "jpg", "jpeg", "gif", "svg", "webp")
    ignore: frozenset[str] = frozenset()
    per_path_ignores: tuple[tuple[str, frozenset[str]], ...] = ()  # (glob, rule codes), from rules.per_path_ignores
    docs_url: str = DOCS_URL
    review_reporter: str = "suggestions"  # one of REPORTERS
    review_max_inline_comments: int = 25  # a review never posts more (bot.core.review.MAX_INLINE)
    template: Template = Template()
    root: Path | None = None
    source: str = CONFIG_PATH

    @property
    def section_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.sections)

    @property
    def tag_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tags)

    def rule_enabled(self, code: str) -> bool:
        return code not in self.ignore

    def ignored_for(self, path: str) -> dict[str, str]:
        """The rule codes switched off for ``path`` by ``rules.per_path_ignores``, each with its glob."""
        if not self.per_path_ignores:
            return {}
        from fnmatch import fnmatchcase  # only repositories that use per-path ignores pay for it

        return {code: glob for glob, codes in self.per_path_ignores if fnmatchcase(path, glob) for code in sorted(codes)}

    def rule_url(self, code: str, name: str) -> str:
        return f"{self.docs_url}#{code.lower()}-{name}"


# Each optional key of the file (dotted) and the ``Config`` field it sets; absent keys keep the field's default.
FIELDS: Mapping[str, str] = MappingProxyType({
    "index.start": "index_start",
    "index.end": "index_end",
    "index.readme": "readme",
    "index.json": "index_json",
    "index.csv": "index_csv",
    "index.redirects": "redirects",
    "index.id_prefix": "id_prefix",
    "paths.case_studies": "case_studies_dir",
    "paths.template": "template_path",
    "limits.max_file_size": "max_file_size",
    "limits.max_asset_size": "max_asset_size",
    "limits.asset_types": "asset_types",
    "rules.ignore": "ignore",
    "rules.per_path_ignores": "per_path_ignores",
    "review.reporter": "review_reporter",
    "review.max_inline_comments": "review_max_inline_comments",
    "docs_url": "docs_url",
})
