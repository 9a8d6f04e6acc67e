"""The rule registry: every rule is a small function registered with a stable code.

A rule is a generator that receives a context and yields ``(line, message)``
pairs, or ``(line, message, fix)`` for a fixable finding. The engine in
``bot.core.linter`` turns those into findings; rules never build findings, read
files or talk to GitHub. The registry checks itself at import: a malformed or
duplicate code, a name that is not kebab-case, or a rule without a docstring
is a programming error and fails loudly.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Iterator, NamedTuple

ERROR = "error"
WARNING = "warning"
SCOPES = ("path", "bytes", "document", "repository")

_CODE = re.compile(r"CS[1-4]\d\d")
_NAME = re.compile(r"[a-z]+(?:-[a-z0-9]+)*")
_BAND = {"1": ("path",), "2": ("document",), "3": ("bytes", "document"), "4": ("repository",)}


class RegistryError(Exception):
    """A rule was registered wrongly; raised at import time."""


class Rule(NamedTuple):
    code: str
    name: str
    severity: str
    scope: str
    fixable: bool
    check: Callable[[Any], Iterable[tuple]]

    @property
    def doc(self) -> str:
        import inspect  # only the docs need it; keep `check` fast to start

        return inspect.cleandoc(self.check.__doc__ or "")

    @property
    def summary(self) -> str:
        return self.doc.split("\n", 1)[0]


REGISTRY: dict[str, Rule] = {}


def rule(code: str, name: str, *, scope: str, severity: str = ERROR, fixable: bool = False) -> Callable:
    """Register the decorated generator as rule ``code`` (``CS[1-4]xx``) called ``name``."""

    def register(check: Callable[[Any], Iterator[tuple]]) -> Callable[[Any], Iterator[tuple]]:
        _validate(code, name, scope, severity, check)
        REGISTRY[code] = Rule(code, name, severity, scope, fixable, check)
        return check

    return register


def _validate(code: str, name: str, scope: str, severity: str, check: Callable) -> None:
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


def by_scope(scope: str) -> list[Rule]:
    return [r for r in REGISTRY.values() if r.scope == scope]
