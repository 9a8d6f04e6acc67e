"""Load and validate ``.github/challenge-bot.yml``.

Everything the linter knows about this knowledge base (the sections, the
models, the tag vocabulary, the index markers, the limits) comes from that one
file. Nothing here is specific to this repository: another knowledge base can
adopt the bot by writing its own file.

The file is checked against the JSON Schema in ``bot.core.config_schema``
through the validator generated from it ahead of time
(``bot.core.config_validator``), then by the few checks a schema cannot
express. The values it becomes are the types in ``bot.core.config_model``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import yaml

from bot.core import config_validator
from bot.core.config_model import CONFIG_PATH, FIELDS, Config, Model, Section, Tag, Template
from bot.core.template import read_template

__all__ = ["CONFIG_PATH", "Config", "ConfigError", "ConfigMissing", "Model", "Section", "Tag", "Template", "find_root", "from_mapping", "load", "parse", "with_template"]


class ConfigError(Exception):
    """A configuration problem, naming the file and the key at fault."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file, self.key, self.problem = file, key, problem
        where = f"{file}: {key}: " if key else f"{file}: "
        super().__init__(where + problem)


class ConfigMissing(ConfigError):
    """The repository has no config file: it has not adopted the bot."""


def from_mapping(raw: Any, file: str = CONFIG_PATH, root: Path | None = None) -> Config:
    """Validate an already-parsed YAML mapping against the schema, then the few checks it cannot express; build a Config."""
    try:
        config_validator.validate(raw)
    except config_validator.JsonSchemaValueException as exc:
        raise ConfigError(file, *_explain(exc)) from None
    cfg = _build(raw, file, root)
    problem = _conflict(cfg)
    if problem:
        raise ConfigError(file, *problem)
    return cfg


def _build(raw: dict[str, Any], file: str, root: Path | None) -> Config:
    sections = tuple(Section(s) if isinstance(s, str) else Section(s["name"], tuple(s.get("aliases", ()))) for s in raw["sections"])
    models = {folder: Model(folder, m["name"], m["label"], str(m["color"]).lower(), m["description"], m["paper"]) for folder, m in raw["models"].items()}
    tags = tuple(Tag(t["name"], t["group"], " ".join(t["definition"].split())) for t in raw["tags"])
    values: dict[str, Any] = {"sections": sections, "models": models, "tags": tags, "root": root, "source": file}
    for key, field in FIELDS.items():
        group, _, name = key.rpartition(".")
        given = (raw.get(group) or {}) if group else raw
        if name in given:
            values[field] = _field_value(field, given[name])
    return Config(**values)


def _field_value(field: str, value: Any) -> Any:
    if field == "asset_types":
        return tuple(t.lower() for t in value)
    if field == "ignore":
        return frozenset(value)
    if field == "per_path_ignores":
        return tuple((glob, frozenset(codes)) for glob, codes in value.items())
    if isinstance(value, float):  # JSON Schema's integer includes 262144.0
        return int(value)
    return value


def _conflict(cfg: Config) -> tuple[str, str] | None:
    """What the schema cannot say: names that must be unique across entries, markers that must differ."""
    names = cfg.section_names
    for i, name in enumerate(names):
        if name in names[:i]:
            return f"sections[{i}].name", f"{name!r} is listed twice"
    tags = cfg.tag_names
    for i, tag in enumerate(tags):
        if tag in tags[:i]:
            return f"tags[{i}].name", f"{tag!r} is listed twice"
    owners: dict[str, str] = {}
    for folder, model in cfg.models.items():
        if model.label in owners:
            return f"models.{folder}.label", f"{model.label!r} is already the label of {owners[model.label]!r}"
        owners[model.label] = folder
    if cfg.index_start == cfg.index_end:
        return "index.end", "must differ from index.start"
    return None


# --- the validator's exception as one line naming the key ----------------------------


def _explain(exc: Any) -> tuple[str, str]:
    """The dotted key and the problem for a failed schema check (see ``errorMessage`` in ``config_schema``)."""
    key = (exc.name or "data").removeprefix("data").removeprefix(".")
    value, definition, rule = exc.value, exc.definition or {}, exc.rule
    if rule == "required":
        missing = _first(name for name in definition["required"] if name not in value)
        return _join(key, str(missing)), "is required"
    if rule == "additionalProperties":
        allowed = sorted(definition.get("properties", {}))
        extra = _first(name for name in value if name not in allowed)
        return _join(key, str(extra)), f"unknown key (allowed here: {', '.join(allowed)})"
    if rule == "uniqueItems":
        i = _first((i for i, item in enumerate(value) if item in value[:i]), 0)
        if isinstance(value[i], dict) and "name" in value[i]:  # a repeated tag: name it, not the whole mapping
            return f"{key}[{i}].name", f"{value[i]['name']!r} is listed twice"
        return f"{key}[{i}]", f"{value[i]!r} is listed twice"
    if rule == "propertyNames":  # the exception names the mapping; find the name at fault
        names = definition["propertyNames"]
        name = _first(n for n in value if not isinstance(n, str) or not re.search(names["pattern"], n))
        return _join(key, str(name)), f"{names['errorMessage']}, got {name!r}"
    return key, f"{definition.get('errorMessage', exc.message)}, got {_described(value)}"


def _first(found: Iterator[Any], default: Any = "?") -> Any:
    return next(found, default)


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


def _described(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, (dict, list)):
        kind = "mapping" if isinstance(value, dict) else "list"
        return f"a {kind}" if value else f"an empty {kind}"
    return repr(value)


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
