"""The challenge-bot command line, run in throwaway repositories: exit codes, formats, files written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.core.linter import Finding
from bot.core import formats
from helpers import GOOD

from conftest import REPO


@pytest.fixture
def run(repo, monkeypatch, capsys):
    monkeypatch.chdir(repo)

    def invoke(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def _write(repo: Path, rel: str, text: str | bytes) -> Path:
    path = repo / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


BROKEN = GOOD.replace("## Bugs/Missteps", "## Bugs / Missteps").replace("## Learnings\n\nKeep checkpoints close together.\n", "")


def test_check_clean_repository(run, repo):
    _write(repo, "case_studies/meta/good.md", GOOD)
    assert run("index")[0] == 0
    assert run("check") == (0, "", "All clear: 1 file checked, no problems found.\n")


def test_check_reports_errors_in_text(run, repo):
    _write(repo, "case_studies/meta/broken.md", BROKEN)
    code, out, err = run("check", "case_studies/meta/broken.md")
    assert code == 1
    assert out.splitlines() == [
        "case_studies/meta/broken.md:21: CS208 section-name-variant heading '## Bugs / Missteps' should be exactly '## Bugs/Missteps'",
        "case_studies/meta/broken.md:24: CS203 missing-section missing section '## Learnings'",
    ]
    assert err == "Found 2 errors (1 file checked).\n"


def test_check_without_paths_includes_the_index(run, repo):
    _write(repo, "case_studies/meta/good.md", GOOD)
    code, out, _ = run("check")
    assert code == 1
    assert out.splitlines() == [
        "README.md:3: CS401 index-out-of-date the case-study index in README.md is out of date; run `challenge-bot index` to regenerate it",
        "case_studies/index.json:1: CS401 index-out-of-date case_studies/index.json is missing; run `challenge-bot index` to regenerate it",
    ]


def test_check_json_format(run, repo):
    _write(repo, "case_studies/meta/broken.md", BROKEN)
    _write(repo, "case_studies/meta/good.md", GOOD)
    code, out, err = run("check", "--format", "json", "case_studies/meta")
    assert code == 1 and err == ""
    assert json.loads(out) == {
        "findings": [
            {
                "path": "case_studies/meta/broken.md",
                "line": 21,
                "code": "CS208",
                "name": "section-name-variant",
                "severity": "error",
                "message": "heading '## Bugs / Missteps' should be exactly '## Bugs/Missteps'",
                "fixable": True,
            },
            {
                "path": "case_studies/meta/broken.md",
                "line": 24,
                "code": "CS203",
                "name": "missing-section",
                "severity": "error",
                "message": "missing section '## Learnings'",
                "fixable": False,
            },
        ],
        "files_checked": 2,
    }


def test_check_github_format(run, repo):
    _write(repo, "case_studies/meta/nosources.md", GOOD.replace("  - https://example.org/paper\n", "").replace("sources:\n", ""))
    code, out, _ = run("check", "--format", "github", "case_studies/meta/nosources.md")
    assert code == 0  # a warning does not fail
    assert out == (
        "::warning file=case_studies/meta/nosources.md,line=1,title=CS303 missing-sources::no sources listed; add the "
        "papers, logbooks or issues this rests on under 'sources:' in the front matter\n"
    )


def test_github_format_escapes_data_and_properties():
    finding = Finding("case_studies/a,b:c.md", 3, "CS207", "unknown-section", "error", "100% sure\r\nnext: line, more")
    assert formats.github([finding]) == [
        "::error file=case_studies/a%2Cb%3Ac.md,line=3,title=CS207 unknown-section::100%25 sure%0D%0Anext: line, more"
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check", "nowhere.md"], "challenge-bot: error: no such file or directory: nowhere.md\n"),
        (["check", "templates"], "challenge-bot: error: no case studies found under templates\n"),
        (["check", "--format", "xml"], "challenge-bot: error: argument --format: invalid choice: 'xml' (choose from 'text', 'github', 'json') (see `challenge-bot check --help`)\n"),
        (["frobnicate"], "challenge-bot: error: argument COMMAND: invalid choice: 'frobnicate' (choose from 'check', 'new', 'index', 'rules', 'serve', 'worker', 'report', 'publish-index') (see `challenge-bot --help`)\n"),
        (["new", "mistral", "A title"], "challenge-bot: error: unknown model 'mistral'; known models: meta, huggingface, bloomberg\n"),
        (["new", "meta", "!!!"], "challenge-bot: error: the title must be one line of text with at least one letter or digit\n"),
        (["new", "meta", "Title", "--slug", "Bad_Slug"], "challenge-bot: error: the file name 'Bad_Slug' must be lowercase kebab-case, e.g. loss-spikes-at-80b\n"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(run, argv, message):
    assert run(*argv) == (2, "", message)


def test_broken_config_is_exit_2(run, repo):
    (repo / ".github/challenge-bot.yml").write_text("sections: []\nmodels: {}\ntags: []\n")
    assert run("check") == (2, "", "challenge-bot: error: .github/challenge-bot.yml: sections: must be a non-empty list, got a list\n")


def test_no_config_anywhere_is_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 2
    assert capsys.readouterr().err == (
        f"challenge-bot: error: no .github/challenge-bot.yml found in {tmp_path} or any folder above it; "
        "run challenge-bot inside the repository\n"
    )


def test_huge_binary_and_non_utf8_files(run, repo):
    with open(repo / "case_studies/meta/huge.md", "wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: 50 MB without writing them
    _write(repo, "case_studies/meta/binary.md", b"\x00\x01\x02")
    _write(repo, "case_studies/meta/latin.md", GOOD.encode().replace(b"spiked", b"spik\xe9d"))
    code, out, _ = run("check", "case_studies/meta")
    assert code == 1
    assert out.splitlines() == [
        "case_studies/meta/binary.md:1: CS304 not-utf8 the file contains NUL bytes: it looks binary, not Markdown text",
        "case_studies/meta/huge.md:1: CS305 file-too-large the file is 50 MiB; the limit is 256 KiB (limits.max_file_size)",
        "case_studies/meta/latin.md:11: CS304 not-utf8 the file is not valid UTF-8 (byte 0xe9 at offset 121)",
    ]


def test_fix_round_trip_keeps_crlf(run, repo):
    text = BROKEN.replace("## Main Challenge", "## main challenge").replace("\n", "\r\n")
    path = _write(repo, "case_studies/meta/fixme.md", text)
    code, out, err = run("check", "--fix", "case_studies/meta/fixme.md")
    assert err.splitlines()[:3] == [
        "case_studies/meta/fixme.md:9: fixed: '## main challenge' -> '## Main Challenge'",
        "case_studies/meta/fixme.md:21: fixed: '## Bugs / Missteps' -> '## Bugs/Missteps'",
        "case_studies/meta/fixme.md:24: fixed: inserted '## Learnings' at the end; fill it in",
    ]
    fixed = path.read_bytes()
    assert b"\r\n" in fixed and b"\n" not in fixed.replace(b"\r\n", b"")
    assert fixed.decode().endswith("## Learnings\r\n\r\n_Give the lessons an engineer fighting the same problem today should take away: what to monitor, what to check first, what to decide before launch._\r\n")
    # The stub carries the template's guidance, so the only thing left is to fill it in.
    assert (code, out.splitlines()) == (1, ["case_studies/meta/fixme.md:27: CS209 template-placeholder template guidance left in; replace it with your own text"])
    assert run("check", "--fix", "case_studies/meta/fixme.md")[1:] == (out, "Found 1 error (1 file checked).\n")


def test_fix_inserts_missing_sections_in_order(run, repo):
    text = "---\nsources: [https://example.org]\n---\n\n# T\n\n## Main Challenge\n\nA.\n\n## Learnings\n\nE.\n"
    path = _write(repo, "case_studies/meta/partial.md", text)
    run("check", "--fix", "case_studies/meta/partial.md")
    headings = [line for line in path.read_text().splitlines() if line.startswith("## ")]
    assert headings == ["## Main Challenge", "## Solution that Did Not Work", "## Solution that Worked", "## Bugs/Missteps", "## Learnings"]


def test_new_writes_the_template_and_refuses_to_overwrite(run, repo):
    code, out, _ = run("new", "huggingface", "Loss spikes at 80B: the Rollercoaster!")
    assert code == 0
    assert out.splitlines()[0] == "Created case_studies/huggingface/loss-spikes-at-80b-the-rollercoaster.md."
    path = repo / "case_studies/huggingface/loss-spikes-at-80b-the-rollercoaster.md"
    text = path.read_text()
    assert text == (REPO / "templates/case-study.md").read_text().replace("{title}", "Loss spikes at 80B: the Rollercoaster!")
    before = path.read_bytes()
    assert run("new", "huggingface", "Loss spikes at 80B: the rollercoaster") == (
        2, "", "challenge-bot: error: case_studies/huggingface/loss-spikes-at-80b-the-rollercoaster.md already exists; pick another title or pass --slug\n"
    )
    assert path.read_bytes() == before
    code, out, _ = run("check", str(path))
    assert code == 1
    assert [line.split(": ", 1)[1].split(" ", 1)[0] for line in out.splitlines()] == ["CS303"] + ["CS209"] * 5
    assert list(path.parent.glob(".*tmp")) == []


def test_index_is_written_once_and_idempotent(run, repo):
    _write(repo, "case_studies/meta/good.md", GOOD)
    assert run("index") == (0, "Updated README.md and case_studies/index.json.\n", "")
    readme, index_json = (repo / "README.md").read_bytes(), (repo / "case_studies/index.json").read_bytes()
    mtimes = [(repo / p).stat().st_mtime_ns for p in ("README.md", "case_studies/index.json")]
    assert run("index") == (0, "The index is up to date.\n", "")
    assert [(repo / p).stat().st_mtime_ns for p in ("README.md", "case_studies/index.json")] == mtimes
    assert (repo / "README.md").read_bytes() == readme and (repo / "case_studies/index.json").read_bytes() == index_json
    assert run("index", "--check") == (0, "", "The index is up to date.\n")


def test_index_check_shows_a_diff_when_stale(run, repo):
    _write(repo, "case_studies/meta/good.md", GOOD)
    run("index")
    _write(repo, "case_studies/bloomberg/second.md", GOOD.replace("A good case study", "Another one"))
    code, out, err = run("index", "--check")
    assert code == 1 and err == "The index is out of date; run `challenge-bot index` to regenerate it.\n"
    assert "+| [Another one](case_studies/bloomberg/second.md) | The loss spiked at step 14,500. | `loss-spikes` |" in out.splitlines()
    assert out.startswith("--- a/README.md\n+++ b/README.md\n")


def test_index_without_markers(run, repo):
    (repo / "README.md").write_text("# No markers\n")
    code, out, _ = run("index")
    assert code == 1
    assert out == (
        "README.md:1: CS402 index-markers-missing README lacks the index markers; add the lines "
        "<!-- case-study-index:start --> and <!-- case-study-index:end --> where the index should go\n"
    )
    assert (repo / "README.md").read_text() == "# No markers\n"


def test_rules_markdown_matches_the_committed_docs(run):
    code, out, _ = run("rules", "--markdown")
    assert code == 0
    assert out == (REPO / "docs/rules.md").read_text(), "docs/rules.md is stale: run `challenge-bot rules --markdown > docs/rules.md`"


def test_repository_itself_is_clean():
    result = subprocess.run([sys.executable, "-m", "bot", "check"], cwd=REPO, capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (0, "")


def test_checking_one_file_imports_nothing_heavy(repo):
    _write(repo, "case_studies/meta/good.md", GOOD)
    probe = (
        "import sys; from bot.cli.main import main; code = main(['check', 'case_studies/meta/good.md']); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'flask', 'github', 'requests', 'werkzeug', 'jwt'}), code)"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=repo, capture_output=True, text=True)
    assert result.stdout == "[] 0\n"


def test_serve_and_worker_without_a_secret_are_usage_errors(run, monkeypatch):
    monkeypatch.delenv("GITHUB_WEBHOOK_SECRET", raising=False)
    message = "challenge-bot: error: GITHUB_WEBHOOK_SECRET is not set: the bot refuses to start without a secret to verify webhooks\n"
    assert run("serve") == (2, "", message)
    assert run("worker", "--nice", "0") == (2, "", message)


def test_an_unwritable_summary_is_a_usage_error(run, repo):
    _write(repo, "case_studies/meta/good.md", GOOD)
    code, out, err = run("check", "--summary", "no/such/dir/summary.md", "case_studies/meta/good.md")
    assert (code, err.splitlines()[-1]) == (2, "challenge-bot: error: no/such/dir/summary.md: No such file or directory")


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def _commit_all(root: Path, message: str) -> None:
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", message)


def test_changed_since_checks_what_changed_or_everything_when_the_rules_change(run, repo):
    _write(repo, "case_studies/meta/old.md", BROKEN)  # already broken on the base branch
    _git(repo, "init", "-q")
    _commit_all(repo, "base")
    _write(repo, "case_studies/meta/new.md", GOOD)
    _write(repo, "docs/other.md", "# not a case study\n")
    _commit_all(repo, "a pull request")
    assert run("check", "--changed-since", "HEAD^1") == (0, "", "All clear: 1 file checked, no problems found.\n")
    (repo / ".github/challenge-bot.yml").write_text((repo / ".github/challenge-bot.yml").read_text().replace("  - model-architecture\n", "  - model-architecture\n  - new-tag\n"))
    _commit_all(repo, "a rule change")
    code, out, err = run("check", "--changed-since", "HEAD^1")
    assert (code, err) == (1, "Found 2 errors (2 files checked).\n")
    assert [line.split(":")[0] for line in out.splitlines()] == ["case_studies/meta/old.md", "case_studies/meta/old.md"]
    assert run("check", "--changed-since", "nonexistent-ref")[0] == 2
