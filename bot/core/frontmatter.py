"""Front matter YAML -> Metadata: the allowed keys with their values and lines, or the problems.

YAML is composed (not loaded) so every key and list item keeps its line, and
types are judged from the YAML tags: ``tags: [2023]`` is an integer, not a tag.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Mapping, NamedTuple
from urllib.parse import urlsplit

import yaml

from bot.core import ids
from bot.core.document import FrontMatter

KEYS = ("id", "tags", "sources", "authors", "related")
SCALARS = ("id",)  # one value, not a list
_SPACE = re.compile(r"\s")
_STR = "tag:yaml.org,2002:str"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Item(NamedTuple):
    value: str
    line: int


class Metadata(NamedTuple):
    """Valid list fields (key -> items), the line of each key, and what was wrong."""

    fields: Mapping[str, tuple[Item, ...]] = MappingProxyType({})
    key_lines: Mapping[str, int] = MappingProxyType({})
    problems: tuple[tuple[int, str], ...] = ()
    readable: bool = True  # False when the YAML as a whole could not be read

    def values(self, key: str) -> list[str]:
        return [item.value for item in self.fields.get(key, ())]

    def value(self, key: str) -> str:
        """The value of a one-value key such as ``id`` ("" when absent or invalid)."""
        items = self.fields.get(key, ())
        return items[0].value if items else ""

    def line(self, key: str, default: int = 1) -> int:
        """The line of a key's (first) value, else of the key, else ``default``."""
        items = self.fields.get(key, ())
        return items[0].line if items else self.key_lines.get(key, default)


def read(front: FrontMatter | None, id_prefix: str = "PC") -> Metadata:
    if front is None:
        return Metadata()
    if not front.closed:
        return Metadata(problems=((front.start_line, "front matter opened with '---' is never closed by a '---' line"),), readable=False)
    offset = front.start_line + 1  # YAML line 0 is the line after the fence
    try:
        node = yaml.compose(front.text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = offset + mark.line if mark else front.start_line
        return Metadata(problems=((line, f"front matter is not valid YAML: {getattr(exc, 'problem', None) or exc}"),), readable=False)
    if node is None:
        return Metadata()
    if not isinstance(node, yaml.MappingNode):
        return Metadata(
            problems=((offset + node.start_mark.line, f"front matter must be a mapping of keys ({', '.join(KEYS)})"),),
            readable=False,
        )
    return _read_mapping(node, offset, id_prefix)


def _read_mapping(node: yaml.MappingNode, offset: int, id_prefix: str) -> Metadata:
    fields: dict[str, tuple[Item, ...]] = {}
    key_lines: dict[str, int] = {}
    problems: list[tuple[int, str]] = []
    for key_node, value_node in node.value:
        line = offset + key_node.start_mark.line
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
        if key not in KEYS:
            problems.append((line, f"unknown front matter key {key!r}; allowed keys: {', '.join(KEYS)}"))
        elif key in key_lines:
            problems.append((line, f"front matter key {key!r} appears twice"))
        else:
            key_lines[key] = line
            reader = _read_scalar if key in SCALARS else _read_list
            items, item_problems = reader(key, value_node, offset, id_prefix)
            problems.extend(item_problems)
            if not item_problems:
                fields[key] = items
    return Metadata(fields, key_lines, tuple(problems))


def _read_scalar(key: str, node: yaml.Node, offset: int, id_prefix: str) -> tuple[tuple[Item, ...], list[tuple[int, str]]]:
    line = offset + node.start_mark.line
    shown = ids.example(id_prefix)
    if not isinstance(node, yaml.ScalarNode) or node.tag != _STR or not ids.matches(node.value.strip(), id_prefix):
        got = repr(node.value) if isinstance(node, yaml.ScalarNode) else "a list or mapping"
        return (), [(line, f"{key!r} must be a permanent id like {shown} (never changed once given), got {got}")]
    return (Item(node.value.strip(), line),), []


def _read_list(key: str, node: yaml.Node, offset: int, id_prefix: str) -> tuple[tuple[Item, ...], list[tuple[int, str]]]:
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
        return (), []
    if not isinstance(node, yaml.SequenceNode):
        return (), [(offset + node.start_mark.line, f"{key!r} must be a list, e.g. {key}: [{_example(key)}]")]
    items, problems = [], []
    for child in node.value:
        line = offset + child.start_mark.line
        problem = _item_problem(key, child, id_prefix)
        if problem:
            problems.append((line, problem))
        else:
            items.append(Item(child.value.strip(), line))
    seen: set[str] = set()
    for item in items:
        if item.value in seen:
            problems.append((item.line, f"{item.value!r} is listed twice in {key!r}"))
        seen.add(item.value)
    return tuple(items), problems


def _item_problem(key: str, node: yaml.Node, id_prefix: str) -> str | None:
    if not isinstance(node, yaml.ScalarNode) or node.tag != _STR or not node.value.strip():
        return f"each entry of {key!r} must be a non-empty string"
    value = node.value.strip()
    if key == "sources" and not is_http_url(value):
        return f"source {value!r} is not an http(s) URL"
    if key == "related" and not (ids.matches(value, id_prefix) or (value.endswith(".md") and not _SPACE.search(value) and "://" not in value)):
        return f"related entry {value!r} must be a case study's id like {ids.example(id_prefix)} or its path like case_studies/<model>/<file>.md"
    return None


# The URLs sources are written as: a lowercase http(s) scheme, a plain host name, printable ASCII after it.
# For these urlsplit finds the scheme and a host name every time, so they skip its cost (a case
# study lists many sources); anything else is judged by urlsplit.
_PLAIN_HTTP_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]*)?(?:[/?#][!-~]*)?")


def is_http_url(value: str) -> bool:
    if _PLAIN_HTTP_URL.fullmatch(value):
        return True
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not _SPACE.search(value)


def _example(key: str) -> str:
    return {"tags": "loss-spikes", "sources": "https://arxiv.org/abs/...", "authors": "Ada Lovelace", "related": "PC-0007"}[key]
