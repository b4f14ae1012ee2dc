"""A real browser (Debian's Chromium, driven by Playwright) searches the built site.

Operators type their own words into the search box during an incident; the
page that answers must be among the first three results, both when the site
is served over HTTP and when it is opened from the file system. While it
browses, no request may leave the site's own origin.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium phones home at start.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions"]
# Operator vocabulary -> the page that must answer it.
QUERIES = {
    "0 copies": "stories/moosefs-zero-copies.html",
    "motd": "runbooks/login-cost.html",
    "nobarrier": "runbooks/mount-options.html",
    "thin pool full": "lessons/lvm.html",
    "heartbleed": "lessons/patching-speed.html",
}

# What an operator sees mid-incident, typed as seen -> the runbooks that answer it;
# one of them must be among the first three results.
SYMPTOM_QUERIES = {
    "Input/output error": {"runbooks/thin-pool-full.html"},
    "metadata full": {"runbooks/thin-pool-full.html"},
    "out_of_data": {"runbooks/thin-pool-full.html", "runbooks/lvm-health.html"},
    "logins are slow": {"runbooks/login-cost.html"},
    "(deleted)": {"runbooks/stale-libs.html"},
    "0 copies": {"runbooks/mfs-audit.html", "runbooks/mfs-repair.html"},
}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def served_site(built_site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"the browser test needs Debian's chromium at {CHROMIUM} "
                    "(bash scripts/bootstrap.sh test installs it)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


def _top_results(page: object, start: str, query: str, count: int = 3) -> list[str]:
    """Open ``start``, type ``query`` into the search box, return the first result pages."""
    page.goto(start)
    page.keyboard.press("/")                      # Material's search shortcut
    page.locator("input.md-search__input").press_sequentially(query, delay=20)
    page.wait_for_selector("li.md-search-result__item > a", timeout=15000)
    hrefs = page.eval_on_selector_all("li.md-search-result__item > a",
                                      "links => links.map(a => a.href)")
    pages: list[str] = []
    for href in hrefs:
        path = urlsplit(href).path
        if path not in pages:
            pages.append(path)
    return pages[:count]


@pytest.mark.parametrize("query", list(QUERIES))
def test_search_finds_the_page_over_http(browser, served_site, query):
    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    top = _top_results(page, f"{served_site}/index.html", query)
    page.close()
    assert f"/{QUERIES[query]}" in top, f"{query!r}: first results {top}"
    foreign = [u for u in requests if not u.startswith((served_site + "/", "data:", "blob:"))]
    assert foreign == [], f"requests beyond the site's origin: {foreign}"


@pytest.mark.parametrize("query", list(SYMPTOM_QUERIES))
def test_a_symptom_typed_as_seen_finds_its_runbook(browser, served_site, query):
    page = browser.new_page()
    top = _top_results(page, f"{served_site}/index.html", query)
    page.close()
    assert {f"/{p}" for p in SYMPTOM_QUERIES[query]} & set(top), \
        f"{query!r}: first results {top}"


def test_search_works_from_file_url(browser, built_site):
    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    start = (built_site / "runbooks" / "index.html").as_uri()
    top = _top_results(page, start, "heartbleed")
    assert any(p.endswith("/" + QUERIES["heartbleed"]) for p in top), top
    # Links from file:// must lead to files (no directory URLs), and the result opens.
    page.click("li.md-search-result__item > a")
    page.wait_for_load_state()
    opened = urlsplit(page.url)
    assert opened.scheme == "file" and opened.path.endswith(".html"), page.url
    assert opened.path == top[0], (opened.path, top)
    assert "Heartbleed" in page.inner_text("h1") + page.inner_text("article")
    page.close()
    foreign = [u for u in requests if not u.startswith(("file://", "data:", "blob:"))]
    assert foreign == []


def test_dark_mode_toggle_and_copy_buttons(browser, served_site):
    page = browser.new_page()
    page.goto(f"{served_site}/runbooks/mount-options.html")
    before = page.get_attribute("body", "data-md-color-scheme")
    page.click("label.md-header__button[for^='__palette']")
    after = page.get_attribute("body", "data-md-color-scheme")
    assert {before, after} == {"default", "slate"}
    assert page.locator("button[data-md-type=copy]").count() > 0  # code copy buttons
    page.close()


def _diagram_pages(built_site: Path) -> list[Path]:
    return sorted(p for p in built_site.rglob("*.html") if 'class="mermaid"' in p.read_text())


def test_every_diagram_is_drawn_from_the_site_itself(browser, served_site, built_site):
    pages = _diagram_pages(built_site)
    assert pages, "no page of the built site has a diagram"
    for built in pages:
        page = browser.new_page()
        requests: list[str] = []
        page.on("request", lambda request, seen=requests: seen.append(request.url))
        written = built.read_text().count('<pre class="mermaid"')
        page.goto(f"{served_site}/{built.relative_to(built_site).as_posix()}")
        # Material replaces each <pre class="mermaid"> with a drawn <div class="mermaid">
        # once Mermaid has rendered it; a diagram with an error stays a <pre>.
        page.wait_for_function(
            "n => document.querySelectorAll('div.mermaid').length === n", arg=written,
            timeout=30000)
        heights = page.eval_on_selector_all("div.mermaid", "ds => ds.map(d => d.offsetHeight)")
        assert page.locator("pre.mermaid").count() == 0, built.name
        assert all(h > 50 for h in heights), (built.name, heights)
        foreign = [u for u in requests if not u.startswith((served_site + "/", "data:", "blob:"))]
        assert foreign == [], f"{built.name}: requests beyond the site's origin: {foreign}"
        page.close()
