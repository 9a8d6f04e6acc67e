"""Load and validate ``.github/challenge-bot.yml``.

Everything the linter knows about this knowledge base (the sections, the
models, the tag vocabulary, the index markers, the limits) comes from that one
file. Nothing here is specific to this repository: another knowledge base can
adopt the bot by writing its own file.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping, NamedTuple

import yaml

CONFIG_PATH = ".github/challenge-bot.yml"

_HEX_COLOUR = re.compile(r"[0-9a-fA-F]{6}")
_FOLDER = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_TAG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_URL = re.compile(r"https?://[^\s/$.?#][^\s]*")


class ConfigError(Exception):
    """A configuration problem, naming the file and the key at fault."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file, self.key, self.problem = file, key, problem
        where = f"{file}: {key}: " if key else f"{file}: "
        super().__init__(where + problem)


class ConfigMissing(ConfigError):
    """The repository has no config file: it has not adopted the bot."""


class Section(NamedTuple):
    """A required section: its canonical heading text and the other names people use for it."""

    name: str
    aliases: tuple[str, ...] = ()


class Model(NamedTuple):
    """A model folder under the case studies, as registered in the config."""

    folder: str
    name: str
    label: str
    color: str
    description: str
    paper: str


class Template(NamedTuple):
    """What the linter needs from ``templates/case-study.md``."""

    text: str = ""
    placeholders: tuple[str, ...] = ()
    stubs: Mapping[str, str] = MappingProxyType({})


class Config(NamedTuple):
    """The validated configuration. Paths are relative to the repository root."""

    sections: tuple[Section, ...]
    models: Mapping[str, Model]
    tags: tuple[str, ...]
    index_start: str = "<!-- case-study-index:start -->"
    index_end: str = "<!-- case-study-index:end -->"
    case_studies_dir: str = "case_studies"
    readme: str = "README.md"
    index_json: str = "case_studies/index.json"
    template_path: str = "templates/case-study.md"
    max_file_size: int = 256 * 1024
    max_asset_size: int = 1024 * 1024
    asset_types: tuple[str, ...] = ("png", "jpg", "jpeg", "gif", "svg", "webp")
    ignore: frozenset[str] = frozenset()
    docs_url: str = "docs/rules.md"
    review_inline_comments: bool = True
    review_max_inline_comments: int = 30
    template: Template = Template()
    root: Path | None = None
    source: str = CONFIG_PATH

    @property
    def section_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.sections)

    def rule_enabled(self, code: str) -> bool:
        return code not in self.ignore

    def rule_url(self, code: str, name: str) -> str:
        return f"{self.docs_url}#{code.lower()}-{name}"


# --- validation helpers -------------------------------------------------------


