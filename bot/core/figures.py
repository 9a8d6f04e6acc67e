"""Figures drawn from the sources' numbers: a spec (YAML) and its data (CSV) beside the case studies.

A figure is three files in ``case_studies/<model>/figures/``: ``<name>.yml`` says what to draw,
``<name>.csv`` holds the data points with a ``source`` URL on every row, and ``<name>.svg`` is
what ``challenge-bot figures`` draws from them. Pure: this module reads the spec and the data,
checks them, and fingerprints them, so a stale or hand-edited SVG is found without drawing it
(``challenge-bot check`` stays fast and needs no matplotlib). Drawing is ``bot.local.figures``.

Two kinds of figure:

- ``line``: numbers against a numeric or date x axis, one series per value of a column, each
  drawn as ``line``, ``step``, ``points`` or ``event`` (a labelled vertical line at x).
- ``timeline``: one lane per value of a column (a run, a lineage), a bar from ``x`` to
  ``x.end`` with a label; a row without an end is a labelled marker (an event) on its lane.
"""

from __future__ import annotations

import csv
import io
import posixpath
import re
from datetime import date
from typing import Mapping, NamedTuple

import yaml

STYLE_VERSION = "1"  # bump when the drawing changes: every committed SVG is then stale
FOLDER = "figures"
SUFFIXES = ("yml", "csv", "svg")
KINDS = ("line", "timeline")
STYLES = ("line", "step", "points", "event")
SOURCE_COLUMN = "source"
_STAMP = re.compile(r"<!-- challenge-bot figure inputs=([0-9a-f]{64}) output=([0-9a-f]{64}) -->\n")
_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_URL = re.compile(r"https?://\S+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class FigureError(ValueError):
    """A problem in a figure's spec or data: the file, the line and what is wrong."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line, self.message = path, line, message


class Axis(NamedTuple):
    column: str
    label: str
    type: str = "number"  # number | date
    scale: str = "linear"  # linear | log
    end: str | None = None  # timeline: the column where a bar ends


class Figure(NamedTuple):
    """A checked figure: its spec and its rows, values still as the CSV gives them."""

    stem: str  # repository path without the suffix, e.g. case_studies/meta/figures/run-lineages
    kind: str
    title: str
    alt: str
    x: Axis
    y: Axis | None  # line only
    group: str  # the column naming each row's series (line) or lane (timeline)
    styles: Mapping[str, str]  # line: series -> style
    label: str | None  # the column with annotation text
    color: str | None  # timeline: the column whose values pick the lanes' colours (default: one per lane)
    columns: tuple[str, ...]
    rows: tuple[dict[str, str], ...]

    @property
    def name(self) -> str:
        return posixpath.basename(self.stem)

    @property
    def svg_path(self) -> str:
        return self.stem + ".svg"

    def groups(self) -> list[str]:
        """Series or lanes in the order they first appear in the data."""
        return list(dict.fromkeys(row[self.group] for row in self.rows))

    def number(self, row: dict[str, str], column: str) -> float | date | None:
        """The value of ``column`` in ``row`` as the axis type says (None when blank)."""
        return _value(row.get(column, ""), self.x.type if column in (self.x.column, self.x.end) else "number")


class FigureFiles(NamedTuple):
    """The files of one figure as found on disk; None where a file is absent."""

    stem: str
    spec: str | None
    data: str | None
    svg: str | None


def is_figure_file(parts: tuple[str, ...]) -> bool:
    """Whether a path below the case-studies folder (split in parts) is a figure file: <model>/figures/<name>.<yml|csv|svg>."""
    if len(parts) != 3 or parts[1] != FOLDER:
        return False
    stem, _, suffix = parts[2].rpartition(".")
    return suffix in SUFFIXES and bool(_NAME.fullmatch(stem))


def parse(stem: str, spec_text: str, data_text: str) -> Figure:
    """The figure at ``stem`` from its spec and CSV text; FigureError names the first problem."""
    spec_path, data_path = stem + ".yml", stem + ".csv"
    spec = _load_spec(spec_path, spec_text)
    kind = _choice(spec_path, spec, "kind", KINDS)
    x = _axis(spec_path, spec, "x", timeline=kind == "timeline")
    y = _axis(spec_path, spec, "y") if kind == "line" else None
    group = _text(spec_path, spec, "series" if kind == "line" else "lane")
    styles = _styles(spec_path, spec) if kind == "line" else {}
    label = _text(spec_path, spec, "label", required=False) or None
    color = _text(spec_path, spec, "color", required=False) or None
    allowed = {"kind", "title", "alt", "x", "y", "series", "styles", "label"} if kind == "line" else {"kind", "title", "alt", "x", "lane", "label", "color"}
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise FigureError(spec_path, 1, f"unknown key {unknown[0]!r} for a {kind} figure; allowed: {', '.join(sorted(allowed))}")
    columns, rows = _read_rows(data_path, data_text)
    needed = [c for c in (x.column, x.end, y.column if y else None, group, label, color, SOURCE_COLUMN) if c]
    missing = [c for c in needed if c not in columns]
    if missing:
        raise FigureError(data_path, 1, f"no column {missing[0]!r}; the header has {', '.join(columns)}")
    figure = Figure(stem, kind, _text(spec_path, spec, "title"), _text(spec_path, spec, "alt"), x, y, group, styles, label, color, columns, tuple(r for _, r in rows))
    if kind == "line":
        unstyled = [g for g in figure.groups() if g.strip() and g not in styles]
        if unstyled:
            raise FigureError(spec_path, 1, f"series {unstyled[0]!r} in the data has no entry under styles:")
    for line, row in rows:
        _check_row(figure, data_path, line, row)
    return figure


def _load_spec(path: str, text: str) -> dict:
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise FigureError(path, mark.line + 1 if mark else 1, f"not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(spec, dict):
        raise FigureError(path, 1, "a figure spec is a mapping with kind, title, alt, x and (for line figures) y")
    return spec


def _text(path: str, spec: dict, key: str, required: bool = True) -> str:
    value = spec.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise FigureError(path, 1, f"{key}: must be a non-empty string")
    return " ".join(value.split())


def _choice(path: str, spec: dict, key: str, allowed: tuple[str, ...]) -> str:
    value = spec.get(key)
    if value not in allowed:
        raise FigureError(path, 1, f"{key}: must be one of {', '.join(allowed)} (got {value!r})")
    return value


def _axis(path: str, spec: dict, key: str, timeline: bool = False) -> Axis:
    raw = spec.get(key)
    if not isinstance(raw, dict):
        raise FigureError(path, 1, f"{key}: must be a mapping with column and label")
    allowed = {"column", "label", "type", "scale"} | ({"end"} if timeline else set())
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise FigureError(path, 1, f"{key}: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}")
    end = _text(path, raw, "end") if timeline else None
    return Axis(
        _text(path, raw, "column"),
        _text(path, raw, "label"),
        _choice(path, {"type": raw.get("type", "number")}, "type", ("number", "date")),
        _choice(path, {"scale": raw.get("scale", "linear")}, "scale", ("linear", "log")),
        end,
    )


def _styles(path: str, spec: dict) -> dict[str, str]:
    raw = spec.get("styles")
    if not isinstance(raw, dict) or not raw:
        raise FigureError(path, 1, f"styles: must map each series to one of {', '.join(STYLES)}")
    for series, style in raw.items():
        if style not in STYLES:
            raise FigureError(path, 1, f"styles: {series!r} must be one of {', '.join(STYLES)} (got {style!r})")
    return {str(k): v for k, v in raw.items()}


def _read_rows(path: str, text: str) -> tuple[tuple[str, ...], list[tuple[int, dict[str, str]]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise FigureError(path, 1, "empty file; the first line names the columns") from None
    if len(set(header)) != len(header) or not all(h.strip() == h and h for h in header):
        raise FigureError(path, 1, "column names must be unique, non-empty and without surrounding spaces")
    rows = []
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            raise FigureError(path, line, f"{len(values)} values for {len(header)} columns")
        rows.append((line, dict(zip(header, values))))
    if not rows:
        raise FigureError(path, 1, "no data rows")
    return tuple(header), rows


def _check_row(figure: Figure, path: str, line: int, row: dict[str, str]) -> None:
    if not _URL.fullmatch(row[SOURCE_COLUMN].strip()):
        raise FigureError(path, line, f"every row needs a source URL (http or https) in the {SOURCE_COLUMN!r} column")
    if not row[figure.group].strip():
        raise FigureError(path, line, f"{figure.group!r} is empty")
    event = figure.kind == "line" and figure.styles.get(row[figure.group]) == "event"
    checks = [(figure.x.column, figure.x.type, False)]
    if figure.y is not None:
        checks.append((figure.y.column, figure.y.type, event))
    if figure.x.end:
        checks.append((figure.x.end, figure.x.type, True))
    for column, kind, optional in checks:
        raw = row[column].strip()
        if not raw and optional:
            continue
        try:
            value = _value(raw, kind)
        except ValueError:
            value = None
        if value is None:
            expected = "a date (YYYY-MM-DD)" if kind == "date" else "a number"
            raise FigureError(path, line, f"{column!r} must be {expected}, got {raw!r}")
        if figure.y is not None and column == figure.y.column and figure.y.scale == "log" and isinstance(value, float) and value <= 0:
            raise FigureError(path, line, f"{column!r} must be positive on a log scale, got {raw!r}")
    if figure.x.end and row[figure.x.end].strip():
        start, end = _value(row[figure.x.column], figure.x.type), _value(row[figure.x.end], figure.x.type)
        if end < start:  # type: ignore[operator]
            raise FigureError(path, line, f"{figure.x.end!r} comes before {figure.x.column!r}")


def _value(raw: str, kind: str) -> float | date | None:
    raw = raw.strip()
    if not raw:
        return None
    if kind == "date":
        if not _DATE.fullmatch(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    number = float(raw.replace("_", ""))
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(raw)
    return number


# --- fingerprints: is the committed SVG the one these inputs draw? ------------------------------


def inputs_digest(spec_text: str, data_text: str) -> str:
    """What an SVG is drawn from: the spec, the data and the drawing style's version."""
    import hashlib  # only a repository check with figures hashes: a one-file check does not load OpenSSL

    payload = "\0".join((STYLE_VERSION, spec_text, data_text)).encode("utf-8")
    return hashlib.sha256(payload).hexdigest()


def stamp(svg: str, spec_text: str, data_text: str) -> str:
    """The drawn SVG with a comment recording its inputs and its own body, after the XML declaration."""
    body = _STAMP.sub("", svg)
    line = f"<!-- challenge-bot figure inputs={inputs_digest(spec_text, data_text)} output={_digest(body)} -->\n"
    head, newline, rest = body.partition("\n")
    return f"{head}{newline}{line}{rest}" if head.startswith("<?xml") else line + body


def staleness(svg: str, spec_text: str, data_text: str) -> str | None:
    """Why the committed SVG does not match its inputs (None when it does)."""
    found = _STAMP.search(svg)
    if found is None:
        return "has no challenge-bot stamp, so it was not drawn by `challenge-bot figures`"
    if found.group(1) != inputs_digest(spec_text, data_text):
        return "is out of date: its spec or data changed since it was drawn"
    if found.group(2) != _digest(_STAMP.sub("", svg)):
        return "was edited by hand after it was drawn"
    return None


def _digest(text: str) -> str:
    import hashlib  # as in inputs_digest: only when figures are checked

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- the repository check (CS408, CS409) ---------------------------------------------------------


class FigureProblem(NamedTuple):
    code: str  # CS408 invalid data or spec, CS409 stale or missing SVG
    path: str
    line: int
    message: str


def check(files: list[FigureFiles]) -> list[FigureProblem]:
    """Every problem of every figure: its spec and data, and whether its SVG is current."""
    problems: list[FigureProblem] = []
    for f in sorted(files):
        if f.spec is None:
            orphan = f.stem + (".csv" if f.data is not None else ".svg")
            problems.append(FigureProblem("CS408", orphan, 1, f"no spec {posixpath.basename(f.stem)}.yml beside it; a figure needs its .yml, .csv and .svg"))
            continue
        if f.data is None:
            problems.append(FigureProblem("CS408", f.stem + ".yml", 1, f"no data file {posixpath.basename(f.stem)}.csv beside the spec"))
            continue
        try:
            parse(f.stem, f.spec, f.data)
        except FigureError as exc:
            problems.append(FigureProblem("CS408", exc.path, exc.line, exc.message))
            continue
        why = "is missing" if f.svg is None else staleness(f.svg, f.spec, f.data)
        if why:
            problems.append(FigureProblem("CS409", f.stem + ".svg", 1, f"{posixpath.basename(f.stem)}.svg {why}; run `challenge-bot figures`"))
    return problems


def group_files(paths: Mapping[str, str]) -> list[FigureFiles]:
    """Figure files (repository path -> text) grouped by figure."""
    stems: dict[str, dict[str, str]] = {}
    for path, text in paths.items():
        stem, _, suffix = path.rpartition(".")
        stems.setdefault(stem, {})[suffix] = text
    return [FigureFiles(stem, found.get("yml"), found.get("csv"), found.get("svg")) for stem, found in sorted(stems.items())]
