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

from bot.core.document import FrontMatter

KEYS = ("tags", "sources", "authors")
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


def read(front: FrontMatter | None) -> Metadata:
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
            problems=((offset + node.start_mark.line, "front matter must be a mapping of keys (tags, sources, authors)"),),
            readable=False,
        )
    return _read_mapping(node, offset)


def _read_mapping(node: yaml.MappingNode, offset: int) -> Metadata:
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
            items, item_problems = _read_list(key, value_node, offset)
            problems.extend(item_problems)
            if not item_problems:
                fields[key] = items
    return Metadata(fields, key_lines, tuple(problems))


def _read_list(key: str, node: yaml.Node, offset: int) -> tuple[tuple[Item, ...], list[tuple[int, str]]]:
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
        return (), []
    if not isinstance(node, yaml.SequenceNode):
        return (), [(offset + node.start_mark.line, f"{key!r} must be a list, e.g. {key}: [{_example(key)}]")]
    items, problems = [], []
    for child in node.value:
        line = offset + child.start_mark.line
        problem = _item_problem(key, child)
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


def _item_problem(key: str, node: yaml.Node) -> str | None:
    if not isinstance(node, yaml.ScalarNode) or node.tag != _STR or not node.value.strip():
        return f"each entry of {key!r} must be a non-empty string"
    if key == "sources" and not is_http_url(node.value.strip()):
        return f"source {node.value.strip()!r} is not an http(s) URL"
    return None


def is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not _SPACE.search(value)


def _example(key: str) -> str:
    return {"tags": "loss-spikes", "sources": "https://arxiv.org/abs/...", "authors": "Ada Lovelace"}[key]
