"""Loading and validating .github/challenge-bot.yml: every bad key or value is named."""

from __future__ import annotations

import copy

import pytest
import yaml

from bot.core import config
from bot.core.config import ConfigError, Tag, from_mapping

from conftest import REPO

RAW = yaml.safe_load((REPO / config.CONFIG_PATH).read_text())


def _with(path: str, value):
    raw = copy.deepcopy(RAW)
    node = raw
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    last = keys[-1]
    if value is _DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return raw


_DELETE = object()


def test_repository_config_loads(live_cfg):
    cfg = live_cfg
    assert cfg.section_names == (
        "Main Challenge",
        "Solution that Did Not Work",
        "Solution that Worked",
        "Bugs/Missteps",
        "Learnings",
    )
    assert {"meta", "huggingface", "bloomberg"} <= set(cfg.models)
    assert cfg.models["meta"].label == "model: OPT-175B"
    assert all(model.folder == folder for folder, model in cfg.models.items())
    assert cfg.max_file_size == 256 * 1024
    assert set(cfg.template.stubs) == set(cfg.section_names)
    assert len(cfg.template.placeholders) == 5


BAD = [
    ("sectons", [], "sectons: unknown key (allowed here: docs_url, index, limits, models, paths, review, rules, sections, tags)"),
    ("sections", [], "sections: must be a non-empty list, got an empty list"),
    ("sections.0", {"name": "X", "alias": []}, "sections[0].alias: unknown key (allowed here: aliases, name)"),
    ("sections.1", "Main Challenge", "sections[1].name: 'Main Challenge' is listed twice"),
    ("models.meta.color", "blue", 'models.meta.color: must be a 6-digit hex colour like "1f6feb", got \'blue\''),
    ("models.meta.paper", "arxiv 2205.01068", "models.meta.paper: must be an https URL without spaces, quotes, brackets or parentheses, got 'arxiv 2205.01068'"),
    ("models.meta.label", "model: IDEFICS", "models.huggingface.label: 'model: IDEFICS' is already the label of 'meta'"),
    ("models.meta.name", _DELETE, "models.meta.name: is required"),
    ("models.Meta AI", RAW["models"]["meta"], "models.Meta AI: a model folder must be lowercase kebab-case, got 'Meta AI'"),
    ("tags.0", "loss-divergence", "tags[0]: must be a mapping with `name`, `group` and `definition`, got 'loss-divergence'"),
    ("tags.0.name", "Loss Divergence", "tags[0].name: a tag must be lowercase kebab-case, got 'Loss Divergence'"),
    ("tags.0.group", "symptoms", "tags[0].group: must be one of symptom, cause, layer, fix, got 'symptoms'"),
    ("tags.0.definition", _DELETE, "tags[0].definition: is required"),
    ("tags.0.definition", "Two\nlines.", "tags[0].definition: must be a one-line definition of at most 200 characters, got 'Two\\nlines.'"),
    ("tags.0.definition", "x" * 201, f"tags[0].definition: must be a one-line definition of at most 200 characters, got '{'x' * 201}'"),
    ("tags.0.colour", "red", "tags[0].colour: unknown key (allowed here: definition, group, name)"),
    ("tags.1.name", "loss-spikes", "tags[1].name: 'loss-spikes' is listed twice"),
    ("tags.1", RAW["tags"][0], "tags[1].name: 'loss-spikes' is listed twice"),
    ("index.id_prefix", "pc", "index.id_prefix: must be capital letters and digits starting with a letter, like PC, got 'pc'"),
    ("limits.max_file_size", "256k", "limits.max_file_size: must be an integer of at least 1, got '256k'"),
    ("limits.max_file_size", True, "limits.max_file_size: must be an integer of at least 1, got True"),
    ("rules.ignore", ["CS303", "CS999"], "rules.ignore[1]: must be a known rule code such as CS303 (see `challenge-bot rules`), got 'CS999'"),
    ("rules.ignore", ["missing-section"], "rules.ignore[0]: must be a known rule code such as CS303 (see `challenge-bot rules`), got 'missing-section'"),
    ("review.reporter", "comments", "review.reporter: must be one of suggestions, annotations, inline, both, got 'comments'"),
    ("review.inline_comments", False, "review.inline_comments: unknown key (allowed here: max_inline_comments, reporter)"),
    ("index.end", "<!-- case-study-index:start -->", "index.end: must differ from index.start"),
    ("index", {"end": "<!-- case-study-index:start -->"}, "index.end: must differ from index.start"),
    ("tags", _DELETE, "tags: is required"),
    ("tags", "loss-spikes", "tags: must be a list, got 'loss-spikes'"),
    ("sections.0.aliases", ["Problem", "Problem"], "sections[0].aliases[1]: 'Problem' is listed twice"),
    ("docs_url", "docs/rules.md", "docs_url: must be an https URL without spaces, quotes, brackets, parentheses or a # part, got 'docs/rules.md'"),
    ("models.meta.paper", None, "models.meta.paper: must be an https URL without spaces, quotes, brackets or parentheses, got nothing"),
    ("models", {}, "models: must be a non-empty mapping of folder names, got an empty mapping"),
    ("index", [], "index: must be a mapping, got an empty list"),
    ("rules", {"per_path_ignores": {"case_studies/meta/*.md": ["CS30"]}},
     "rules.per_path_ignores.case_studies/meta/*.md[0]: must be a known rule code such as CS303 (see `challenge-bot rules`), got 'CS30'"),
]


