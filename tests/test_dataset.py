"""Permanent ids, redirect records, related case studies, the footers, and the published dataset
(index.json, its JSON Schema, index.csv): exact outputs, and the repository rules CS403-CS407."""

from __future__ import annotations

import csv
import io
import json

import jsonschema
import pytest

from bot.core import dataset, fixer, footer, ids
from bot.core.config_model import Tag
from bot.core.ids import Redirect, Redirects
from bot.core.index import Origin, Record
from bot.core.linter import lint_file, lint_index, plan_index, published_ids
from conftest import REPO
from helpers import GOOD

TAGS = (Tag("loss-spikes", "symptom", "The loss jumps."), Tag("rollback", "fix", "Restarted from an earlier checkpoint."))
NOTE = footer.NOTE


def _rec(model: str, name: str, title: str, id: str = "", tags: tuple = (), related: tuple = (), **origin) -> Record:
    return Record(model, f"case_studies/{model}/{name}.md", title, f"{title} went wrong.", tags, (), id, related, Origin(**origin))


A = _rec("meta", "a", "Alpha", "PC-0001", ("loss-spikes", "rollback"), ("PC-0002", "./case_studies/huggingface/c.md"), id_line=2, related_lines=(5, 6))
B = _rec("bloomberg", "b", "Beta [draft]", "PC-0002", ("loss-spikes",), ("case_studies/meta/a.md",), id_line=2, related_lines=(4,))
C = _rec("huggingface", "c", "Gamma", "PC-0003", ("loss-spikes", "rollback"), id_line=3)


# --- ids ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "valid"),
    [("PC-0001", True), ("PC-0420", True), ("PC-12345", True), ("PC-0000", False), ("PC-1", False), ("PC-00012", False),
     ("pc-0001", False), ("XY-0001", False), ("PC-0001\n", False), ("PC0001", False)],
)
def test_an_id_is_the_prefix_and_four_digits_or_more(value, valid):
    assert ids.matches(value, "PC") is valid


@pytest.mark.parametrize(
    ("used", "expected"),
    [([], "PC-0001"), (["PC-0003", "PC-0010", "XY-0099", "PC-7"], "PC-0011"), (["PC-9999"], "PC-10000")],
)
def test_the_next_id_is_one_past_the_highest_with_the_prefix(used, expected):
    assert ids.next_id("PC", used) == expected


# --- the redirects file -------------------------------------------------------------------------

REDIRECTS = """# Renamed, merged and withdrawn case studies.
- {id: PC-0012, from: case_studies/meta/old.md, to: PC-0012}
- {id: PC-0013, from: ./case_studies/meta/merged.md, to: PC-0003}
- id: PC-0014
  from: case_studies/meta/withdrawn.md
"""


def test_redirect_records_are_read_with_their_lines():
    redirects = ids.read_redirects(REDIRECTS, "PC")
    assert redirects == Redirects((
        Redirect("PC-0012", "case_studies/meta/old.md", "PC-0012", 2),
        Redirect("PC-0013", "case_studies/meta/merged.md", "PC-0003", 3),
        Redirect("PC-0014", "case_studies/meta/withdrawn.md", None, 4),
    ))
    assert sorted(redirects.retired()) == ["PC-0013", "PC-0014"]  # a rename keeps its id
    assert [r.as_json() for r in redirects.records][2] == {"id": "PC-0014", "from": "case_studies/meta/withdrawn.md", "to": None}


