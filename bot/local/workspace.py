"""The CLI's file-system edge: find the files to check, read them, lint them, check the index.

Large trees are linted in worker processes: parsing is CPU-bound and the files
are independent, so two cores halve the wall time.
"""

from __future__ import annotations

import gc
import os
import stat
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable, NamedTuple

from bot.core import figures
from bot.core import ids
from bot.core.config_model import Config
from bot.core.context import DEVICE, FIFO, REGULAR, SOCKET, SYMLINK_BROKEN, SYMLINK_OUT
from bot.core.findings import CheckedFile, Finding, sort_key
from bot.core.index import Record
from bot.core.linter import IndexChange, IndexPlan, index_changes, lint_file, lint_index
from bot.core.linter import plan_index as core_plan_index
from bot.core.paths import changes_rules, is_case_study, place
from bot.local import indexrender

if TYPE_CHECKING:
    import threading  # only named in annotations: large trees import it

    from bot.local.resultcache import ResultCache  # only named in annotations: --cache-dir runs import it

PARALLEL_THRESHOLD = 400  # below this, starting workers costs more than it saves
GENERATED_LIMIT = 64 * 1024 * 1024  # the README, index.json, index.csv, redirects, figure files: large, but bounded


class UsageError(Exception):
    """A problem with what the user asked for (exit status 2)."""


class Report:
    """What checking a set of files gave: the files as checked, and every finding over them."""

    def __init__(self, files: list[CheckedFile]) -> None:
        self.files = files
        self.findings: list[Finding] = sorted((f for c in files for f in c.findings), key=sort_key)
        self.suppressed: list[Finding] = sorted((f for c in files for f in c.suppressed), key=sort_key)
        self.checked = [c.path for c in files if c.checked]
        self.records = [c.record for c in files if c.record is not None]
        self.cache_keys: dict[str, str] = {}  # path -> key in the result cache, for the files it holds

    @property
    def files_checked(self) -> int:
        return len(self.checked)

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


def _entry_relative(path: Path, root: Path) -> str:
    """``path`` relative to the repository, its folder resolved but not its last part (a link stays a link)."""
    folder = relative(path.parent, root)
    return path.name if folder == "." else f"{folder}/{path.name}"


def collect(root: Path, cfg: Config, paths: list[str] | None) -> list[str]:
    """Repository-relative paths of the files to check, sorted: regular files, and the entries that
    are not (links out of the repository, pipes, sockets, devices), which the linter reports unread."""
    if not paths:
        base = root / cfg.case_studies_dir
        if not base.is_dir():
            raise UsageError(f"no {cfg.case_studies_dir}/ folder in {root}")
        return sorted(_walk(base, root))
    found: set[str] = set()
    for given in paths:
        path = Path(given)
        if not os.path.lexists(path):
            raise UsageError(f"no such file or directory: {given}")
        if path.is_dir() and (not path.is_symlink() or _inside(os.path.realpath(path), root)):
            inside = [p for p in _walk(path, root) if place(p, cfg).inside]
            if not inside:
                raise UsageError(f"no case studies found under {given}")
            found.update(inside)
        else:
            found.add(_entry_relative(path, root))
    return sorted(found)


def _walk(folder: Path, root: Path) -> list[str]:
    base = relative(folder, root)  # resolved once; below it, paths are joined as strings
    prefix = "" if base == "." else base + "/"
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        inner = os.path.relpath(dirpath, folder).replace(os.sep, "/")
        here = prefix if inner == "." else f"{prefix}{inner}/"
        out.extend(here + name for name in filenames)
        # os.walk never enters a link to a folder. One that leads out of the repository is listed
        # (the linter reports it, unread); one inside is checked where it leads.
        links = [name for name in dirnames if os.path.islink(os.path.join(dirpath, name))]
        out.extend(here + name for name in links if not _inside(os.path.realpath(os.path.join(dirpath, name)), root))
    return out


def _inside(real: str, root: Path) -> bool:
    top = os.path.realpath(root)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


