"""The generated index as it should be, rendered in forked processes while the CLI checks a large tree.

``bot.core.linter.expected_index`` renders the README index, index.json, index.csv and every
case study's footer from all the records: work that grows with the repository and, done in
the parent after the workers finish, would leave all but one core idle. Here the pieces are
rendered at once in processes forked from the parent, which see the records without copying
them. Each piece is compared with the file as it is inside its process, and only what differs
travels back: for a current index, a few bytes. The result is the same ``IndexState``.
"""

from __future__ import annotations

import os
from typing import Any, cast

from bot.core import dataset, footer, ids
from bot.core import index as index_mod
from bot.core.config_model import Config
from bot.core.index import Record
from bot.core.linter import IndexState, expected_index

PARALLEL_THRESHOLD = 400  # below this, forking costs more than rendering
_PIECES = ("json", "readme", "csv", "footers 0", "footers 1")
_SAME = None  # what a piece sends back when the file is already as it should be

_INPUT: tuple[Any, ...] | None = None  # set in the parent just before forking


def render(
    records: list[Record],
    readme_text: str | None,
    cfg: Config,
    redirects: ids.Redirects = ids.Redirects(),
    *,
    json_text: str | None = None,
    csv_text: str | None = None,
) -> IndexState:
    """``expected_index``, its pieces rendered in parallel when the tree is large and fork is available."""
    if len(records) < PARALLEL_THRESHOLD or (os.cpu_count() or 1) < 2:
        return expected_index(records, readme_text, cfg, redirects)
    import multiprocessing  # only large trees fork: importing it costs a one-file check 10 ms

    if "fork" not in multiprocessing.get_all_start_methods():
        return expected_index(records, readme_text, cfg, redirects)
    global _INPUT
    _INPUT = (records, readme_text, json_text, csv_text, cfg, redirects)
    try:
        with multiprocessing.get_context("fork").Pool(min(len(_PIECES), os.cpu_count() or 1)) as pool:
            pieces = dict(zip(_PIECES, pool.map(_render, _PIECES, chunksize=1)))
    finally:
        _INPUT = None
    readme, problem = pieces["readme"]
    changed = pieces["footers 0"] | pieces["footers 1"]
    # Every record's footer as it should be: the ones sent back, and the rest as the files hold them.
    footers = {r.path: changed.get(r.path, r.origin.footer) for r in records}
    return IndexState(
        readme_text if readme is _SAME and problem is None else readme,
        pieces["json"] if pieces["json"] is not _SAME else cast(str, json_text),  # _SAME: the file's text, as rendered
        problem,
        pieces["csv"] if pieces["csv"] is not _SAME else cast(str, csv_text),
        cast(dict[str, str], footers),  # a footer left out is one the file holds: never None
    )


def _render(piece: str) -> Any:
    """One piece, in a forked process: what the file should hold, or _SAME when it already does."""
    assert _INPUT is not None
    records, readme_text, json_text, csv_text, cfg, redirects = _INPUT
    if piece == "json":
        text = dataset.render_json(records, cfg, redirects)
        return _SAME if text == json_text else text
    if piece == "csv":
        text = dataset.render_csv(records, cfg, redirects)
        return _SAME if text == csv_text else text
    if piece == "readme":
        try:
            text = index_mod.replace_block(readme_text or "", index_mod.render_block(records, cfg), cfg)
        except index_mod.MarkersMissing as exc:
            return None, str(exc)
        return (_SAME if text == readme_text else text), None
    catalog = ids.Catalog(records, redirects)
    half = records[int(piece[-1]) :: 2]
    return {r.path: text for r in half if (text := footer.render(r, catalog, cfg)) != r.origin.footer}
