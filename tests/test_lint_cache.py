"""Whole-repository checks made fast, never different: the result cache (`check --cache-dir`),
the index rendered in forked processes, and the JSON writer of index.json.

Every test compares the fast way with the plain one; none measures a time (bench/lint.py does).
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.core import jsontext
from bot.core.findings import CheckedFile, Finding, Fix
from bot.core.ids import Redirects, read_redirects
from bot.core.index import Origin, Record
from bot.core.linter import expected_index
from bot.local import indexrender, resultcache, workspace
from helpers import GOOD


@pytest.fixture
def run(repo, monkeypatch, capsys):
    monkeypatch.chdir(repo)

    def invoke(*argv: str) -> tuple[int, str]:
        code = main(list(argv))
        out, _ = capsys.readouterr()
        return code, out

    return invoke


def _studies(repo: Path, count: int = 6) -> None:
    for i in range(count):
        text = GOOD.replace("PC-0001", f"PC-{i + 1:04d}")
        if i % 3 == 1:
            text = text.replace("## Bugs/Missteps", "## Bugs / Missteps")  # CS208, with a fix
        if i % 3 == 2:  # CS208 again, hidden by a disable comment
            text = text.replace("## Bugs/Missteps", "## Bugs / Missteps").replace("\n## Learnings\n", "\n<!-- challenge-bot: disable=CS208 -->\n\n## Learnings\n")
        (repo / "case_studies" / ("meta", "huggingface", "bloomberg")[i % 3] / f"study-{i}.md").write_text(text)


def _entries(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.rglob("*.json"))


def test_a_warm_run_reports_exactly_what_a_cold_run_does(run, repo, tmp_path):
    _studies(repo)
    assert run("index")[0] == 0
    cold = run("check", "--format", "json")
    cache_dir = tmp_path / "cache"
    first = run("check", "--format", "json", "--cache-dir", str(cache_dir))
    entries = _entries(cache_dir)
    warm = run("check", "--format", "json", "--cache-dir", str(cache_dir))
    assert cold == first == warm
    assert len(entries) == 6 + 1  # one per case study, one for the repository rules
    assert _entries(cache_dir) == entries  # the warm run found everything and wrote nothing new
    assert json.loads(warm[1])["findings"]  # a run with findings, suppressed ones too, is cached whole
    assert json.loads(warm[1])["suppressed"]


def test_a_changed_file_config_or_template_is_checked_again(run, repo, tmp_path):
    _studies(repo)
    run("index")
    cache_dir = str(tmp_path / "cache")
    run("check", "--format", "json", "--cache-dir", cache_dir)
    study = repo / "case_studies" / "meta" / "study-0.md"
    study.write_text(study.read_text().replace("## Learnings", "## Lessons"))
    assert run("check", "--format", "json", "--cache-dir", cache_dir) == run("check", "--format", "json")
    config = repo / ".github" / "challenge-bot.yml"
    config.write_text(config.read_text() + "\n# a comment changes no rule, but the bytes: a new fingerprint\n")
    before = len(_entries(tmp_path / "cache"))
    assert run("check", "--format", "json", "--cache-dir", cache_dir) == run("check", "--format", "json")
    assert len(_entries(tmp_path / "cache")) > before


def test_a_check_of_some_paths_uses_the_cache_too(run, repo, tmp_path):
    _studies(repo)
    cache_dir = str(tmp_path / "cache")
    one = "case_studies/huggingface/study-1.md"
    assert run("check", one, "--cache-dir", cache_dir) == run("check", one) == run("check", one, "--cache-dir", cache_dir)
    assert len(_entries(tmp_path / "cache")) == 1


def _corruptions(path: Path, how: int) -> None:
    raw = path.read_bytes()
    digest, _, body = raw.partition(b"\n")
    if how == 0:
        path.write_bytes(raw[: len(raw) // 2])  # truncated
    elif how == 1:
        path.write_bytes(raw.replace(b'"line":', b'"line" :', 1) if b'"line":' in raw else raw[:-1] + b" ")  # changed after the digest
    elif how == 2:
        path.write_bytes(b"not json at all")
    else:
        # A well-formed entry with a matching digest, but the wrong shape: never trusted either.
        payload = json.loads(body)
        if "result" in payload:
            payload["result"]["checked"] = "yes"
        else:
            payload["findings"] = [{"path": 1}]
        body = json.dumps(payload).encode()
        import hashlib  # the test forges a digest on purpose

        path.write_bytes(hashlib.sha256(body).hexdigest().encode() + b"\n" + body)


@pytest.mark.parametrize("how", range(4))
def test_a_corrupt_entry_is_ignored_and_rewritten(run, repo, tmp_path, how):
    _studies(repo)
    run("index")
    cache_dir = tmp_path / "cache"
    cold = run("check", "--format", "json")
    run("check", "--format", "json", "--cache-dir", str(cache_dir))
    for path in _entries(cache_dir):
        _corruptions(path, how)
    assert run("check", "--format", "json", "--cache-dir", str(cache_dir)) == cold
    assert run("check", "--format", "json", "--cache-dir", str(cache_dir)) == cold


def test_an_entry_under_another_key_is_not_used(repo, cfg, tmp_path):
    cache = resultcache.open_cache(tmp_path, cfg)
    a, b = cache.file_key("case_studies/meta/a.md", b"x"), cache.file_key("case_studies/meta/b.md", b"x")
    assert a != b  # the path is part of the key: the same bytes elsewhere are another file
    cache.put(a, CheckedFile("case_studies/meta/a.md"))
    shutil.copy(cache._path(a), cache._path(b).parent.mkdir(parents=True, exist_ok=True) or cache._path(b))
    assert cache.get(a) == CheckedFile("case_studies/meta/a.md")
    assert cache.get(b) is None


def test_an_unwritable_cache_only_costs_time(run, repo, tmp_path):
    _studies(repo, 2)
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would be")
    assert run("check", "--cache-dir", str(blocker)) == run("check")


def test_results_of_every_shape_survive_the_round_trip(cfg, tmp_path):
    cache = resultcache.open_cache(tmp_path, cfg)
    fix = Fix(3, 2, "## Learnings\n\nText.", "insert '## Learnings'")
    finding = Finding("case_studies/meta/a.md", 3, "CS203", "missing-section", "error", "m", fix, "line", None)
    hidden = finding._replace(fix=None, suppressed_by="disable comment on line 9")
    record = Record("meta", "case_studies/meta/a.md", "T", "S.", ("a", "b"), ("https://x",), "PC-0001", ("PC-0002",), Origin(2, (5, 6), "<!-- f -->", 40))
    for checked in (
        CheckedFile("case_studies/meta/a.md", (finding,), record, True, (hidden,)),
        CheckedFile("case_studies/README.md", checked=False),
        CheckedFile("case_studies/meta/b.md", (), record._replace(origin=Origin()), True, ()),
    ):
        key = cache.file_key(checked.path, checked.path.encode())
        cache.put(key, checked)
        assert cache.get(key) == checked
    key = cache.index_key({"a": "b"}, ["x", None], "[]")
    cache.put_findings(key, [finding, hidden])
    assert cache.get_findings(key) == [finding, hidden]


def test_the_fingerprint_follows_the_config_and_the_template(cfg):
    changed_template = cfg._replace(template=cfg.template._replace(text=cfg.template.text + "\nmore\n"))
    fingerprints = {resultcache.fingerprint(c) for c in (cfg, cfg._replace(max_file_size=1), changed_template)}
    fingerprints.add(resultcache.fingerprint(cfg, b"# the file's bytes\n"))
    assert len(fingerprints) == 4
    assert resultcache.fingerprint(cfg) == resultcache.fingerprint(cfg._replace(root=Path("/elsewhere")))


def test_the_fingerprint_follows_the_code_that_decides_results():
    hashed = {p.relative_to(Path(resultcache.bot.__file__).parent).as_posix() for p in resultcache.code_files()}
    assert {"__init__.py", "core/fastblocks.py", "core/rules/structure.py", "local/workspace.py"} <= hashed
    assert not {name for name in hashed if name.startswith(("service/", "github/", "cli/"))}


# --- the index, rendered in forked processes --------------------------------------------------


def _records(cfg, count: int) -> list[Record]:
    rng = random.Random(count)
    models, tags = list(cfg.models), [t.name for t in cfg.tags] + ["not-a-tag"]
    out = []
    for i in range(count):
        related = tuple(rng.sample([f"PC-{j:04d}" for j in range(1, count + 1)], rng.randint(0, 2)))
        footer = None if i % 5 == 0 else f"<!-- case-study-footer:start -->\nold {i}\n<!-- case-study-footer:end -->"
        out.append(Record(
            models[i % len(models)], f"case_studies/{models[i % len(models)]}/s-{i}.md", f"Title {rng.randrange(100)} | [x] {i}",
            f"Summary {i}.", tuple(rng.sample(tags, rng.randint(0, 3))), (f"https://example.org/{i}",), f"PC-{i + 1:04d}", related,
            Origin(2, tuple(range(3, 3 + len(related))), footer, 30 if footer else 0),
        ))  # fmt: skip
    return out


@pytest.mark.parametrize("current", [False, True])
def test_the_index_rendered_in_parallel_is_the_one_rendered_serially(cfg, current):
    records = _records(cfg, indexrender.PARALLEL_THRESHOLD + 50)
    redirects = read_redirects("- {id: PC-9001, from: case_studies/meta/gone.md}\n", cfg.id_prefix)
    readme = "# KB\n\n<!-- case-study-index:start -->\n<!-- case-study-index:end -->\n"
    serial = expected_index(records, readme, cfg, redirects)
    if current:  # the files as generated, and every footer too: nothing travels back but "the same"
        records = [r._replace(origin=r.origin._replace(footer=serial.footers[r.path])) for r in records]
        serial = expected_index(records, readme := serial.readme, cfg, redirects)
    json_text, csv_text = (serial.json, serial.csv) if current else ("{}", None)
    parallel = indexrender.render(records, readme, cfg, redirects, json_text=json_text, csv_text=csv_text)
    assert parallel == serial


def test_each_piece_sends_back_only_what_differs(cfg, monkeypatch):
    """The pieces as the forked processes run them (here in this process, so coverage sees them)."""
    records = _records(cfg, 60)
    readme = "# KB\n\n<!-- case-study-index:start -->\n<!-- case-study-index:end -->\n"
    serial = expected_index(records, readme, cfg)
    monkeypatch.setattr(indexrender, "_INPUT", (records, serial.readme, serial.json, "stale csv", cfg, Redirects()))
    assert indexrender._render("readme") == (None, None)  # the same: nothing travels
    assert indexrender._render("json") is None
    assert indexrender._render("csv") == serial.csv
    both = indexrender._render("footers 0") | indexrender._render("footers 1")
    assert both == {r.path: serial.footers[r.path] for r in records if r.origin.footer != serial.footers[r.path]}
    monkeypatch.setattr(indexrender, "_INPUT", (records, "# no markers\n", serial.json, serial.csv, cfg, Redirects()))
    assert indexrender._render("readme")[0] is None and indexrender._render("readme")[1]


def test_an_index_without_markers_is_reported_the_same_way(cfg):
    records = _records(cfg, indexrender.PARALLEL_THRESHOLD)
    assert indexrender.render(records, "# no markers\n", cfg, Redirects()) == expected_index(records, "# no markers\n", cfg, Redirects())


def test_a_large_tree_read_ahead_and_linted_by_workers_reports_what_one_process_does(run, repo):
    _studies(repo, workspace.PARALLEL_THRESHOLD + 20)
    assert run("index")[0] == 0
    (repo / "case_studies" / "index.csv").write_text("stale\n")
    parallel = run("check", "--format", "json")
    assert parallel == run("check", "--format", "json", "--jobs", "1")
    code, out = parallel
    assert (code, json.loads(out)["index"]["stale"]) == (1, ["case_studies/index.csv"])  # 1: _studies writes CS208 errors


def test_a_generated_file_that_cannot_be_read_is_the_same_error_read_ahead_or_not(repo, monkeypatch, capsys):
    _studies(repo, workspace.PARALLEL_THRESHOLD + 20)
    (repo / "README.md").unlink()
    os.mkfifo(repo / "README.md")
    monkeypatch.chdir(repo)
    answers = []
    for jobs in ("0", "1"):
        code = main(["check", "--jobs", jobs])
        answers.append((code, capsys.readouterr().err))
    assert answers[0] == answers[1] == (2, f"challenge-bot: error: cannot read {repo / 'README.md'}: it is a named pipe, not a regular file\n")


# --- index.json's writer ----------------------------------------------------------------------


def _value(rng: random.Random, depth: int = 0):
    r = rng.random()
    if depth > 3 or r < 0.3:
        return rng.choice(["", 'a"b\\c\n\u2028é😀\x00\x1f', 0, -5, 10**20, True, False, None, "plain", 1.5, float("nan")])
    if r < 0.45:
        return [rng.choice(["x", "é\n", ""]) for _ in range(rng.randint(0, 4))]
    if r < 0.65:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if r < 0.7:
        return tuple(_value(rng, depth + 1) for _ in range(rng.randint(0, 3)))
    if r < 0.72:
        return {1: "an int key"}
    return {rng.choice(["k", "é", "a\nb", '"q']) + str(i): _value(rng, depth + 1) for i in range(rng.randint(0, 4))}


def test_index_json_is_written_as_json_dumps_writes_it():
    rng = random.Random(20261130)
    for _ in range(5000):
        value = _value(rng)
        assert jsontext.dumps(value) == json.dumps(value, indent=2, ensure_ascii=False)