class Entry(NamedTuple):
    """What is at a path: its kind (``bot.core.context``), its bytes (None when not read: another
    kind, or more than the limit) and its size; ``real`` is the file read, a link's target."""

    kind: str
    data: bytes | None
    size: int
    real: Path | None = None


_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def read_entry(path: Path, limit: int, root: Path | None, read: bool = True) -> Entry:
    """Read ``path`` whatever the tree holds. A symbolic link is followed only to a file inside
    ``root`` (any file when ``root`` is None); nothing but a regular file is opened; and at most
    ``limit`` + 1 bytes are read, whatever the size the file system claims (``/proc``, a file
    that grows). ``read`` False takes only the size."""
    try:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            real = os.path.realpath(path)
            if root is not None and not _inside(real, root):
                return Entry(SYMLINK_OUT, None, 0)
            if not os.path.lexists(real):
                return Entry(SYMLINK_BROKEN, None, 0)
            path, info = Path(real), os.lstat(real)
        if not stat.S_ISREG(info.st_mode):
            return Entry(_kind(info.st_mode, path), None, 0)
        if not read:
            return Entry(REGULAR, b"", info.st_size, path)
        # O_NONBLOCK: a pipe swapped in since the lstat cannot block the open; fstat sees what was opened.
        handle = os.open(path, _OPEN_FLAGS)
        try:
            info = os.fstat(handle)
            if not stat.S_ISREG(info.st_mode):
                return Entry(_kind(info.st_mode, path), None, 0)
            if info.st_size > limit:  # refused before reading; a size that lies is caught by the bounded read
                return Entry(REGULAR, None, info.st_size, path)
            data = _read_at_most(handle, limit + 1)
        finally:
            os.close(handle)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        return Entry(REGULAR, None, max(info.st_size, len(data)), path)
    return Entry(REGULAR, data, len(data), path)


def _kind(mode: int, path: Path) -> str:
    if stat.S_ISFIFO(mode):
        return FIFO
    if stat.S_ISSOCK(mode):
        return SOCKET
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return DEVICE
    raise UsageError(f"{path} is a folder, not a file")


