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

DOCS = "https://github.com/pretraining-challenges/pretraining-challenges/blob/main/docs/rules.md"


def _write(repo: Path, rel: str, text: str | bytes) -> Path:
    path = repo / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


# The template's guidance for the last section, which --fix inserts with the heading.
GUIDANCE_LEARNINGS = (Path(__file__).parent / "fixtures/repo/templates/case-study.md").read_text().rstrip("\n").rsplit("\n", 1)[1]
BROKEN = GOOD.replace("## Bugs/Missteps", "## Bugs / Missteps").replace("## Learnings\n\nKeep checkpoints close together.\n", "")


def test_check_clean_repository(run, repo):
    _write(repo, "case_studies/meta/good.md", GOOD)
    assert run("index")[0] == 0
    assert run("check") == (0, "", "All clear: 1 file checked, no problems found.\n")


def test_check_reports_errors_in_text(run, repo):
    _write(repo, "case_studies/meta/broken.md", BROKEN)
    code, out, err = run("check", "case_studies/meta/broken.md")
    assert code == 1
    assert out.splitlines() == [  # severity, [*] when --fix repairs it, and the rule's docs, as ruff prints them
        f"case_studies/meta/broken.md:22: error CS208 section-name-variant [*] heading '## Bugs / Missteps' should be exactly '## Bugs/Missteps' ({DOCS}#cs208-section-name-variant)",
        f"case_studies/meta/broken.md:25: error CS203 missing-section [*] missing section '## Learnings' ({DOCS}#cs203-missing-section)",
    ]
    assert err == "[*] 2 fixable with `challenge-bot check --fix`.\nFound 2 errors (1 file checked).\n"


def test_quiet_keeps_each_finding_to_a_short_line_and_nothing_else(run, repo):
    _write(repo, "case_studies/meta/broken.md", BROKEN)
    assert run("check", "--quiet", "case_studies/meta/broken.md") == (1, (
        "case_studies/meta/broken.md:22: error CS208 section-name-variant [*] heading '## Bugs / Missteps' should be exactly '## Bugs/Missteps'\n"
        "case_studies/meta/broken.md:25: error CS203 missing-section [*] missing section '## Learnings'\n"
    ), "")


def test_check_on_a_branch_says_how_the_index_will_change_without_failing(run, repo):
    """Contributors never regenerate the index (the bot does after merge): a stale index is information."""
    _write(repo, "case_studies/meta/good.md", GOOD)
    assert run("index")[0] == 0
    _write(repo, "case_studies/bloomberg/new.md", GOOD.replace("A good case study", "A new one").replace("PC-0001", "PC-0002"))
    _write(repo, "case_studies/meta/good.md", GOOD.replace("A good case study", "A better title"))
    code, out, err = run("check")
    assert (code, out) == (0, "")
    assert err == (
        "Note: the index is not regenerated on this branch, and need not be: the bot regenerates it when the branch merges.\n"
        "When it merges, the index changes:\n"
        "  added    case_studies/bloomberg/new.md: A new one\n"
        "  updated  case_studies/meta/good.md: A better title\n"
        "Files it will regenerate: README.md, case_studies/index.csv, case_studies/index.json, case_studies/bloomberg/new.md (footer), case_studies/meta/good.md (footer).\n"
        "(`challenge-bot index` regenerates them now; `challenge-bot check --index` and `challenge-bot index --check` fail while they are stale.)\n"
        "All clear: 2 files checked, no problems found.\n"
    )
    data = json.loads(run("check", "--format", "json")[1])
    assert data["findings"] == [] and data["index"]["changes"] == [
        {"change": "added", "path": "case_studies/bloomberg/new.md", "title": "A new one"},
        {"change": "updated", "path": "case_studies/meta/good.md", "title": "A better title"},
    ]


def test_check_with_index_fails_on_a_stale_index(run, repo):
    _write(repo, "case_studies/meta/good.md", GOOD)
    code, out, _ = run("check", "--index", "--quiet")
    assert code == 1
    assert out.splitlines() == [
        "README.md:3: error CS401 index-out-of-date the case-study index in README.md is out of date; run `challenge-bot index` to regenerate it",
        "case_studies/index.csv:1: error CS401 index-out-of-date case_studies/index.csv is missing; run `challenge-bot index` to regenerate it",
        "case_studies/index.json:1: error CS401 index-out-of-date case_studies/index.json is missing; run `challenge-bot index` to regenerate it",
        "case_studies/meta/good.md:1: error CS401 index-out-of-date the generated footer (id, tags, related case studies) is missing; run `challenge-bot index` to regenerate it",
    ]
    assert run("index")[0] == 0
    assert run("check", "--index") == (0, "", "All clear: 1 file checked, no problems found.\n")
    assert run("check", "--index", "case_studies/meta/good.md") == (
        2, "", "challenge-bot: error: --index checks the whole repository: give neither paths nor --changed-since\n"
    )