@pytest.mark.parametrize("text", [None, "", "# nothing yet\n"])
def test_no_redirects_file_has_no_records(text):
    assert ids.read_redirects(text, "PC") == Redirects()


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("{a: 1}\n", ((1, "the file must be a YAML list of records {id, from, to}"),)),
        ("- [x]\n", ((1, "each record must be a mapping {id, from, to}"),)),
        ("- {id: PC-1, from: a.md}\n", ((1, "'id' 'PC-1' is not an id like PC-0007"),)),
        ("- {id: PC-0001}\n", ((1, "a record needs 'from'"),)),
        ("- {id: PC-0001, from: a.md, via: b.md}\n", ((1, "unknown key 'via' in a record; allowed: id, from, to"),)),
        ("- {id: PC-0001, from: a.md, to: 5}\n", ((1, "'to' must be a non-empty string"),)),
        ("- {id: PC-0001, from: a.md}\n- {id: PC-0002, from: a.md}\n", ((2, "a.md already has a record (line 1)"),)),
    ],
)
def test_malformed_redirects_say_what_is_wrong(text, problems):
    assert ids.read_redirects(text, "PC").problems == problems


def test_redirects_that_are_not_yaml_name_the_line():
    ((line, message),) = ids.read_redirects("- {id: PC-0001\n", "PC").problems
    assert line == 2 and message.startswith("not valid YAML: ") and "'}'" in message  # the wording is libyaml's or PyYAML's


# --- resolving related entries -------------------------------------------------------------------


def test_the_catalog_finds_case_studies_by_id_or_path():
    catalog = ids.Catalog([A, B, C], ids.read_redirects(REDIRECTS, "PC"))
    assert [catalog.find(t) for t in ("PC-0002", "case_studies/huggingface/c.md", "./case_studies/huggingface/c.md", "PC-0404", "case_studies/meta/x.md")] == [B, C, C, None, None]
    assert catalog.related(A) == [B, C]
    assert catalog.related(A._replace(related=("PC-0404", "PC-0001", "PC-0003"))) == [C]  # nothing, itself, then C
    assert catalog.redirected("PC-0013").to == "PC-0003" and catalog.redirected("case_studies/meta/old.md").id == "PC-0012"
    assert catalog.used_ids() == {"PC-0001", "PC-0002", "PC-0003", "PC-0012", "PC-0013", "PC-0014"}


def test_candidates_share_the_most_tags_and_other_models_come_first():
    d = _rec("meta", "d", "Delta", "PC-0004", ("loss-spikes", "rollback"))
    e = _rec("meta", "e", "Epsilon", "PC-0005", ("training-plateau",))
    lonely = _rec("meta", "f", "Phi", "PC-0006", ("loss-spikes", "rollback"))
    assert ids.candidates(lonely, [A, B, C, d, e, lonely]) == [C, A, d]  # two shared tags: another model first
    assert ids.candidates(lonely._replace(related=("PC-0003",)), [A, B, C, d, e, lonely], limit=5) == [A, d, B]


# --- the footer ----------------------------------------------------------------------------------


def test_the_footer_shows_the_id_the_tags_and_the_related_case_studies(cfg):
    assert footer.render(A, ids.Catalog([A, B, C]), cfg) == "\n".join([
        footer.START,
        NOTE,
        "",
        "---",
        "",
        "**Id:** `PC-0001` · **Tags:** [`loss-spikes`](../../README.md#loss-spikes) [`rollback`](../../README.md#rollback)",
        "",
        "**Related case studies:**",
        "",
        "- [Beta \\[draft\\]](../bloomberg/b.md) · BloombergGPT (Bloomberg) · `PC-0002`",
        "- [Gamma](../huggingface/c.md) · IDEFICS-80B (Hugging Face M4) · `PC-0003`",
        "",
        footer.END,
    ])
    assert footer.render(C, ids.Catalog([A, B, C]), cfg).split("\n")[5:] == [
        "**Id:** `PC-0003` · **Tags:** [`loss-spikes`](../../README.md#loss-spikes) [`rollback`](../../README.md#rollback)", "", footer.END
    ]


BLOCK = f"{footer.START}\n{NOTE}\n\nnew\n{footer.END}"


