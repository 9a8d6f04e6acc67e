"""Every request and response checked against GitHub's OpenAPI description (openapi-core 0.23).

Validation only (``iter_*_errors``), not unmarshalling: unmarshalling a pull request costs
~60 ms, validating it ~6 ms.

Problems become ``Violation`` records; ``allowlist.py`` decides which ones are GitHub's own
description being wrong. Two quirks of openapi-core are worked around here:

* it matches ``{path}``/``{ref}`` only as one path segment, so path parameters are
  percent-encoded (``/`` -> ``%2F``) in the request it is handed;
* it raises ``ResponseNotFound`` for a status the operation does not declare; such error
  bodies are still checked here against GitHub's generic error schemas.
"""

from __future__ import annotations

import functools
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote, urlsplit

from flask import Request, Response
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_schema_validator import OAS30Validator
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_PATH = Path(__file__).resolve().parent.parent / "github_spec" / "openapi.json"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
MAX_MESSAGE = 300


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str  # upper case
    path: str  # the description's template, e.g. /repos/{owner}/{repo}/pulls/{pull_number}
    integer_params: frozenset[str]
    conditional: bool = False  # GitHub answers 304 to a matching If-None-Match (the description lists 304)


@dataclass(frozen=True)
class Violation:
    operation_id: str | None
    direction: str  # request, response or route
    kind: str  # schema, undeclared-status, unknown-route, other
    message: str
    method: str
    path: str
    status: int | None = None
    json_path: str = "$"
    keyword: str | None = None  # the failing JSON Schema keyword: enum, maxItems, required, ...

    def __str__(self) -> str:
        where = f"{self.method} {self.path}" + (f" -> {self.status}" if self.status else "")
        return f"[{self.operation_id or '?'} {self.direction}] {where}: {self.json_path}: {self.message}"


@functools.cache
def load_spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text())


def deref(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


@functools.cache
def operations() -> tuple[Operation, ...]:
    spec = load_spec()
    found = []
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            if method not in item:
                continue
            op = item[method]
            params = [deref(spec, p) for p in item.get("parameters", []) + op.get("parameters", [])]
            integers = frozenset(
                p["name"] for p in params if p["in"] == "path" and p["schema"].get("type") == "integer"
            )
            conditional = method == "get" and "304" in op.get("responses", {})
            found.append(Operation(op["operationId"], method.upper(), path, integers, conditional))
    return tuple(found)


@functools.cache
def _error_validators() -> dict[str, OAS30Validator]:
    schemas = load_spec()["components"]["schemas"]
    return {name: OAS30Validator(schemas[name]) for name in ("basic-error", "validation-error")}


class _SpecRequest:
    """The request as openapi-core's Request protocol wants it, path parameters %-encoded."""

    def __init__(self, host_url: str, path: str, request: Request) -> None:
        self.host_url = host_url
        self.path = path
        self.method = request.method.lower()
        self.body = request.get_data()
        self.content_type = request.content_type or "application/octet-stream"
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(request.args), header=Headers(request.headers), cookie=request.cookies
        )


class _SpecResponse:
    def __init__(self, response: Response) -> None:
        self.status_code = response.status_code
        self.data = response.get_data()
        self.content_type = response.mimetype or ""
        self.headers = Headers(response.headers)


def _schema_errors(error: BaseException) -> Iterator[Any]:
    """The jsonschema errors behind an openapi-core error, following its ``__cause__`` chain."""
    seen: BaseException | None = error
    while seen is not None:
        for item in getattr(seen, "schema_errors", ()) or ():
            yield item
        seen = seen.__cause__


def _short(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


class SpecValidator:
    def __init__(self, base_url: str, prefix: str) -> None:
        spec = {**load_spec(), "servers": [{"url": base_url}]}
        self.api = OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))
        parts = urlsplit(base_url)
        self.host_url = f"{parts.scheme}://{parts.netloc}"
        self.prefix = prefix
        # openapi-core's caches are not documented as thread-safe; the fake serves threads.
        self._lock = threading.Lock()

    def _spec_request(self, operation: Operation, request: Request) -> _SpecRequest:
        args = {name: quote(str(value), safe="") for name, value in (request.view_args or {}).items()}
        return _SpecRequest(self.host_url, self.prefix + operation.path.format(**args), request)

    def check_request(self, operation: Operation, request: Request) -> list[Violation]:
        spec_request = self._spec_request(operation, request)
        with self._lock:
            errors = list(self.api.iter_request_errors(spec_request))
        return self._violations(operation, request, "request", None, errors)

    def check_response(self, operation: Operation, request: Request, response: Response) -> list[Violation]:
        spec_request = self._spec_request(operation, request)
        with self._lock:
            errors = list(self.api.iter_response_errors(spec_request, _SpecResponse(response)))
        found = self._violations(operation, request, "response", response.status_code, errors)
        if any(isinstance(e, ResponseNotFound) for e in errors) and response.status_code >= 400:
            found += self._check_error_body(operation, request, response)
        return found

    def _check_error_body(self, operation: Operation, request: Request, response: Response) -> list[Violation]:
        """An undeclared error status must still carry GitHub's error body."""
        name = "validation-error" if response.status_code == 422 else "basic-error"
        try:
            body = json.loads(response.get_data())
        except ValueError:
            body = None
        where = self._where(operation, request, "response", response.status_code)
        return [
            Violation(kind="schema", message=_short(f"{name}: {e.message}"), json_path=e.json_path,
                      keyword=str(e.validator), **where)
            for e in _error_validators()[name].iter_errors(body)
        ]

    @staticmethod
    def _where(operation: Operation, request: Request, direction: str, status: int | None) -> dict[str, Any]:
        return {
            "operation_id": operation.operation_id,
            "direction": direction,
            "method": request.method,
            "path": request.path,
            "status": status,
        }

    def _violations(
        self, operation: Operation, request: Request, direction: str, status: int | None, errors: list[Exception]
    ) -> list[Violation]:
        where = self._where(operation, request, direction, status)
        found = []
        for error in errors:
            if isinstance(error, ResponseNotFound):
                found.append(Violation(kind="undeclared-status", message=_short(str(error)), **where))
                continue
            details = list(_schema_errors(error))
            if not details:
                found.append(Violation(kind="other", message=_short(f"{type(error).__name__}: {error}"), **where))
            found += [
                Violation(kind="schema", message=_short(d.message), json_path=d.json_path, keyword=str(d.validator),
                          **where)
                for d in details
            ]
        return found
