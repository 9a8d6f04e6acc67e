"""Permanent case-study ids, the redirect records that outlive a renamed or merged case study, and
what a ``related:`` entry names. Pure: callers hand in the records and the redirects file's text.

An id is ``<prefix>-NNNN`` (``PC-0007``; ``index.id_prefix`` in the config), written once in the
front matter by ``challenge-bot new`` and never changed. The redirects file (``index.redirects``,
by default ``case_studies/redirects.yml``) is a YAML list of records, one per case study that moved
or went away:

```yaml
- {id: PC-0012, from: case_studies/meta/old-name.md, to: PC-0012}   # renamed: the id lives on
- {id: PC-0013, from: case_studies/meta/merged.md, to: PC-0004}     # merged: PC-0013 is retired
- {id: PC-0014, from: case_studies/meta/withdrawn.md}               # withdrawn: retired, no successor
```

An id is retired when a record gives it a ``to`` other than itself (or none); the next id is one
past every id ever seen (case studies, redirect records, the published index), so none is reused.
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import TYPE_CHECKING, Iterable, NamedTuple

import yaml

if TYPE_CHECKING:
    from bot.core.index import Record

ID_SHAPE = re.compile(r"[A-Z][A-Z0-9]*-\d{4,}")  # any prefix; the configured one is checked by ``matches``
_KEYS = ("id", "from", "to")


def pattern(prefix: str) -> re.Pattern[str]:
    """Ids with this prefix: four digits at least, no extra leading zeros, never zero."""
    return re.compile(rf"{re.escape(prefix)}-(?:(?!0000)\d{{4}}|[1-9]\d{{4,}})")


def matches(value: str, prefix: str) -> bool:
    return bool(pattern(prefix).fullmatch(value))


def format_id(prefix: str, number: int) -> str:
    return f"{prefix}-{number:04d}"


def example(prefix: str) -> str:
    return format_id(prefix, 7)


def next_id(prefix: str, used: Iterable[str]) -> str:
    """One past the highest id ever used with this prefix (ids of other shapes are ignored)."""
    numbers = [int(value.rsplit("-", 1)[1]) for value in used if matches(value, prefix)]
    return format_id(prefix, max(numbers, default=0) + 1)


def is_id(value: str) -> bool:
    """Whether a ``related:`` entry or a redirect's ``to`` is written as an id (else it is a path)."""
    return bool(ID_SHAPE.fullmatch(value))


# --- the redirects file ----------------------------------------------------------------------------


class Redirect(NamedTuple):
    """One record: the id a case study had, the path it had, and the id or path holding it now."""

    id: str
    source: str  # the record's ``from``
    to: str | None  # None: withdrawn, nothing replaces it
    line: int

    @property
    def retires(self) -> bool:
        """A merge or a withdrawal retires the id; a rename keeps it."""
        return self.to != self.id

    def as_json(self) -> dict[str, str | None]:
        return {"id": self.id, "from": self.source, "to": self.to}


class Redirects(NamedTuple):
    records: tuple[Redirect, ...] = ()
    problems: tuple[tuple[int, str], ...] = ()  # (line, message): CS406

    def retired(self) -> dict[str, Redirect]:
        return {r.id: r for r in self.records if r.retires}


def read_redirects(text: str | None, prefix: str) -> Redirects:
    """The records of the redirects file; a missing or empty file has none."""
    if text is None:
        return Redirects()
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return Redirects(problems=((mark.line + 1 if mark else 1, f"not valid YAML: {getattr(exc, 'problem', None) or exc}"),))
    if node is None:
        return Redirects()
    if not isinstance(node, yaml.SequenceNode):
        return Redirects(problems=((node.start_mark.line + 1, "the file must be a YAML list of records {id, from, to}"),))
    records, problems = [], []
    for item in node.value:
        line = item.start_mark.line + 1
        record = _record(item, line, prefix)
        if isinstance(record, str):
            problems.append((line, record))
        else:
            records.append(record)
    return Redirects(tuple(records), tuple(problems) + _repeats(records))


def _record(node: yaml.Node, line: int, prefix: str) -> Redirect | str:
    if not isinstance(node, yaml.MappingNode):
        return "each record must be a mapping {id, from, to}"
    values: dict[str, str] = {}
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
        if key not in _KEYS:
            return f"unknown key {key!r} in a record; allowed: {', '.join(_KEYS)}"
        if not isinstance(value_node, yaml.ScalarNode) or value_node.tag != "tag:yaml.org,2002:str" or not value_node.value.strip():
            return f"{key!r} must be a non-empty string"
        values[key] = value_node.value.strip()
    for key in ("id", "from"):
        if key not in values:
            return f"a record needs {key!r}"
    if not matches(values["id"], prefix):
        return f"'id' {values['id']!r} is not an id like {example(prefix)}"
    return Redirect(values["id"], normalise_path(values["from"]), values.get("to"), line)


def _repeats(records: list[Redirect]) -> tuple[tuple[int, str], ...]:
    seen: dict[str, int] = {}
    problems = []
    for r in records:
        if r.source in seen:
            problems.append((r.line, f"{r.source} already has a record (line {seen[r.source]})"))
        seen.setdefault(r.source, r.line)
    return tuple(problems)


def normalise_path(path: str) -> str:
    return posixpath.normpath(path.replace("\\", "/")).lstrip("/")


# --- the published index ---------------------------------------------------------------------------


def published(json_text: str | None) -> dict[str, str]:
    """Id -> path as the committed index.json publishes it (empty when absent or unreadable)."""
    try:
        data = json.loads(json_text or "")
        studies = data["case_studies"]
        return {s["id"]: s["path"] for s in studies if isinstance(s.get("id"), str) and isinstance(s.get("path"), str)}
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}


# --- resolving ids and paths -----------------------------------------------------------------------


class Catalog:
    """Every case study by id and by path, with the redirects, to resolve what an entry names."""

    def __init__(self, records: Iterable[Record], redirects: Redirects = Redirects()) -> None:
        self.records = list(records)
        self.by_id: dict[str, Record] = {}
        for r in self.records:
            if r.id:
                self.by_id.setdefault(r.id, r)
        self.by_path = {r.path: r for r in self.records}
        self.redirects = redirects

    def find(self, target: str) -> Record | None:
        """The case study an id or a repository-relative path names, if it exists."""
        if is_id(target):
            return self.by_id.get(target)
        return self.by_path.get(normalise_path(target))

    def redirected(self, target: str) -> Redirect | None:
        """The redirect record for a target that no longer names a case study."""
        if is_id(target):
            return next((r for r in self.redirects.records if r.id == target), None)
        return next((r for r in self.redirects.records if r.source == normalise_path(target)), None)

    def related(self, record: Record) -> list[Record]:
        """The case studies a record's ``related:`` names, in its order, skipping what names none."""
        found = (self.find(target) for target in record.related)
        return [r for r in found if r is not None and r.path != record.path]

    def used_ids(self) -> set[str]:
        return {r.id for r in self.records if r.id} | {r.id for r in self.redirects.records} | {
            r.to for r in self.redirects.records if r.to and is_id(r.to)
        }


def candidates(record: Record, records: Iterable[Record], limit: int = 3) -> list[Record]:
    """Case studies sharing the most tags with ``record`` (other models first on ties), not yet related."""
    named = set(record.related)
    scored = []
    for other in records:
        shared = len(set(record.tags) & set(other.tags))
        if other.path == record.path or not shared or other.id in named or other.path in named:
            continue
        scored.append((-shared, other.model == record.model, other.path, other))
    return [other for *_, other in sorted(scored, key=lambda s: s[:3])][:limit]