def test_check_json_format(run, repo):
    _write(repo, "case_studies/meta/broken.md", BROKEN)
    _write(repo, "case_studies/meta/good.md", GOOD)
    code, out, err = run("check", "--format", "json", "case_studies/meta")
    assert code == 1 and err == ""
    assert json.loads(out) == {
        "findings": [
            {
                "path": "case_studies/meta/broken.md",
                "line": 22,
                "code": "CS208",
                "name": "section-name-variant",
                "severity": "error",
                "message": "heading '## Bugs / Missteps' should be exactly '## Bugs/Missteps'",
                "fixable": True,
                "fix": {"start_line": 22, "end_line": 22, "replacement": "## Bugs/Missteps", "description": "'## Bugs / Missteps' -> '## Bugs/Missteps'"},
                "line_text": "## Bugs / Missteps",
            },
            {
                "path": "case_studies/meta/broken.md",
                "line": 25,
                "code": "CS203",
                "name": "missing-section",
                "severity": "error",
                "message": "missing section '## Learnings'",
                "fixable": True,
                "fix": {
                    "start_line": 26,
                    "end_line": 25,
                    "replacement": "## Learnings\n\n" + GUIDANCE_LEARNINGS,  # the last line is blank already
                    "description": "inserted '## Learnings' at the end; fill it in",
                },
                "line_text": "",
            },
        ],
        "files_checked": 2,
        "suppressed": [],
        "ignored_rules": [],
    }


