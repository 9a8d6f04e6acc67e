"""Benchmark: `challenge-bot check` against markdownlint-cli2 (MD043 only) and a raw byte scan.

Two corpora of 10,000 case studies each (fixed seed), one in ten given a defect
(a missing section, two sections swapped, a variant heading):

  * logbook: the shapes of real logbook notes. Two thirds of the files hold
    fenced code (commands, logs, configs; ``` and ~~~), and they have bullet,
    numbered and nested lists, block quotes with lazy lines, tables, links,
    HTML comments, subheadings, the odd indented code block, and one in ten
    is a long document.
  * repository: this repository's own case studies, each section's paragraphs
    shuffled into new files.

Each corpus is indexed first (`challenge-bot index`: the README index,
index.json, index.csv and every footer current, as in a real repository).
Then, in one run and on the same files, it times:

  * challenge-bot check --format json   (cold: a fresh process, no result cache)
  * markdownlint-cli2 with only MD043 set to the five headings (from npm, cached in bench/.cache)
  * a raw scan: read every file and find heading lines with a regex (the floor)
  * challenge-bot check --cache-dir DIR (warm: the cache filled by an earlier run)

and a pre-commit-style check of one file against `python -c "import mistune, yaml"`.
Each timing is the median of several runs, taken in turn. Usage:

    python bench/lint.py [--files 10000] [--runs 3] [--corpus logbook|repository|both]
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
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / "bench" / ".cache"
MARKDOWNLINT = "markdownlint-cli2@0.24.1"
SECTIONS = ["Main Challenge", "Solution that Did Not Work", "Solution that Worked", "Bugs/Missteps", "Learnings"]
MODELS = ["meta", "huggingface", "bloomberg"]
TAGS = ["loss-spikes", "loss-divergence", "numerical-precision", "hardware-failure", "data-quality", "checkpointing", "rollback", "tooling-bug"]
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
GOALS = {"cold_peer": 15.0, "cold_floor": 4.0, "warm_floor": 1.5, "one_file": 1.3}


# --- the corpora -------------------------------------------------------------------------------


def _studies() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted((REPO / "case_studies").glob("*/*.md")) if p.name != "README.md"]


def split_sections(text: str) -> tuple[str, str, dict[str, list[str]]]:
    """Front matter, title and each section's paragraphs of a real case study."""
    front, body = text.split("\n---\n", 1) if text.startswith("---\n") else ("", text)
    body = body.split("<!-- case-study-footer:start -->", 1)[0]
    title, _, rest = body.strip().partition("\n")
    parts = re.split(r"^## (.+)$", rest, flags=re.M)
    sections = {parts[i]: [p for p in parts[i + 1].split("\n\n") if p.strip()] for i in range(1, len(parts), 2)}
    return front, title, sections


def _front(front: str, number: int) -> str:
    """The source's front matter (tags, sources) with a fresh id: ids are unique across a corpus."""
    kept, keep = [], True
    for line in front.split("\n"):
        if line.strip() == "---":
            continue
        if not line.startswith(" "):
            keep = not re.match(r"(id|related):", line)  # its own id and links name files not in the corpus
        if keep:
            kept.append(line)
    return "---\n" + f"id: PC-{number:04d}\n" + "\n".join(kept).strip("\n") + "\n---\n"


def _defective(rng: random.Random) -> list[str]:
    names = list(SECTIONS)
    if rng.random() < 0.1:
        kind = rng.randrange(3)
        if kind == 0:
            names.remove(rng.choice(names))  # a missing section
        elif kind == 1:
            j = rng.randrange(4)
            names[j], names[j + 1] = names[j + 1], names[j]  # two sections swapped
        else:
            names[3] = "Bugs / Missteps"  # a variant heading
    return names


def _prepare(corpus: Path) -> None:
    if corpus.exists():
        shutil.rmtree(corpus)
    (corpus / ".github").mkdir(parents=True)
    shutil.copy(REPO / ".github" / "challenge-bot.yml", corpus / ".github")
    shutil.copytree(REPO / "templates", corpus / "templates")
    (corpus / "README.md").write_text("# Case studies\n\n<!-- case-study-index:start -->\n<!-- case-study-index:end -->\n")


