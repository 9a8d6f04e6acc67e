"""The published dataset: case_studies/index.json, its JSON Schema (docs/index.schema.json) and the
CSV export beside it (case_studies/index.csv). Pure and deterministic.

index.json holds every case study with its permanent id, the models, the tag vocabulary with
its groups and definitions, and the redirect records; ``version`` changes when its shape does.
The CSV is the same case studies, one row each, for spreadsheets. The schema is written here,
once: ``challenge-bot index --schema`` prints it and a test keeps the committed copy fresh.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from bot.core import jsontext
from bot.core.config_model import RAW_URL, TAG_GROUPS, Config
from bot.core.ids import Catalog, Redirects
from bot.core.index import Record, sort_records

VERSION = 2  # 1: case studies only; 2: ids, related, models, tags with definitions, redirects
SCHEMA_PATH = "docs/index.schema.json"
SCHEMA_ID = RAW_URL + SCHEMA_PATH
CSV_COLUMNS = ("id", "model", "model_name", "path", "title", "summary", "tags", "related", "sources")


def case_study(record: Record, catalog: Catalog) -> dict[str, Any]:
    """One case study as index.json has it: ``related`` as ids, whether the front matter named ids or paths."""
    return {
        "id": record.id or None,
        "model": record.model,
        "path": record.path,
        "title": record.title,
        "summary": record.summary,
        "tags": list(record.tags),
        "related": _related_ids(record, catalog),
        "sources": list(record.sources),
    }


def _related_ids(record: Record, catalog: Catalog) -> list[str]:
    return [found.id for found in catalog.related(record) if found.id] if record.related else []


def render_json(records: Iterable[Record], cfg: Config, redirects: Redirects = Redirects()) -> str:
    records = list(records)
    catalog = Catalog(records, redirects)
    data = {
        "$schema": SCHEMA_ID,
        "version": VERSION,
        "models": [{"folder": m.folder, "name": m.name, "paper": m.paper} for m in cfg.models.values()],
        "tag_groups": [g._asdict() for g in TAG_GROUPS],
        "tags": [t._asdict() for t in cfg.tags],
        "case_studies": [case_study(r, catalog) for r in sort_records(records, cfg)],
        "redirects": [r.as_json() for r in redirects.records],
    }
    return jsontext.dumps(data) + "\n"  # json.dumps(data, indent=2, ensure_ascii=False), without its slow indenting encoder


def render_csv(records: Iterable[Record], cfg: Config, redirects: Redirects = Redirects()) -> str:
    """The case studies as CSV (RFC 4180: UTF-8, comma-separated, a header row, a field quoted when it
    holds a comma, a double quote or a line break); lists are space-separated."""
    records = list(records)
    catalog = Catalog(records, redirects)
    names = {folder: model.name for folder, model in cfg.models.items()}
    rows = [_csv_row(CSV_COLUMNS)]
    for r in sort_records(records, cfg):
        related = " ".join(_related_ids(r, catalog))
        rows.append(_csv_row((r.id, r.model, names.get(r.model, r.model), r.path, r.title, r.summary, " ".join(r.tags), related, " ".join(r.sources))))
    return "".join(rows)


def _csv_row(fields: Iterable[str]) -> str:
    # Not the csv module: it writes the same rows four times slower (and leaves a lone "\r" unquoted,
    # which its own reader then refuses), and every whole-repository check renders this file in full.
    return ",".join([_csv_field(f) for f in fields]) + "\n"


def _csv_field(text: str) -> str:
    if '"' in text:
        return '"' + text.replace('"', '""') + '"'
    if "," in text or "\n" in text or "\r" in text:
        return '"' + text + '"'
    return text


# --- the schema ------------------------------------------------------------------------------------

_KEBAB = "^[a-z0-9]+(?:-[a-z0-9]+)*$"
_ID = "^[A-Z][A-Z0-9]*-[0-9]{4,}$"


def _text(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


def _object(description: str, properties: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"type": "object", "description": description, "required": list(properties), "additionalProperties": False, "properties": properties}


def _list(description: str, items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "array", "description": description, "items": items, **extra}


_CASE_STUDY = _object("One case study.", {
    "id": {"$ref": "#/$defs/id", "description": "Its permanent id, never changed or reused (front matter `id`)."},
    "model": {"$ref": "#/$defs/folder", "description": "The model folder it is filed under (a `folder` of `models`)."},
    "path": _text("The Markdown file, relative to the repository root.", pattern="^[^/].*\\.md$"),
    "title": _text("Its `#` title.", minLength=1),
    "summary": _text("The first sentence of its Main Challenge section, as plain text (empty if it has none)."),
    "tags": _list("Its tags, as the front matter lists them (names in `tags`).", {"type": "string", "pattern": _KEBAB}, uniqueItems=True),
    "related": _list("The case studies it names as related, as ids (front matter `related`, by id or path).", {"$ref": "#/$defs/id"}, uniqueItems=True),
    "sources": _list("The papers, logbooks and issues it rests on.", _text("An http(s) URL.", pattern="^https?://\\S+$"), uniqueItems=True),
})

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "challenge-bot case-study index",
    "description": (
        "`case_studies/index.json`: every case study of the knowledge base with its permanent id, the models, the tag "
        "vocabulary with definitions, and the redirects of renamed or merged case studies. Generated by "
        "`challenge-bot index`; `version` changes whenever the shape does."
    ),
    "type": "object",
    "required": ["version", "models", "tag_groups", "tags", "case_studies", "redirects"],
    "additionalProperties": False,
    "properties": {
        "$schema": _text("This schema's URL.", const=SCHEMA_ID),
        "version": {"const": VERSION, "description": "The shape of this file; this schema describes version 2."},
        "models": _list("The model folders, in the order the README lists them.", _object("A model.", {
            "folder": {"$ref": "#/$defs/folder", "description": "Its folder under `case_studies/`."},
            "name": _text("Its name as the README shows it.", minLength=1),
            "paper": _text("Its paper or report.", pattern="^https?://\\S+$"),
        })),
        "tag_groups": _list("The groups a tag belongs to, in order.", _object("A group.", {
            "name": {"$ref": "#/$defs/group"},
            "title": _text("Its heading in the README's \"By failure kind\" section.", minLength=1),
            "definition": _text("What its tags record.", minLength=1),
        })),
        "tags": _list("The tag vocabulary, in the config's order.", _object("A tag.", {
            "name": _text("The tag, as case studies write it.", pattern=_KEBAB),
            "group": {"$ref": "#/$defs/group"},
            "definition": _text("What the tag means, in one line.", minLength=1),
        })),
        "case_studies": _list("Every case study, by model (in `models` order), then by title.", _CASE_STUDY),
        "redirects": _list("Case studies that were renamed, merged or withdrawn (`case_studies/redirects.yml`).", _object("A redirect.", {
            "id": {"$ref": "#/$defs/id", "description": "The id the case study had: kept by a rename, retired by a merge or a withdrawal."},
            "from": _text("The path it had.", pattern="\\.md$"),
            "to": {"type": ["string", "null"], "description": "The id or path holding it now (its own id for a rename); null when withdrawn."},
        })),
    },
    "$defs": {
        "id": _text("A permanent case-study id such as PC-0007.", pattern=_ID),
        "folder": _text("A model folder, lowercase kebab-case.", pattern=_KEBAB),
        "group": {"enum": [g.name for g in TAG_GROUPS], "description": "A tag group."},
    },
}


def schema_json() -> str:
    """``docs/index.schema.json``."""
    return json.dumps(SCHEMA, indent=2, ensure_ascii=False) + "\n"
