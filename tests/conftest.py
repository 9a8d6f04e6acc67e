"""Shared fixtures: the repository's own config, and throwaway repositories to run the CLI in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.core import config

REPO = Path(__file__).resolve().parent.parent
FIXTURE_REPO = Path(__file__).resolve().parent / "fixtures" / "repo"


@pytest.fixture(scope="session")
def cfg() -> config.Config:
    """The config of the fixture repository: fixed, so expectations do not move as the knowledge base grows."""
    return config.load(FIXTURE_REPO)


@pytest.fixture(scope="session")
def live_cfg() -> config.Config:
    """This repository's own config, for tests about the repository itself."""
    return config.load(REPO)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A minimal knowledge-base repository with a config of its own (three models), an empty index.

    The config is a fixture, not this repository's live file, so tests do not change as models are added.
    """
    shutil.copytree(FIXTURE_REPO, tmp_path, dirs_exist_ok=True)
    for model in ("meta", "huggingface", "bloomberg"):
        (tmp_path / "case_studies" / model).mkdir(parents=True)
    (tmp_path / "README.md").write_text("# KB\n\n<!-- case-study-index:start -->\n<!-- case-study-index:end -->\n")
    return tmp_path


from fake_github.fixture import fake_github  # noqa: E402,F401  (the loopback GitHub, for the e2e tests)
