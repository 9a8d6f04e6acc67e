"""The GitHub-facing commands (serve, report). Filled in by the App and Actions work."""

from __future__ import annotations

import argparse


def add_github_commands(sub: argparse._SubParsersAction) -> None:
    return None
