"""Draw the figures (``bot.core.figures``) to SVG with matplotlib, in one fixed style.

Deterministic: the Agg backend, a fixed ``svg.hashsalt``, no date in the metadata and text kept
as text (``svg.fonttype: none``), so the same spec and data give the same bytes on every
machine with the pinned matplotlib. The SVG is stamped with a fingerprint of its inputs
(``bot.core.figures.stamp``), which is how ``challenge-bot check`` finds a stale one.
Only ``challenge-bot figures`` imports this module (lazily): matplotlib costs a second to import.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display, the same output everywhere

from matplotlib import dates, pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from bot.core import figures as core  # noqa: E402
from bot.core.config_model import Config  # noqa: E402
from bot.local import workspace  # noqa: E402

# Okabe–Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
EVENT_COLOR = "#555555"
# matplotlib types rc_context keys as a Literal of every rcParam, hence the ignore where STYLE is used.
STYLE: dict[str, Any] = {
    "figure.figsize": (7.2, 3.9),
    "figure.dpi": 100,
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "svg.fonttype": "none",
    "svg.hashsalt": "challenge-bot",
    "svg.id": None,
    "path.simplify": False,
}


def render(figure: core.Figure) -> str:
    """The SVG text of one figure (not yet stamped)."""
    with plt.rc_context(STYLE):  # type: ignore[arg-type]
        fig, ax = plt.subplots(layout="constrained")
        try:
            (_draw_line if figure.kind == "line" else _draw_timeline)(figure, ax)
            ax.set_title(figure.title, loc="left", wrap=True)
            _format_x(figure, ax)
            out = io.StringIO()
            fig.savefig(out, format="svg", metadata={"Date": None, "Title": figure.title, "Description": figure.alt, "Creator": None})
        finally:
            plt.close(fig)
    return out.getvalue()


def _draw_line(figure: core.Figure, ax) -> None:
    assert figure.y is not None
    colors = iter(PALETTE)
    events: list[tuple[Any, str]] = []
    for series in figure.groups():
        rows = [r for r in figure.rows if r[figure.group] == series]
        xs = [figure.number(r, figure.x.column) for r in rows]
        style = figure.styles[series]
        if style == "event":
            events += [(x, _label(figure, r) or series) for x, r in zip(xs, rows)]
            continue
        ys = [figure.number(r, figure.y.column) for r in rows]
        color = next(colors)
        if style == "points":
            ax.plot(xs, ys, "o", color=color, label=series, markersize=5)
        else:
            ax.plot(xs, ys, "-o", color=color, label=series, markersize=3.5, linewidth=1.8, drawstyle="steps-post" if style == "step" else "default")
        for x, y, r in zip(xs, ys, rows):
            if _label(figure, r):
                ax.annotate(_label(figure, r), (x, y), xytext=(4, 4), textcoords="offset points", fontsize=7.5, color=color)
    ax.set_ylabel(figure.y.label)
    ax.set_yscale(figure.y.scale)
    if figure.y.scale == "linear":
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: compact(v)))
    ax.set_ylim(bottom=0 if figure.y.scale == "linear" else None)
    if events:
        _draw_events(ax, events)
    ax.legend(loc="best")


def _draw_events(ax, events: list[tuple[Any, str]]) -> None:
    """Dashed vertical lines, labelled along the top in as many rows as keep the labels apart."""
    ax.margins(y=0.05)
    for x, _ in events:
        ax.axvline(x, color=EVENT_COLOR, linestyle=(0, (3, 2)), linewidth=0.8, zorder=1)
    low, high = ax.get_ylim()
    levels: list[float] = []  # the right edge (axes fraction) of the last label in each row
    left, right = (_as_float(v) for v in ax.get_xlim())
    merged: dict[Any, list[str]] = {}
    for x, text in sorted(events, key=lambda e: _as_float(e[0])):
        merged.setdefault(x, []).append(text)
    placed = []
    for x, texts in merged.items():
        text = "; ".join(texts)
        start = (_as_float(x) - left) / (right - left)
        width = 0.0088 * len(text) + 0.015  # DejaVu Sans at 7 pt on a 7.2 in wide axes, roughly
        row = next((i for i, edge in enumerate(levels) if edge < start), len(levels))
        if row == len(levels):
            levels.append(0.0)
        levels[row] = start + width
        placed.append((x, text, row))
    rows = max(len(levels), 1)
    ticks = [t for t in ax.get_yticks() if low <= t <= high]
    ax.set_yticks(ticks)
    ax.set_ylim(low, high + (high - low) * 0.085 * rows)
    top = ax.get_ylim()[1]
    step = (top - low) * 0.075
    for x, text, row in placed:
        ax.text(x, top - step * (row + 0.5), " " + text, fontsize=7, color="#222222", va="center", ha="left",
                bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})


def _draw_timeline(figure: core.Figure, ax) -> None:
    lanes = figure.groups()
    ax.set_ylim(len(lanes) - 0.4, -0.9)
    ax.set_yticks(range(len(lanes)), lanes)
    ax.grid(axis="y", visible=False)
    ax.tick_params(axis="y", length=0)
    keys = list(dict.fromkeys(_lane_key(figure, lane) for lane in lanes))
    for i, lane in enumerate(lanes):
        color = PALETTE[keys.index(_lane_key(figure, lane)) % len(PALETTE)]
        for row in (r for r in figure.rows if r[figure.group] == lane):
            start, end = figure.number(row, figure.x.column), figure.number(row, figure.x.end or "")
            text = _label(figure, row)
            if end is None:
                ax.plot([start], [i], marker="D", color=color, markersize=5.5, markeredgecolor="white", zorder=3)
                anchor = start
            else:
                ax.plot([start, end], [i, i], color=color, linewidth=7, solid_capstyle="butt", zorder=2)
                ax.plot([end], [i], marker="|", color="#222222", markersize=11, zorder=3)
                anchor = end
            if text:
                ax.annotate(text, (anchor, i), xytext=(5, 0), textcoords="offset points", va="center", fontsize=7.5, color="#222222")


def _lane_key(figure: core.Figure, lane: str) -> str:
    if not figure.color:
        return lane
    return next(r[figure.color] for r in figure.rows if r[figure.group] == lane)


def _format_x(figure: core.Figure, ax) -> None:
    ax.set_xlabel(figure.x.label)
    if figure.x.type == "date":
        ax.xaxis.set_major_locator(dates.AutoDateLocator(minticks=4, maxticks=9))
        ax.xaxis.set_major_formatter(dates.DateFormatter("%-d %b %Y"))
    else:
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1e6:g}M" if abs(v) >= 1e6 else f"{v / 1000:g}k" if abs(v) >= 1000 else f"{v:g}"))
    if figure.kind == "timeline":
        left, right = ax.get_xlim()
        ax.set_xlim(left, right + (right - left) * 0.28)  # room for the labels after the last bar


def compact(value: float) -> str:
    """A tick label: 0, 250, 1.5, 3e-5, 2.5e+06 → 2.5e6."""
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e5:
        return f"{value:g}"
    mantissa, exponent = f"{value:.2e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def _label(figure: core.Figure, row: dict[str, str]) -> str:
    return row.get(figure.label, "").strip() if figure.label else ""


def _as_float(value: Any) -> float:
    if isinstance(value, date):
        return float(dates.date2num(value))
    return float(value)


# --- the repository: draw every figure, or say which are stale -------------------------------------


class Drawn:
    """One figure drawn: its SVG path and text, and whether the committed file already matches."""

    def __init__(self, path: str, text: str, current: bool) -> None:
        self.path, self.text, self.current = path, text, current


def draw_all(root: Path, cfg: Config) -> list[Drawn]:
    """Draw every figure of the repository (nothing written); UsageError when a spec or data is invalid."""
    drawn = []
    for files in workspace.figure_files(root, cfg):
        if files.spec is None or files.data is None:
            problem = core.check([files])[0]
            raise workspace.UsageError(f"{problem.path}:{problem.line}: {problem.message}")
        try:
            figure = core.parse(files.stem, files.spec, files.data)
        except core.FigureError as exc:
            raise workspace.UsageError(str(exc)) from None
        svg = core.stamp(render(figure), files.spec, files.data)
        drawn.append(Drawn(figure.svg_path, svg, files.svg == svg))
    return drawn
