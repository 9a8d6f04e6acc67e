"""The ``fake_github`` pytest fixture: a fresh, started fake per test.

At teardown the test fails if the exchanges broke GitHub's description in a way
``allowlist.py`` does not explain. The App's RSA key is generated once per process.

    # conftest.py
    from fake_github.fixture import fake_github  # noqa: F401
"""

from __future__ import annotations

from typing import Iterator

import pytest

from .server import FakeGitHub


def assert_no_unexpected_violations(fake: FakeGitHub) -> None:
    problems = fake.unexpected_violations()
    if problems:
        listed = "\n".join(f"  {v}" for v in problems)
        pytest.fail(
            f"{len(problems)} GitHub spec violation(s) not covered by fake_github/allowlist.py:\n{listed}",
            pytrace=False,
        )


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        yield fake
    assert_no_unexpected_violations(fake)
