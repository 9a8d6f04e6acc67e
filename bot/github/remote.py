"""Reading a repository through the gateway: its config, a pull request's changed files, its case studies.

Reads are kept flat in the number of files: added files come from their
patches, every other blob comes in batches (``Gateway.read_blobs``, 100 to a
request), and what is content-addressed (blobs, index records) is cached: per
process in ``Cache``, and across restarts in its ``memory`` (the service's is the
delivery store; ``LocalMemory`` keeps it for the life of the process).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping, NamedTuple, Protocol, Sequence

from bot import __version__
from bot.core import config as config_mod
from bot.core import config_trust
from bot.core.config import CONFIG_PATH, Config, ConfigError, ConfigMissing
from bot.core.diff import added_file_text
from bot.core.github_data import BlobContent, ChangedFile, PullRequest
from bot.core.findings import CheckedFile
from bot.core.index import Origin, Record
from bot.core.linter import lint_file
from bot.core.paths import is_case_study, place
from bot.github.gateway import Gateway

CONFIG_TTL = 300.0  # seconds; pushes to the branch that change the config invalidate it sooner
RECORD_FORMAT = "record/1"  # in the key of a remembered index record: a change of its shape makes every key new
REMEMBER_BATCH = 500  # records written to the memory in one go (each go is one short write)
log = logging.getLogger("challenge_bot")


class Memory(Protocol):
    """What the bot remembers across processes and restarts: text by key, content-addressed or per pull request.

    ``recall`` answers what it can (nothing, when it cannot be reached); ``remember`` raises
    ``bot.core.github_data.TransientError`` when it could not write, as a later read must not miss it."""

    def recall(self, keys: Sequence[str]) -> dict[str, str]: ...

    def remember(self, items: Mapping[str, str]) -> None: ...


class LocalMemory:
    """A ``Memory`` for one process (the CLI, Actions, tests): a bounded map."""

    def __init__(self, size: int = 50_000) -> None:
        self._data = LRU(size)

    def recall(self, keys: Sequence[str]) -> dict[str, str]:
        found = {key: self._data.get(key) for key in keys}
        return {key: value for key, value in found.items() if value is not None}

    def remember(self, items: Mapping[str, str]) -> None:
        for key, value in items.items():
            self._data.put(key, value)


class LRU:
    """A small thread-safe LRU map."""

    def __init__(self, size: int) -> None:
        self._size, self._lock = size, threading.Lock()
        self._data: OrderedDict[Any, Any] = OrderedDict()

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

    def __init__(self, clock: Callable[[], float] = time.monotonic, memory: Memory | None = None) -> None:
        self.memory: Memory = memory if memory is not None else LocalMemory()
        self.configs = LRU(256)  # (repo, ref) -> (loaded_at, Config | ConfigError)
        self.records = LRU(20_000)  # (path, blob sha, config id) -> Record | None
        self.labels = LRU(1024)  # (repo, label) -> True once known to exist
        self.blobs = LRU(64)  # blob sha -> text of the generated files (README, index.json)
        self.clock = clock

    def forget_config(self, repo: str, ref: str | None = None) -> None:
        self.configs.drop(lambda key: key[0] == repo and (ref is None or key[1] == ref))


def config_paths(cfg: Config | None) -> set[str]:
    return {CONFIG_PATH, cfg.template_path if cfg else Config._field_defaults["template_path"]}


def load_config(gateway: Gateway, ref: str, cache: Cache | None = None) -> Config:
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


def _read_config(gateway: Gateway, ref: str) -> Config:
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


def review_config(gateway: Gateway, files: Iterable[ChangedFile], head_sha: str, base_ref: str, cache: Cache) -> Config:
    """The config a pull request is checked against: its base branch's, or, when it changes the config
    or the template, its own rules under the base branch's trust (``bot.core.config_trust``)."""
    base = None
    try:
        base = load_config(gateway, base_ref, cache)
    except ConfigError:
        pass  # the pull request may be the one that adds or repairs the config
    changed = {f.path for f in files} | {f.previous_path for f in files if f.previous_path}
    if base is None or changed & config_paths(base):
        head = load_config(gateway, head_sha, cache)  # a commit never changes: safe to cache
        return config_trust.for_pull_request(head, base)
    return base


