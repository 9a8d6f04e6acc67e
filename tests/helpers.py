"""Test helpers: fixtures that carry their own expectations."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

_EXPECT = re.compile(
    r"(?:<!--|\s#|^#)\s*expect(?:@(?P<at>\d+))?:\s*(?P<codes>CS\d{3}(?:\s*,\s*CS\d{3})*)\s*(?:-->)?\s*$"
)


def expected_findings(text: str) -> Counter:
    """The (line, code) multiset declared by ``expect:`` comments.

    ``<!-- expect: CS206 -->`` (or ``# expect: CS302`` in YAML) at the end of a
    line expects those codes on that line; ``expect@1:`` names another line,
    for lines that cannot carry a comment, such as a front-matter fence.
    """
    expected: Counter = Counter()
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        match = _EXPECT.search(line)
        if match:
            at = int(match["at"]) if match["at"] else number
            for code in match["codes"].split(","):
                expected[(at, code.strip())] += 1
    return expected


def found(findings) -> Counter:
    return Counter((f.line, f.code) for f in findings)


GOOD = """---
id: PC-0001
tags: [loss-spikes]
sources:
  - https://example.org/paper
---

# A good case study

## Main Challenge

The loss spiked at step 14,500.

## Solution that Did Not Work

A rollback without a learning-rate change.

## Solution that Worked

A rollback plus a 25% lower learning rate.

## Bugs/Missteps

None recorded: the logbook says nothing more.

## Learnings

Keep checkpoints close together.
"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, check=True).stdout.strip()


def checkout(root: Path, files: dict[str, bytes], changes: dict[str, str] | None = None) -> Path:
    """What actions/checkout gives a job: the base commit, and for a pull request its changes committed on top."""
    root.mkdir()
    git(root, "init", "-q")
    git(root, "config", "user.email", "ci@example.org")
    git(root, "config", "user.name", "CI")
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    if changes:
        for rel, text in changes.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
        git(root, "add", "-A")
        git(root, "commit", "-qm", "pull request")
    return root


class Clock:
    """A clock moved by hand (``clock.now += 61``): leases run out when a test says so."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
