"""Front matter YAML -> Metadata: the allowed keys with their values and lines, or the problems.

YAML is composed (not loaded) so every key and list item keeps its line, and
types are judged from the YAML tags: ``tags: [2023]`` is an integer, not a tag.
Front matter in the usual plain form is read line by line instead (``plain_pairs``),
with the same result; PyYAML reads everything else.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any, Mapping, NamedTuple
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


class _Node(NamedTuple):
    """A YAML node as the reader needs it: a scalar's tag and text, or a sequence's items (a
    sequence's own items are read no deeper); ``line`` counts from 0, the line after the fence."""

    kind: str  # "scalar", "sequence" or "mapping"
    tag: str
    value: Any  # str for a scalar, tuple[_Node, ...] for a sequence, None for a mapping
    line: int


def read(front: FrontMatter | None, id_prefix: str = "PC") -> Metadata:
    if front is None:
        return Metadata()
    if not front.closed:
        return Metadata(problems=((front.start_line, "front matter opened with '---' is never closed by a '---' line"),), readable=False)
    offset = front.start_line + 1  # YAML line 0 is the line after the fence
    pairs = plain_pairs(front.text)
    if pairs is None:
        try:
            pairs = yaml_pairs(front.text)
        except _NotAMapping as exc:
            return Metadata(problems=((offset + exc.line, f"front matter must be a mapping of keys ({', '.join(KEYS)})"),), readable=False)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = offset + mark.line if mark else front.start_line
            return Metadata(problems=((line, f"front matter is not valid YAML: {getattr(exc, 'problem', None) or exc}"),), readable=False)
    return _read_mapping(pairs, offset, id_prefix)


class _NotAMapping(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


def yaml_pairs(text: str) -> list[tuple[_Node, _Node]]:
    """The front matter's keys and values, composed by PyYAML (not loaded: every node keeps its line)."""
    node = yaml.compose(text, Loader=_Loader)
    if node is None:
        return []
    if not isinstance(node, yaml.MappingNode):
        raise _NotAMapping(node.start_mark.line)
    return [(_from_yaml(key, 1), _from_yaml(value, 1)) for key, value in node.value]


def _from_yaml(node: yaml.Node, depth: int) -> _Node:
    if isinstance(node, yaml.ScalarNode):
        return _Node("scalar", node.tag, node.value, node.start_mark.line)
    if isinstance(node, yaml.SequenceNode):
        items = tuple(_from_yaml(item, depth - 1) for item in node.value) if depth else None
        return _Node("sequence", node.tag, items, node.start_mark.line)
    return _Node("mapping", node.tag, None, node.start_mark.line)


# --- the plain form, read without PyYAML ------------------------------------------------------------
#
# Front matter is almost always written one way: "key: value", or "key:" and then "- item" lines,
# or "key: [a, b]", with plain (unquoted) values. Composing it with PyYAML costs a case study more
# than parsing its Markdown, so that form is read here, line by line. Anything else (quotes,
# comments, blank lines, tabs, values on several lines, characters YAML treats specially) is left
# to PyYAML. Tags come from PyYAML's own resolver, so "2023" is an integer and "yes" a boolean, as
# PyYAML has them. tests/test_frontmatter.py holds the two readers to the same result.

_SEQ_TAG = "tag:yaml.org,2002:seq"
_RESOLVER = yaml.resolver.Resolver()
# The first characters of the plain values PyYAML may type as something other than a string; other
# values are strings without asking its resolver.
_TYPED_FIRST = None if None in _RESOLVER.yaml_implicit_resolvers else frozenset(_RESOLVER.yaml_implicit_resolvers)
_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,999}")  # PyYAML refuses a key of over 1024 characters
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_new = tuple.__new__  # a front matter has a node per line: the NamedTuple's keyword handling skipped


def plain_pairs(text: str) -> list[tuple[_Node, _Node]] | None:
    """The front matter's keys and values when written in the plain form; None for anything else."""
    lines = text.split("\n")
    # Only what Python calls printable: no tabs or other controls, no line or paragraph separators
    # (YAML breaks lines there too), no byte-order mark or other format characters, no spaces but " ".
    if not all(line.isprintable() for line in lines):
        return None
    pairs: list[tuple[_Node, _Node]] = []
    i, count = 0, len(lines)
    while i < count:
        key_line = i
        key, colon, rest = lines[i].partition(":")
        if not colon or not _KEY.fullmatch(key) or rest[:1] not in ("", " "):
            return None
        rest = rest.strip(" ")
        value: _Node | None
        if rest:
            value = _flow_list(rest, i) if rest[0] == "[" else _scalar(rest, i, "")
            i += 1
        else:  # "key:" then one "- item" per line, all at one indent
            items, indent = [], -1
            i += 1
            while i < count:
                item = lines[i].lstrip(" ")
                if item[:2] != "- " or indent not in (-1, len(lines[i]) - len(item)):
                    break
                indent = len(lines[i]) - len(item)
                node = _scalar(item[2:].strip(" "), i, "")
                if node is None:
                    return None
                items.append(node)
                i += 1
            value = _new(_Node, ("sequence", _SEQ_TAG, tuple(items), items[0].line)) if items else None  # "key:" alone: PyYAML's null
        if value is None:
            return None
        pairs.append((_new(_Node, ("scalar", _STR, key, key_line)), value))
    return pairs


def _flow_list(text: str, line: int) -> _Node | None:
    if not text.endswith("]"):
        return None
    inner = text[1:-1]
    if not inner.strip(" "):
        return _new(_Node, ("sequence", _SEQ_TAG, (), line)) if not inner else None
    items = [_scalar(part.strip(" "), line, ",[]{}") for part in inner.split(",")]
    if None in items:
        return None
    return _new(_Node, ("sequence", _SEQ_TAG, tuple(items), line))


def _scalar(text: str, line: int, also_special: str) -> _Node | None:
    """A plain scalar, when PyYAML would read ``text`` as exactly that; None when in doubt."""
    if not text or text[0] in _INDICATORS or ": " in text or text[-1] == ":" or " #" in text:
        return None
    if also_special and any(c in text for c in also_special):  # flow context: these end a scalar
        return None
    typed = _TYPED_FIRST is None or text[0] in _TYPED_FIRST
    return _new(_Node, ("scalar", _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) if typed else _STR, text, line))


