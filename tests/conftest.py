"""Shared fixtures: the repository's own config, and throwaway repositories to run the CLI in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot import config

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def cfg() -> config.Config:
    return config.load(REPO)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A minimal knowledge-base repository: this repo's config and template, an empty index."""
    (tmp_path / ".github").mkdir()
    shutil.copy(REPO / config.CONFIG_PATH, tmp_path / config.CONFIG_PATH)
    (tmp_path / "templates").mkdir()
    shutil.copy(REPO / "templates" / "case-study.md", tmp_path / "templates" / "case-study.md")
    for model in ("meta", "huggingface", "bloomberg"):
        (tmp_path / "case_studies" / model).mkdir(parents=True)
    (tmp_path / "README.md").write_text("# KB\n\n<!-- case-study-index:start -->\n<!-- case-study-index:end -->\n")
    return tmp_path


from fake_github.fixture import fake_github  # noqa: E402,F401  (the loopback GitHub, for the e2e tests)
