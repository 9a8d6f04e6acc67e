"""The JSON Schema of ``.github/challenge-bot.yml``: the one description of every key.

Everything else is generated from ``SCHEMA``: ``docs/config.schema.json`` (for
editors), ``docs/configuration.md`` (for people, see ``bot.core.config_docs``) and the
validator in ``bot.core.config_validator`` that ``bot.core.config`` runs on
every load (compiled ahead of time, so a run pays for neither ``jsonschema``
nor a compile). Tests fail when any of the three is stale.

Each leaf schema carries an ``errorMessage`` (the convention of the VS Code and
YAML language servers): the phrase an editor shows and ``bot.core.config``
puts in its one-line error, followed by the value it got. Defaults of optional
keys come from ``bot.core.config_model.Config``, and the allowed rule codes
from the rule registry, so neither is written twice.
"""

from __future__ import annotations

import json
from typing import Any

from bot.core.config_model import CONFIG_PATH, FIELDS, RAW_URL, REPORTERS, TAG_GROUPS, Config
from bot.core.rules import REGISTRY

SCHEMA_PATH = "docs/config.schema.json"
SCHEMA_ID = RAW_URL + SCHEMA_PATH

# Anchored patterns end in `$(?!\n)`: Python's `$` also matches before a final newline, ECMA's
# (editors) and fastjsonschema's do not; the lookahead makes all three agree.
KEBAB = r"^[a-z0-9]+(?:-[a-z0-9]+)*$(?!\n)"
HEX_COLOUR = r"^[0-9a-fA-F]{6}$(?!\n)"
ID_PREFIX = r"^[A-Z][A-Z0-9]*$(?!\n)"
# An https URL made only of characters that cannot end a Markdown link, start HTML or quote an
# attribute: no spaces, quotes, brackets, parentheses, angle brackets, backticks or backslashes.
# Links from the config appear in every comment, so they are checked as URLs on every branch.
_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?"
_URL_PART = r"[A-Za-z0-9._~%/:@+,;=&?-]"
PAGE_URL = rf"^https://{_HOST}(?:/{_URL_PART}*)?$(?!\n)"  # no fragment: rules are anchors on it
URL = rf"^https://{_HOST}(?:/{_URL_PART}*)?(?:#{_URL_PART}*)?$(?!\n)"
NOT_BLANK = r"\S"

_URL_MESSAGE = "must be an https URL without spaces, quotes, brackets or parentheses"


def _default(key: str) -> Any:
    """The default of ``key`` as the file would spell it."""
    value = Config._field_defaults[FIELDS[key]]
    if key == "rules.per_path_ignores":
        return {glob: sorted(codes) for glob, codes in value}
    if isinstance(value, (tuple, frozenset)):
        return sorted(value) if isinstance(value, frozenset) else list(value)
    return value


def text(description: str, examples: list[Any], *, pattern: str = NOT_BLANK, message: str = "must be a non-empty string", **extra: Any) -> dict[str, Any]:
    return {"type": "string", "pattern": pattern, "errorMessage": message, "description": description, "examples": examples, **extra}


def integer(description: str, examples: list[Any], minimum: int, **extra: Any) -> dict[str, Any]:
    return {"type": "integer", "minimum": minimum, "errorMessage": f"must be an integer of at least {minimum}", "description": description, "examples": examples, **extra}


def listing(description: str, items: dict[str, Any], examples: list[Any], **extra: Any) -> dict[str, Any]:
    return {"type": "array", "items": items, "uniqueItems": True, "errorMessage": "must be a list", "description": description, "examples": examples, **extra}


