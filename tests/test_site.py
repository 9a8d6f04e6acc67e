"""The static site, built from this repository and checked in a real headless browser.

Chromium and chromedriver come from Debian (``.ci/browser.sh`` installs them, and fetches the
pinned axe-core from npm). Without them the browser tests are skipped locally, with the reason,
and fail when ``CI=true``. Every expectation is computed from the files, not hard-coded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest

from conftest import REPO
from bot.core import site as site_plan
from bot.local import workspace

site = pytest.importorskip("bot.local.site")  # needs the `site` extra (part of `test`)

AXE_VERSION = "4.14.1"  # the version .ci/browser.sh fetches
FP16 = "meta/fp16-loss-scale-collapse-about-a-quarter-of-the-way-through/"
SERIOUS = ("serious", "critical")


def _axe_path() -> Path:
    if os.environ.get("AXE_CORE_JS"):
        return Path(os.environ["AXE_CORE_JS"])
    cache = Path(os.environ.get("CHALLENGE_BOT_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "challenge-bot")
    return cache / f"axe-core-{AXE_VERSION}" / "axe.min.js"


def _missing(what: str) -> None:
    message = f"{what}; run `bash .ci/browser.sh` to install it"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI must run the browser tests)")
    pytest.skip(message)


def _docs_url(path: str) -> str:
    """The URL path of a docs page (use_directory_urls): meta/x.md -> meta/x/, tags/index.md -> tags/."""
    stem = path[: -len(".md")]
    if stem == "index":
        return ""
    return (stem[: -len("index")] if stem.endswith("/index") else stem + "/")


@pytest.fixture(scope="module")
def live_cfg_module():
    from bot.core import config

    return config.load(REPO)


@pytest.fixture(scope="module")
def sources_before(live_cfg_module):
    return _fingerprint(REPO / live_cfg_module.case_studies_dir)


@pytest.fixture(scope="module")
def built(tmp_path_factory, live_cfg_module, sources_before):
    out = tmp_path_factory.mktemp("site")
    plan = site.build(REPO, live_cfg_module, out)
    return out, plan


@pytest.fixture(scope="module")
def base_url(built):
    with site.served(built[0]) as url:
        yield url


@pytest.fixture(scope="module")
def records(live_cfg_module):
    return workspace.all_records(REPO, live_cfg_module)


@pytest.fixture(scope="module")
def browser():
    chromium, driver_path = site.browser(), shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        _missing("headless Chromium and chromedriver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in site.browser_flags():
        options.add_argument(flag.replace("--headless", "--headless=new"))
    options.add_argument("--window-size=1280,900")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_script_timeout(60)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def _fingerprint(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def _wait(driver, condition, timeout: float = 15):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


# --- the build itself -------------------------------------------------------------------------------


def test_the_build_never_edits_the_sources(built, live_cfg_module, sources_before):
    assert _fingerprint(REPO / live_cfg_module.case_studies_dir) == sources_before


def test_one_page_per_model_case_study_and_tag(built, records, live_cfg_module):
    out, _ = built
    expected = {""} | {f"{m}/" for m in live_cfg_module.models} | {_docs_url(site_plan.docs_path(r.path, live_cfg_module)) for r in records}
    expected |= {"tags/"} | {f"tags/{t.name}/" for t in site_plan.tags_of(live_cfg_module)} | {"data/"}
    built_pages = {p.relative_to(out).parent.as_posix() + "/" for p in out.rglob("index.html")}
    built_pages = {"" if p == "./" else p for p in built_pages}
    assert built_pages == expected


# --- in the browser ------------------------------------------------------------------------------------


def test_searching_loss_scale_finds_the_fp16_case_study(browser, base_url):
    from selenium.webdriver.common.by import By

    browser.get(base_url)
    box = _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "input.md-search__input"))
    box.click()
    box.send_keys("loss scale")
    def results(driver) -> list[str]:  # the results for the whole query, not for "loss" typed so far
        links = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "a.md-search-result__link")]
        return links if any("h=loss+scale" in link for link in links) else []

    pages = {urlsplit(link).path.lstrip("/") for link in _wait(browser, results)}
    assert FP16 in pages


def test_each_tag_page_lists_exactly_the_case_studies_with_that_tag(browser, base_url, records, live_cfg_module):
    from selenium.webdriver.common.by import By

    for tag in site_plan.tags_of(live_cfg_module):
        browser.get(f"{base_url}tags/{tag.name}/")
        links = browser.find_elements(By.CSS_SELECTOR, f'h2[id="tag:{tag.name}"] + ul a')
        shown = sorted(urlsplit(a.get_attribute("href")).path.lstrip("/") for a in links)
        expected = sorted(_docs_url(site_plan.docs_path(path, live_cfg_module)) for path in site_plan.studies_with(tag.name, records))
        assert shown == expected, f"tag page {tag.name}"


def test_every_figure_renders(browser, base_url, built):
    from selenium.webdriver.common.by import By

    _, plan = built
    pages = [path for path, text in plan.pages.items() if "](figures/" in text and ".svg)" in text]
    assert pages, "no page embeds a figure"
    for path in pages:
        browser.get(base_url + _docs_url(path))
        images = browser.find_elements(By.CSS_SELECTOR, 'article img[src$=".svg"]')
        assert images, path
        for img in images:
            _wait(browser, lambda d: d.execute_script("return arguments[0].complete", img))
            natural = browser.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight]", img)
            box = img.rect
            assert natural[0] > 0 and natural[1] > 0, f"{img.get_attribute('src')} did not load"
            assert box["width"] > 200 and box["height"] > 100, f"{img.get_attribute('src')} renders at {box}"
            assert img.get_attribute("alt"), f"{img.get_attribute('src')} has no alt text"


@pytest.mark.parametrize("page", ["", "meta/", FP16])
def test_no_serious_accessibility_violations(browser, base_url, page):
    axe = _axe_path()
    if not axe.is_file():
        _missing(f"axe-core {AXE_VERSION} is not at {axe}")
    browser.get(base_url + page)
    browser.execute_script(axe.read_text(encoding="utf-8"))
    violations = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document).then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " targets: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))), e => done([{id: 'axe-error', impact: 'critical', help: String(e)}]));"
    )
    serious = [v for v in violations if v["impact"] in SERIOUS]
    assert serious == [], json.dumps(serious, indent=1)


# --- links (over HTTP: every page, every href and src) -------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(found["id"])
        for key in ("href", "src"):
            if found.get(key) and tag in ("a", "img", "link", "script", "source"):
                self.links.append(found[key])


def _get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read(), response.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        return exc.code, b"", ""


def test_every_internal_link_on_every_page_resolves(base_url):
    pages: dict[str, _Links] = {}
    queue, seen, broken = [base_url], {base_url}, []
    checks: list[tuple[str, str]] = []  # (page, link)
    while queue:
        url = queue.pop()
        status, body, kind = _get(url)
        if status != 200:
            broken.append(f"{url}: HTTP {status}")
            continue
        if kind != "text/html":
            continue
        parser = _Links()
        parser.feed(body.decode("utf-8"))
        pages[url] = parser
        for link in parser.links:
            absolute = urljoin(url, link)
            if not absolute.startswith(base_url):
                continue
            checks.append((url, absolute))
            target = urldefrag(absolute)[0]
            if target not in seen:
                seen.add(target)
                queue.append(target)
    for page, link in checks:
        target, fragment = urldefrag(link)
        if fragment and target in pages and fragment not in pages[target].ids and fragment != "__skip":
            broken.append(f"{page}: link to {link}: no element with id {fragment!r}")
    assert len(pages) > 20
    assert broken == []


# --- the commands ------------------------------------------------------------------------------------


def test_site_screenshot_command_writes_a_png(tmp_path, monkeypatch, capsys):
    if site.browser() is None:
        _missing("headless Chromium is not installed")
    from bot.cli.main import main

    monkeypatch.chdir(REPO)
    png = tmp_path / "shot.png"
    code = main(["site", "--out", str(tmp_path / "out"), "--screenshot", str(png), "--page", "tags/", "--port", "0"])
    assert (code, capsys.readouterr().err) == (0, f"Built the site in {tmp_path / 'out'}.\nSaved a screenshot to {png}.\n")
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and (int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")) == (1280, 860)


def test_site_serve_serves_until_interrupted(tmp_path):
    import signal
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "site", "--out", str(tmp_path / "out"), "--serve", "--port", "0"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith(f"Serving {tmp_path / 'out'} at http://127.0.0.1:"), line + process.stderr.read()
        url = line.split(" at ", 1)[1].split(" ", 1)[0]
        status, body, kind = _get(url + "tags/")
        assert (status, kind) == (200, "text/html") and b"loss-spikes" in body
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)  # closes the pipes
    assert (process.returncode, err) == (0, f"Built the site in {tmp_path / 'out'}.\n")


def test_a_failed_build_or_a_missing_browser_is_a_usage_error(tmp_path, monkeypatch, live_cfg_module):
    from bot.local.workspace import UsageError

    broken = site.plan_mod.Plan({"index.md": "[gone](missing.md)\n"}, {}, {"site_name": "x", "strict": True, "theme": {"name": "material"}})
    monkeypatch.setattr(site.plan_mod, "plan", lambda inputs: broken)
    with pytest.raises(UsageError, match="the site build failed"):
        site.build(REPO, live_cfg_module, tmp_path / "out")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CHROMIUM", raising=False)
    assert site.browser() is None
    with pytest.raises(UsageError, match="no Chromium found for --screenshot"):
        site.screenshot(tmp_path, tmp_path / "x.png")
    monkeypatch.setenv("CHROMIUM", "/bin/false")
    with pytest.raises(UsageError, match="Chromium could not take the screenshot"):
        site.screenshot(tmp_path, tmp_path / "x.png")


def test_serve_in_process_until_stopped(built, capsys):
    import threading
    import time

    stop = threading.Event()
    thread = threading.Thread(target=site.serve, args=(built[0], 0, stop))
    thread.start()
    try:
        for _ in range(100):
            out = capsys.readouterr().out
            if out:
                break
            time.sleep(0.05)
        url = out.split(" at ", 1)[1].split(" ", 1)[0]
        assert _get(url)[0] == 200
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
