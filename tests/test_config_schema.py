"""The config's JSON Schema: the generated files are fresh, every key is documented, and the validator
generated from it agrees with jsonschema (the reference implementation) on good and bad files."""

from __future__ import annotations

import copy
import subprocess
import sys

import jsonschema
import pytest
import yaml

from bot.cli.main import main
from bot.core import config_docs, config_schema, config_validator
from bot.core.config import ConfigError, from_mapping
from bot.core.config_model import CONFIG_PATH, FIELDS, Config
from bot.core.config_schema import SCHEMA
from bot.core.rules import REGISTRY
from helpers import GOOD

from conftest import FIXTURE_REPO, REPO

REFERENCE = jsonschema.Draft7Validator(SCHEMA)
RAW = yaml.safe_load((FIXTURE_REPO / CONFIG_PATH).read_text())
_DELETE = object()


def _with(path: str, value: object) -> object:
    """The fixture config with the value at dotted ``path`` (list indexes as numbers) replaced or deleted."""
    raw = copy.deepcopy(RAW)
    *parents, last = path.split(".")
    node = raw
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is _DELETE:
        del node[int(last) if isinstance(node, list) else last]
    else:
        node[int(last) if isinstance(node, list) else last] = value
    return raw


# --- the generated files are fresh --------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "render", "command"),
    [
        ("docs/config.schema.json", config_schema.schema_json, "--schema"),
        ("docs/configuration.md", config_docs.config_markdown, "--markdown"),
        ("bot/core/config_validator.py", config_schema.validator_code, "--validator"),
    ],
    ids=["schema", "docs", "validator"],
)
def test_generated_files_are_fresh(path, render, command):
    assert (REPO / path).read_text(encoding="utf-8") == render(), f"{path} is stale: run `challenge-bot config {command} > {path}`"


def test_the_cli_prints_the_generated_files(repo, monkeypatch, capsys):
    monkeypatch.chdir(repo)
    for command, render in (("--schema", config_schema.schema_json), ("--markdown", config_docs.config_markdown), ("--validator", config_schema.validator_code)):
        assert main(["config", command]) == 0
        assert capsys.readouterr().out == render()


def test_config_command_checks_the_file(repo, monkeypatch, capsys):
    monkeypatch.chdir(repo)
    assert main(["config"]) == 0
    assert capsys.readouterr() == (".github/challenge-bot.yml is valid: 5 sections, 3 models, 17 tags.\n", "")
    path = repo / CONFIG_PATH
    path.write_text(path.read_text().replace("paper: https://arxiv.org/abs/2205.01068", "paper: arxiv 2205.01068"))
    assert main(["config"]) == 2
    assert capsys.readouterr() == ("", "challenge-bot: error: .github/challenge-bot.yml: models.meta.paper: must be an https URL without spaces, quotes, brackets or parentheses, got 'arxiv 2205.01068'\n")


# --- the schema describes every key ------------------------------------------------------


def test_the_schema_is_a_valid_draft_7_schema():
    jsonschema.Draft7Validator.check_schema(SCHEMA)


def test_every_key_has_a_description_an_example_and_a_default_unless_required():
    for key in config_docs.keys():
        schema = key.schema
        assert schema.get("description"), key.path
        assert schema.get("examples"), key.path
        for example in schema["examples"]:
            jsonschema.validate(example, schema)
        in_a_mapping = key.example_name is not None and "<" not in key.path.rsplit(".", 1)[-1]
        if in_a_mapping and not key.required:
            assert "default" in schema, key.path
        if "default" in schema:
            jsonschema.validate(schema["default"], schema)


def test_every_optional_config_field_is_a_documented_key():
    documented = {key.path for key in config_docs.keys()}
    assert set(FIELDS) <= documented
    set_by_code = {"sections", "models", "tags", "template", "root", "source"}
    assert set(FIELDS.values()) == set(Config._fields) - set_by_code


def test_rule_codes_come_from_the_registry():
    rules = SCHEMA["properties"]["rules"]["properties"]
    assert rules["ignore"]["items"]["enum"] == sorted(REGISTRY)
    assert rules["per_path_ignores"]["additionalProperties"]["items"]["enum"] == sorted(REGISTRY)