@pytest.mark.parametrize(
    ("text", "replaced"),
    [
        ("# T\n\nText.\n\n\n", f"# T\n\nText.\n\n{BLOCK}\n"),
        ("# T\n\nText.", f"# T\n\nText.\n\n{BLOCK}\n"),
        (f"# T\n\n{footer.START}\nold\n{footer.END}\n", f"# T\n\n{BLOCK}\n"),
        (f"# T\n\n{footer.START}\nold\n{footer.END}\nafter\n", f"# T\n\n{BLOCK}\nafter\n"),
        (f"# T\n\n{footer.START}\nold, never closed\n", f"# T\n\n{BLOCK}\n"),
        (f"# T\r\n\r\n{footer.START}\r\nold\r\n{footer.END}\r\n", f"# T\r\n\r\n{BLOCK}\r\n".replace("\n", "\r\n").replace("\r\r", "\r")),
    ],
    ids=["appended", "appended-no-newline", "replaced", "text-after-kept", "unclosed", "crlf"],
)
def test_the_footer_is_appended_or_replaced_in_place(text, replaced):
    assert footer.replace(text, BLOCK) == replaced
    assert footer.replace(replaced, BLOCK) == replaced


def test_the_footer_is_no_section(cfg):
    block = footer.render(A, ids.Catalog([A]), cfg)
    empty_learnings = GOOD.replace("Keep checkpoints close together.\n", "") + "\n" + block + "\n"
    findings = lint_file("case_studies/meta/good.md", empty_learnings.encode(), cfg).findings
    assert [(f.code, f.message) for f in findings] == [("CS206", "section '## Learnings' is empty")]
    no_learnings = GOOD.replace("## Learnings\n\nKeep checkpoints close together.\n", "") + block + "\n"
    (missing,) = lint_file("case_studies/meta/good.md", no_learnings.encode(), cfg).findings
    at = no_learnings.split("\n").index(footer.START) + 1
    assert (missing.code, missing.line, missing.fix.start_line, missing.fix.description) == (
        "CS203", at, at, f"inserted '## Learnings' before the footer at line {at}; fill it in"
    )
    fixed, _ = fixer.apply(no_learnings, [missing])
    assert fixed.rstrip("\n").endswith(footer.END) and "## Learnings" in fixed.split(footer.START)[0]


# --- index.json and index.csv -------------------------------------------------------------------


def test_index_json_holds_ids_models_tags_and_redirects(cfg):
    cfg = cfg._replace(tags=TAGS)
    redirects = ids.read_redirects("- {id: PC-0013, from: case_studies/meta/merged.md, to: PC-0001}\n", "PC")
    loose = A._replace(related=("PC-0002", "PC-0404", "case_studies/huggingface/c.md"))
    data = json.loads(dataset.render_json([C, B, loose], cfg, redirects))
    assert data == {
        "$schema": "https://raw.githubusercontent.com/pretraining-challenges/pretraining-challenges/main/docs/index.schema.json",
        "version": 2,
        "models": [
            {"folder": "meta", "name": "OPT-175B (Meta AI)", "paper": "https://arxiv.org/abs/2205.01068"},
            {"folder": "huggingface", "name": "IDEFICS-80B (Hugging Face M4)", "paper": "https://huggingface.co/HuggingFaceM4/idefics-80b"},
            {"folder": "bloomberg", "name": "BloombergGPT (Bloomberg)", "paper": "https://arxiv.org/abs/2303.17564"},
        ],
        "tag_groups": [
            {"name": "symptom", "title": "Symptoms", "definition": "What the people running the training saw."},
            {"name": "cause", "title": "Causes", "definition": "Why it happened: the root cause the sources name."},
            {"name": "layer", "title": "Layers", "definition": "Where in the training stack the problem or its fix sits."},
            {"name": "fix", "title": "Fixes", "definition": "What the team did about it, when that recurs across runs."},
        ],
        "tags": [
            {"name": "loss-spikes", "group": "symptom", "definition": "The loss jumps."},
            {"name": "rollback", "group": "fix", "definition": "Restarted from an earlier checkpoint."},
        ],
        "case_studies": [
            {"id": "PC-0001", "model": "meta", "path": "case_studies/meta/a.md", "title": "Alpha", "summary": "Alpha went wrong.",
             "tags": ["loss-spikes", "rollback"], "related": ["PC-0002", "PC-0003"], "sources": []},
            {"id": "PC-0003", "model": "huggingface", "path": "case_studies/huggingface/c.md", "title": "Gamma", "summary": "Gamma went wrong.",
             "tags": ["loss-spikes", "rollback"], "related": [], "sources": []},
            {"id": "PC-0002", "model": "bloomberg", "path": "case_studies/bloomberg/b.md", "title": "Beta [draft]", "summary": "Beta [draft] went wrong.",
             "tags": ["loss-spikes"], "related": ["PC-0001"], "sources": []},
        ],
        "redirects": [{"id": "PC-0013", "from": "case_studies/meta/merged.md", "to": "PC-0001"}],
    }
    assert dataset.render_json([A, B, C], cfg, redirects) == dataset.render_json([C, A, B], cfg, redirects)
    jsonschema.Draft202012Validator(dataset.SCHEMA).validate(data)