def group(description: str, properties: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """An optional mapping of optional keys; left empty (``index:``) it is the same as absent."""
    return {
        "type": ["object", "null"],
        "errorMessage": "must be a mapping",
        "description": description,
        "properties": properties,
        "additionalProperties": False,
        "default": {name: sub["default"] for name, sub in properties.items()},
        "examples": [{name: sub["examples"][0] for name, sub in properties.items()}],
    }


def optional(key: str, schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` for the optional ``key``, with its default taken from ``Config``."""
    return {**schema, "default": _default(key)}


_SECTION: dict[str, Any] = {
    "type": ["string", "object"],
    "pattern": NOT_BLANK,
    "errorMessage": "must be a section name or a mapping with `name` and `aliases`",
    "description": "A required section: its heading text, or a mapping with the heading text and its aliases.",
    "properties": {
        "name": text("The canonical heading text, written as a level-2 heading (`## Main Challenge`).", ["Main Challenge"]),
        "aliases": listing(
            "Other names people write for this section. A heading using one is reported as CS208 section-name-variant and renamed by `check --fix`.",
            text("Another name for the section.", ["The Problem"]),
            [["Challenge", "The Problem"]],
            default=[],
        ),
    },
    "required": ["name"],
    "additionalProperties": False,
    "examples": ["Learnings", {"name": "Main Challenge", "aliases": ["Challenge", "The Problem"]}],
}

_MODEL: dict[str, Any] = {
    "type": "object",
    "errorMessage": "must be a mapping",
    "description": "One model folder: how the index, the labels and the review present its case studies.",
    "properties": {
        "name": text("The model's name as shown in the index.", ["OPT-175B (Meta AI)"]),
        "label": text(
            "The pull-request label for this model. The bot creates it and only ever adds or removes labels named here; no two models may share one.",
            ["model: OPT-175B"],
        ),
        "color": {
            "type": ["string", "integer"],
            "pattern": HEX_COLOUR,
            "minimum": 100000,
            "maximum": 999999,
            "errorMessage": 'must be a 6-digit hex colour like "1f6feb"',
            "description": (
                "The label's colour: six hex digits without `#`, quoted (`\"0866ff\"`). "
                "Unquoted, a colour of six decimal digits is read as a number: accepted unless it starts with 0."
            ),
            "examples": ["0866ff"],
        },
        "description": text("The label's description.", ["Case studies from Meta AI's OPT-175B pretraining run"]),
        "paper": text("A link to the model's paper or report: an https URL.", ["https://arxiv.org/abs/2205.01068"], pattern=URL, message=_URL_MESSAGE),
    },
    "required": ["name", "label", "color", "description", "paper"],
    "additionalProperties": False,
    "examples": [
        {
            "name": "OPT-175B (Meta AI)",
            "label": "model: OPT-175B",
            "color": "0866ff",
            "description": "Case studies from Meta AI's OPT-175B pretraining run",
            "paper": "https://arxiv.org/abs/2205.01068",
        }
    ],
}

_TAG: dict[str, Any] = {
    "type": "object",
    "errorMessage": "must be a mapping with `name`, `group` and `definition`",
    "description": "One tag: its name, its group and what it means.",
    "properties": {
        "name": text("The tag as case studies write it in `tags:`, lowercase kebab-case.", ["loss-spikes"], pattern=KEBAB, message="a tag must be lowercase kebab-case"),
        "group": {
            "type": "string",
            "enum": [g.name for g in TAG_GROUPS],
            "errorMessage": f"must be one of {', '.join(g.name for g in TAG_GROUPS)}",
            "description": "What kind of fact the tag records, which decides where the README lists it: " + "; ".join(f"`{g.name}` ({g.definition[0].lower()}{g.definition[1:-1]})" for g in TAG_GROUPS) + ".",
            "examples": ["symptom"],
        },
        "definition": text(
            "What the tag means, in one line (at most 200 characters): the test a case study must pass to carry it. "
            "The README's \"By failure kind\" section and `index.json` publish it.",
            ["The loss jumps sharply for a few steps, then recovers on its own or after a rollback."],
            pattern=r"^[^\n]*\S[^\n]*$(?!\n)",
            message="must be a one-line definition of at most 200 characters",
            maxLength=200,
        ),
    },
    "required": ["name", "group", "definition"],
    "additionalProperties": False,
    "examples": [{"name": "loss-spikes", "group": "symptom", "definition": "The loss jumps sharply for a few steps, then recovers on its own or after a rollback."}],
}

_RULE_CODE: dict[str, Any] = {
    "type": "string",
    "enum": sorted(REGISTRY),
    "errorMessage": "must be a known rule code such as CS303 (see `challenge-bot rules`)",
    "description": "A rule code.",
    "examples": ["CS303"],
}

