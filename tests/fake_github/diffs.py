"""Pull-request diffs as GitHub shows them: per-file status, counts and the ``patch`` text.

GitHub's ``patch`` is ``git diff`` output for one file without the ``diff --git``/``---``/``+++``
header: hunks of 3 context lines, headers ``@@ -a,b +c,d @@`` (``,1`` omitted, ``-0,0`` for
a new file) followed by git's default "function" context, lines joined by ``\\n`` and no final
newline. Binary files and patches over the size limit have no ``patch`` at all.

Lines are aligned with difflib, not git's Myers algorithm: identical output for ordinary
edits, but where many lines repeat (blank lines, ``---``) git may pair them differently.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Callable

from .gitobjects import Snapshot

CONTEXT = 3
NO_NEWLINE = "\\ No newline at end of file"


def is_binary(data: bytes) -> bool:
    if b"\0" in data:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def split_lines(text: str) -> list[str]:
    """Lines keeping their ``\\n``; unlike ``str.splitlines`` only ``\\n`` ends a line, as in git."""
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


@dataclass(frozen=True)
class Hunk:
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    lines: tuple[str, ...]  # "+x", "-x", " x" or the no-newline marker
    section: str = ""  # git's "function name" context shown after the second @@

    @property
    def header(self) -> str:
        ranges = f"@@ -{_range(self.old_start, self.old_len)} +{_range(self.new_start, self.new_len)} @@"
        return f"{ranges} {self.section}" if self.section else ranges

    def numbered(self) -> list[tuple[str, int | None, int | None]]:
        """(line, old line number, new line number) for each line of the hunk."""
        old, new = self.old_start, self.new_start
        out: list[tuple[str, int | None, int | None]] = []
        for line in self.lines:
            kind = line[:1]
            if kind == " ":
                out.append((line, old, new))
                old, new = old + 1, new + 1
            elif kind == "-":
                out.append((line, old, None))
                old += 1
            elif kind == "+":
                out.append((line, None, new))
                new += 1
            else:
                out.append((line, None, None))
        return out


def _range(start: int, length: int) -> str:
    # Same rules as git and difflib: a one-line range drops ",1"; an empty one points before it.
    if length == 1:
        return str(start)
    return f"{start if length else start - 1},{length}"


def _section(old_lines: list[str], start: int) -> str:
    """git's default hunk-header context (xdiff's ``def_ff``): the nearest line above the hunk
    that starts with a letter, ``_`` or ``$``, cut to 80 bytes, trailing whitespace removed."""
    for line in reversed(old_lines[:start]):
        if line[:1].isascii() and (line[:1].isalpha() or line[:1] in "_$"):
            cut = line.encode("utf-8")[:80].decode("utf-8", errors="ignore")
            return cut.rstrip(" \t\n\v\f\r")
    return ""


def _emit(prefix: str, line: str) -> list[str]:
    if line.endswith("\n"):
        return [prefix + line[:-1]]
    return [prefix + line, NO_NEWLINE]


def hunks(old: str, new: str) -> list[Hunk]:
    a, b = split_lines(old), split_lines(new)
    out = []
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(CONTEXT):
        lines: list[str] = []
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for line in a[i1:i2]:
                    lines += _emit(" ", line)
                continue
            for line in a[i1:i2]:
                lines += _emit("-", line)
            for line in b[j1:j2]:
                lines += _emit("+", line)
        i1, i2, j1, j2 = group[0][1], group[-1][2], group[0][3], group[-1][4]
        out.append(Hunk(i1 + 1, i2 - i1, j1 + 1, j2 - j1, tuple(lines), _section(a, i1)))
    return out


def format_patch(file_hunks: list[Hunk]) -> str:
    return "\n".join(line for h in file_hunks for line in (h.header, *h.lines))


@dataclass
class FileDiff:
    filename: str
    status: str  # added, removed, modified, renamed
    sha: str  # blob sha of the new version (of the old one for a removed file)
    additions: int = 0
    deletions: int = 0
    previous_filename: str | None = None
    patch: str | None = None
    hunks: list[Hunk] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return self.additions + self.deletions


def diff_file(filename: str, status: str, sha: str, old: bytes, new: bytes, patch_limit: int) -> FileDiff:
    diff = FileDiff(filename, status, sha)
    if is_binary(old) or is_binary(new):
        return diff
    diff.hunks = hunks(old.decode("utf-8"), new.decode("utf-8"))
    for h in diff.hunks:
        diff.additions += sum(1 for line in h.lines if line.startswith("+"))
        diff.deletions += sum(1 for line in h.lines if line.startswith("-"))
    patch = format_patch(diff.hunks)
    if patch and len(patch) <= patch_limit:
        diff.patch = patch
    return diff


def diff_snapshots(base: Snapshot, head: Snapshot, read: Callable[[str], bytes], patch_limit: int) -> list[FileDiff]:
    """The files a pull request changes, sorted by path as GitHub lists them."""
    removed = {p: v for p, v in base.items() if p not in head}
    added = {p: v for p, v in head.items() if p not in base}
    files: list[FileDiff] = []
    # A removed and an added file with identical content is a rename (GitHub's 100% similarity).
    removed_by_sha: dict[str, list[str]] = {}
    for path in sorted(removed):
        removed_by_sha.setdefault(removed[path][1], []).append(path)
    for path in sorted(added):
        candidates = removed_by_sha.get(added[path][1])
        if candidates:
            old_path = candidates.pop(0)
            del removed[old_path]
            files.append(FileDiff(path, "renamed", added[path][1], previous_filename=old_path))
        else:
            files.append(diff_file(path, "added", added[path][1], b"", read(added[path][1]), patch_limit))
    for path, (_, sha) in removed.items():
        files.append(diff_file(path, "removed", sha, read(sha), b"", patch_limit))
    for path in base.keys() & head.keys():
        if base[path][1] != head[path][1]:
            sha = head[path][1]
            files.append(diff_file(path, "modified", sha, read(base[path][1]), read(sha), patch_limit))
    return sorted(files, key=lambda f: f.filename)


def find_line(diff: FileDiff, side: str, line: int) -> tuple[int, int] | None:
    """(hunk index, 1-based position in the patch) of a line on ``side`` (LEFT old, RIGHT new).

    Only lines the patch shows can carry review comments: context lines on either side,
    removed lines on LEFT, added lines on RIGHT.
    """
    position = 0
    for index, h in enumerate(diff.hunks):
        if index:
            position += 1  # later hunk headers count as positions; the first one does not
        for text, old, new in h.numbered():
            position += 1
            if (old if side == "LEFT" else new) == line:
                return index, position
    return None


def diff_hunk(diff: FileDiff, position: int) -> str:
    """GitHub's ``diff_hunk`` of a review comment: its hunk's header and lines up to the comment."""
    lines = format_patch(diff.hunks).split("\n")
    start = max(i for i in range(position + 1) if lines[i].startswith("@@"))
    return "\n".join(lines[start : position + 1])
