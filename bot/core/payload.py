"""Reading webhook payloads defensively: a missing or wrongly typed field is a PayloadError, not a crash."""

from __future__ import annotations

from typing import Any


class PayloadError(Exception):
    """The payload lacks a field the bot needs, or has it with the wrong type."""


def field(payload: Any, *path: str, kind: type | tuple[type, ...] = str) -> Any:
    """``payload[path[0]][path[1]]...``, checked to be of ``kind``."""
    value = payload
    for name in path:
        if not isinstance(value, dict) or name not in value:
            raise PayloadError(f"missing field {'.'.join(path)}")
        value = value[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PayloadError(f"field {'.'.join(path)} has the wrong type ({type(value).__name__})")
    return value


def optional(payload: Any, *path: str, kind: type | tuple[type, ...] = str, default: Any = None) -> Any:
    try:
        return field(payload, *path, kind=kind)
    except PayloadError:
        return default
