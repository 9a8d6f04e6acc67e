"""A faithful local GitHub for tests: a stateful REST fake on loopback, spec-checked.

    from fake_github import FakeGitHub
    with FakeGitHub() as fake:
        fake.create_repo("org/kb", files={"README.md": "# KB\\n"})
        gh = Github(base_url=fake.base_url, ...)

See ``fixture.py`` for the pytest fixture and ``payloads.py`` for webhook deliveries.
"""

from .errors import GitHubError
from .payloads import InvalidPayload, delivery, sign
from .server import FakeGitHub, RecordedRequest
from .validation import Violation

__all__ = ["FakeGitHub", "GitHubError", "InvalidPayload", "RecordedRequest", "Violation", "delivery", "sign"]
