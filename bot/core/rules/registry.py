"""The rule registry: every rule is a small function registered with a stable code.

A rule is a generator that receives a context and yields ``Problem`` values:
a line, a message and, for a fixable rule, the ``Fix`` that repairs it. The
engine in ``bot.core.linter`` turns those into findings; rules never build
findings, read files or talk to GitHub. Every fact about a rule lives here,
on its registration: code, name, severity, scope, docs (the docstring), the
one-line hint on how to fix it, and whether it comes with a fix. The registry checks itself at import: a malformed or
duplicate code, a name that is not kebab-case, or a rule without a docstring
is a programming error and fails loudly.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Iterator, NamedTuple

from bot.core.findings import ERROR, WARNING, Fix
SCOPES = ("entry", "path", "bytes", "document", "repository")  # entry: a path that is no regular file

_CODE = re.compile(r"CS[1-4]\d\d")
_NAME = re.compile(r"[a-z]+(?:-[a-z0-9]+)*")
_BAND = {"1": ("entry", "path"), "2": ("document",), "3": ("bytes", "document"), "4": ("repository",)}


class RegistryError(Exception):
    """A rule was registered wrongly; raised at import time."""


class Problem(NamedTuple):
    """What a rule yields. ``path`` is set only by repository rules, which report on other files."""

    line: int
    message: str
    fix: Fix | None = None
    path: str | None = None


class Rule(NamedTuple):
    code: str
    name: str
    severity: str
    scope: str
    fixable: bool  # its problems carry a Fix that `check --fix` applies (CS302: when the fix is unambiguous)
    hint: str  # how to fix it, in a few words: the review's "How to fix" column
    suppressible: bool  # whether a disable comment in the file may hide it
    check: Callable[[Any], Iterable[Problem]]

    @property
    def doc(self) -> str:
        import inspect  # only the docs need it; keep `check` fast to start

        return inspect.cleandoc(self.check.__doc__ or "")

    @property
    def summary(self) -> str:
        return self.doc.split("\n", 1)[0]


REGISTRY: dict[str, Rule] = {}


def rule(code: str, name: str, *, scope: str, hint: str, severity: str = ERROR, fixable: bool = False, suppressible: bool = True) -> Callable:
    """Register the decorated generator as rule ``code`` (``CS[1-4]xx``) called ``name``."""

    def register(check: Callable[[Any], Iterator[Problem]]) -> Callable[[Any], Iterator[Problem]]:
        _validate(code, name, scope, severity, hint, check)
        REGISTRY[code] = Rule(code, name, severity, scope, fixable, hint, suppressible, check)
        return check

    return register


def _validate(code: str, name: str, scope: str, severity: str, hint: str, check: Callable) -> None:
    where = f"rule {code} ({getattr(check, '__qualname__', check)})"
    if not _CODE.fullmatch(code):
        raise RegistryError(f"{where}: code must look like CS101 (CS1xx layout … CS4xx index)")
    if code in REGISTRY:
        raise RegistryError(f"{where}: code already registered to {REGISTRY[code].name}")
    if not _NAME.fullmatch(name):
        raise RegistryError(f"{where}: name {name!r} must be kebab-case")
    if any(r.name == name for r in REGISTRY.values()):
        raise RegistryError(f"{where}: name {name!r} already registered")
    if scope not in SCOPES or scope not in _BAND[code[2]]:
        raise RegistryError(f"{where}: scope {scope!r} does not fit the {code[:3]}xx band")
    if severity not in (ERROR, WARNING):
        raise RegistryError(f"{where}: severity must be {ERROR!r} or {WARNING!r}")
    if not (check.__doc__ or "").strip():
        raise RegistryError(f"{where}: a rule's docstring is its documentation and cannot be empty")
    if not hint.strip() or "\n" in hint:
        raise RegistryError(f"{where}: the hint is one line saying how to fix the problem")


def lookup(code_or_name: str) -> Rule | None:
    """The rule with this code (any case) or name."""
    found = REGISTRY.get(code_or_name.upper())
    return found or next((r for r in REGISTRY.values() if r.name == code_or_name), None)


def by_scope(scope: str) -> list[Rule]:
    return [r for r in REGISTRY.values() if r.scope == scope]
