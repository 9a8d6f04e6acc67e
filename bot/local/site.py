"""Build the static site: read the sources, write the planned pages to a temporary folder, run MkDocs.

The sources are only read: every page is a transformed copy (``bot.core.site``) written into a
temporary ``docs`` folder, so building never edits a case study. Also serves the built site on
loopback, and takes a screenshot of it with headless Chromium for the README. Only
``challenge-bot site`` imports this module (lazily), so MkDocs is needed only to build the site.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import logging
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Iterator

import yaml
from mkdocs.commands.build import build as mkdocs_build
from mkdocs.config import load_config

from bot.core import site as plan_mod
from bot.core.config_model import Config
from bot.core.figures import FOLDER
from bot.local import workspace

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def inputs(root: Path, cfg: Config) -> plan_mod.Inputs:
    """Everything the site is built from, read from the repository."""
    records = workspace.all_records(root, cfg)
    texts: dict[str, str] = {}
    for rel in [cfg.readme] + [r.path for r in records] + [f"{cfg.case_studies_dir}/{m}/README.md" for m in cfg.models]:
        text = workspace.read_text_or_none(root / rel)
        if text is not None:
            texts[rel] = text
    base = root / cfg.case_studies_dir
    files = [p for p in base.glob("index.*") if p.is_file()]
    for model in cfg.models:
        files += [p for p in sorted((base / model / FOLDER).glob("*")) if p.suffix in (".svg", ".csv")]
        files += [p for p in sorted((base / model / "assets").glob("*")) if p.is_file()]
    return plan_mod.Inputs(cfg, records, texts, tuple(sorted(workspace.relative(p, root) for p in files)))


def build(root: Path, cfg: Config, out: Path) -> plan_mod.Plan:
    """Build the site into ``out`` (emptied first) and return the plan it was built from."""
    site_plan = plan_mod.plan(inputs(root, cfg))
    with tempfile.TemporaryDirectory(prefix="challenge-bot-site-") as tmp:
        docs = Path(tmp) / "docs"
        for rel, text in site_plan.pages.items():
            _write(docs / rel, text)
        for rel, source in site_plan.copies.items():
            (docs / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / source, docs / rel)
        settings = dict(site_plan.config)
        if _override_search_dialog(Path(tmp) / "overrides"):
            settings["theme"] = {**settings["theme"], "custom_dir": "overrides"}
        config_file = Path(tmp) / "mkdocs.yml"
        _write(config_file, yaml.safe_dump(settings, sort_keys=False, allow_unicode=True))
        with _quiet_mkdocs():
            mkdocs_build(load_config(str(config_file), docs_dir=str(docs), site_dir=str(out.resolve())))
    return site_plan


def _override_search_dialog(folder: Path) -> bool:
    """The theme's search dialog, given the accessible name it lacks (axe-core: aria-dialog-name)."""
    import material  # type: ignore[import-untyped]  # the theme's own files: only when building

    original = Path(material.__file__).parent / "templates" / "partials" / "search.html"
    text = original.read_text(encoding="utf-8")
    marker = 'role="dialog">'
    if marker not in text:
        return False
    _write(folder / "partials" / "search.html", text.replace(marker, 'role="dialog" aria-label="Search">', 1))
    return True


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@contextlib.contextmanager
def _quiet_mkdocs() -> Iterator[None]:
    """MkDocs logs through ``logging``; show its warnings (strict mode turns them into a failure), not its info lines."""
    logger = logging.getLogger("mkdocs")
    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("mkdocs: %(levelname)s: %(message)s"))
    logger.addHandler(handler)
    try:
        yield
    except SystemExit as exc:  # mkdocs aborts with SystemExit in strict mode
        raise workspace.UsageError(f"the site build failed: {exc}") from None
    except Exception as exc:
        if type(exc).__module__.startswith("mkdocs"):
            raise workspace.UsageError(f"the site build failed: {exc}") from None
        raise
    finally:
        logger.removeHandler(handler)


@contextlib.contextmanager
def served(folder: Path, port: int = 0) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 in a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002  (the stdlib's name)
        pass


def serve(folder: Path, port: int = 8000, stop: threading.Event | None = None) -> None:
    """Serve the built site until interrupted (or until ``stop`` is set)."""
    with served(folder, port) as url:
        print(f"Serving {folder} at {url} (Ctrl-C to stop)", flush=True)  # the URL is the fourth word: tests read it
        with contextlib.suppress(KeyboardInterrupt):
            (stop or threading.Event()).wait()


def browser() -> str | None:
    """The headless Chromium to use: $CHROMIUM, else the first of BROWSERS on PATH."""
    return os.environ.get("CHROMIUM") or next((found for name in BROWSERS if (found := shutil.which(name))), None)


def browser_flags() -> list[str]:
    flags = ["--headless", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage", "--hide-scrollbars"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        flags.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox (CI containers)
    return flags


def screenshot(folder: Path, png: Path, page: str = "", port: int = 0, size: tuple[int, int] = (1280, 860)) -> None:
    """Save a screenshot of ``page`` of the built site, served on loopback, taken with headless Chromium."""
    chromium = browser()
    if chromium is None:
        raise workspace.UsageError("no Chromium found for --screenshot: install it (apt-get install chromium) or set $CHROMIUM")
    png.parent.mkdir(parents=True, exist_ok=True)
    with served(folder, port) as url, tempfile.TemporaryDirectory(prefix="challenge-bot-chromium-") as profile:
        command = [chromium, *browser_flags(), f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}",
                   f"--screenshot={png.resolve()}", "--virtual-time-budget=5000", url + page.lstrip("/")]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode != 0 or not png.exists():
        raise workspace.UsageError(f"Chromium could not take the screenshot: {result.stderr.strip()[-500:]}")