def test_index_csv_is_one_row_per_case_study(cfg):
    sourced = B._replace(sources=("https://a.org/x", "https://b.org/y"), summary='Says "no", then stops.')
    assert dataset.render_csv([C, sourced, A], cfg) == (
        "id,model,model_name,path,title,summary,tags,related,sources\n"
        "PC-0001,meta,OPT-175B (Meta AI),case_studies/meta/a.md,Alpha,Alpha went wrong.,loss-spikes rollback,PC-0002 PC-0003,\n"
        "PC-0003,huggingface,IDEFICS-80B (Hugging Face M4),case_studies/huggingface/c.md,Gamma,Gamma went wrong.,loss-spikes rollback,,\n"
        'PC-0002,bloomberg,BloombergGPT (Bloomberg),case_studies/bloomberg/b.md,Beta [draft],"Says ""no"", then stops.",loss-spikes,PC-0001,https://a.org/x https://b.org/y\n'
    )


@pytest.mark.parametrize(
    "text",
    ["plain", "", "a,b", 'say "no"', '"', "two\nlines", "lone\rreturn", "crlf\r\nend", " spaced ", "ü – ×", "a,\"b\"\nc"],
)
def test_index_csv_quotes_what_a_csv_reader_needs_quoted(cfg, text):
    record = B._replace(title=text or "Beta", summary=text, sources=(text,) if text else ())
    rows = list(csv.reader(io.StringIO(dataset.render_csv([record], cfg), newline="")))
    assert rows[1][4:6] + rows[1][8:] == [text or "Beta", text, text]
    if "\r" not in text:  # the csv module leaves a lone carriage return unquoted; its reader then refuses the file
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        assert dataset.render_csv([record], cfg) == out.getvalue()


def test_published_ids_of_a_current_index_are_read_from_the_records(cfg):
    twin = C._replace(path="case_studies/huggingface/twin.md", title="Gamma twin", id="PC-0001")  # a duplicate id: CS403
    unnumbered = B._replace(path="case_studies/bloomberg/none.md", id="")
    records = [A, B, C, twin, unnumbered]
    current = dataset.render_json(records, cfg)
    assert published_ids(current, current, records, cfg) == ids.published(current) == {
        "PC-0001": "case_studies/huggingface/twin.md", "PC-0002": "case_studies/bloomberg/b.md", "PC-0003": "case_studies/huggingface/c.md",
    }
    stale = current.replace('"PC-0002"', '"PC-0009"')
    assert published_ids(stale, current, records, cfg) == ids.published(stale)
    assert published_ids(None, current, records, cfg) == {}


# --- the schema ----------------------------------------------------------------------------------