def test_the_minimal_example_and_the_spelled_out_defaults_give_the_same_config():
    minimal = SCHEMA["examples"][0]
    spelled_out = dict(minimal)
    for name, schema in SCHEMA["properties"].items():
        if name not in SCHEMA["required"]:
            spelled_out[name] = schema["default"]
    assert from_mapping(spelled_out) == from_mapping(minimal) == Config(*from_mapping(minimal)[:3])


# --- the generated validator agrees with jsonschema ----------------------------------------

VALID = {
    "the fixture": RAW,
    "the minimal example": SCHEMA["examples"][0],
    "an empty group": _with("index", None),
    "no aliases": _with("sections.0", "Main Challenge"),
    "no tags": _with("tags", []),
    "an unquoted colour": _with("models.meta.color", 123456),
    "an upper-case colour": _with("models.meta.color", "0866FF"),
    "an integer written as a float": _with("limits.max_file_size", 1024.0),
    "no inline comments": _with("review.max_inline_comments", 0),
    "annotations only": _with("review.reporter", "annotations"),
    "a review given as an empty group": _with("review", None),
    "a URL with a query and a fragment": _with("models.meta.paper", "https://example.org/paper?id=1&v=2#page=3"),
    "a docs URL with a port": _with("docs_url", "https://docs.example.org:8443/kb/rules.md"),
    "per-path ignores": _with("rules", {"per_path_ignores": {"case_studies/meta/*.md": ["CS303", "CS205"]}}),
    "another id prefix": _with("index.id_prefix", "KB2"),
    "a definition of 200 characters": _with("tags.0.definition", "x" * 200),
}

INVALID = {
    "not a mapping": ["sections"],
    "nothing": None,
    "a missing required key": _with("tags", _DELETE),
    "an unknown key": {**RAW, "sectons": []},
    "a non-string key": {**RAW, 5: 1},
    "no sections": _with("sections", []),
    "a blank section": _with("sections.0", "  "),
    "a section of the wrong type": _with("sections.0", 5),
    "a section without a name": _with("sections.0", {"aliases": ["A"]}),
    "a misspelt section key": _with("sections.0", {"name": "X", "alias": []}),
    "a repeated alias": _with("sections.0.aliases", ["A", "A"]),
    "no models": _with("models", {}),
    "a model folder in capitals": {**RAW, "models": {**RAW["models"], "Meta AI": RAW["models"]["meta"]}},
    "a model folder that is a number": {**RAW, "models": {1: RAW["models"]["meta"]}},
    "a model field missing": _with("models.meta.name", _DELETE),
    "an unknown model field": _with("models.meta.url", "https://x.org"),
    "a colour name": _with("models.meta.color", "blue"),
    "a five-digit colour": _with("models.meta.color", 12345),
    "a colour with a newline": _with("models.meta.color", "0866ff\n"),
    "a paper that is no URL": _with("models.meta.paper", "arxiv 2205.01068"),
    "a paper with a newline": _with("models.meta.paper", "https://arxiv.org/abs/2205.01068\n"),
    "an ftp paper": _with("models.meta.paper", "ftp://example.org/paper.pdf"),
    "a paper with a space": _with("models.meta.paper", "https://example.org/a paper.pdf"),
    "a paper with no host": _with("models.meta.paper", "https://"),
    "a relative docs URL": _with("docs_url", "docs/rules.md"),
    "a docs URL with a newline": _with("docs_url", "https://example.org/rules.md\n"),
    "a plain http paper": _with("models.meta.paper", "http://example.org/paper.pdf"),
    "a plain http docs URL": _with("docs_url", "http://example.org/rules.md"),
    "a docs URL with a fragment": _with("docs_url", "https://example.org/rules.md#top"),
    "a docs URL that leaves its link": _with("docs_url", "https://example.org/rules.md)[@team](https://phish.example"),
    "a docs URL with HTML": _with("docs_url", "https://example.org/<img/src=x/onerror=alert(1)>"),
    "a paper with a quote": _with("models.meta.paper", 'https://example.org/a"onmouseover="x'),
    "a tag in capitals": _with("tags.0", "Loss Divergence"),
    "a tag with a newline": _with("tags.0", "loss-spikes\n"),
    "a repeated tag": _with("tags.1", RAW["tags"][0]),
    "a tag as a plain string": _with("tags.0", "loss-spikes"),
    "a tag name in capitals": _with("tags.0.name", "Loss Divergence"),
    "an unknown tag group": _with("tags.0.group", "symptoms"),
    "a tag without a definition": _with("tags.0.definition", _DELETE),
    "a blank definition": _with("tags.0.definition", "  "),
    "a two-line definition": _with("tags.0.definition", "One.\nTwo."),
    "a definition too long": _with("tags.0.definition", "x" * 201),
    "an id prefix in lowercase": _with("index.id_prefix", "pc"),
    "a group that is a list": _with("index", []),
    "an empty marker": _with("index.start", ""),
    "a size as text": _with("limits.max_file_size", "256k"),
    "a size as a boolean": _with("limits.max_file_size", True),
    "a zero size": _with("limits.max_file_size", 0),
    "a fractional size": _with("limits.max_file_size", 1.5),
    "a negative comment limit": _with("review.max_inline_comments", -1),
    "an unknown reporter": _with("review.reporter", "comments"),
    "a reporter in capitals": _with("review.reporter", "Inline"),
    "an unknown rule code": _with("rules.ignore", ["CS999"]),
    "a rule name for a code": _with("rules.ignore", ["missing-section"]),
    "a per-path ignore with an unknown code": _with("rules", {"per_path_ignores": {"x": ["CS9"]}}),
    "an empty per-path glob": _with("rules", {"per_path_ignores": {"": ["CS303"]}}),
    "per-path ignores as a list": _with("rules", {"per_path_ignores": ["CS303"]}),
}


