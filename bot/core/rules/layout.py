"""CS1xx: where files live under the case-studies folder."""

from __future__ import annotations

import posixpath
import re

from bot.core.context import DEVICE, FIFO, SOCKET, SYMLINK_BROKEN, SYMLINK_OUT, FileContext
from bot.core.figures import FOLDER, is_figure_file
from bot.core.rules.registry import Problem, rule

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\.md")


@rule("CS101", "outside-model-folder", scope="path", hint='move it to `case_studies/<model>/<file>.md`')
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
        yield Problem(1, f"a case study must sit directly in a model folder, e.g. {ctx.cfg.case_studies_dir}/{folder}/{_stem(p.parts[-1])}.md")


@rule("CS102", "unknown-model", scope="path", hint='use a registered model folder, or add the model to `.github/challenge-bot.yml`')
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
        yield Problem(1, (
            f"unknown model folder {model!r}; known models: {known}. To add it, give it an entry under "
            f'"models:" in {ctx.cfg.source} with name, label, color, description and paper, '
            f'e.g. {model}: {{name: "...", label: "model: {model}", color: "ededed", description: "...", paper: "https://..."}}'
        ))


@rule("CS103", "bad-file-name", scope="path", hint='rename the file to lowercase-kebab-case `.md`')
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
        yield Problem(1, f"file name {name!r} must be lowercase kebab-case with a .md suffix, e.g. {_stem(name)}.md")


@rule("CS104", "unexpected-file", scope="path", hint='remove the file, or put an allowed image in `<model>/assets/`')
def unexpected_file(ctx: FileContext):
    """A file that is neither a case study, nor an allowed asset, nor a figure's spec, data or drawing.

    **Why:** the case-studies folder holds case studies; in `<model>/assets/`,
    the images they show; and in `<model>/figures/`, the figures drawn from the
    sources' numbers, each as `<name>.yml` (what to draw), `<name>.csv` (the
    data, a source on every row) and `<name>.svg` (drawn by `challenge-bot
    figures`). Anything else (notes, archives, a stray `.DS_Store`) does not
    belong there. Assets and figure files must be of an allowed type and under
    the size limit (`limits` in the config). The generated
    `case_studies/index.json` and `index.csv`, and the redirects file
    `case_studies/redirects.yml`, are allowed.

    **Bad:** `case_studies/meta/loss.csv`, `case_studies/meta/assets/run.zip`

    **Good:** `case_studies/meta/assets/loss-curve.png`, `case_studies/meta/figures/run-lineages.csv`
    """
    p, cfg = ctx.place, ctx.cfg
    if p.is_markdown:
        return
    if is_figure_file(p.parts):
        if ctx.size > cfg.max_asset_size:
            yield Problem(1, f"figure file is {human_size(ctx.size)}; the limit is {human_size(cfg.max_asset_size)} (limits.max_asset_size)")
        return
    if not p.in_assets:
        if len(p.parts) == 3 and p.parts[1] == FOLDER:
            yield Problem(1, f"{FOLDER}/ holds only <name>.yml, <name>.csv and <name>.svg, named in lowercase kebab-case")
        else:
            yield Problem(1, f"only case studies (.md) belong here; images go in {cfg.case_studies_dir}/<model>/assets/")
        return
    suffix = posixpath.splitext(p.path)[1].lower().lstrip(".")
    if suffix not in cfg.asset_types:
        yield Problem(1, f"asset type {suffix or '(none)'!r} is not allowed; allowed: {', '.join(cfg.asset_types)}")
    if ctx.size > cfg.max_asset_size:
        yield Problem(1, f"asset is {human_size(ctx.size)}; the limit is {human_size(cfg.max_asset_size)} (limits.max_asset_size)")


@rule("CS105", "symlink-outside-repository", scope="entry", hint="replace the link with the file itself, inside the repository")
def symlink_outside_repository(ctx: FileContext):
    """A symbolic link that leads out of the repository, or nowhere.

    **Why:** a case study is what the repository holds. A link to a file
    elsewhere on one machine (or to `/dev/zero`) is a different file, or none,
    on every other checkout and on GitHub; `challenge-bot` never follows it,
    so it is neither read nor changed by `--fix`. Links to files inside the
    repository are followed.

    **Bad:** `case_studies/meta/notes.md -> /home/me/notes.md`, a link whose
    target was deleted

    **Good:** the file itself, committed under `case_studies/`
    """
    if ctx.kind == SYMLINK_OUT:
        yield Problem(1, "a symbolic link that leads out of the repository; challenge-bot does not follow it: commit the file itself")
    elif ctx.kind == SYMLINK_BROKEN:
        yield Problem(1, "a symbolic link that leads nowhere (its target does not exist); commit the file itself")


_SPECIAL = {FIFO: "a named pipe (FIFO)", SOCKET: "a socket", DEVICE: "a device file"}


@rule("CS106", "not-a-regular-file", scope="entry", hint="remove it: only regular files belong in the repository")
def not_a_regular_file(ctx: FileContext):
    """Something that is not a file: a named pipe (FIFO), a socket or a device.

    **Why:** only regular files can be case studies, images or figures; git
    cannot even commit the others. Reading a pipe waits forever and a device
    may never end, so `challenge-bot` skips them unread and says so.

    **Bad:** a FIFO made with `mkfifo case_studies/meta/log.md`

    **Good:** a regular file
    """
    if ctx.kind in _SPECIAL:
        yield Problem(1, f"{_SPECIAL[ctx.kind]}, not a regular file; challenge-bot skips it unread")


def _stem(name: str) -> str:
    stem = name.rsplit(".", 1)[0].lower()
    return re.sub(r"[^a-z0-9]+", "-", stem).strip("-") or "my-case-study"


def human_size(size: int) -> str:
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}".replace(".0 ", " ")
    return f"{size} bytes"