def test_the_published_schema_is_fresh_and_valid():
    assert (REPO / dataset.SCHEMA_PATH).read_text(encoding="utf-8") == dataset.schema_json(), "run `challenge-bot index --schema > docs/index.schema.json`"
    jsonschema.Draft202012Validator.check_schema(dataset.SCHEMA)


def test_the_published_index_follows_its_schema():
    data = json.loads((REPO / "case_studies/index.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(dataset.SCHEMA).validate(data)
    assert data["$schema"] == dataset.SCHEMA_ID and data["version"] == dataset.VERSION
    identifiers = [c["id"] for c in data["case_studies"]]
    assert len(identifiers) == len(set(identifiers))


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d["case_studies"][0].update(id=None), ["case_studies", 0, "id"]),
        (lambda d: d["case_studies"][0].update(id="PC-7"), ["case_studies", 0, "id"]),
        (lambda d: d["case_studies"][0].update(related=["case_studies/meta/a.md"]), ["case_studies", 0, "related", 0]),
        (lambda d: d["case_studies"][0].pop("title"), ["case_studies", 0]),
        (lambda d: d["tags"][0].update(group="symptoms"), ["tags", 0, "group"]),
        (lambda d: d.update(version=1), ["version"]),
        (lambda d: d.update(extra=True), []),
    ],
    ids=["null id", "short id", "related by path", "no title", "unknown group", "old version", "unknown key"],
)
def test_the_schema_refuses_what_the_generator_never_writes(cfg, change, path):
    data = json.loads(dataset.render_json([A, B, C], cfg))
    change(data)
    errors = list(jsonschema.Draft202012Validator(dataset.SCHEMA).iter_errors(data))
    assert [list(e.absolute_path) for e in errors] == [path]


# --- the repository rules ------------------------------------------------------------------------


def _findings(cfg, records, redirects=None, published=None, codes=("CS403", "CS404", "CS405", "CS406", "CS407")):
    json_text = json.dumps({"case_studies": [{"id": i, "path": p} for i, p in (published or {}).items()]})
    found = lint_index(records, None, json_text, cfg, (), None, redirects)
    return [(f.path, f.line, f.code, f.message) for f in found if f.code in codes]


def test_duplicate_ids_keep_the_published_holder(cfg):
    twin = _rec("meta", "twin", "Twin", "PC-0001", id_line=2)
    assert _findings(cfg, [A, twin], codes=("CS403",)) == [
        ("case_studies/meta/twin.md", 2, "CS403", "id PC-0001 is already the id of case_studies/meta/a.md; give it the next free id (`challenge-bot next-id` prints it)"),
    ]
    assert _findings(cfg, [A, twin], published={"PC-0001": twin.path}, codes=("CS403",)) == [
        ("case_studies/meta/a.md", 2, "CS403", "id PC-0001 is already the id of case_studies/meta/twin.md; give it the next free id (`challenge-bot next-id` prints it)"),
    ]


def test_a_retired_id_is_never_reused(cfg):
    reuse = _rec("meta", "new", "New", "PC-0013", id_line=3)
    assert _findings(cfg, [A, B, C, reuse], REDIRECTS, codes=("CS404",)) == [
        ("case_studies/meta/new.md", 3, "CS404",
         "id PC-0013 was retired (case_studies/meta/merged.md was merged into PC-0003; case_studies/redirects.yml line 3) and is never reused; "
         "give it the next free id (`challenge-bot next-id` prints it)"),
    ]


