"""The CLI's file-system edge: find the files to check, read them, lint them, check the index.

Large trees are linted in worker processes: parsing is CPU-bound and the files
are independent, so two cores halve the wall time.
"""

from __future__ import annotations

import os
from pathlib import Path

from bot.core.config import CONFIG_PATH, Config
from bot.core.index import Record
from bot.core.linter import Finding, lint_file, lint_index, sort_key
from bot.core.paths import is_case_study, place

PARALLEL_THRESHOLD = 400  # below this, starting workers costs more than it saves


class UsageError(Exception):
    """A problem with what the user asked for (exit status 2)."""


class Report:
    """Findings over a set of files, how many were checked, and the index records found."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.files_checked = 0
        self.checked: list[str] = []
        self.records: list[Record] = []
        self.line_texts: dict[tuple[str, int], str] = {}  # the text of each finding's line

    @property
    def errors(self) -> int:
        return sum(f.is_error for f in self.findings)

    @property
    def warnings(self) -> int:
        return len(self.findings) - self.errors


def relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise UsageError(f"{path} is outside the repository at {root}") from None


def collect(root: Path, cfg: Config, paths: list[str] | None) -> list[str]:
    """Repository-relative paths of the files to check, sorted."""
    if not paths:
        base = root / cfg.case_studies_dir
        if not base.is_dir():
            raise UsageError(f"no {cfg.case_studies_dir}/ folder in {root}")
        return sorted(_walk(base, root))
    found: set[str] = set()
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise UsageError(f"no such file or directory: {given}")
        if path.is_dir():
            inside = [p for p in _walk(path, root) if place(p, cfg).inside]
            if not inside:
                raise UsageError(f"no case studies found under {given}")
            found.update(inside)
        else:
            found.add(relative(path, root))
    return sorted(found)


def _walk(folder: Path, root: Path) -> list[str]:
    base = relative(folder, root)  # resolved once; below it, paths are joined as strings
    prefix = "" if base == "." else base + "/"
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        inner = os.path.relpath(dirpath, folder).replace(os.sep, "/")
        here = prefix if inner == "." else f"{prefix}{inner}/"
        out.extend(here + name for name in filenames)
    return out


def read_limited(path: Path, limit: int) -> tuple[bytes | None, int]:
    """The file's bytes, or None when it exceeds ``limit`` (only its size is taken)."""
    size = _size(path)
    if size > limit:
        return None, size
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    return data, len(data)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def _lint_one(root: Path, cfg: Config, rel: str) -> tuple[list[Finding], Record | None, bool, dict]:
    p = place(rel, cfg)
    if not p.inside and not p.is_markdown:
        return [], None, False, {}
    if p.is_markdown:
        data, size = read_limited(root / rel, cfg.max_file_size)
    else:
        data, size = b"", _size(root / rel)  # layout rules need only the size
    result = lint_file(rel, data, cfg, size=size)
    texts = {(result.context.place.path, line): text for line, text in result.line_texts().items()}
    return result.findings, result.record, result.checked, texts


_WORKER: tuple[Path, Config] | None = None


def _init_worker(root: Path, cfg: Config) -> None:
    global _WORKER
    _WORKER = (root, cfg)


def _lint_chunk(rels: list[str]) -> list[tuple[list[Finding], Record | None, bool, dict]]:
    assert _WORKER is not None
    return [_lint_one(*_WORKER, rel) for rel in rels]


def lint_tree(root: Path, cfg: Config, rels: list[str], jobs: int = 0) -> Report:
    """Lint the given repository-relative files; ``jobs`` 0 picks a worker count by size."""
    if not jobs:
        jobs = (os.cpu_count() or 1) if len(rels) >= PARALLEL_THRESHOLD else 1
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor  # only for large trees: it costs 25 ms to import

        size = max(1, len(rels) // (jobs * 8))
        chunks = [rels[i : i + size] for i in range(0, len(rels), size)]
        with ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(root, cfg)) as pool:
            results = [r for chunk in pool.map(_lint_chunk, chunks) for r in chunk]
    else:
        results = [_lint_one(root, cfg, rel) for rel in rels]
    report = Report()
    for rel, (findings, record, checked, texts) in zip(rels, results):
        report.findings.extend(findings)
        report.line_texts.update(texts)
        if checked:
            report.files_checked += 1
            report.checked.append(rel)
        if record is not None:
            report.records.append(record)
    report.findings.sort(key=sort_key)
    return report


def read_text_or_none(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None


def check_index(root: Path, cfg: Config, records: list[Record]) -> list[Finding]:
    readme = read_text_or_none(root / cfg.readme)
    json_text = read_text_or_none(root / cfg.index_json)
    return lint_index(records, readme, json_text, cfg)


def changed_since(root: Path, cfg: Config, ref: str) -> list[str] | None:
    """Files under the case studies changed between ``ref`` and HEAD; None when the rules themselves
    changed (config, template or the bot), so that everything must be checked again."""
    import subprocess

    try:
        out = subprocess.run(
            ["git", "-C", str(root), "diff", "--name-status", "-z", "-M", ref, "HEAD"], capture_output=True, check=True
        ).stdout.decode("utf-8", "surrogateescape")
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        raise UsageError(f"cannot list the files changed since {ref}: {detail.decode(errors='replace').strip() or exc}") from None
    fields = out.split("\0")
    changed, index = [], 0
    while index < len(fields) - 1:
        status = fields[index]
        paths = fields[index + 1 : index + (3 if status[:1] in "RC" else 2)]
        index += 1 + len(paths)
        changed.append((status[:1], paths[-1], paths[0]))
    rules = {CONFIG_PATH, cfg.template_path}
    if any(new in rules or old in rules or new.startswith("bot/") or old.startswith("bot/") for _, new, old in changed):
        return None
    return sorted(new for status, new, _ in changed if status != "D" and place(new, cfg).inside)


def all_records(root: Path, cfg: Config) -> list[Record]:
    """The index records of every case study in the repository."""
    rels = [rel for rel in collect(root, cfg, None) if is_case_study(rel, cfg)]
    return lint_tree(root, cfg, rels).records


def write_atomic(path: Path, text: str) -> None:
    """Write through a temporary file and rename, so a crash never leaves half a file."""
    tmp = path.with_name(f".{path.name}.challenge-bot.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def create_exclusive(path: Path, text: str) -> bool:
    """Write a new file atomically; False (and nothing written) if it already exists."""
    tmp = path.with_name(f".{path.name}.challenge-bot.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        try:
            os.link(tmp, path)  # fails if the target exists: no race with another writer
        except FileExistsError:
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)