def _write(corpus: Path, i: int, text: str) -> None:
    folder = corpus / "case_studies" / MODELS[i % len(MODELS)]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"case-study-{i:05d}.md").write_text(text)


def generate_from_repository(corpus: Path, count: int, seed: int = 1) -> None:
    """The repository's case studies, each section's paragraphs shuffled into ``count`` new files."""
    rng = random.Random(seed)
    sources = [split_sections(text) for text in _studies()]
    _prepare(corpus)
    for i in range(count):
        front, title, sections = rng.choice(sources)
        lines = [_front(front, i + 1), f"# {title[2:]} ({i})", ""]
        for name in _defective(rng):
            paragraphs = list(sections.get(name.replace(" / ", "/"), ["Text."]))
            rng.shuffle(paragraphs)
            lines += [f"## {name}", "", "\n\n".join(paragraphs), ""]
        _write(corpus, i, "\n".join(lines))


class _Logbook:
    """Blocks shaped like the notes in training logbooks, with prose taken from the case studies."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        prose = []
        for text in _studies():
            _, _, sections = split_sections(text)
            for paragraphs in sections.values():
                prose += [p for p in paragraphs if p[:1].isalpha() and "\n" not in p]
        self.sentences = [s.strip() for p in prose for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", p) if len(s) > 20]

    def sentence(self) -> str:
        return self.rng.choice(self.sentences)

    def paragraph(self) -> str:
        text = " ".join(self.sentence() for _ in range(self.rng.randint(1, 5)))
        if self.rng.random() < 0.3:  # hard-wrapped, as many editors write it
            text = "\n".join(re.findall(r".{1,78}(?:\s|$)", text)).replace(" \n", "\n").strip()
        return text

    def bullets(self) -> str:
        rng, items = self.rng, []
        marker = rng.choice(["-", "-", "*", "1."])
        for n in range(rng.randint(2, 8)):
            bullet = f"{n + 1}." if marker == "1." else marker
            pad = " " * (len(bullet) + 1)
            item = f"{bullet} {self.sentence()}"
            if rng.random() < 0.25:
                item += "\n" + pad + self.sentence()  # a wrapped item
            if rng.random() < 0.2:
                item += "".join(f"\n{pad}- {self.sentence()}" for _ in range(rng.randint(1, 3)))  # nested
            if rng.random() < 0.08:
                item += f"\n\n{pad}```\n{pad}{self._command()}\n{pad}```"  # code under an item
            items.append(item)
        return ("\n\n" if rng.random() < 0.2 else "\n").join(items)

    def _command(self) -> str:
        rng = self.rng
        return rng.choice([
            f"python train.py --lr {rng.choice(['6e-5', '1e-4', '3e-4'])} --resume-from step_{rng.randrange(1000, 90000)}",
            f"srun --nodes={rng.choice([8, 48, 96, 128])} --gres=gpu:8 bash launch.sh",
            f"grep -c 'loss scale' logs/main-{rng.randrange(1, 9)}.log",
            f"nvidia-smi -q -d ECC | grep -A3 'Volatile'  # node {rng.randrange(100, 999)}",
            f"git log --oneline {rng.randrange(16**6, 16**7):x}..HEAD -- megatron/",
        ])  # fmt: skip

    def code(self) -> str:
        rng = self.rng
        fence = rng.choice(["```", "```", "```", "~~~", "````"])
        kind = rng.choice(["bash", "log", "python", "yaml", "", "text"])
        body = []
        for _ in range(rng.randint(3, 25)):
            if kind == "log" or (kind in ("", "text") and rng.random() < 0.5):
                step = rng.randrange(1000, 140000)
                body.append(f"[2022-0{rng.randrange(1, 9)}-{rng.randrange(10, 28)} 12:{rng.randrange(10, 59)}] iteration {step} | lm loss: {rng.uniform(1.8, 9):.4f} | grad norm: {rng.uniform(0.1, 80):.3f} | loss scale: {2 ** rng.randrange(0, 17)}")
            elif kind == "python":
                body.append(rng.choice([
                    "def clip(grads, max_norm=1.0):", "    total = torch.norm(torch.stack([g.norm() for g in grads]))",
                    "    # skip the step when the norm is not finite", "    if not torch.isfinite(total):", "        return None",
                    "", "for step, batch in enumerate(loader):", "    loss = model(batch).loss / accumulation",
                    "> not a quote inside code", "- not a list inside code", "## not a heading inside code",
                ]))  # fmt: skip
            elif kind == "yaml":
                body.append(rng.choice(["optimizer:", "  lr: 6.0e-5", "  betas: [0.9, 0.95]", "  weight_decay: 0.1", "- checkpoint: every 250 steps", "# a comment, not a heading"]))
            else:
                body.append(self._command())
        return f"{fence}{kind}\n" + "\n".join(body) + f"\n{fence}"

    def quote(self) -> str:
        lines = [f"> {self.sentence()}" for _ in range(self.rng.randint(1, 4))]
        if self.rng.random() < 0.2:
            lines.append(self.sentence())  # a lazy continuation line
        return "\n".join(lines)

    def table(self) -> str:
        rng = self.rng
        rows = ["| Run | Step | Loss | Note |", "|---|---:|---:|---|"]
        for _ in range(rng.randint(3, 10)):
            rows.append(f"| main-{rng.randrange(1, 12)} | {rng.randrange(1000, 140000):,} | {rng.uniform(1.8, 4):.3f} | {self.sentence()[:40]} |")
        return "\n".join(rows)

    def comment(self) -> str:
        if self.rng.random() < 0.5:
            return "<!-- TODO: link the logbook entry once it is public -->"
        return "<!--\nNotes for reviewers:\n" + self.sentence() + "\n-->"

    def section(self, long: bool) -> str:
        rng = self.rng
        kinds = ["paragraph"] * 5 + ["bullets"] * 3 + ["quote", "table", "comment", "subheading", "indented"]
        blocks = [self.paragraph()]
        for _ in range(rng.randint(1, 4) * (4 if long else 1)):
            kind = rng.choice(kinds)
            if kind == "subheading":
                blocks.append(f"### {self.sentence()[:50].rstrip(' .,')}")
            elif kind == "indented":
                blocks.append("    " + self._command()) if rng.random() < 0.3 else blocks.append(self.paragraph())
            else:
                blocks.append(getattr(self, kind)())
        return "\n\n".join(blocks)

    def document(self, number: int, names: list[str]) -> str:
        rng = self.rng
        tags = rng.sample(TAGS, rng.randint(1, 4))
        sources = [f"https://github.com/bigscience-workshop/bigscience/blob/main/train/tr{rng.randrange(1, 14)}/chronicles.md#L{rng.randrange(1, 2000)}" for _ in range(rng.randint(1, 8))]
        front = "---\n" + f"id: PC-{number:04d}\ntags: [{', '.join(tags)}]\nsources:\n" + "".join(f"  - {s}\n" for s in sources) + "---\n"
        long = rng.random() < 0.1
        sections = [self.section(long) for _ in names]
        for index in rng.sample(range(len(names)), k=len(names)):  # two files in three hold fenced code
            if number % 3:
                sections[index] += "\n\n" + self.code()
                if rng.random() < 0.5:
                    break
        body = "\n\n".join(f"## {name}\n\n{text}" for name, text in zip(names, sections))
        return f"{front}\n# {self.sentence()[:60].rstrip(' .,')} ({number})\n\n{body}\n"


def generate_logbook(corpus: Path, count: int, seed: int = 1) -> None:
    """``count`` case studies shaped like logbook notes (see the module docstring)."""
    rng = random.Random(seed)
    book = _Logbook(rng)
    _prepare(corpus)
    for i in range(count):
        _write(corpus, i, book.document(i + 1, _defective(rng)))


# --- the tools -----------------------------------------------------------------------------------


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


def prime(folders: list[Path]) -> None:
    """Read every file under ``folders``, so each tool starts with the same warm page cache
    (markdownlint-cli2, run before, may have pushed some of it out)."""
    for folder in folders:
        for root, _, files in os.walk(folder):
            for name in files:
                with open(os.path.join(root, name), "rb") as handle:
                    while handle.read(1 << 20):
                        pass


def median_of(runs: int, commands: dict[str, list[str]], cwd: Path, warm: list[Path] | None = None) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            if warm:
                prime(warm)
            times[name].append(timed(command, cwd))
    return {name: statistics.median(values) for name, values in times.items()}


def _verdict(ratio: float, goal: float, at_least: bool) -> str:
    met = ratio >= goal if at_least else ratio <= goal
    return f"(goal: {'>=' if at_least else '<='} {goal:g}x: {'met' if met else 'NOT met'})"


def bench_corpus(name: str, corpus: Path, runs: int) -> dict[str, float]:
    bot = [sys.executable, "-m", "bot", "check", "--format", "json"]
    subprocess.run([*bot[:3], "index"], cwd=corpus, env=ENV, check=True, capture_output=True)  # a current index, as in a real repository
    cache_dir = Path(tempfile.mkdtemp(prefix="challenge-bot-cache-"))
    try:
        warm = [*bot, "--cache-dir", str(cache_dir)]
        timed(warm, corpus)  # fills the cache; the timed runs below find every file in it
        commands = {
            "raw byte scan": [sys.executable, "-c", RAW_SCAN, "case_studies"],
            "challenge-bot check": bot,
            "markdownlint-cli2 (MD043)": markdownlint(corpus),
            "challenge-bot check, warm cache": warm,
        }
        result = median_of(runs, commands, corpus, warm=[corpus / "case_studies", cache_dir])
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    findings = json.loads(subprocess.run(bot, cwd=corpus, capture_output=True, text=True, env=ENV).stdout)["findings"]
    files = list(corpus.glob("case_studies/*/*.md"))
    fenced = sum("\n```" in text or "\n~~~" in text for text in (p.read_text() for p in files))
    print(f"{name} corpus: {len(files)} case studies ({fenced} with fenced code), "
          f"{sum(p.stat().st_size for p in files) / 1e6:.1f} MB, {len(findings)} findings; "
          f"{os.cpu_count()} CPUs; median of {runs} runs")  # fmt: skip
    for tool, seconds in result.items():
        print(f"  {tool:<34} {seconds:8.2f} s")
    cold, floor = result["challenge-bot check"], result["raw byte scan"]
    peer = result["markdownlint-cli2 (MD043)"] / cold
    print(f"  markdownlint-cli2 / challenge-bot       = {peer:5.1f}x   {_verdict(peer, GOALS['cold_peer'], True)}")
    print(f"  challenge-bot / raw scan                = {cold / floor:5.1f}x   {_verdict(cold / floor, GOALS['cold_floor'], False)}")
    warm_ratio = result["challenge-bot check, warm cache"] / floor
    print(f"  challenge-bot warm cache / raw scan     = {warm_ratio:5.1f}x   {_verdict(warm_ratio, GOALS['warm_floor'], False)}")
    return result


def bench_one_file(corpus: Path, runs: int) -> None:
    one = next(p for p in sorted(corpus.glob("case_studies/*/*.md")) if "\n```" in p.read_text())
    single = median_of(
        max(runs, 15),
        {
            "python -c 'import mistune, yaml'": [sys.executable, "-c", "import mistune, yaml"],
            "challenge-bot check ONE_FILE": [sys.executable, "-m", "bot", "check", str(one.relative_to(corpus))],
        },
        corpus,
    )
    print("pre-commit style, one file (with fenced code):")
    for name, seconds in single.items():
        print(f"  {name:<34} {seconds * 1000:7.1f} ms")
    ratio = single["challenge-bot check ONE_FILE"] / single["python -c 'import mistune, yaml'"]
    print(f"  challenge-bot / bare imports            = {ratio:5.2f}x   {_verdict(ratio, GOALS['one_file'], False)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--corpus", choices=["logbook", "repository", "both"], default="both")
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "bot")], env=ENV, check=True)
    corpora = {"logbook": generate_logbook, "repository": generate_from_repository}
    chosen = list(corpora) if args.corpus == "both" else [args.corpus]
    for name in chosen:
        corpus = CACHE / f"corpus-{name}"
        corpora[name](corpus, args.files)
        bench_corpus(name, corpus, args.runs)
    bench_one_file(CACHE / f"corpus-{chosen[0]}", args.runs)


if __name__ == "__main__":
    main()