def test_related_entries_must_name_another_case_study(cfg):
    a = A._replace(related=("PC-0404", "case_studies/meta/a.md", "PC-0013", "PC-0002"), origin=Origin(2, (5, 6, 7, 8)))
    assert _findings(cfg, [a, B, C], REDIRECTS, codes=("CS405",)) == [
        ("case_studies/meta/a.md", 5, "CS405", "related entry 'PC-0404' names no case study; case studies sharing its tags: PC-0003 (Gamma)"),
        ("case_studies/meta/a.md", 6, "CS405", "related entry 'case_studies/meta/a.md' names this case study itself"),
        ("case_studies/meta/a.md", 7, "CS405", "related entry 'PC-0013' names no case study; it moved: name PC-0003 instead (case_studies/redirects.yml line 3)"),
    ]
    untagged = _rec("meta", "u", "Untagged", "PC-0009", related=("PC-0404",), related_lines=(4,))
    assert _findings(cfg, [untagged]) == [
        ("case_studies/meta/u.md", 4, "CS405", "related entry 'PC-0404' names no case study; name a case study by its id (see case_studies/index.json)"),
    ]


def test_redirects_must_be_well_formed_and_lead_somewhere(cfg):
    text = "- {id: PC-0012, from: case_studies/meta/a.md, to: PC-0001}\n- {id: PC-0013, from: case_studies/meta/x.md, to: PC-0404}\n- {id: PC-0014}\n"
    assert _findings(cfg, [A, B, C], text) == [
        ("case_studies/redirects.yml", 1, "CS406", "case_studies/meta/a.md is still a case study; a record is for one that was renamed, merged or withdrawn"),
        ("case_studies/redirects.yml", 2, "CS406", "'to' 'PC-0404' names no case study"),
        ("case_studies/redirects.yml", 3, "CS406", "a record needs 'from'"),
    ]


def test_a_published_case_study_cannot_move_or_vanish_without_a_record(cfg):
    published = {"PC-0001": "case_studies/meta/old-a.md", "PC-0002": B.path, "PC-0009": "case_studies/meta/gone.md"}
    assert _findings(cfg, [A, B, C], published=published) == [
        ("case_studies/meta/a.md", 2, "CS407",
         "PC-0001 moved from case_studies/meta/old-a.md; add `- {id: PC-0001, from: case_studies/meta/old-a.md, to: PC-0001}` to case_studies/redirects.yml"),
        ("case_studies/redirects.yml", 1, "CS407",
         "PC-0009 (case_studies/meta/gone.md) is gone; add `- {id: PC-0009, from: case_studies/meta/gone.md, to: <the id it was merged into>}` "
         "to case_studies/redirects.yml (leave out `to` if it was withdrawn)"),
    ]
    recorded = "- {id: PC-0001, from: case_studies/meta/old-a.md, to: PC-0001}\n- {id: PC-0009, from: case_studies/meta/gone.md, to: PC-0002}\n"
    assert _findings(cfg, [A, B, C], recorded, published) == []
    plan = plan_index([A, B, C], "<!-- case-study-index:start -->\n<!-- case-study-index:end -->\n", json.dumps({"case_studies": [{"id": i, "path": p} for i, p in published.items()]}), None, None, cfg)
    assert ([f.code for f in plan.blocked], plan.files, plan.footers) == (["CS407", "CS407"], {}, [])


def test_a_stale_csv_or_footer_is_out_of_date(cfg):
    fresh = "\n".join(["<!-- case-study-index:start -->", "<!-- case-study-index:end -->", ""])
    a = A._replace(origin=A.origin._replace(footer="stale", footer_line=40))
    found = lint_index([a, B._replace(related=()), C], fresh, None, cfg, (), "id\n", None)
    assert [(f.path, f.line, f.message) for f in found if f.code == "CS401" and f.path != "README.md"] == [
        ("case_studies/bloomberg/b.md", 1, "the generated footer (id, tags, related case studies) is missing; run `challenge-bot index` to regenerate it"),
        ("case_studies/huggingface/c.md", 1, "the generated footer (id, tags, related case studies) is missing; run `challenge-bot index` to regenerate it"),
        ("case_studies/index.csv", 1, "case_studies/index.csv is out of date; run `challenge-bot index` to regenerate it"),
        ("case_studies/index.json", 1, "case_studies/index.json is missing; run `challenge-bot index` to regenerate it"),
        ("case_studies/meta/a.md", 40, "the generated footer (id, tags, related case studies) is out of date; run `challenge-bot index` to regenerate it"),
    ]


