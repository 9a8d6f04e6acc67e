"""Comment commands: ``/challenge-bot <command>`` on a line of its own, outside code and quotes."""

from __future__ import annotations

import re
from typing import NamedTuple

from bot.core import messages as m
from bot.core.document import parse

KNOWN = ("recheck", "regenerate-index", "help")
WRITE_ROLES = frozenset({"admin", "maintain", "write"})
_COMMAND = re.compile(r"^\s*" + re.escape(m.COMMAND_PREFIX) + r"(?:\s+(\S+))?(?:\s.*)?$")
_PRINTABLE_NAME = re.compile(r"[\w.-]{1,40}")


class Command(NamedTuple):
    name: str  # one of KNOWN, or what was written when unknown
    known: bool


def find_commands(body: str) -> list[Command]:
    """Commands in a comment, in order, once each. Only root-level paragraphs count:
    a command quoted from someone else or shown in a code block is not run."""
    found: list[Command] = []
    for block in parse(body).blocks:
        if block.kind != "paragraph":
            continue
        for line in block.text.split("\n"):
            match = _COMMAND.match(line)
            if match:
                name = (match[1] or "help").lower()
                if not _PRINTABLE_NAME.fullmatch(name):
                    name = "(unreadable)"  # never echo markup or mentions back into a reply
                command = Command(name, name in KNOWN)
                if command not in found:
                    found.append(command)
    return found


def may_regenerate(role: str) -> bool:
    return role in WRITE_ROLES