_MINIMAL: dict[str, Any] = {
    "sections": ["Symptom", {"name": "Cause", "aliases": ["Root cause"]}, "Fix"],
    "models": {
        "llama": {
            "name": "Llama 2 (Meta)",
            "label": "model: Llama 2",
            "color": "1f6feb",
            "description": "Case studies from the Llama 2 pretraining runs",
            "paper": "https://arxiv.org/abs/2307.09288",
        }
    },
    "tags": [
        {"name": "loss-spikes", "group": "symptom", "definition": "The loss jumps sharply for a few steps, then recovers."},
        {"name": "hardware-failure", "group": "cause", "definition": "Failing GPUs, hosts or interconnect stop or corrupt the run."},
    ],
}

SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$id": SCHEMA_ID,
    "title": "challenge-bot configuration",
    "description": (
        f"`{CONFIG_PATH}`: everything challenge-bot knows about a knowledge base of case studies "
        "(the sections, the models, the tag vocabulary, the index, the limits). "
        "Only `sections`, `models` and `tags` are required."
    ),
    "type": "object",
    "errorMessage": "must be a mapping",
    "properties": {
        "sections": {
            "type": "array",
            "minItems": 1,
            "items": _SECTION,
            "errorMessage": "must be a non-empty list",
            "description": "The required sections of a case study, in order. No two may share a name.",
            "examples": [["Main Challenge", {"name": "Learnings", "aliases": ["Lessons", "Takeaways"]}]],
        },
        "models": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"title": "folder", "type": "string", "pattern": KEBAB, "errorMessage": "a model folder must be lowercase kebab-case"},
            "additionalProperties": _MODEL,
            "errorMessage": "must be a non-empty mapping of folder names",
            "description": "The model folders under the case-studies folder (lowercase kebab-case), each with how it is presented.",
            "examples": [{"meta": _MODEL["examples"][0]}],
        },
        "tags": {
            "type": "array",
            "items": _TAG,
            "uniqueItems": True,
            "errorMessage": "must be a list",
            "description": (
                "The tag vocabulary: the kinds of failure a case study's front matter may name in `tags`, each with its group "
                "and a one-line definition. No two may share a name. The order is kept within each group in the README."
            ),
            "examples": [_MINIMAL["tags"]],
        },
        "index": group("The index the bot keeps in the README between two marker lines, and its JSON twin.", {
            "start": optional("index.start", text("The marker line where the index starts in the README.", ["<!-- case-study-index:start -->"])),
            "end": optional("index.end", text("The marker line where the index ends; must differ from `index.start`.", ["<!-- case-study-index:end -->"])),
            "readme": optional("index.readme", text("The file holding the index, relative to the repository root.", ["README.md"])),
            "json": optional("index.json", text("The machine-readable index, relative to the repository root.", ["case_studies/index.json"])),
            "csv": optional("index.csv", text("The same records as CSV for spreadsheets, relative to the repository root.", ["case_studies/index.csv"])),
            "redirects": optional("index.redirects", text(
                "The redirect records of renamed, merged and withdrawn case studies (hand-edited; see CS406), relative to the repository root.",
                ["case_studies/redirects.yml"],
            )),
            "id_prefix": optional("index.id_prefix", text(
                "The prefix of the permanent case-study ids (`PC` gives `PC-0007`). Never change it once ids are given.",
                ["PC"],
                pattern=ID_PREFIX,
                message="must be capital letters and digits starting with a letter, like PC",
            )),
        }),
        "paths": group("Where things live, relative to the repository root.", {
            "case_studies": optional("paths.case_studies", text("The folder holding one folder per model.", ["case_studies"])),
            "template": optional("paths.template", text("The case-study template used by `challenge-bot new` and `check --fix`.", ["templates/case-study.md"])),
        }),
        "limits": group("Size limits and allowed asset types.", {
            "max_file_size": optional("limits.max_file_size", integer("The largest case study, in bytes (CS305 file-too-large).", [262144], 1)),
            "max_asset_size": optional("limits.max_asset_size", integer("The largest image under `<model>/assets/`, in bytes.", [1048576], 1)),
            "asset_types": optional("limits.asset_types", listing(
                "The file extensions allowed under `<model>/assets/`, without the dot (compared ignoring case).",
                text("A file extension.", ["png"]),
                [["png", "svg"]],
            )),
        }),
        "rules": group("Which rules run.", {
            "ignore": optional("rules.ignore", listing(
                "Rule codes to switch off for the whole repository (see `challenge-bot rules`).", _RULE_CODE, [["CS303"]]
            )),
            "per_path_ignores": optional("rules.per_path_ignores", {
                "type": "object",
                "propertyNames": {"title": "glob", "type": "string", "pattern": NOT_BLANK, "errorMessage": "a path glob must be a non-empty string"},
                "additionalProperties": listing("The rule codes switched off for the paths the glob matches.", _RULE_CODE, [["CS303"]]),
                "errorMessage": "must be a mapping of path globs to lists of rule codes",
                "description": (
                    "Rule codes to switch off for some paths: a glob (relative to the repository root, "
                    "where `*` also matches `/`) mapped to a list of codes. Suppressed findings are still listed "
                    "by `check --format json`."
                ),
                "examples": [{"case_studies/meta/*.md": ["CS303"]}],
            }),
        }),
        "review": group("How pull-request reviews are written, by the GitHub App and by the Actions workflows alike.", {
            "reporter": optional("review.reporter", {
                "type": "string",
                "enum": list(REPORTERS),
                "errorMessage": f"must be one of {', '.join(REPORTERS)}",
                "description": (
                    "Where findings appear on the Files-changed tab, besides the summary comment that lists them all: "
                    + "; ".join(f"`{name}`: {what}" for name, what in REPORTERS.items())
                    + ". The default shows each finding once, plus its suggestion where one click fixes it."
                ),
                "examples": ["annotations"],
            }),
            "max_inline_comments": optional("review.max_inline_comments", integer(
                "The most line comments in one review, 25 at most whatever this says; the rest stay in the summary comment.", [10], 0
            )),
        }),
        "docs_url": optional("docs_url", text(
            "Where findings link to: the rules page, an https URL without a `#` part. Each rule is an anchor on it, like `#cs203-missing-section`.",
            ["https://github.com/pretraining-challenges/pretraining-challenges/blob/main/docs/rules.md"],
            pattern=PAGE_URL,
            message="must be an https URL without spaces, quotes, brackets, parentheses or a # part",
        )),
    },
    "required": ["sections", "models", "tags"],
    "additionalProperties": False,
    "examples": [_MINIMAL],
}


