"""A small synchronous router: which handler takes which event and action, and under which key."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

Handler = Callable[[Any, dict], str]
Predicate = Callable[[dict], bool]


class Route(NamedTuple):
    handler: Handler
    accepts: Predicate
    key: Callable[[dict], str]


class Router:
    def __init__(self) -> None:
        self._routes: dict[tuple[str, str | None], Route] = {}

    def register(self, event: str, *actions: str, accepts: Predicate = lambda p: True, key: Callable[[dict], str]) -> Callable[[Handler], Handler]:
        def add(handler: Handler) -> Handler:
            for action in actions or (None,):
                self._routes[(event, action)] = Route(handler, accepts, key)
            return handler

        return add

    def route(self, event: str, action: str | None) -> Route | None:
        return self._routes.get((event, action)) or self._routes.get((event, None))
