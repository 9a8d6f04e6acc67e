"""Git objects hashed exactly as git hashes them: blobs, trees and commits keyed by SHA-1.

Blob, tree and commit ids are the ones ``git hash-object``/``git mktree``/``git commit-tree``
would compute, so shas the bot sees behave like real ones (equal content, equal sha).
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Iterator, Union

TREE_MODE = "040000"  # how the REST API spells it; git writes "40000" inside tree objects
FILE_MODE = "100644"
SUBMODULE_MODE = "160000"
ZERO_SHA = "0" * 40


def git_hash(kind: str, body: bytes) -> str:
    return hashlib.sha1(b"%s %d\0" % (kind.encode(), len(body)) + body).hexdigest()


def blob_sha(data: bytes) -> str:
    return git_hash("blob", data)


def object_type(mode: str) -> str:
    if mode == TREE_MODE:
        return "tree"
    return "commit" if mode == SUBMODULE_MODE else "blob"


@dataclass(frozen=True)
class Entry:
    name: str
    mode: str
    sha: str

    @property
    def type(self) -> str:
        return object_type(self.mode)


@dataclass(frozen=True)
class Blob:
    data: bytes


@dataclass(frozen=True)
class Tree:
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    date: datetime


@dataclass(frozen=True)
class Commit:
    tree: str
    parents: tuple[str, ...]
    message: str
    author: Person
    committer: Person


GitObject = Union[Blob, Tree, Commit]
# A flattened tree: file path -> (mode, blob sha). Directories are implied by the paths.
Snapshot = dict[str, tuple[str, str]]


def _person_line(role: str, person: Person) -> bytes:
    return f"{role} {person.name} <{person.email}> {int(person.date.timestamp())} +0000\n".encode()


class ObjectStore:
    """One repository's object database."""

    def __init__(self) -> None:
        self.objects: dict[str, GitObject] = {}

    def add_blob(self, data: bytes) -> str:
        sha = blob_sha(data)
        self.objects[sha] = Blob(data)
        return sha

    def add_tree(self, entries: list[Entry]) -> str:
        # git orders entries by name, comparing a subtree's name as if it ended in "/".
        ordered = tuple(sorted(entries, key=lambda e: e.name.encode() + (b"/" if e.type == "tree" else b"")))
        body = b"".join(
            b"%s %s\0" % (e.mode.lstrip("0").encode(), e.name.encode()) + bytes.fromhex(e.sha) for e in ordered
        )
        sha = git_hash("tree", body)
        self.objects[sha] = Tree(ordered)
        return sha

    def add_commit(self, tree: str, parents: tuple[str, ...], message: str, author: Person, committer: Person) -> str:
        body = b"tree %s\n" % tree.encode()
        body += b"".join(b"parent %s\n" % p.encode() for p in parents)
        body += _person_line("author", author) + _person_line("committer", committer)
        body += b"\n" + message.encode()
        sha = git_hash("commit", body)
        self.objects[sha] = Commit(tree, parents, message, author, committer)
        return sha

    def get(self, sha: str, kind: type) -> GitObject | None:
        obj = self.objects.get(sha)
        return obj if isinstance(obj, kind) else None

    def blob(self, sha: str) -> bytes:
        return self.objects[sha].data  # type: ignore[union-attr]

    def tree(self, sha: str) -> Tree:
        obj = self.objects[sha]
        assert isinstance(obj, Tree), sha
        return obj

    def commit(self, sha: str) -> Commit:
        obj = self.objects[sha]
        assert isinstance(obj, Commit), sha
        return obj

    def write_snapshot(self, files: Snapshot) -> str:
        """Store the nested trees for a flat snapshot; return the root tree sha."""
        here: list[Entry] = []
        subdirs: dict[str, Snapshot] = {}
        for path, (mode, sha) in files.items():
            head, sep, rest = path.partition("/")
            if sep:
                subdirs.setdefault(head, {})[rest] = (mode, sha)
            else:
                here.append(Entry(head, mode, sha))
        here += [Entry(name, TREE_MODE, self.write_snapshot(sub)) for name, sub in subdirs.items()]
        return self.add_tree(here)

    def walk(self, tree_sha: str, recursive: bool = True, prefix: str = "") -> Iterator[tuple[str, Entry]]:
        """(path, entry) for each entry, subtrees before their contents, like ``git ls-tree -rt``."""
        for entry in self.tree(tree_sha).entries:
            path = prefix + entry.name
            yield path, entry
            if recursive and entry.type == "tree":
                yield from self.walk(entry.sha, True, path + "/")

    def snapshot(self, tree_sha: str) -> Snapshot:
        return {path: (e.mode, e.sha) for path, e in self.walk(tree_sha) if e.type != "tree"}

    def ancestors(self, sha: str) -> set[str]:
        seen = {sha}
        todo = deque([sha])
        while todo:
            for parent in self.commit(todo.popleft()).parents:
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return ancestor in self.ancestors(descendant)

    def merge_base(self, a: str, b: str) -> str | None:
        """The nearest common ancestor, searching breadth-first from ``b``."""
        of_a = self.ancestors(a)
        seen = {b}
        todo = deque([b])
        while todo:
            sha = todo.popleft()
            if sha in of_a:
                return sha
            for parent in self.commit(sha).parents:
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return None