# --- the command line ------------------------------------------------------------------------------


def _write(repo, rel: str, text: str):
    path = repo / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_new_takes_one_past_every_id_ever_used(run, repo):
    _write(repo, "case_studies/meta/good.md", GOOD)
    _write(repo, "case_studies/redirects.yml", "- {id: PC-0007, from: case_studies/meta/merged.md, to: PC-0001}\n")
    _write(repo, "case_studies/index.json", json.dumps({"case_studies": [{"id": "PC-0004", "path": "case_studies/meta/x.md"}]}))
    assert run("next-id") == (0, "PC-0008\n", "")
    code, out, _ = run("new", "bloomberg", "A new one")
    assert (code, out.splitlines()[0]) == (0, "Created case_studies/bloomberg/a-new-one.md, id PC-0008.")
    assert (repo / "case_studies/bloomberg/a-new-one.md").read_text().startswith("---\nid: PC-0008\ntags: []\n")
    assert run("next-id") == (0, "PC-0009\n", "")


def _check(run) -> tuple[int, list[tuple[str, int, str, str]]]:
    """`check --index` of the whole repository: its exit status and its findings."""
    code, out, _ = run("check", "--index", "--format", "json")
    return code, [(f["path"], f["line"], f["code"], f["message"]) for f in json.loads(out)["findings"]]


def test_index_writes_the_dataset_and_footers_and_keeps_ids_published(run, repo):
    _write(repo, "case_studies/meta/good.md", GOOD.replace("tags: [loss-spikes]", "tags: [loss-spikes]\nrelated: [PC-0002]"))
    _write(repo, "case_studies/bloomberg/other.md", GOOD.replace("PC-0001", "PC-0002").replace("A good case study", "Another one"))
    assert run("index")[0] == 0
    assert _check(run) == (0, [])
    text = (repo / "case_studies/meta/good.md").read_text()
    assert text.endswith(
        "Keep checkpoints close together.\n\n" + footer.START + "\n" + NOTE + "\n\n---\n\n"
        "**Id:** `PC-0001` · **Tags:** [`loss-spikes`](../../README.md#loss-spikes)\n\n**Related case studies:**\n\n"
        "- [Another one](../bloomberg/other.md) · BloombergGPT (Bloomberg) · `PC-0002`\n\n" + footer.END + "\n"
    )
    assert (repo / "case_studies/index.csv").read_text().splitlines()[1].startswith("PC-0001,meta,OPT-175B (Meta AI),case_studies/meta/good.md,")

    (repo / "case_studies/bloomberg/other.md").rename(repo / "case_studies/bloomberg/renamed.md")
    before = {p: (repo / p).read_bytes() for p in ("README.md", "case_studies/index.json", "case_studies/index.csv")}
    code, out, err = run("index")
    assert (code, err) == (1, "Nothing was written: fix the findings above, then run `challenge-bot index` again.\n")
    moved = (
        "CS407 missing-redirect PC-0002 moved from case_studies/bloomberg/other.md; "
        "add `- {id: PC-0002, from: case_studies/bloomberg/other.md, to: PC-0002}` to case_studies/redirects.yml"
    )
    assert len(out.splitlines()) == 1 and out.startswith("case_studies/bloomberg/renamed.md:2: ") and moved in out
    assert {p: (repo / p).read_bytes() for p in before} == before
    assert ("case_studies/bloomberg/renamed.md", 2, "CS407", moved.split(" ", 2)[2]) in _check(run)[1]
    _write(repo, "case_studies/redirects.yml", "- {id: PC-0002, from: case_studies/bloomberg/other.md, to: PC-0002}\n")
    assert run("index")[0] == 0
    assert _check(run) == (0, [])
    assert json.loads((repo / "case_studies/index.json").read_text())["redirects"] == [
        {"id": "PC-0002", "from": "case_studies/bloomberg/other.md", "to": "PC-0002"}
    ]


