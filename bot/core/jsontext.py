"""``json.dumps(value, indent=2, ensure_ascii=False)``, byte for byte, at the speed of the C encoder.

With ``indent`` set, the standard library leaves its C encoder for a pure-Python generator
chain, and index.json (every case study of the repository) is rendered on every whole-repository
check. Here strings are escaped by the C function ``json`` itself uses and the layout is
written directly. Only JSON's own types are handled (dicts with string keys, lists, tuples,
strings, ints, floats, booleans, None); anything else goes to ``json.dumps``, so the result is
always what it would have written. ``tests/test_fastblocks.py`` compares the two.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring  # the C escaper when the accelerator is built
from typing import Any


class _Unsupported(Exception):
    pass


def dumps(value: Any) -> str:
    """``json.dumps(value, indent=2, ensure_ascii=False)``."""
    out: list[str] = []
    try:
        _write(value, out, "\n")
    except _Unsupported:
        return json.dumps(value, indent=2, ensure_ascii=False)
    return "".join(out)


def _write(value: Any, out: list[str], newline: str) -> None:
    kind = type(value)
    if kind is str:
        out.append(encode_basestring(value))
    elif kind is dict:
        if not value:
            out.append("{}")
            return
        inner = newline + "  "
        separator = "{" + inner
        for key, item in value.items():
            if type(key) is not str:
                raise _Unsupported
            out.append(separator)
            out.append(encode_basestring(key))
            if type(item) is str:  # most values: no call for them
                out.append(": " + encode_basestring(item))
            else:
                out.append(": ")
                _write(item, out, inner)
            separator = "," + inner
        out.append(newline + "}")
    elif kind is list or kind is tuple:
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        if all(type(item) is str for item in value):  # tags, sources, ids: one join
            out.append("[" + inner + ("," + inner).join(map(encode_basestring, value)) + newline + "]")
            return
        separator = "[" + inner
        for item in value:
            out.append(separator)
            _write(item, out, inner)
            separator = "," + inner
        out.append(newline + "]")
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif kind is int:
        out.append(int.__repr__(value))
    else:
        raise _Unsupported  # floats (NaN, infinities) and other types: the standard encoder decides
