"""Figures: the spec and data format, the stale-SVG check (CS408, CS409), the layout they may take,
the drawing (deterministic), and the repository's own figure data, value for value."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from bot.core import figures
from bot.core.linter import lint_file
from conftest import REPO
from helpers import GOOD

SPEC = """kind: line
title: A figure
alt: A line through two points, and one event.
x: {column: step, label: Training step}
y: {column: lr, label: Learning rate}
series: series
styles: {base: step, rollback: event}
label: label
"""
DATA = """series,step,lr,label,source
base,0,5e-5,start,https://example.org/a
base,100,2.5e-5,,https://example.org/a
rollback,50,,exp1,https://example.org/b
"""
STEM = "case_studies/meta/figures/lr"


def _write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- the format --------------------------------------------------------------------------------------


def test_parse_keeps_rows_in_order_and_groups_by_first_appearance():
    figure = figures.parse(STEM, SPEC, DATA)
    assert (figure.kind, figure.name, figure.svg_path) == ("line", "lr", STEM + ".svg")
    assert figure.groups() == ["base", "rollback"]
    assert [figure.number(r, "step") for r in figure.rows] == [0.0, 100.0, 50.0]
    assert [figure.number(r, "lr") for r in figure.rows] == [5e-5, 2.5e-5, None]


@pytest.mark.parametrize(
    ("spec", "data", "where"),
    [
        (SPEC, DATA.replace("https://example.org/b", ""), ("case_studies/meta/figures/lr.csv", 4, "every row needs a source URL (http or https) in the 'source' column")),
        (SPEC, DATA.replace(",100,", ",~100,"), ("case_studies/meta/figures/lr.csv", 3, "'step' must be a number, got '~100'")),
        (SPEC, DATA.replace("base,100,2.5e-5", "base,100,"), ("case_studies/meta/figures/lr.csv", 3, "'lr' must be a number, got ''")),
        (SPEC, DATA.replace("rollback,50", "other,50"), ("case_studies/meta/figures/lr.yml", 1, "series 'other' in the data has no entry under styles:")),
        (SPEC, DATA.replace("label,source", "note,source"), ("case_studies/meta/figures/lr.csv", 1, "no column 'label'; the header has series, step, lr, note, source")),
        (SPEC, DATA + "base,1\n", ("case_studies/meta/figures/lr.csv", 5, "2 values for 5 columns")),
        (SPEC + "colour: red\n", DATA, ("case_studies/meta/figures/lr.yml", 1, "unknown key 'colour' for a line figure; allowed: alt, kind, label, series, styles, title, x, y")),
        (SPEC.replace("kind: line", "kind: pie"), DATA, ("case_studies/meta/figures/lr.yml", 1, "kind: must be one of line, timeline (got 'pie')")),
        (SPEC.replace("styles: {base: step", "styles: {base: bars"), DATA, ("case_studies/meta/figures/lr.yml", 1, "styles: 'base' must be one of line, step, points, event (got 'bars')")),
        ("- a list", DATA, ("case_studies/meta/figures/lr.yml", 1, "a figure spec is a mapping with kind, title, alt, x and (for line figures) y")),
        (SPEC, "series,step,lr,label,source\n", ("case_studies/meta/figures/lr.csv", 1, "no data rows")),
        (SPEC, "", ("case_studies/meta/figures/lr.csv", 1, "empty file; the first line names the columns")),
        (SPEC, DATA.replace("label,source", "label,label"), ("case_studies/meta/figures/lr.csv", 1, "column names must be unique, non-empty and without surrounding spaces")),
        (SPEC, DATA.replace("rollback,50,,exp1", ",50,,exp1"), ("case_studies/meta/figures/lr.csv", 4, "'series' is empty")),
        (SPEC, DATA.replace("base,100,2.5e-5", "base,100,nan"), ("case_studies/meta/figures/lr.csv", 3, "'lr' must be a number, got 'nan'")),
        (SPEC.replace("Learning rate}", "Learning rate, scale: log}"), DATA.replace("5e-5,start", "0,start"), ("case_studies/meta/figures/lr.csv", 2, "'lr' must be positive on a log scale, got '0'")),
        ("kind: [line", DATA, ("case_studies/meta/figures/lr.yml", 1, "not valid YAML: expected ',' or ']', but got '<stream end>'")),
        (SPEC.replace("title: A figure", "title: ''"), DATA, ("case_studies/meta/figures/lr.yml", 1, "title: must be a non-empty string")),
        (SPEC.replace("x: {column: step, label: Training step}", "x: step"), DATA, ("case_studies/meta/figures/lr.yml", 1, "x: must be a mapping with column and label")),
        (SPEC.replace("label: Training step}", "label: Training step, end: x}"), DATA, ("case_studies/meta/figures/lr.yml", 1, "x: unknown key 'end'; allowed: column, label, scale, type")),
        (SPEC.replace("styles: {base: step, rollback: event}", "styles: []"), DATA, ("case_studies/meta/figures/lr.yml", 1, "styles: must map each series to one of line, step, points, event")),
        (SPEC, DATA + "\n,,,,\n", None),
    ],
)
def test_parse_names_the_file_line_and_problem(spec, data, where):
    if where is None:  # blank lines are skipped
        assert len(figures.parse(STEM, spec, data).rows) == 3
        return
    with pytest.raises(figures.FigureError) as caught:
        figures.parse(STEM, spec, data)
    assert (caught.value.path, caught.value.line, caught.value.message) == where


def test_a_timeline_bar_may_not_end_before_it_starts():
    spec = "kind: timeline\ntitle: T\nalt: A\nx: {column: start, end: end, label: Step}\nlane: run\n"
    data = "run,start,end,source\nv1,10,5,https://example.org\n"
    with pytest.raises(figures.FigureError, match="'end' comes before 'start'"):
        figures.parse(STEM, spec, data)
    figure = figures.parse(STEM, spec, data.replace(",5,", ",,"))
    assert figure.number(figure.rows[0], "end") is None


def test_dates_are_iso_dates():
    spec = "kind: timeline\ntitle: T\nalt: A\nx: {column: day, end: until, label: Date, type: date}\nlane: run\n"
    with pytest.raises(figures.FigureError, match="'day' must be a date \\(YYYY-MM-DD\\), got '5 Nov 2021'"):
        figures.parse(STEM, spec, "run,day,until,source\n11.x,5 Nov 2021,,https://example.org\n")


# --- stamps: stale, hand-edited, missing ---------------------------------------------------------------


def test_stamp_records_the_inputs_and_the_drawing():
    svg = '<?xml version="1.0"?>\n<svg>drawn</svg>\n'
    stamped = figures.stamp(svg, SPEC, DATA)
    assert stamped.splitlines()[1] == f"<!-- challenge-bot figure inputs={figures.inputs_digest(SPEC, DATA)} output={figures._digest(svg)} -->"
    assert figures.stamp(stamped, SPEC, DATA) == stamped
    assert figures.staleness(stamped, SPEC, DATA) is None
    assert figures.staleness(stamped, SPEC, DATA + "base,200,1e-5,,https://example.org/c\n") == "is out of date: its spec or data changed since it was drawn"
    assert figures.staleness(stamped.replace("drawn", "edited"), SPEC, DATA) == "was edited by hand after it was drawn"
    assert figures.staleness(svg, SPEC, DATA) == "has no challenge-bot stamp, so it was not drawn by `challenge-bot figures`"


def test_check_reports_orphans_invalid_data_and_missing_svgs():
    files = [
        figures.FigureFiles("case_studies/meta/figures/a", SPEC, DATA, None),
        figures.FigureFiles("case_studies/meta/figures/b", None, DATA, None),
        figures.FigureFiles("case_studies/meta/figures/c", SPEC, None, None),
        figures.FigureFiles("case_studies/meta/figures/d", SPEC, DATA.replace("https://example.org/a", "see paper"), None),
    ]
    assert [tuple(p) for p in figures.check(files)] == [
        ("CS409", "case_studies/meta/figures/a.svg", 1, "a.svg is missing; run `challenge-bot figures`"),
        ("CS408", "case_studies/meta/figures/b.csv", 1, "no spec b.yml beside it; a figure needs its .yml, .csv and .svg"),
        ("CS408", "case_studies/meta/figures/c.yml", 1, "no data file c.csv beside the spec"),
        ("CS408", "case_studies/meta/figures/d.csv", 2, "every row needs a source URL (http or https) in the 'source' column"),
    ]


@pytest.mark.parametrize(
    ("path", "codes"),
    [
        ("case_studies/meta/figures/lr.csv", []),
        ("case_studies/meta/figures/lr.yml", []),
        ("case_studies/meta/figures/lr.svg", []),
        ("case_studies/meta/figures/LR.csv", ["CS104"]),
        ("case_studies/meta/figures/lr.png", ["CS104"]),
        ("case_studies/meta/figures/deeper/lr.csv", ["CS104"]),
        ("case_studies/meta/lr.csv", ["CS104"]),
    ],
)
def test_figures_folder_layout(cfg, path, codes):
    assert [f.code for f in lint_file(path, b"", cfg, size=100).findings] == codes


def test_a_figure_file_over_the_size_limit(cfg):
    findings = lint_file("case_studies/meta/figures/lr.svg", b"", cfg, size=2 * 1024 * 1024).findings
    assert [(f.code, f.message) for f in findings] == [("CS104", "figure file is 2 MiB; the limit is 1 MiB (limits.max_asset_size)")]


# --- the commands: check finds a stale figure; figures draws it ---------------------------------------


def test_check_fails_on_a_missing_or_stale_figure_until_figures_draws_it(run, repo):
    pytest.importorskip("matplotlib")
    _write(repo, "case_studies/meta/good.md", GOOD)
    run("index")
    _write(repo, STEM + ".yml", SPEC)
    _write(repo, STEM + ".csv", DATA)
    code, out, _ = run("check", "--quiet")
    assert (code, out) == (1, "case_studies/meta/figures/lr.svg:1: error CS409 figure-out-of-date lr.svg is missing; run `challenge-bot figures`\n")
    assert run("figures", "--check") == (1, "case_studies/meta/figures/lr.svg: out of date; run `challenge-bot figures` to draw it\n", "")
    assert run("figures") == (0, "Drew case_studies/meta/figures/lr.svg.\n", "1 of 1 figures drawn; the rest were up to date.\n")
    assert run("check")[:2] == (0, "")
    assert run("figures", "--check") == (0, "", "")
    _write(repo, STEM + ".csv", DATA.replace("2.5e-5", "2e-5"))
    code, out, _ = run("check", "--quiet")
    assert (code, out) == (1, "case_studies/meta/figures/lr.svg:1: error CS409 figure-out-of-date lr.svg is out of date: its spec or data changed since it was drawn; run `challenge-bot figures`\n")
    _write(repo, STEM + ".csv", DATA.replace("https://example.org/b", ""))
    code, out, _ = run("check", "--quiet")
    assert (code, out) == (1, "case_studies/meta/figures/lr.csv:4: error CS408 invalid-figure-data every row needs a source URL (http or https) in the 'source' column\n")
    assert run("figures")[0] == 2


def test_drawing_is_deterministic():
    pytest.importorskip("matplotlib")
    from bot.local import figures as drawing

    figure = figures.parse(STEM, SPEC, DATA)
    first = drawing.render(figure)
    assert first == drawing.render(figure)
    assert first.startswith('<?xml version="1.0" encoding="utf-8" standalone="no"?>')
    assert "<dc:date>" not in first and "A line through two points" in first


def test_the_committed_svgs_are_what_figures_draws(live_cfg):
    """Byte for byte: `challenge-bot figures --check` on this repository."""
    pytest.importorskip("matplotlib")
    from bot.local import figures as drawing

    drawn = drawing.draw_all(REPO, live_cfg)
    assert len(drawn) >= 3
    assert [d.path for d in drawn if not d.current] == []


# --- the repository's own figures ----------------------------------------------------------------------


def _committed() -> list[figures.Figure]:
    out = []
    for spec in sorted((REPO / "case_studies").glob("*/figures/*.yml")):
        stem = spec.relative_to(REPO).as_posix()[: -len(".yml")]
        out.append(figures.parse(stem, spec.read_text(encoding="utf-8"), spec.with_suffix(".csv").read_text(encoding="utf-8")))
    return out


def _sources_of(markdown: str) -> set[str]:
    front = markdown.split("\n---\n", 1)[0]
    return set(re.findall(r"^\s+- (https?://\S+)$", front, flags=re.M))


def test_every_figure_is_embedded_with_alt_text_and_every_row_cites_a_source_of_that_case_study():
    committed = _committed()
    assert {f.stem.split("/")[1] for f in committed} >= {"meta", "huggingface", "bloomberg", "bigscience", "thudm", "marin"}
    for figure in committed:
        folder = REPO / figure.stem.rsplit("/figures/", 1)[0]
        embedding = [p for p in folder.glob("*.md") if p.name != "README.md" and f"](figures/{figure.name}.svg)" in p.read_text(encoding="utf-8")]
        assert embedding, f"no case study embeds {figure.svg_path}"
        for page in embedding:
            text = page.read_text(encoding="utf-8")
            alt = re.search(rf"!\[([^\]]+)\]\(figures/{figure.name}\.svg\)", text)
            assert alt and len(alt.group(1)) > 40, f"{page.name}: the figure needs a descriptive alt text"
            cited = _sources_of(text)
            uncited = sorted({row["source"] for row in figure.rows} - cited)
            assert uncited == [], f"{figure.stem}.csv cites sources {page.name} does not: {uncited}"


def _rows(stem: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((REPO / f"{stem}.csv").read_text(encoding="utf-8"))))


def test_idefics_learning_rate_and_rollbacks():
    rows = _rows("case_studies/huggingface/figures/lr-and-rollbacks")
    base = [(int(r["step"]), float(r["lr"])) for r in rows if r["series"] == "base LR of the schedule"]
    assert base == [(0, 5e-5), (14500, 3.75e-5), (16250, 1.875e-5), (34000, 9.375e-6), (39036, 9.375e-6)]
    assert base[2][1] == pytest.approx(5e-5 * 0.75 * 0.5) and base[3][1] == pytest.approx(base[2][1] / 2)
    rollbacks = [(r["label"], int(r["step"])) for r in rows if r["series"] == "rollback"]
    assert rollbacks == [("exp1", 15611), ("exp2", 14500), ("exp3", 16250), ("exp4", 16250), ("exp6", 23250),
                         ("exp7", 25000), ("exp8", 29000), ("exp9", 30250), ("exp10", 30500), ("exp11", 34000)]
    assert [(int(r["step"]), r["lr"]) for r in rows if r["series"] == "released checkpoint"] == [(37500, "")]
    assert [(int(r["step"]), float(r["lr"])) for r in rows if r["series"] == "exp8/exp9 scheduler reset"] == [(29000, 0.0), (30500, 3.75e-5)]


def test_bloomberggpt_runs_branches_and_stop_points():
    rows = _rows("case_studies/bloomberg/figures/runs")
    spans = [(r["run"], r["start_step"], r["end_step"]) for r in rows]
    assert spans == [
        ("v0", "0", "20000"), ("v1.0", "0", "12000"), ("v1.1", "10800", "20100"), ("v1.2", "20100", ""),
        ("v1.3", "10800", "12000"), ("v1.4", "12000", ""), ("v2.0", "0", "133200"), ("v2.1", "115500", "129900"),
        ("v2.2", "115500", ""), ("v2.3", "129900", "137100"), ("v2.4", "129900", ""), ("v2.5", "137100", "146000"),
        ("v2.5", "139200", ""), ("v2.6", "129900", ""),
    ]
    learning_rates = {r["run"]: re.findall(r"\d(?:\.\d+)?e-\d", r["label"]) for r in rows}
    assert learning_rates == {
        "v0": [], "v1.0": ["1e-4"], "v1.1": ["8e-5"], "v1.2": ["6e-5"], "v1.3": [], "v1.4": ["6e-5"], "v2.0": ["6e-5"],
        "v2.1": ["6e-5", "4e-5"], "v2.2": [], "v2.3": ["2e-5"], "v2.4": ["2e-5"], "v2.5": [], "v2.6": ["2e-5"],
    }
    assert {r["source"] for r in rows} == {"https://arxiv.org/abs/2303.17564v3"}


def test_opt_progress_lineages_and_learning_rate_changes():
    rows = _rows("case_studies/meta/figures/progress-and-changes")
    progress = [(r["date"], int(r["percent"])) for r in rows if r["series"] == "12.xx progress (chronicle updates)"]
    assert progress == [("2021-11-11", 0), ("2021-11-17", 10), ("2021-12-03", 27), ("2021-12-16", 56), ("2022-01-06", 100)]
    events = [(r["series"], r["date"]) for r in rows if r["percent"] == ""]
    assert events == [
        ("lineage", "2021-10-18"), ("lineage", "2021-11-05"), ("lineage", "2021-11-11"), ("incident", "2021-11-25"),
        ("learning-rate change", "2021-12-03"), ("learning-rate change", "2021-12-16"), ("incident", "2021-12-21"),
    ]
    for r in rows:  # each chronicle row cites the update it comes from
        update = re.search(r"(\d+)% update|final update", r["where"])
        if update and update.group(1):
            assert r["source"].endswith(f"/{update.group(1)}_percent_update.md"), r


def test_tr8_104b_first_two_divergences():
    rows = _rows("case_studies/bigscience/figures/first-104b-divergences")
    losses = [(r["series"], int(r["iteration"]), float(r["loss"])) for r in rows if r["loss"]]
    assert losses == [
        ("Exp 1 (seed 42)", 7000, 6.44), ("Exp 1 (seed 42)", 7010, 11.42), ("Exp 1 (seed 42)", 7220, 7.16),
        ("Exp 2 (seed 43, from global_step6210)", 6900, 6.37), ("Exp 2 (seed 43, from global_step6210)", 6940, 10.24),
    ]
    assert [(r["series"], int(r["iteration"])) for r in rows if not r["loss"]] == [("rollback", 6210)]
    assert {r["source"] for r in rows} == {"https://github.com/bigscience-workshop/bigscience/blob/9e64edec2ad1fb9263bf39ba616a84ff64b4d947/train/tr8-104B-wide/chronicles.md#L13-L437"}


def test_glm_130b_alpha_explosions_and_restarts():
    rows = _rows("case_studies/thudm/figures/explosions-and-alpha")
    alpha = [(r["series"], int(r["step"]), float(r["alpha"])) for r in rows if r["alpha"]]
    assert alpha == [("α before 12 June", 33600, 1.0), ("α after each restart", 33600, 0.5),
                     ("α after each restart", 35200, 0.1), ("α after each restart", 42700, 0.1)]
    events = [(r["series"], int(r["step"])) for r in rows if not r["alpha"]]
    assert events == [("loss explosion", 33740), ("loss explosion", 35250), ("loss explosion", 40800),
                      ("restart", 40700), ("restart", 42400), ("restart", 42700)]


def test_marin_32b_phase_1_hardware_and_guards():
    rows = _rows("case_studies/marin/figures/phase-1-guards")
    spans = [(r["lane"], r["start_step"], r["end_step"]) for r in rows]
    assert spans == [
        ("4× v5p-512", "0", "18500"), ("3× v5p-512", "18500", "21010"), ("v4-2048", "21010", "80000"),
        ("gradient clip 1.0", "0", "56400"), ("gradient clip 0.2", "56400", "80000"),
        ("update RMS clip 1.0", "67522", "72233"), ("update-norm clip (2σ/128)", "72233", "74000"),
        ("update-norm clip off", "74000", "80000"), ("unrecoverable spike", "80000", ""),
    ]
