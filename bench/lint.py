"""Benchmark: `challenge-bot check` against markdownlint-cli2 (MD043 only) and a raw byte scan.

Generates 10,000 realistic case studies (fixed seed) from the repository's own
case studies: real Markdown, shuffled within each section, one in ten given a
defect. Then times, in one run and on the same files:

  * challenge-bot check --format json case_studies   (a fresh process, no cache)
  * markdownlint-cli2 with only MD043 set to the five headings (from npm, cached in bench/.cache)
  * a raw scan: read every file and find heading lines with a regex (the floor)

and a pre-commit-style check of one file against `python -c "import mistune, yaml"`.
Each timing is the median of several runs, taken in turn. Usage:

    python bench/lint.py [--files 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / "bench" / ".cache"
MARKDOWNLINT = "markdownlint-cli2@0.24.1"
SECTIONS = ["Main Challenge", "Solution that Did Not Work", "Solution that Worked", "Bugs/Missteps", "Learnings"]
RAW_SCAN = r"""
import os, re, sys
heading = re.compile(rb"^#{1,6}[ \t].*$", re.M)
count = 0
for root, dirs, files in os.walk(sys.argv[1]):
    for name in files:
        with open(os.path.join(root, name), "rb") as handle:
            count += len(heading.findall(handle.read()))
print(count)
"""


def split_sections(text: str) -> tuple[str, str, dict[str, list[str]]]:
    """Front matter, title and each section's paragraphs of a real case study."""
    front, body = text.split("\n---\n", 1) if text.startswith("---\n") else ("", text)
    title, _, rest = body.strip().partition("\n")
    parts = re.split(r"^## (.+)$", rest, flags=re.M)
    sections = {parts[i]: [p for p in parts[i + 1].split("\n\n") if p.strip()] for i in range(1, len(parts), 2)}
    return front + "\n---\n", title, sections


def generate(corpus: Path, count: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    sources = [split_sections(p.read_text()) for p in sorted((REPO / "case_studies").glob("*/*.md")) if p.name != "README.md"]
    if corpus.exists():
        shutil.rmtree(corpus)
    (corpus / ".github").mkdir(parents=True)
    shutil.copy(REPO / ".github" / "challenge-bot.yml", corpus / ".github")
    shutil.copytree(REPO / "templates", corpus / "templates")
    (corpus / "README.md").write_text("<!-- case-study-index:start -->\n<!-- case-study-index:end -->\n")
    models = ["meta", "huggingface", "bloomberg"]
    for i in range(count):
        front, title, sections = rng.choice(sources)
        names = list(SECTIONS)
        defect = rng.random() < 0.1
        if defect:
            kind = rng.randrange(3)
            if kind == 0:
                names.remove(rng.choice(names))  # a missing section
            elif kind == 1:
                j = rng.randrange(4)
                names[j], names[j + 1] = names[j + 1], names[j]  # two sections swapped
            else:
                names[3] = "Bugs / Missteps"  # a variant heading
        lines = [front, f"# {title[2:]} ({i})", ""]
        for name in names:
            paragraphs = list(sections.get(name.replace(" / ", "/"), ["Text."]))
            rng.shuffle(paragraphs)
            lines += [f"## {name}", "", "\n\n".join(paragraphs), ""]
        folder = corpus / "case_studies" / models[i % 3]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"case-study-{i:05d}.md").write_text("\n".join(lines))


def markdownlint(corpus: Path) -> list[str]:
    npm_dir = CACHE / "npm"
    binary = npm_dir / "node_modules" / ".bin" / "markdownlint-cli2"
    if not binary.exists():
        npm_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(npm_dir), MARKDOWNLINT], check=True)
    headings = ["?"] + [item for name in SECTIONS for item in (f"## {name}", "*")]
    config = {"config": {"default": False, "MD043": {"headings": headings}}, "globs": ["case_studies/**/*.md"]}
    (corpus / ".markdownlint-cli2.jsonc").write_text(json.dumps(config))
    return [str(binary)]


# Installed packages carry compiled bytecode (pip compiles it); make sure the editable
# checkout does too, whatever PYTHONDONTWRITEBYTECODE says, so start-up is what users get.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(command: list[str], cwd: Path, ok: tuple[int, ...] = (0, 1)) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if result.returncode not in ok:
        raise SystemExit(f"{command[0]} failed ({result.returncode}): {result.stderr.decode()[-500:]}")
    return elapsed


def median_of(runs: int, commands: dict[str, list[str]], cwd: Path) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            times[name].append(timed(command, cwd))
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    corpus = CACHE / "corpus"
    generate(corpus, args.files)
    bot = [sys.executable, "-m", "bot", "check", "--format", "json", "case_studies"]
    commands = {
        "raw byte scan": [sys.executable, "-c", RAW_SCAN, "case_studies"],
        "challenge-bot check": bot,
        "markdownlint-cli2 (MD043)": markdownlint(corpus),
    }
    timed(commands["raw byte scan"], corpus)  # the same page cache for every tool
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "bot")], env=ENV, check=True)
    result = median_of(args.runs, commands, corpus)
    findings = json.loads(subprocess.run(bot, cwd=corpus, capture_output=True, text=True).stdout)
    print(f"corpus: {args.files} case studies, {sum(p.stat().st_size for p in corpus.rglob('*.md')) / 1e6:.1f} MB, "
          f"{len(findings['findings'])} findings; {os.cpu_count()} CPUs; median of {args.runs} runs")
    for name, seconds in result.items():
        print(f"  {name:<28} {seconds:8.2f} s")
    bot_time = result["challenge-bot check"]
    print(f"  markdownlint-cli2 / challenge-bot = {result['markdownlint-cli2 (MD043)'] / bot_time:5.1f}x   (goal: >= 15x)")
    print(f"  challenge-bot / raw scan         = {bot_time / result['raw byte scan']:5.1f}x   (goal: <= 4x)")

    one = corpus / "case_studies" / "meta" / "case-study-00000.md"
    single = median_of(
        max(args.runs, 15),
        {
            "python -c 'import mistune, yaml'": [sys.executable, "-c", "import mistune, yaml"],
            "challenge-bot check ONE_FILE": [sys.executable, "-m", "bot", "check", str(one.relative_to(corpus))],
        },
        corpus,
    )
    print("pre-commit style, one file:")
    for name, seconds in single.items():
        print(f"  {name:<34} {seconds * 1000:7.1f} ms")
    ratio = single["challenge-bot check ONE_FILE"] / single["python -c 'import mistune, yaml'"]
    print(f"  challenge-bot / bare imports     = {ratio:5.2f}x   (goal: < 1.5x)")


if __name__ == "__main__":
    main()