def test_suppressed_findings_are_listed_in_json_with_what_hid_them(run, repo):
    nosources = GOOD.replace("  - https://example.org/paper\n", "").replace("sources:\n", "")
    _write(repo, "case_studies/meta/comment.md", nosources.replace("# ", "<!-- challenge-bot: disable=CS303 -->\n\n# ", 1))
    _write(repo, "case_studies/huggingface/glob.md", nosources)
    config = repo / ".github" / "challenge-bot.yml"
    config.write_text(config.read_text().replace("  ignore: []", '  ignore: [CS209]\n  per_path_ignores:\n    "case_studies/huggingface/*": [CS303]'))
    code, out, err = run("check", "--format", "json", "case_studies")
    data = json.loads(out)
    assert (code, data["findings"], data["ignored_rules"]) == (0, [], ["CS209"])
    assert [(f["path"], f["code"], f["suppressed_by"]) for f in data["suppressed"]] == [
        ("case_studies/huggingface/glob.md", "CS303", "rules.per_path_ignores: case_studies/huggingface/*"),
        ("case_studies/meta/comment.md", "CS303", "disable comment on line 6"),
    ]


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
    # A line break cannot end the command early: it is shown as the two characters \\r and \\n.
    assert formats.github([finding]) == [
        "::error file=case_studies/a%2Cb%3Ac.md,line=3,title=CS207 unknown-section::100%25 sure\\r\\nnext: line, more"
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check", "nowhere.md"], "challenge-bot: error: no such file or directory: nowhere.md\n"),
        (["check", "templates"], "challenge-bot: error: no case studies found under templates\n"),
        (["check", "--format", "xml"], "challenge-bot: error: argument --format: invalid choice: 'xml' (choose from 'text', 'github', 'json') (see `challenge-bot check --help`)\n"),
        (["frobnicate"], "challenge-bot: error: argument COMMAND: invalid choice: 'frobnicate' (choose from 'check', 'new', 'index', 'next-id', 'rules', 'config', 'figures', 'site', 'serve', 'worker', 'store', 'report', 'comment-command', 'doctor', 'publish-index') (see `challenge-bot --help`)\n"),
        (["new", "mistral", "A title"], "challenge-bot: error: unknown model 'mistral'; known models: meta, huggingface, bloomberg\n"),
        (["new", "meta", "!!!"], "challenge-bot: error: the title must be one line of text with at least one letter or digit\n"),
        (["new", "meta", "Title", "--slug", "Bad_Slug"], "challenge-bot: error: the file name 'Bad_Slug' must be lowercase kebab-case, e.g. loss-spikes-at-80b\n"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(run, argv, message):
    assert run(*argv) == (2, "", message)


def test_broken_config_is_exit_2(run, repo):
    (repo / ".github/challenge-bot.yml").write_text("sections: []\nmodels: {}\ntags: []\n")
    assert run("check") == (2, "", "challenge-bot: error: .github/challenge-bot.yml: sections: must be a non-empty list, got an empty list\n")


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
    code, out, _ = run("check", "--quiet", "case_studies/meta")
    assert code == 1
    assert out.splitlines() == [
        "case_studies/meta/binary.md:1: error CS304 not-utf8 the file contains NUL bytes: it looks binary, not Markdown text",
        "case_studies/meta/huge.md:1: error CS305 file-too-large the file is 50 MiB; the limit is 256 KiB (limits.max_file_size)",
        "case_studies/meta/latin.md:12: error CS304 not-utf8 the file is not valid UTF-8 (byte 0xe9 at offset 133)",
    ]


def test_fix_round_trip_keeps_crlf(run, repo):
    text = BROKEN.replace("## Main Challenge", "## main challenge").replace("\n", "\r\n")
    path = _write(repo, "case_studies/meta/fixme.md", text)
    code, out, err = run("check", "--fix", "--quiet", "case_studies/meta/fixme.md")
    assert err.splitlines()[:3] == [
        "case_studies/meta/fixme.md:10: fixed: '## main challenge' -> '## Main Challenge'",
        "case_studies/meta/fixme.md:22: fixed: '## Bugs / Missteps' -> '## Bugs/Missteps'",
        "case_studies/meta/fixme.md:25: fixed: inserted '## Learnings' at the end; fill it in",
    ]
    fixed = path.read_bytes()
    assert b"\r\n" in fixed and b"\n" not in fixed.replace(b"\r\n", b"")
    assert fixed.decode().endswith("## Learnings\r\n\r\n_Give the lessons an engineer fighting the same problem today should take away: what to monitor, what to check first, what to decide before launch._\r\n")
    # The stub carries the template's guidance, so the only thing left is to fill it in.
    assert (code, out.splitlines()) == (1, ["case_studies/meta/fixme.md:28: error CS209 template-placeholder template guidance left in; replace it with your own text"])
    assert run("check", "--fix", "case_studies/meta/fixme.md")[2] == "Found 1 error (1 file checked).\n"


def test_fix_inserts_missing_sections_in_order(run, repo):
    text = "---\nsources: [https://example.org]\n---\n\n# T\n\n## Main Challenge\n\nA.\n\n## Learnings\n\nE.\n"
    path = _write(repo, "case_studies/meta/partial.md", text)
    run("check", "--fix", "case_studies/meta/partial.md")
    headings = [line for line in path.read_text().splitlines() if line.startswith("## ")]
    assert headings == ["## Main Challenge", "## Solution that Did Not Work", "## Solution that Worked", "## Bugs/Missteps", "## Learnings"]


def test_new_writes_the_template_and_refuses_to_overwrite(run, repo):
    code, out, _ = run("new", "huggingface", "Loss spikes at 80B: the Rollercoaster!")
    assert code == 0
    assert out.splitlines()[0] == "Created case_studies/huggingface/loss-spikes-at-80b-the-rollercoaster.md, id PC-0001."
    path = repo / "case_studies/huggingface/loss-spikes-at-80b-the-rollercoaster.md"
    text = path.read_text()
    template = (REPO / "templates/case-study.md").read_text().replace("{title}", "Loss spikes at 80B: the Rollercoaster!")
    assert text == "---\nid: PC-0001\n" + template.removeprefix("---\n")
    before = path.read_bytes()
    assert run("new", "huggingface", "Loss spikes at 80B: the rollercoaster") == (
        2, "", "challenge-bot: error: case_studies/huggingface/loss-spikes-at-80b-the-rollercoaster.md already exists; pick another title or pass --slug\n"
    )
    assert path.read_bytes() == before
    code, out, _ = run("check", str(path))
    assert code == 1
    # The template's `tags: []` and empty `sources` are warnings to fill in; the guidance is an error.
    assert [line.split(": ", 1)[1].split(" ")[:2] for line in out.splitlines()] == [["warning", "CS310"], ["warning", "CS303"]] + [["error", "CS209"]] * 5
    assert list(path.parent.glob(".*tmp")) == []


def test_index_is_written_once_and_idempotent(run, repo):
    _write(repo, "case_studies/meta/good.md", GOOD)
    assert run("index") == (0, "Updated README.md, case_studies/index.json, case_studies/index.csv and case_studies/meta/good.md.\n", "")
    generated = ("README.md", "case_studies/index.json", "case_studies/index.csv", "case_studies/meta/good.md")
    contents = [(repo / p).read_bytes() for p in generated]
    mtimes = [(repo / p).stat().st_mtime_ns for p in generated]
    assert run("index") == (0, "The index is up to date.\n", "")
    assert [(repo / p).stat().st_mtime_ns for p in generated] == mtimes
    assert [(repo / p).read_bytes() for p in generated] == contents
    assert run("index", "--check") == (0, "", "The index is up to date.\n")


def test_index_check_shows_a_diff_when_stale(run, repo):
    _write(repo, "case_studies/meta/good.md", GOOD)
    run("index")
    _write(repo, "case_studies/bloomberg/second.md", GOOD.replace("A good case study", "Another one").replace("PC-0001", "PC-0002"))
    code, out, err = run("index", "--check")
    assert code == 1 and err == "The index is out of date; run `challenge-bot index` to regenerate it.\n"
    assert "+| [Another one](case_studies/bloomberg/second.md) | The loss spiked at step 14,500. | [`loss-spikes`](#loss-spikes) |" in out.splitlines()
    assert "+**Id:** `PC-0002` · **Tags:** [`loss-spikes`](../../README.md#loss-spikes)" in out.splitlines()
    assert out.startswith("--- a/README.md\n+++ b/README.md\n")


def test_index_without_markers(run, repo):
    (repo / "README.md").write_text("# No markers\n")
    code, out, _ = run("index")
    assert code == 1
    assert out == (
        "README.md:1: error CS402 index-markers-missing README lacks the index markers; add the lines "
        "<!-- case-study-index:start --> and <!-- case-study-index:end --> where the index should go"
        " (https://github.com/pretraining-challenges/pretraining-challenges/blob/main/docs/rules.md#cs402-index-markers-missing)\n"
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
    (repo / ".github/challenge-bot.yml").write_text((repo / ".github/challenge-bot.yml").read_text().replace("  - name: rollback\n", "  - name: new-tag\n    group: cause\n    definition: A new kind.\n  - name: rollback\n"))
    _commit_all(repo, "a rule change")
    code, out, err = run("check", "--changed-since", "HEAD^1")
    assert (code, err) == (1, "[*] 2 fixable with `challenge-bot check --fix`.\nFound 2 errors (2 files checked).\n")
    assert [line.split(":")[0] for line in out.splitlines()] == ["case_studies/meta/old.md", "case_studies/meta/old.md"]
    assert run("check", "--changed-since", "nonexistent-ref")[0] == 2


def test_a_reader_that_goes_away_ends_the_command_quietly():
    """`challenge-bot rules --markdown | head -1`: the pipe closes before the text is written."""
    script = "import sys; from bot.cli.main import main; sys.exit(main(['rules', '--markdown']) or main(['rules', '--markdown']))"
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(15) == b"# challenge-bot"  # the first bytes arrive; then the reader is gone
    proc.stdout.close()
    with proc.stderr:
        assert (proc.wait(30), proc.stderr.read()) == (1, b"")


def _choices(parser) -> list[str]:
    sub = next(a for a in parser._actions if a.dest == "command")
    return list(sub.choices)


def test_the_github_commands_are_built_only_when_no_local_command_is_named():
    from bot.cli.main import build_parser

    everything = _choices(build_parser())
    local = ["check", "new", "index", "next-id", "rules", "config", "figures", "site"]
    assert everything[: len(local)] == local and "doctor" in everything and "serve" in everything
    assert _choices(build_parser(["--config", "check", "check", "x.md"])) == local  # --config takes a value
    assert _choices(build_parser(["doctor"])) == everything
    assert _choices(build_parser(["--version"])) == everything
    assert _choices(build_parser(["nonsense"])) == everything  # the error lists every command


def test_help_is_as_wide_as_argparse_makes_it(monkeypatch, capsys):
    """The width is found without shutil, and comes out as shutil's would."""
    import argparse

    from bot.cli.main import build_parser

    monkeypatch.setenv("COLUMNS", "52")
    ours = build_parser().format_help()
    plain = build_parser()
    plain._get_formatter = lambda: argparse.HelpFormatter(prog=plain.prog)  # argparse's own: width from shutil
    assert ours == plain.format_help()
    assert max(len(line) for line in ours.splitlines()) <= 50
