"""`check` on a tree built to hurt it: links out of the repository, /dev/zero, a FIFO, a socket,
a sparse file of gigabytes, names with a newline and a right-to-left override.

The CLI runs in a subprocess under `ulimit -v` (memory) and a timeout: reading /dev/zero would
exhaust the memory, opening the FIFO would wait forever, and either fails the test. Nothing
outside the repository may reach the output, and `--fix` may not turn a link into a file.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bot.core.context import FIFO, REGULAR, SYMLINK_OUT
from bot.local import workspace
from helpers import GOOD

MEMORY_KB = 700_000  # enough for Python and the bot several times over; far less than /dev/zero or the sparse file
TIMEOUT = 60  # seconds: a FIFO opened for reading would block forever
SECRET = "TOP SECRET, outside the repository"
NEWLINE_NAME = "evil\n::error file=README.md,line=1::forged.md"
RLO_NAME = "cod\u202egnp.md"  # shows as "codpng.md" reversed: "cod" + "dm.png"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs, sockets and ulimit are POSIX")


def _cli(repo: Path, *argv: str) -> subprocess.CompletedProcess:
    command = f"ulimit -v {MEMORY_KB}; exec \"$0\" -m bot \"$@\""
    env = {**os.environ, "GITHUB_SHA": "a" * 40}  # the commit a --result names
    return subprocess.run(["bash", "-c", command, sys.executable, *argv], cwd=repo, capture_output=True, timeout=TIMEOUT, env=env)


@pytest.fixture
def hostile(repo: Path, tmp_path_factory) -> Path:
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.md").write_text(GOOD.replace("The loss spiked", SECRET).replace("## Learnings", "## Lessons"))
    (outside / "folder").mkdir()
    (outside / "folder" / "inner.md").write_text(SECRET)
    meta = repo / "case_studies" / "meta"
    (meta / "good.md").write_text(GOOD)
    (repo / "shared").mkdir()
    (repo / "shared" / "linked.md").write_text(GOOD.replace("A good case study", "Linked from inside"))
    (meta / "link-in.md").symlink_to(repo / "shared" / "linked.md")
    (meta / "link-out.md").symlink_to(outside / "secret.md")
    (meta / "relative-out.md").symlink_to("../../../" + outside.name + "/secret.md")
    (meta / "zero.md").symlink_to("/dev/zero")
    (meta / "dangling.md").symlink_to(meta / "gone.md")
    (meta / "folder-out").symlink_to(outside / "folder")
    os.mkfifo(meta / "pipe.md")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(meta / "sock.md"))
    with open(meta / "huge.md", "wb") as handle:
        handle.truncate(3 * 1024**3)  # sparse: 3 GiB claimed, nothing written
    (meta / NEWLINE_NAME).write_text(GOOD)
    (meta / RLO_NAME).write_text(GOOD)
    return repo


EXPECTED = Counter({
    ("case_studies/meta/link-out.md", "CS105"): 1,
    ("case_studies/meta/relative-out.md", "CS105"): 1,
    ("case_studies/meta/zero.md", "CS105"): 1,
    ("case_studies/meta/dangling.md", "CS105"): 1,
    ("case_studies/meta/folder-out", "CS105"): 1,
    ("case_studies/meta/pipe.md", "CS106"): 1,
    ("case_studies/meta/sock.md", "CS106"): 1,
    ("case_studies/meta/huge.md", "CS305"): 1,
    (f"case_studies/meta/{NEWLINE_NAME}", "CS103"): 1,  # not kebab-case: the one ordinary finding of these two
    (f"case_studies/meta/{RLO_NAME}", "CS103"): 1,
})


def test_check_reports_every_hostile_entry_within_memory_and_time(hostile):
    result = _cli(hostile, "check", "--format", "json", "case_studies")
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert Counter((f["path"], f["code"]) for f in data["findings"]) == EXPECTED
    assert data["files_checked"] == 12  # every entry; good.md and link-in.md are read and clean
    assert SECRET.encode() not in result.stdout + result.stderr


def test_nothing_from_outside_reaches_the_result_file(hostile):
    result = _cli(hostile, "check", "--result", "result.json", "--summary", "summary.md", "case_studies")
    assert result.returncode == 1 and result.stdout.count(b"\n") == len(EXPECTED)  # one line per finding
    for name in ("result.json", "summary.md"):
        written = (hostile / name).read_bytes()
        assert SECRET.encode() not in written, name
        assert "\u202e".encode() not in written and b"\\u202e" in written, name
    names = {f["path"] for f in json.loads((hostile / "result.json").read_bytes())["findings"]}
    assert f"case_studies/meta/{RLO_NAME}" in names  # escaped in the file, the same text once parsed


def test_fix_leaves_links_and_what_they_point_to_alone(hostile):
    outside = os.path.realpath(hostile / "case_studies/meta/link-out.md")
    before = Path(outside).read_bytes()
    (hostile / "shared" / "linked.md").write_text(GOOD.replace("## Bugs/Missteps", "## Bugs / Missteps"))
    result = _cli(hostile, "check", "--fix", "case_studies")
    assert result.returncode == 1
    assert (hostile / "case_studies/meta/link-out.md").is_symlink() and Path(outside).read_bytes() == before
    # A link inside the repository is followed: the file it points to is fixed, the link stays a link.
    assert (hostile / "case_studies/meta/link-in.md").is_symlink()
    assert "## Bugs/Missteps" in (hostile / "shared" / "linked.md").read_text()
    assert result.stderr.startswith(b"case_studies/meta/link-in.md:22: fixed: '## Bugs / Missteps' -> '## Bugs/Missteps'\n")


def test_text_output_cannot_forge_a_workflow_command_or_hide_a_name(hostile):
    for fmt in ("text", "github"):
        result = _cli(hostile, "check", "--format", fmt, "case_studies")
        lines = result.stdout.decode().splitlines()
        assert len(lines) == len(EXPECTED), fmt  # a newline in a name never makes a second line
        forged = [line for line in lines if line.startswith("::error file=README.md")]
        assert forged == [], fmt
        assert "\u202e" not in result.stdout.decode() and "\\u202e" in result.stdout.decode(), fmt
    text = _cli(hostile, "check", "--quiet", "case_studies").stdout.decode()
    assert "case_studies/meta/evil\\n::error file=README.md,line=1::forged.md:1: error CS103" in text


def test_explicit_paths_to_hostile_entries_are_findings_not_errors(hostile):
    result = _cli(hostile, "check", "--format", "json", "case_studies/meta/zero.md", "case_studies/meta/pipe.md", "case_studies/meta/link-in.md")
    assert result.returncode == 1, result.stderr
    found = [(f["path"], f["code"]) for f in json.loads(result.stdout)["findings"]]
    assert found == [("case_studies/meta/pipe.md", "CS106"), ("case_studies/meta/zero.md", "CS105")]
    result = _cli(hostile, "check", "case_studies/meta/folder-out")
    assert result.returncode == 1 and b"CS105 symlink-outside-repository" in result.stdout


def test_a_bounded_read_stops_at_the_limit_whatever_the_size_claims(tmp_path, monkeypatch):
    """/proc files and files that grow claim a size that is not what they hold: count the bytes read."""
    big = tmp_path / "big.md"
    big.write_bytes(b"x" * (4 * 1024 * 1024))
    real_fstat, real_read = os.fstat, os.read
    read: list[int] = []

    def lying_fstat(fd: int) -> os.stat_result:
        info = real_fstat(fd)
        return os.stat_result((info.st_mode, info.st_ino, info.st_dev, info.st_nlink, info.st_uid, info.st_gid, 0, 0, 0, 0))

    def counting_read(fd: int, n: int) -> bytes:
        data = real_read(fd, n)
        read.append(len(data))
        return data

    monkeypatch.setattr(workspace.os, "fstat", lying_fstat)
    monkeypatch.setattr(workspace.os, "read", counting_read)
    entry = workspace.read_entry(big, 1000, tmp_path)
    assert (entry.kind, entry.data, entry.size, sum(read)) == (REGULAR, None, 1001, 1001)


def test_the_reader_names_what_it_will_not_read(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "out").symlink_to("/etc/hostname")
    assert workspace.read_entry(tmp_path / "pipe", 10, tmp_path).kind == FIFO
    assert workspace.read_entry(tmp_path / "out", 10, tmp_path).kind == SYMLINK_OUT
    with pytest.raises(workspace.UsageError, match="is a named pipe, not a regular file"):
        workspace.read_text_or_none(tmp_path / "pipe", tmp_path)


def test_the_index_is_written_through_a_link_inside_the_repository_and_never_out(repo, tmp_path_factory):
    (repo / "case_studies" / "meta" / "good.md").write_text(GOOD)
    (repo / "docs").mkdir()
    (repo / "README.md").rename(repo / "docs" / "README.md")
    (repo / "README.md").symlink_to("docs/README.md")
    assert _cli(repo, "index").returncode == 0
    assert (repo / "README.md").is_symlink() and "[A good case study]" in (repo / "docs" / "README.md").read_text()
    outside = tmp_path_factory.mktemp("elsewhere") / "README.md"
    outside.write_text((repo / "docs" / "README.md").read_text())
    (repo / "README.md").unlink()
    (repo / "README.md").symlink_to(outside)
    result = _cli(repo, "check")
    assert (result.returncode, result.stderr.decode()) == (2, f"challenge-bot: error: cannot read {repo}/README.md: it is a symbolic link out of the repository, not a regular file\n")
    assert _cli(repo, "index").returncode == 2 and outside.read_text() == (repo / "docs" / "README.md").read_text()
