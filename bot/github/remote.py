"""Reading a repository through the gateway: its config, a pull request's changed files, its case studies.

Reads are kept flat in the number of files: added files come from their
patches, and what is content-addressed (blobs, index records) is cached.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Iterable, NamedTuple

from bot.core import config as config_mod
from bot.core.config import CONFIG_PATH, Config, ConfigError, ConfigMissing
from bot.core.diff import added_file_text
from bot.core.github_data import ChangedFile
from bot.core.index import Record
from bot.core.linter import lint_file
from bot.core.paths import is_case_study, place
from bot.core.review import FileResult

CONFIG_TTL = 300.0  # seconds; pushes to the branch that change the config invalidate it sooner


class LRU:
    """A small thread-safe LRU map."""

    def __init__(self, size: int) -> None:
        self._size, self._data, self._lock = size, OrderedDict(), threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        return None

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)

    def drop(self, match: Callable[[Any], bool]) -> None:
        with self._lock:
            for key in [k for k in self._data if match(k)]:
                del self._data[key]


class Cache:
    """What the service remembers between deliveries, per process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.configs = LRU(256)  # (repo, ref) -> (loaded_at, Config | ConfigError)
        self.records = LRU(20_000)  # (path, blob sha, config id) -> Record | None
        self.labels = LRU(1024)  # (repo, label) -> True once known to exist
        self.blobs = LRU(64)  # blob sha -> text of the generated files (README, index.json)
        self.clock = clock

    def forget_config(self, repo: str, ref: str | None = None) -> None:
        self.configs.drop(lambda key: key[0] == repo and (ref is None or key[1] == ref))


def config_paths(cfg: Config | None) -> set[str]:
    return {CONFIG_PATH, cfg.template_path if cfg else Config._field_defaults["template_path"]}


def load_config(gateway: Any, ref: str, cache: Cache | None = None) -> Config:
    """The config (with its template) at a branch or commit; raises ConfigError when missing or invalid."""
    key = (gateway.repo, ref)
    if cache is not None:
        hit = cache.configs.get(key)
        if hit is not None and cache.clock() - hit[0] < CONFIG_TTL:
            if isinstance(hit[1], ConfigError):
                raise hit[1]
            return hit[1]
    try:
        cfg = _read_config(gateway, ref)
    except ConfigError as exc:
        if cache is not None:
            cache.configs.put(key, (cache.clock(), exc))
        raise
    if cache is not None:
        cache.configs.put(key, (cache.clock(), cfg))
    return cfg


def _read_config(gateway: Any, ref: str) -> Config:
    text = gateway.read_file(CONFIG_PATH, ref)
    if text is None:
        raise ConfigMissing(CONFIG_PATH, "", f"not found at {ref}; the repository has not adopted challenge-bot")
    cfg = config_mod.parse(text, CONFIG_PATH)
    template = gateway.read_file(cfg.template_path, ref)
    if template is None:
        raise ConfigError(CONFIG_PATH, "paths.template", f"{cfg.template_path} not found at {ref}")
    try:
        return config_mod.with_template(cfg, template.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(CONFIG_PATH, "paths.template", f"{cfg.template_path} is not UTF-8") from None


def review_config(gateway: Any, files: Iterable[ChangedFile], head_sha: str, base_ref: str, cache: Cache) -> Config:
    """The config a pull request is checked against: its own when it changes it, else its base branch's."""
    base = None
    try:
        base = load_config(gateway, base_ref, cache)
    except ConfigError:
        pass  # the pull request may be the one that adds or repairs the config
    changed = {f.path for f in files} | {f.previous_path for f in files if f.previous_path}
    if base is None or changed & config_paths(base):
        return load_config(gateway, head_sha, cache)  # a commit never changes: safe to cache
    return base


def checked_paths(files: Iterable[ChangedFile], cfg: Config) -> list[ChangedFile]:
    """The changed files the review checks: everything still present under the case-studies folder."""
    return [f for f in files if f.status != "removed" and place(f.path, cfg).inside]


def lint_changed(gateway: Any, files: list[ChangedFile], cfg: Config, head_sha: str) -> list[FileResult]:
    """Lint each changed file under the case studies, reading as little as possible."""
    sizes: dict[str, int] | None = None
    results = []
    for f in files:
        p = place(f.path, cfg)
        if not p.is_markdown:
            if sizes is None:  # one tree listing gives every asset's size
                sizes = {e.path: e.size for e in gateway.tree(head_sha)}
            result = lint_file(f.path, b"", cfg, size=sizes.get(p.path, 0))
            results.append(FileResult(p.path, tuple(result.findings)))
            continue
        text = added_file_text(f.patch) if f.status == "added" else None
        data = text.encode("utf-8") if text is not None else gateway.read_blob(f.sha)
        result = lint_file(p.path, data, cfg)
        results.append(FileResult(p.path, tuple(result.findings), result.line_texts(), result.record))
    return results


class IndexSources(NamedTuple):
    records: list[Record]
    readme: str | None
    index_json: str | None


def index_sources(gateway: Any, commit_sha: str, cfg: Config, cache: Cache) -> IndexSources:
    """The index records of every case study at a commit, and the generated files as they are there.

    Blobs are content-addressed, so a record is computed once per blob and config.
    """
    tree = {e.path: e.sha for e in gateway.tree(commit_sha)}
    records = []
    for path in sorted(p for p in tree if is_case_study(p, cfg)):
        key = (path, tree[path], cfg.sections, tuple(cfg.models), cfg.case_studies_dir)
        record = cache.records.get(key)
        if record is None:
            record = lint_file(path, gateway.read_blob(tree[path]), cfg).record or False
            cache.records.put(key, record)
        if record:
            records.append(record)
    readme = _text(gateway, tree.get(cfg.readme), cache)
    index_json = _text(gateway, tree.get(cfg.index_json), cache)
    return IndexSources(records, readme, index_json)


def _text(gateway: Any, sha: str | None, cache: Cache) -> str | None:
    if sha is None:
        return None
    text = cache.blobs.get(sha)
    if text is None:
        try:
            text = gateway.read_blob(sha).decode("utf-8")
        except UnicodeDecodeError:
            text = ""
        cache.blobs.put(sha, text)
    return text
