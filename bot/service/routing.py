"""A small synchronous router: which handler takes which event and action, and under which key.

A route's ``key`` names what its work is about (one pull request, or one repository's index): deliveries
of one key are never worked on at once. Its ``work`` says which deliveries of a key do the same thing
(``review``, ``index``): a waiting delivery is superseded by a later one of the same work, since each
reads what it needs from GitHub when it runs. Comment commands have no ``work``: each is answered.
``internal`` routes are for jobs the service queues itself (the sweep), never taken from the webhook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, NamedTuple

if TYPE_CHECKING:
    from bot.service.handlers import Context

Handler = Callable[["Context", dict], str]
Predicate = Callable[[dict], bool]


class Route(NamedTuple):
    handler: Handler
    accepts: Predicate
    key: Callable[[dict], str]
    work: str | None = None
    internal: bool = False


class Router:
    def __init__(self) -> None:
        self._routes: dict[tuple[str, str | None], Route] = {}

    def register(self, event: str, *actions: str, accepts: Predicate = lambda p: True, key: Callable[[dict], str],
                 work: str | None = None, internal: bool = False) -> Callable[[Handler], Handler]:
        def add(handler: Handler) -> Handler:
            for action in actions or (None,):
                self._routes[(event, action)] = Route(handler, accepts, key, work, internal)
            return handler

        return add

    def route(self, event: str, action: str | None) -> Route | None:
        return self._routes.get((event, action)) or self._routes.get((event, None))

    def work(self, event: str, action: str | None) -> str | None:
        """What a delivery of this event does, for coalescing (None: not to be merged with others)."""
        route = self.route(event, action)
        return route.work if route else None
