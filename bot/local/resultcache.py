"""An on-disk cache of lint results, for pre-commit hooks and CI (`check --cache-dir DIR`).

A file's result is a pure function of its path, its bytes and the rules: the configuration,
the template and the bot itself. So each file's ``CheckedFile`` is kept under a key made of
its path, the SHA-256 of its bytes and a fingerprint of the rules, and the repository rules'
findings under a key made of every file's key and the generated files' contents. Nothing is
ever invalidated: a change to a file, the configuration, the template, the linting code or the
Markdown and YAML libraries makes new keys, and old entries are simply not asked for again.

An entry is one file, written atomically (a temporary file, then a rename): a line with the
SHA-256 of the rest, then the result as JSON naming its own key. An entry that is truncated,
edited, renamed or shaped unlike this version's results is ignored, never trusted, and the
file is linted again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from types import UnionType
from typing import Any, Callable, Iterable, Mapping, Union, get_args, get_origin, get_type_hints

import bot
from bot.core.findings import CheckedFile, Finding
from bot.core.index import Record

FORMAT = 2  # the shape of an entry; a change makes every key new


class ResultCache:
    """Entries under ``directory``/<fingerprint>/, two hex digits of fan-out below that."""

    def __init__(self, directory: Path, fingerprint: str) -> None:
        self.directory = Path(directory) / fingerprint[:32]
        self.fingerprint = fingerprint
        self._prefix = os.fspath(self.directory) + os.sep  # entries are named with strings: a warm run reads thousands

    # --- keys ------------------------------------------------------------------------------

    def file_key(self, path: str, data: bytes) -> str:
        return _sha256(self.fingerprint.encode(), b"file", path.encode("utf-8", "surrogateescape"), hashlib.sha256(data).digest())

    def index_key(self, file_keys: Mapping[str, str], texts: Iterable[str | None], figures: str) -> str:
        """The repository rules' key: every file checked (by key), the generated files and the figures as they are."""
        listing = "\n".join(f"{path}\t{key}" for path, key in sorted(file_keys.items()))
        parts = [self.fingerprint.encode(), b"index", listing.encode("utf-8", "surrogateescape"), figures.encode("utf-8", "surrogateescape")]
        parts += [b"-" if text is None else hashlib.sha256(text.encode("utf-8", "surrogateescape")).digest() for text in texts]
        return _sha256(*parts)

    # --- one file's result -------------------------------------------------------------------

    def get(self, key: str) -> CheckedFile | None:
        payload = self._read(key)
        if payload is None:
            return None
        try:
            return _checked_file(payload["result"])
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, key: str, checked: CheckedFile) -> None:
        self._write(key, {"result": _checked_file_json(checked)})

    # --- the repository rules' findings -------------------------------------------------------

    def get_findings(self, key: str) -> list[Finding] | None:
        payload = self._read(key)
        if payload is None:
            return None
        try:
            return list(_findings(payload["findings"]))
        except (KeyError, TypeError, ValueError):
            return None

    def put_findings(self, key: str, findings: list[Finding]) -> None:
        self._write(key, {"findings": [_finding_json(f) for f in findings]})

    # --- entries on disk -----------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        return Path(self._name(key))

    def _name(self, key: str) -> str:
        return f"{self._prefix}{key[:2]}{os.sep}{key}.json"

    def _read(self, key: str) -> dict[str, Any] | None:
        try:
            with open(self._name(key), "rb") as handle:
                raw = handle.read()
        except OSError:
            return None
        digest, _, body = raw.partition(b"\n")
        if hashlib.sha256(body).hexdigest().encode() != digest:
            return None  # truncated or changed since it was written
        try:
            payload = json.loads(body)
        except ValueError:
            return None
        if not isinstance(payload, dict) or payload.get("key") != key or payload.get("format") != FORMAT:
            return None  # another key's entry under this name, or another version's
        return payload

    def _write(self, key: str, payload: dict[str, Any]) -> None:
        body = json.dumps({"format": FORMAT, "key": key, **payload}, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogateescape")
        path = self._path(key)
        tmp = path.with_name(f".{key}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as handle:
                handle.write(hashlib.sha256(body).hexdigest().encode() + b"\n" + body)
            os.replace(tmp, path)  # readers see the old entry or the whole new one
        except OSError:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass  # a cache that cannot be written only costs time


def open_cache(directory: Path, cfg: Any, config_bytes: bytes = b"") -> ResultCache:
    """The cache in ``directory`` for the rules as ``cfg`` (read from ``config_bytes``) and this installation of the bot have them."""
    return ResultCache(directory, fingerprint(cfg, config_bytes))


def fingerprint(cfg: Any, config_bytes: bytes = b"") -> str:
    """Everything besides a file that decides its result: the configuration file's bytes and the
    configuration as read (with the template), the bot's version and the code of its core and
    local edge, and the versions of Python and of the libraries that parse."""
    from importlib import metadata  # only --cache-dir runs look library versions up

    versions = []
    for name in ("mistune", "PyYAML"):
        try:
            versions.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name}=?")
    config = json.dumps(_plain(cfg._replace(root=None)), sort_keys=True, ensure_ascii=False)
    return _sha256(
        f"{FORMAT}\0{bot.__version__}\0{sys.version}\0{' '.join(versions)}".encode(),
        config.encode("utf-8", "surrogateescape"),
        config_bytes,
        _code_hash(),
    )


# The code that decides a check's results: the pure core (parsing, rules, the index) and the local
# edge that reads files and runs it. The App, the GitHub gateway and the CLI's other commands do not.
_CODE = ("__init__.py", "core", "local")


def code_files() -> list[Path]:
    package = Path(bot.__file__).resolve().parent
    return sorted(p for part in _CODE for p in ([package / part] if part.endswith(".py") else (package / part).rglob("*.py")))


def _code_hash() -> bytes:
    package = Path(bot.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in code_files():
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.digest()


def _plain(value: Any) -> Any:
    """A JSON-able form of the configuration, the same in every process (sets sorted)."""
    if hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(v) for v in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def _sha256(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


# --- results as JSON, read back strictly --------------------------------------------------------
# Results are NamedTuples of str, int, bool, None, tuples and other NamedTuples. They are
# written with their field names, and read back by the fields' types: a value of another
# type, a field missing or one too many makes the entry unreadable, never half-read.


def _checked_file_json(c: CheckedFile) -> dict[str, Any]:
    return _to_json(c)


def _finding_json(f: Finding) -> dict[str, Any]:
    return _to_json(f)


def _checked_file(data: Any) -> CheckedFile:
    return _from_json(CheckedFile, data)


def _findings(items: Any) -> list[Finding]:
    return _from_json(tuple[Finding, ...], items)


def _to_json(value: Any) -> Any:
    if hasattr(value, "_asdict"):
        return {name: _to_json(v) for name, v in value._asdict().items()}
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    return value


_READERS: dict[Any, Callable[[Any], Any]] = {}


def _from_json(kind: Any, data: Any) -> Any:
    reader = _READERS.get(kind)
    if reader is None:
        reader = _READERS[kind] = _reader(kind)
    return reader(data)


def _reader(kind: Any) -> Callable[[Any], Any]:
    """A function reading a value of type ``kind`` from JSON, built once per type."""
    origin, args = get_origin(kind), get_args(kind)
    if origin is tuple:  # tuple[X, ...]
        item = _reader(args[0])

        def read_tuple(data: Any) -> tuple:
            if type(data) is not list:
                raise TypeError("expected a list")
            return tuple(map(item, data))

        return read_tuple
    if origin in (Union, UnionType):
        (inner,) = [a for a in args if a is not type(None)]
        read_inner = _reader(inner)
        return lambda data: None if data is None else read_inner(data)
    if isinstance(kind, type) and issubclass(kind, tuple) and hasattr(kind, "_fields"):
        hints = get_type_hints(kind, vars(sys.modules[kind.__module__]) | {"Record": Record})
        fields = kind._fields
        names = frozenset(fields)
        readers = [_reader(hints[name]) for name in fields]
        new = tuple.__new__

        def read_named(data: Any) -> Any:
            if type(data) is not dict or data.keys() != names:
                raise TypeError(f"expected the fields of {kind.__name__}")
            return new(kind, [read(data[name]) for name, read in zip(fields, readers)])

        return read_named
    if kind in (str, int, bool):

        def read_plain(data: Any) -> Any:
            if type(data) is not kind:
                raise TypeError(f"expected {kind.__name__}")
            return data

        return read_plain
    raise TypeError(f"cannot read {kind} from the cache")