def checked_paths(files: Iterable[ChangedFile], cfg: Config) -> list[ChangedFile]:
    """The changed files the review checks: everything still present under the case-studies folder."""
    return [f for f in files if f.status != "removed" and place(f.path, cfg).inside]


class Linted(NamedTuple):
    results: list[CheckedFile]
    pull: PullRequest | None  # the pull request as read with the blobs, when it was


def lint_changed(gateway: Gateway, files: list[ChangedFile], cfg: Config, head_sha: str, number: int | None = None) -> Linted:
    """Lint each changed file under the case studies, reading as little as possible: an added file
    from its patch, every other one (modified, renamed, an asset's size) in one batch of blob reads.
    With the pull request's ``number``, a batch read also brings the pull request as it is now (what
    publishing checks the head against), saving that request."""
    texts: dict[str, bytes] = {}
    for f in files:
        if f.status == "added" and place(f.path, cfg).is_markdown:
            text = added_file_text(f.patch)
            if text is not None:
                texts[f.path] = text.encode("utf-8")
    blobs: dict[str, BlobContent] = {}
    pull = None
    if len(texts) < len(files):
        wanted = [f.sha for f in files if f.path not in texts and f.sha]
        if number is not None:
            pull, blobs = gateway.pull_request_and_blobs(number, wanted)
        else:
            blobs = gateway.read_blobs(wanted)
    sizes: dict[str, int] | None = None
    results = []
    for f in files:
        p = place(f.path, cfg)
        found = blobs.get(f.sha) if f.sha else None
        if not p.is_markdown:
            if found is None and sizes is None:  # one tree listing gives every other asset's size
                sizes = {e.path: e.size for e in gateway.tree(head_sha)}
            results.append(lint_file(f.path, b"", cfg, size=found.size if found is not None else (sizes or {}).get(p.path, 0)))
            continue
        data = texts.get(f.path)
        if data is None and found is not None:
            data = found.data
        if data is None:  # binary, cut short, not UTF-8, or without a sha (e.g. a submodule): read it alone
            data = gateway.read_blob(f.sha) if f.sha and found is not None else gateway.read_file(f.path, head_sha)
        results.append(lint_file(p.path, data, cfg))
    return Linted(results, pull)


def read_blobs(gateway: Gateway, shas: Iterable[str]) -> dict[str, bytes]:
    """The exact bytes of each blob, in batches; one request more for each the batch could not carry."""
    wanted = list(dict.fromkeys(shas))
    found = gateway.read_blobs(wanted) if wanted else {}
    out = {}
    for sha in wanted:
        blob = found.get(sha)
        out[sha] = blob.data if blob is not None and blob.data is not None else gateway.read_blob(sha)
    return out


class IndexSources(NamedTuple):
    records: list[Record]
    readme: str | None
    index_json: str | None
    index_csv: str | None = None
    redirects: str | None = None
    blobs: Mapping[str, str] = MappingProxyType({})  # case-study path -> blob sha, to read one again for its footer
    texts: Mapping[str, bytes] = MappingProxyType({})  # blob sha -> bytes of the blobs read to make these sources