def _read_at_most(handle: int, size: int) -> bytes:
    chunks, left = [], size
    while left > 0:
        chunk = os.read(handle, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _lint_one(root: Path, cfg: Config, rel: str, cache: ResultCache | None = None, records: bool = True) -> tuple[CheckedFile, str]:
    """One file's result, and its key in the result cache ("" when not cached: no cache, or not a case study read whole).
    ``records`` False leaves out the index records, which only the whole repository's check needs."""
    p = place(rel, cfg)
    if not p.inside and not p.is_markdown:
        return CheckedFile(rel, checked=False), ""
    # Layout rules need only the size of an asset; a case study is read, up to the size limit.
    entry = read_entry(root / rel, cfg.max_file_size, root, read=p.is_markdown)
    if cache is None or entry.data is None or entry.kind != REGULAR or not p.is_markdown:
        return lint_file(rel, entry.data, cfg, size=entry.size, kind=entry.kind, record=records), ""
    key = cache.file_key(rel, entry.data)
    checked = cache.get(key)
    if checked is None or checked.path != rel:
        checked = lint_file(rel, entry.data, cfg, size=entry.size, kind=entry.kind)  # with its record: the cache serves every run
        cache.put(key, checked)
    return checked, key


_WORKER: tuple[Path, Config, ResultCache | None, bool] | None = None


def _init_worker(root: Path, cfg: Config, cache: ResultCache | None = None, records: bool = True) -> None:
    global _WORKER
    _WORKER = (root, cfg, cache, records)
    # A worker keeps nothing from one file to the next: the collector, at its default pace, would walk
    # every young object after each file to find next to no cycles. What it inherited is never freed.
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def _lint_chunk(rels: list[str]) -> list[tuple[CheckedFile, str]]:
    assert _WORKER is not None
    root, cfg, cache, records = _WORKER
    return [_lint_one(root, cfg, rel, cache, records) for rel in rels]


def lint_tree(
    root: Path,
    cfg: Config,
    rels: list[str],
    jobs: int = 0,
    cache: ResultCache | None = None,
    records: bool = True,
    meanwhile: Callable[[], None] | None = None,
) -> Report:
    """Lint the given repository-relative files; ``jobs`` 0 picks a worker count by size. With a
    ``cache``, a file whose result it holds is not linted again (``check --cache-dir``); with
    ``records`` False, the report has no index records (they cost a one-file check a third of its
    time). ``meanwhile`` is called once worker processes run, if any do."""
    if not jobs:
        jobs = (os.cpu_count() or 1) if len(rels) >= PARALLEL_THRESHOLD else 1
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor  # only for large trees: it costs 25 ms to import

        size = max(1, len(rels) // (jobs * 16))  # small chunks: the workers finish together
        chunks = [rels[i : i + size] for i in range(0, len(rels), size)]
        with ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(root, cfg, cache, records)) as pool:
            done = pool.map(_lint_chunk, chunks)
            if meanwhile is not None:  # now, not before: a process that forks must not have threads (cpython#90622)
                meanwhile()
            results = [r for chunk in done for r in chunk]
    else:
        results = [_lint_one(root, cfg, rel, cache, records) for rel in rels]
    report = Report([checked for checked, _ in results])
    report.cache_keys = {checked.path: key for checked, key in results if key}
    return report


def read_text_or_none(path: Path, root: Path | None = None) -> str | None:
    """A generated or data file's text (README, index.json, a figure's CSV), None when absent; read
    as ``read_entry`` reads, up to ``GENERATED_LIMIT``. Anything else at the path is a usage error."""
    if not os.path.lexists(path):
        return None
    entry = read_entry(path, GENERATED_LIMIT, root)
    if entry.kind != REGULAR:
        raise UsageError(f"cannot read {path}: it is {_DESCRIBED[entry.kind]}, not a regular file")
    if entry.data is None:
        raise UsageError(f"cannot read {path}: it is larger than {GENERATED_LIMIT // (1024 * 1024)} MiB")
    try:
        return entry.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None


_DESCRIBED = {
    SYMLINK_OUT: "a symbolic link out of the repository",
    SYMLINK_BROKEN: "a broken symbolic link",
    FIFO: "a named pipe",
    SOCKET: "a socket",
    DEVICE: "a device",
}


def check_index(
    root: Path,
    cfg: Config,
    records: list[Record],
    cache: ResultCache | None = None,
    cache_keys: dict[str, str] | None = None,
    texts: GeneratedTexts | None = None,
) -> list[Finding]:
    """The repository rules: the generated index, footers and dataset (CS401, CS402), ids, related
    entries and redirects (CS403-CS407), and the figures (CS408, CS409). With a ``cache`` and the
    keys of every file checked (``Report.cache_keys``), findings already known are not worked out
    again. ``texts`` reads the generated files, when it was started while the workers linted."""
    generated = texts.get() if texts is not None else _generated_texts(root, cfg)
    readme, json_text, csv_text, redirects = generated
    figure_list = figure_files(root, cfg)
    key = ""
    if cache is not None and cache_keys is not None and all(r.path in cache_keys for r in records):
        key = cache.index_key(cache_keys, generated, repr(sorted(figure_list)))
        known = cache.get_findings(key)
        if known is not None:
            return known
    render = partial(indexrender.render, json_text=json_text, csv_text=csv_text)  # a large tree's index in parallel
    found = lint_index(records, readme, json_text, cfg, tuple(figures.check(figure_list)), csv_text, redirects, expected=render)
    if key and cache is not None:
        cache.put_findings(key, found)
    return found


def index_preview(root: Path, cfg: Config, records: list[Record]) -> list[IndexChange]:
    """How regenerating the index would change it, case study by case study."""
    _, json_text, _, redirects = _generated_texts(root, cfg)
    return index_changes(records, json_text, cfg, ids.read_redirects(redirects, cfg.id_prefix))


class GeneratedTexts:
    """The README, index.json, index.csv and the redirects file: as large as the case studies
    together. ``start`` reads them in a thread while the lint workers run, so that the parent,
    which only waits for the workers meanwhile, need not read them after; ``get`` reads them
    here when nothing started that thread (a small tree, one worker)."""

    def __init__(self, root: Path, cfg: Config) -> None:
        self._root, self._cfg = root, cfg
        self._texts: tuple[str | None, ...] | None = None
        self._error: Exception | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        import threading  # only large trees read ahead

        self._thread = threading.Thread(target=self._read, name="read-generated", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            self._texts = _generated_texts(self._root, self._cfg)
        except Exception as exc:  # raised where the texts are used (a UsageError, mostly), as a read there would
            self._error = exc

    def get(self) -> tuple[str | None, ...]:
        if self._thread is None:
            self._read()
        else:
            self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._texts is not None
        return self._texts


def _generated_texts(root: Path, cfg: Config) -> tuple[str | None, ...]:
    """The README, index.json, index.csv and the redirects file as they are (None when absent)."""
    return tuple(read_text_or_none(root / rel, root) for rel in (cfg.readme, cfg.index_json, cfg.index_csv, cfg.redirects))


def plan_index(root: Path, cfg: Config) -> tuple[IndexPlan, dict[str, str]]:
    """What `challenge-bot index` would write: the plan, and each file's current text (for diffs)."""
    records = all_records(root, cfg)
    readme, json_text, csv_text, redirects = _generated_texts(root, cfg)
    plan = core_plan_index(records, readme, json_text, csv_text, redirects, cfg)
    current = {cfg.readme: readme or "", cfg.index_json: json_text or "", cfg.index_csv: csv_text or ""}
    return plan, current


def next_id(root: Path, cfg: Config) -> str:
    """The next free permanent id: one past every id in the case studies, the redirects and the published index."""
    redirects = ids.read_redirects(read_text_or_none(root / cfg.redirects, root), cfg.id_prefix)
    used = ids.Catalog(all_records(root, cfg), redirects).used_ids() | set(ids.published(read_text_or_none(root / cfg.index_json, root)))
    return ids.next_id(cfg.id_prefix, used)


def figure_files(root: Path, cfg: Config) -> list[figures.FigureFiles]:
    """Every figure under ``<case studies>/<model>/figures/``, its files read (``bot.core.figures.FigureFiles``)."""
    base = root / cfg.case_studies_dir
    found = {}
    for path in sorted(base.glob(f"*/{figures.FOLDER}/*")):
        if path.parent.is_symlink() or path.parent.parent.is_symlink():
            continue  # the walk never enters linked folders; CS105 reports one that leads out
        rel = _entry_relative(path, root)
        if figures.is_figure_file(place(rel, cfg).parts) and read_entry(path, 0, root, read=False).kind == REGULAR:
            text = read_text_or_none(path, root)  # links out, pipes and devices: CS105 and CS106 report them
            if text is not None:
                found[rel] = text
    return figures.group_files(found)


def changed_since(root: Path, cfg: Config, ref: str) -> list[str] | None:
    """Files under the case studies changed between ``ref`` and HEAD; None when the rules themselves
    changed (config, template or the bot), so that everything must be checked again."""
    import subprocess  # only --changed-since runs git: keep it out of a plain check

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
    if changes_rules([path for _, new, old in changed for path in (new, old)], cfg):
        return None
    return sorted(new for status, new, _ in changed if status != "D" and place(new, cfg).inside)


def all_records(root: Path, cfg: Config) -> list[Record]:
    """The index records of every case study in the repository."""
    rels = [rel for rel in collect(root, cfg, None) if is_case_study(rel, cfg)]
    return lint_tree(root, cfg, rels).records


def write_atomic(path: Path, text: str) -> None:
    """Write through a temporary file and rename, so a crash never leaves half a file. A symbolic
    link stays one: its target is written (callers read it first, which only follows links that
    stay inside the repository)."""
    if path.is_symlink():
        path = Path(os.path.realpath(path))
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