def _read_mapping(pairs: list[tuple[_Node, _Node]], offset: int, id_prefix: str) -> Metadata:
    fields: dict[str, tuple[Item, ...]] = {}
    key_lines: dict[str, int] = {}
    problems: list[tuple[int, str]] = []
    for key_node, value_node in pairs:
        line = offset + key_node.line
        key = key_node.value if key_node.kind == "scalar" else "?"
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


def _read_scalar(key: str, node: _Node, offset: int, id_prefix: str) -> tuple[tuple[Item, ...], list[tuple[int, str]]]:
    line = offset + node.line
    shown = ids.example(id_prefix)
    if node.kind != "scalar" or node.tag != _STR or not ids.matches(node.value.strip(), id_prefix):
        got = repr(node.value) if node.kind == "scalar" else "a list or mapping"
        return (), [(line, f"{key!r} must be a permanent id like {shown} (never changed once given), got {got}")]
    return (Item(node.value.strip(), line),), []


def _read_list(key: str, node: _Node, offset: int, id_prefix: str) -> tuple[tuple[Item, ...], list[tuple[int, str]]]:
    if node.kind == "scalar" and node.tag == "tag:yaml.org,2002:null":
        return (), []
    if node.kind != "sequence":
        return (), [(offset + node.line, f"{key!r} must be a list, e.g. {key}: [{_example(key)}]")]
    items, problems = [], []
    for child in node.value:
        line = offset + child.line
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


def _item_problem(key: str, node: _Node, id_prefix: str) -> str | None:
    if node.kind != "scalar" or node.tag != _STR or not node.value.strip():
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