def index_sources(gateway: Gateway, commit_sha: str, cfg: Config, cache: Cache) -> IndexSources:
    """The index records of every case study at a commit, and the generated files as they are there.

    Blobs are content-addressed, so a record is computed once per blob and config: kept in the
    process's cache and in the cache's memory, so a restarted service reads only the blobs that
    changed since it last looked (in batches), plus the generated files."""
    tree = {e.path: e.sha for e in gateway.tree(commit_sha)}
    paths = sorted(p for p in tree if is_case_study(p, cfg))
    keys = {path: (path, tree[path], cfg.sections, tuple(cfg.models), cfg.case_studies_dir, cfg.id_prefix) for path in paths}
    known: dict[str, Record | bool] = {}
    for path in paths:
        hit = cache.records.get(keys[path])
        if hit is not None:
            known[path] = hit
    names = {path: _memory_key(keys[path]) for path in paths if path not in known}
    remembered = cache.memory.recall(list(names.values())) if names else {}
    for path, name in names.items():
        if name in remembered:
            found = _record_from(remembered[name])
            if found is not None:
                known[path] = found
                cache.records.put(keys[path], found)
    generated = {rel: tree[rel] for rel in (cfg.readme, cfg.index_json, cfg.index_csv, cfg.redirects) if rel in tree}
    cached = {sha: text for sha in generated.values() if (text := cache.blobs.get(sha)) is not None}
    texts = _texts(gateway, [tree[p] for p in paths if p not in known], [sha for sha in generated.values() if sha not in cached])
    fresh: dict[str, str] = {}
    for path in paths:
        if path not in known:
            record: Record | bool = lint_file(path, texts[tree[path]], cfg).record or False
            known[path] = record
            cache.records.put(keys[path], record)
            fresh[names[path]] = _record_json(record)
    _remember(cache.memory, fresh)
    contents: dict[str, str] = {}
    for sha in generated.values():
        contents[sha] = cached[sha] if sha in cached else _decoded(texts[sha])
        cache.blobs.put(sha, contents[sha])
    records = [r for path in paths if isinstance(r := known[path], Record)]
    readme, index_json, index_csv, redirects = (
        contents[generated[rel]] if rel in generated else None for rel in (cfg.readme, cfg.index_json, cfg.index_csv, cfg.redirects)
    )
    return IndexSources(records, readme, index_json, index_csv, redirects, {r.path: tree[r.path] for r in records}, MappingProxyType(texts))


def remember_written(cache: Cache, cfg: Config, files: Mapping[str, str]) -> None:
    """The records of case studies the bot itself wrote (their footers), by their new blobs: the next
    regeneration, in this process or after a restart, need not read them back."""
    fresh = {}
    for path, text in files.items():
        if not is_case_study(path, cfg):
            continue
        data = text.encode("utf-8")
        sha = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # git's blob id
        key = (path, sha, cfg.sections, tuple(cfg.models), cfg.case_studies_dir, cfg.id_prefix)
        record: Record | bool = lint_file(path, data, cfg).record or False
        cache.records.put(key, record)
        fresh[_memory_key(key)] = _record_json(record)
    _remember(cache.memory, fresh)


def _texts(gateway: Gateway, *groups: list[str]) -> dict[str, bytes]:
    """Every blob of the groups in one batch (the case studies to read and the generated files)."""
    return read_blobs(gateway, [sha for group in groups for sha in group])


def _decoded(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return ""


def _remember(memory: Memory, items: dict[str, str]) -> None:
    """Content-addressed records: losing one costs a read later, never a wrong answer, so a failed write is only logged."""
    pending = list(items.items())
    for start in range(0, len(pending), REMEMBER_BATCH):
        try:
            memory.remember(dict(pending[start : start + REMEMBER_BATCH]))
        except Exception as exc:  # the store is unavailable: read again after the next restart
            log.warning("could not remember index records: %s", exc, extra={"outcome": "remember-failed", "error": str(exc)})
            return


def _memory_key(key: tuple) -> str:
    """Content-addressed: the blob, its path and the config it was read under, and the bot's version
    (a new release may read a case study differently)."""
    return "record:" + hashlib.sha256(repr((RECORD_FORMAT, __version__) + key).encode()).hexdigest()


def _record_json(record: Record | bool) -> str:
    if not isinstance(record, Record):
        return "null"  # a case study without a record (not markdown the index can read)
    return json.dumps(record._replace(origin=list(record.origin))._asdict())  # type: ignore[arg-type]


def _record_from(text: str) -> Record | bool | None:
    """A remembered record (False: the file has none); None when the text is not one (then it is read again)."""
    try:
        data = json.loads(text)
        if data is None:
            return False
        origin = data.pop("origin")
        fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return Record(**fields, origin=Origin(origin[0], tuple(origin[1]), origin[2], origin[3]))
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None
