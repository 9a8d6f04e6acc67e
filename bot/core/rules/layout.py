"""CS1xx: where files live under the case-studies folder."""

from __future__ import annotations

import posixpath
import re

from bot.core.context import FileContext
from bot.core.rules.registry import rule

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\.md")


@rule("CS101", "outside-model-folder", scope="path")
def outside_model_folder(ctx: FileContext):
    """A Markdown file under the case-studies folder is not directly inside a model folder.

    **Why:** the model folder decides the label, the index part and the model
    a case study is filed under; a file elsewhere belongs to no model.
    `README.md` files in the case-studies folder and in model folders are not
    case studies and are skipped.

    **Bad:** `case_studies/restarts.md`, `case_studies/meta/2021/restarts.md`

    **Good:** `case_studies/meta/restarts.md`
    """
    p = ctx.place
    if p.is_markdown and len(p.parts) != 2:
        folder = p.parts[0] if len(p.parts) > 1 else "<model>"
        yield 1, f"a case study must sit directly in a model folder, e.g. {ctx.cfg.case_studies_dir}/{folder}/{_stem(p.parts[-1])}.md"


@rule("CS102", "unknown-model", scope="path")
def unknown_model(ctx: FileContext):
    """The model folder is not in the model registry of `.github/challenge-bot.yml`.

    **Why:** each model has a display name, a paper link and a PR label; a
    folder the registry does not know has none of them. Add the model to the
    registry in the same pull request, or move the file to a known folder.

    **Bad:** `case_studies/opt/restarts.md` (the folder is `meta`)

    **Good:** `case_studies/meta/restarts.md`, or a new `models:` entry:

    ```yaml
    models:
      mistral:
        name: Mistral 7B (Mistral AI)
        label: "model: mistral"
        color: "fa520f"
        description: Case studies from the Mistral 7B run
        paper: https://arxiv.org/abs/2310.06825
    ```
    """
    model = ctx.place.model
    if model is not None and model not in ctx.cfg.models:
        known = ", ".join(ctx.cfg.models)
        yield 1, (
            f"unknown model folder {model!r}; known models: {known}. To add it, give it an entry under "
            f'"models:" in {ctx.cfg.source} with name, label, color, description and paper, '
            f'e.g. {model}: {{name: "...", label: "model: {model}", color: "ededed", description: "...", paper: "https://..."}}'
        )


@rule("CS103", "bad-file-name", scope="path")
def bad_file_name(ctx: FileContext):
    """The file name is not lowercase kebab-case ending in `.md`.

    **Why:** the file name is the case study's URL; lowercase words joined by
    hyphens are stable, readable and the same on every file system.
    `challenge-bot new` picks a good name for you.

    **Bad:** `Loss Spikes.md`, `loss_spikes.md`, `loss-spikes.MD`, `loss-spikes.markdown`

    **Good:** `loss-spikes.md`
    """
    p = ctx.place
    name = p.parts[-1] if p.parts else ""
    if p.is_markdown and len(p.parts) == 2 and not _SLUG.fullmatch(name):
        yield 1, f"file name {name!r} must be lowercase kebab-case with a .md suffix, e.g. {_stem(name)}.md"


@rule("CS104", "unexpected-file", scope="path")
def unexpected_file(ctx: FileContext):
    """A file that is neither a case study nor an allowed asset.

    **Why:** the case-studies folder holds case studies and, in
    `<model>/assets/`, the images they show. Anything else (notes, data,
    archives, a stray `.DS_Store`) does not belong there. Assets must be of an
    allowed type and under the size limit (`limits` in the config).
    `case_studies/index.json` is generated and allowed.

    **Bad:** `case_studies/meta/loss.csv`, `case_studies/meta/assets/run.zip`

    **Good:** `case_studies/meta/assets/loss-curve.png`
    """
    p, cfg = ctx.place, ctx.cfg
    if p.is_markdown:
        return
    if not p.in_assets:
        yield 1, f"only case studies (.md) belong here; images go in {cfg.case_studies_dir}/<model>/assets/"
        return
    suffix = posixpath.splitext(p.path)[1].lower().lstrip(".")
    if suffix not in cfg.asset_types:
        yield 1, f"asset type {suffix or '(none)'!r} is not allowed; allowed: {', '.join(cfg.asset_types)}"
    if ctx.size > cfg.max_asset_size:
        yield 1, f"asset is {human_size(ctx.size)}; the limit is {human_size(cfg.max_asset_size)} (limits.max_asset_size)"


def _stem(name: str) -> str:
    stem = name.rsplit(".", 1)[0].lower()
    return re.sub(r"[^a-z0-9]+", "-", stem).strip("-") or "my-case-study"


def human_size(size: int) -> str:
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}".replace(".0 ", " ")
    return f"{size} bytes"