@pytest.mark.parametrize(("path", "value", "message"), BAD, ids=[row[0] for row in BAD])
def test_bad_config_names_file_and_key(path, value, message):
    with pytest.raises(ConfigError) as caught:
        from_mapping(_with(path, value), ".github/challenge-bot.yml")
    assert str(caught.value) == f".github/challenge-bot.yml: {message}"


def test_empty_groups_and_unquoted_colours_keep_their_meaning():
    raw = _with("index", None)
    raw["models"]["meta"]["color"] = 123456
    raw["rules"] = {"per_path_ignores": {"case_studies/meta/*.md": ["CS303"]}}
    cfg = from_mapping(raw)
    assert (cfg.index_start, cfg.readme, cfg.models["meta"].color) == ("<!-- case-study-index:start -->", "README.md", "123456")
    assert cfg.per_path_ignores == (("case_studies/meta/*.md", frozenset({"CS303"})),)


def test_a_model_folder_must_be_a_string():
    raw = copy.deepcopy(RAW)
    raw["models"] = {1: raw["models"]["meta"]}
    with pytest.raises(ConfigError, match=r"^\.github/challenge-bot\.yml: models\.1: a model folder must be lowercase kebab-case, got 1$"):
        from_mapping(raw)


def test_not_a_mapping():
    with pytest.raises(ConfigError, match=r"^\.github/challenge-bot\.yml: must be a mapping, got a list$"):
        from_mapping([1, 2])


def test_invalid_yaml_and_duplicate_keys_are_reported_with_lines(repo):
    path = repo / config.CONFIG_PATH
    path.write_text("sections: [a\n")
    with pytest.raises(ConfigError, match=r"^\.github/challenge-bot\.yml: invalid YAML: line 2: "):
        config.load(repo)
    path.write_text("tags: [a]\ntags: [b]\n")
    with pytest.raises(ConfigError, match=r"invalid YAML: line 2: duplicate key 'tags'$"):
        config.load(repo)


def test_missing_template_is_a_config_error(repo):
    (repo / "templates" / "case-study.md").unlink()
    with pytest.raises(ConfigError, match=r"^\.github/challenge-bot\.yml: paths\.template: cannot read templates/case-study\.md: "):
        config.load(repo)


def test_find_root_walks_up(repo):
    deep = repo / "case_studies" / "meta"
    assert config.find_root(deep) == repo.resolve()
    assert config.find_root(repo.parent) is None


def test_another_knowledge_base_can_adopt_the_bot(tmp_path):
    raw = {
        "sections": ["Symptom", {"name": "Cause", "aliases": ["Root cause"]}, "Fix"],
        "models": {"llama": {"name": "Llama", "label": "llama", "color": "ABCDEF", "description": "d", "paper": "https://x.org"}},
        "tags": [{"name": "oom", "group": "cause", "definition": "The job ran out of GPU memory."}],
    }
    cfg = from_mapping(raw)
    assert cfg.section_names == ("Symptom", "Cause", "Fix")
    assert cfg.models["llama"].color == "abcdef"
    from bot.core.linter import lint_text

    findings = lint_text("case_studies/llama/x.md", "# T\n\n## Symptom\n\nA.\n\n## Root Cause\n\nB.\n", cfg)
    assert [(f.line, f.code) for f in findings] == [(1, "CS303"), (1, "CS307"), (7, "CS208"), (9, "CS203")]
    assert cfg.tags == (Tag("oom", "cause", "The job ran out of GPU memory."),)