def schema_json() -> str:
    """``docs/config.schema.json``."""
    return json.dumps(SCHEMA, indent=2, ensure_ascii=False) + "\n"


VALIDATOR_HEADER = '''\
"""Generated from bot/core/config_schema.py; do not edit.

Regenerate with `challenge-bot config --validator > bot/core/config_validator.py`
(a test fails when this file is stale).
"""
# fmt: off
# mypy: ignore-errors
'''


_ANNOTATIONS = frozenset({"$schema", "$id", "title", "description", "examples", "default"})


def _for_validation(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` without the keywords that only annotate (they cannot change a verdict): a smaller validator."""
    kept = {key: value for key, value in schema.items() if key not in _ANNOTATIONS}
    for key in ("items", "additionalProperties", "propertyNames"):
        if isinstance(kept.get(key), dict):
            kept[key] = _for_validation(kept[key])
    if "properties" in kept:
        kept["properties"] = {name: _for_validation(sub) for name, sub in kept["properties"].items()}
    return kept


def validator_code() -> str:
    """``bot/core/config_validator.py``: ``SCHEMA`` compiled to Python by fastjsonschema."""
    import fastjsonschema  # only to generate; the generated module needs just its exception classes

    code = fastjsonschema.compile_to_code(_for_validation(SCHEMA), use_default=False, use_formats=False)
    if code.count(_THEIR_ERRORS) != 1:
        raise RuntimeError(f"fastjsonschema {fastjsonschema.VERSION} no longer writes {_THEIR_ERRORS!r}: see bot/core/schema_errors.py")
    return VALIDATOR_HEADER + code.replace(_THEIR_ERRORS, _OUR_ERRORS).rstrip("\n") + "\n"


# The generated code's import of its two exception classes, and where they are taken from instead.
_THEIR_ERRORS = "from fastjsonschema import JsonSchemaValueException, JsonSchemaValuesException"
_OUR_ERRORS = "from bot.core.schema_errors import JsonSchemaValueException, JsonSchemaValuesException"