class _Reader:
    """Walks the parsed YAML, raising ConfigError with the dotted key path."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.file, key, problem)

    def mapping(self, value: Any, key: str, allowed: set[str], required: set[str] = frozenset()) -> dict:
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a mapping, got {_kind(value)}")
        for name in value:
            if name not in allowed:
                raise self.fail(
                    _join(key, str(name)),
                    f"unknown key (allowed here: {', '.join(sorted(allowed))})",
                )
        for name in sorted(required):
            if name not in value:
                raise self.fail(_join(key, name), "is required")
        return value

    def string(self, value: Any, key: str, pattern: re.Pattern[str] | None = None, hint: str = "") -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"must be a non-empty string, got {_kind(value)}")
        if pattern and not pattern.fullmatch(value):
            raise self.fail(key, f"{hint}, got {value!r}")
        return value

    def strings(self, value: Any, key: str, pattern: re.Pattern[str] | None = None, hint: str = "") -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(key, f"must be a list, got {_kind(value)}")
        items = tuple(self.string(v, f"{key}[{i}]", pattern, hint) for i, v in enumerate(value))
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item in seen:
                raise self.fail(f"{key}[{i}]", f"{item!r} is listed twice")
            seen.add(item)
        return items

    def integer(self, value: Any, key: str, minimum: int = 1) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(key, f"must be an integer of at least {minimum}, got {value!r}")
        return value

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {value!r}")
        return value


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(type(value), type(value).__name__)


# --- the schema -----------------------------------------------------------------

_TOP = {"sections", "models", "tags", "index", "paths", "limits", "rules", "docs_url", "review"}


def _sections(r: _Reader, value: Any) -> tuple[Section, ...]:
    if not isinstance(value, list) or not value:
        raise r.fail("sections", f"must be a non-empty list, got {_kind(value)}")
    sections = []
    for i, item in enumerate(value):
        key = f"sections[{i}]"
        if isinstance(item, str):
            item = {"name": item}
        item = r.mapping(item, key, {"name", "aliases"}, {"name"})
        aliases = r.strings(item.get("aliases", []), f"{key}.aliases")
        sections.append(Section(r.string(item["name"], f"{key}.name"), aliases))
    names = [s.name for s in sections]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise r.fail(f"sections[{i}].name", f"{name!r} is listed twice")
    return tuple(sections)


def _models(r: _Reader, value: Any) -> dict[str, Model]:
    if not isinstance(value, dict) or not value:
        raise r.fail("models", f"must be a non-empty mapping of folder names, got {_kind(value)}")
    models = {}
    for folder, entry in value.items():
        key = f"models.{folder}"
        r.string(folder, key, _FOLDER, "a model folder must be lowercase kebab-case")
        fields = {"name", "label", "color", "description", "paper"}
        entry = r.mapping(entry, key, fields, fields)
        models[folder] = Model(
            folder=folder,
            name=r.string(entry["name"], f"{key}.name"),
            label=r.string(entry["label"], f"{key}.label"),
            color=r.string(str(entry["color"]), f"{key}.color", _HEX_COLOUR, 'must be a 6-digit hex colour like "1f6feb"').lower(),
            description=r.string(entry["description"], f"{key}.description"),
            paper=r.string(entry["paper"], f"{key}.paper", _URL, "must be an http(s) URL"),
        )
    owners: dict[str, str] = {}
    for folder, model in models.items():
        if model.label in owners:
            raise r.fail(f"models.{folder}.label", f"{model.label!r} is already the label of {owners[model.label]!r}")
        owners[model.label] = folder
    return models


def _sub(r: _Reader, raw: dict, name: str, fields: dict[str, Callable[[Any, str], Any]]) -> dict[str, Any]:
    section = r.mapping(raw.get(name, {}) or {}, name, set(fields))
    return {field_name: check(section[field_name], f"{name}.{field_name}") for field_name, check in fields.items() if field_name in section}


def from_mapping(raw: Any, file: str = CONFIG_PATH, root: Path | None = None) -> Config:
    """Validate an already-parsed YAML mapping and build a Config."""
    r = _Reader(file)
    raw = r.mapping(raw, "", _TOP, {"sections", "models", "tags"})
    s, i = r.string, r.integer
    index = _sub(r, raw, "index", {"start": s, "end": s, "readme": s, "json": s})
    paths = _sub(r, raw, "paths", {"case_studies": s, "template": s})
    limits = _sub(r, raw, "limits", {
        "max_file_size": i,
        "max_asset_size": i,
        "asset_types": lambda v, k: tuple(t.lower() for t in r.strings(v, k)),
    })
    rules = _sub(r, raw, "rules", {"ignore": lambda v, k: frozenset(r.strings(v, k, re.compile(r"CS\d{3}"), "must be a rule code like CS303"))})
    review = _sub(r, raw, "review", {"inline_comments": r.boolean, "max_inline_comments": lambda v, k: i(v, k, 0)})
    values: dict[str, Any] = {
        "sections": _sections(r, raw["sections"]),
        "models": _models(r, raw["models"]),
        "tags": r.strings(raw["tags"], "tags", _TAG, "a tag must be lowercase kebab-case"),
        "root": root,
        "source": file,
    }
    renames = {
        "index_start": index.get("start"), "index_end": index.get("end"), "readme": index.get("readme"),
        "index_json": index.get("json"), "case_studies_dir": paths.get("case_studies"),
        "template_path": paths.get("template"), "max_file_size": limits.get("max_file_size"),
        "max_asset_size": limits.get("max_asset_size"), "asset_types": limits.get("asset_types"),
        "ignore": rules.get("ignore"), "review_inline_comments": review.get("inline_comments"),
        "review_max_inline_comments": review.get("max_inline_comments"),
    }
    values.update({k: v for k, v in renames.items() if v is not None})
    if "docs_url" in raw:
        values["docs_url"] = r.string(raw["docs_url"], "docs_url")
    cfg = Config(**values)
    if cfg.index_start == cfg.index_end:
        raise r.fail("index.end", "must differ from index.start")
    _check_known_codes(r, cfg.ignore)
    return cfg


def _check_known_codes(r: _Reader, codes: frozenset[str]) -> None:
    from bot.core.rules import REGISTRY  # the registry imports nothing from here at import time

    for code in sorted(codes):
        if code not in REGISTRY:
            raise r.fail("rules.ignore", f"unknown rule code {code!r} (see `challenge-bot rules`)")


def find_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` holding ``.github/challenge-bot.yml``."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_PATH).is_file():
            return folder
    return None


def parse(text: str | bytes, file: str = CONFIG_PATH, template_text: str | None = None, root: Path | None = None) -> Config:
    """Parse and validate config text (as read from disk or from GitHub), with the template's text if known."""
    try:
        raw = yaml.load(text, Loader=_SafeLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(file, "", f"invalid YAML: {_yaml_problem(exc)}") from None
    cfg = from_mapping(raw, file, root)
    return cfg if template_text is None else with_template(cfg, template_text)


def with_template(cfg: Config, template_text: str) -> Config:
    from bot.core.template import read_template  # the template module parses Markdown; config must not need it

    return cfg._replace(template=read_template(template_text, cfg.section_names))


def load(root: Path, path: Path | None = None) -> Config:
    """Read, parse and validate the config file of the repository at ``root``, and its template."""
    path = path or root / CONFIG_PATH
    shown = _shown(path, root)
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ConfigError(shown, "", f"cannot read the file ({exc.strerror or exc})") from None
    cfg = parse(text, shown, root=root)
    try:
        template = (root / cfg.template_path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(cfg.source, "paths.template", f"cannot read {cfg.template_path}: {exc}") from None
    return with_template(cfg, template)


def _shown(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return f"line {mark.line + 1}: {problem}" if mark else problem


class _SafeLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loading that refuses duplicate keys instead of keeping the last one silently."""


def _no_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_SafeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)
