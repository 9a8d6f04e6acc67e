"""GitHub's error bodies: ``{"message", "documentation_url", "status"}``, plus ``errors`` on 422."""

from __future__ import annotations

from typing import Any

DOCS = "https://docs.github.com/rest"
SECONDARY_RATE_LIMIT = {
    "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
    "#about-secondary-rate-limits",
}
REASONS = {
    400: "Bad Request",
    401: "Bad credentials",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    422: "Validation Failed",
    500: "Server Error",
    502: "Server Error",
    503: "Service Unavailable",
    504: "Server Error",
}


class GitHubError(Exception):
    """Raised anywhere while answering a request; becomes GitHub's error response."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        errors: list[Any] | None = None,
        documentation_url: str = DOCS,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.message = message or REASONS.get(status, "Error")
        self.errors = errors
        self.documentation_url = documentation_url
        self.headers = headers or {}
        super().__init__(f"{status} {self.message}")

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "documentation_url": self.documentation_url}
        if self.errors is not None:
            body["errors"] = self.errors
        body["status"] = str(self.status)
        return body


def not_found() -> GitHubError:
    return GitHubError(404, "Not Found")


def invalid(resource: str, field: str, code: str = "invalid", **extra: Any) -> GitHubError:
    """422 "Validation Failed" with one GitHub error object (``code``: invalid, missing_field, ...)."""
    return GitHubError(422, errors=[{"resource": resource, "field": field, "code": code, **extra}])


def unprocessable(message: str) -> GitHubError:
    """422 with a bare message, as the git database endpoints answer."""
    return GitHubError(422, message)