def test_a_stale_dataset_or_footer_fails_check(run, repo):
    path = _write(repo, "case_studies/meta/good.md", GOOD)
    run("index")
    csv_path = repo / "case_studies/index.csv"
    csv_path.write_text(csv_path.read_text().replace("OPT-175B", "OPT"))
    path.write_text(path.read_text().replace("tags: [loss-spikes]", "tags: [loss-spikes, rollback]"))
    footer_line = path.read_text().split("\n").index(footer.START) + 1
    fix = "run `challenge-bot index` to regenerate it"
    assert _check(run) == (1, [
        ("README.md", 3, "CS401", f"the case-study index in README.md is out of date; {fix}"),
        ("case_studies/index.csv", 1, "CS401", f"case_studies/index.csv is out of date; {fix}"),
        ("case_studies/index.json", 1, "CS401", f"case_studies/index.json is out of date; {fix}"),
        ("case_studies/meta/good.md", footer_line, "CS401", f"the generated footer (id, tags, related case studies) is out of date; {fix}"),
    ])


def test_index_prints_its_schema(run):
    assert run("index", "--schema") == (0, dataset.schema_json(), "")


# --- the front matter, the template and the bot's own index commit ------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("id: PC-7", "'id' must be a permanent id like PC-0007 (never changed once given), got 'PC-7'"),
        ("id: 7", "'id' must be a permanent id like PC-0007 (never changed once given), got '7'"),
        ("id: [PC-0001]", "'id' must be a permanent id like PC-0007 (never changed once given), got a list or mapping"),
        ("related: PC-0001", "'related' must be a list, e.g. related: [PC-0007]"),
    ],
)
def test_an_id_is_one_value_and_related_a_list(line, message):
    from bot.core import document, frontmatter

    meta = frontmatter.read(document.parse(f"---\n{line}\n---\n\n# T\n").front_matter, "PC")
    assert meta.problems == ((2, message),)
    assert frontmatter.read(document.parse("---\nid: KB-0042\n---\n").front_matter, "KB").value("id") == "KB-0042"


def test_new_gives_a_template_without_front_matter_one(cfg):
    from bot.core import template

    bare = cfg.template._replace(text="# {title}\n")
    assert template.render(bare, "T", "PC-0003") == "---\nid: PC-0003\n---\n\n# T\n"
    assert template.render(bare, "T") == "# T\n"


def test_the_bot_commits_the_footers_and_refuses_to_drop_a_published_id():
    from bot.core.github_data import GatewayError
    from bot.github.publish import publish_index
    from bot.github.remote import Cache
    from fakes import FakeGateway

    gw = FakeGateway()
    gw.push("main", {"case_studies/meta/good.md": GOOD.encode()})
    assert publish_index(gw, "main", Cache()).kind == "committed"
    assert gw.file("main", "case_studies/meta/good.md").decode().endswith(footer.END + "\n")
    assert gw.file("main", "case_studies/index.csv").decode().startswith("id,model,")
    assert publish_index(gw, "main", Cache()).kind == "unchanged"
    gw.push("main", {"case_studies/meta/good.md": None, "case_studies/meta/renamed.md": gw.file("main", "case_studies/meta/good.md")})
    with pytest.raises(GatewayError) as caught:
        publish_index(gw, "main", Cache())
    assert str(caught.value).startswith(
        "cannot regenerate the index: case_studies/meta/renamed.md:2: CS407 PC-0001 moved from case_studies/meta/good.md; add `- {id: PC-0001"
    )
    gw.push("main", {"case_studies/redirects.yml": b"- {id: PC-0001, from: case_studies/meta/good.md, to: PC-0001}\n"})
    assert publish_index(gw, "main", Cache()).kind == "committed"
    assert json.loads(gw.file("main", "case_studies/index.json"))["case_studies"][0]["path"] == "case_studies/meta/renamed.md"