def _generated_accepts(raw: object) -> bool:
    try:
        config_validator.validate(copy.deepcopy(raw))
    except config_validator.JsonSchemaValueException:
        return False
    return True


@pytest.mark.parametrize("raw", VALID.values(), ids=VALID.keys())
def test_both_validators_accept(raw):
    assert REFERENCE.is_valid(raw)
    assert _generated_accepts(raw)
    from_mapping(raw)


def _dotted(path) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


@pytest.mark.parametrize("raw", INVALID.values(), ids=INVALID.keys())
def test_both_validators_refuse_and_name_the_same_place(raw):
    errors = list(REFERENCE.iter_errors(raw))
    assert errors
    assert not _generated_accepts(raw)
    with pytest.raises(ConfigError) as caught:
        from_mapping(raw)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{CONFIG_PATH}: ")
    assert any(caught.value.key.startswith(_dotted(e.absolute_path)) for e in errors), (caught.value.key, [list(e.absolute_path) for e in errors])


# --- editors, and the cost of a run --------------------------------------------------------


def test_the_repository_config_names_its_schema_for_editors():
    config_file = REPO / CONFIG_PATH
    first = config_file.read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../docs/config.schema.json"
    assert (config_file.parent / first.split("=", 1)[1]).resolve() == REPO / config_schema.SCHEMA_PATH


@pytest.mark.parametrize("root", [REPO, FIXTURE_REPO], ids=["repository", "fixture"])
def test_the_config_files_validate(root):
    assert REFERENCE.is_valid(yaml.safe_load((root / CONFIG_PATH).read_text()))


def test_a_run_does_not_build_the_schema_or_import_jsonschema(repo):
    (repo / "case_studies/meta/good.md").write_text(GOOD)
    probe = (
        "import sys; from bot.cli.main import main; code = main(['check', 'case_studies/meta/good.md']); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'jsonschema' or m in ('bot.core.config_schema', 'bot.core.config_docs')), code)"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=repo, capture_output=True, text=True)
    assert result.stdout == "[] 0\n", result.stderr


def test_the_validator_s_exceptions_take_what_fastjsonschema_s_take():
    """The generated validator raises bot.core.schema_errors' classes the way fastjsonschema raises its own."""
    import inspect

    import fastjsonschema

    from bot.core import schema_errors

    for name in ("JsonSchemaValueException", "JsonSchemaValuesException"):
        theirs, ours = getattr(fastjsonschema, name), getattr(schema_errors, name)
        assert list(inspect.signature(ours.__init__).parameters) == list(inspect.signature(theirs.__init__).parameters)
        assert [p.default for p in inspect.signature(ours.__init__).parameters.values()] == [
            p.default for p in inspect.signature(theirs.__init__).parameters.values()]
    assert config_validator.JsonSchemaValueException is schema_errors.JsonSchemaValueException
    assert "fastjsonschema" not in config_schema.validator_code().split('"""', 2)[2]  # nothing of it at run time
