"""Which repository a command works on, and its config: shared by every command of the CLI."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.core import messages
from bot.core.config import Config, find_root, load
from bot.local.workspace import UsageError


def load_repository(args: argparse.Namespace) -> tuple[Path, Config]:
    """The repository at or above the working folder (or the first path given), or the one
    ``--config`` names, with its validated config."""
    starts = [Path.cwd()] + [Path(p) for p in getattr(args, "paths", [])[:1]]
    if args.config:
        config_path = Path(args.config)
        root = find_root(config_path.parent.parent) or config_path.resolve().parent.parent
        return root, load(root, config_path)
    for start in starts:
        found = find_root(start)
        if found is not None:
            return found, load(found)
    raise UsageError(messages.NO_CONFIG.format(start=Path.cwd()))
