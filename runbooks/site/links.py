"""Links between pages (for backlinks and the orphan check) and a link check of a built site."""

from __future__ import annotations

import posixpath
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

MD_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def _strip_code(text: str) -> str:
    """Markdown without fenced code, where link-like text is not a link."""
    return re.sub(r"^(```|~~~).*?^\1", "", text, flags=re.MULTILINE | re.DOTALL)


def links_of(page: str, text: str) -> set[str]:
    """Docs-relative .md pages that page ``page`` (docs-relative path) links to."""
    found = set()
    for target in MD_LINK.findall(_strip_code(text)):
        parts = urlsplit(target)
        if parts.scheme or parts.netloc or not parts.path.endswith(".md"):
            continue
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(page), unquote(parts.path)))
        if resolved != page:
            found.add(resolved)
    return found


def link_graph(docs_dir: Path) -> dict[str, set[str]]:
    """page -> pages it links to, for every Markdown page under ``docs_dir``."""
    return {p.relative_to(docs_dir).as_posix(): links_of(p.relative_to(docs_dir).as_posix(),
                                                         p.read_text(encoding="utf-8"))
            for p in sorted(docs_dir.rglob("*.md"))}


def inbound(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """page -> pages that link to it."""
    result: dict[str, set[str]] = {page: set() for page in graph}
    for source, targets in graph.items():
        for target in targets:
            result.setdefault(target, set()).add(source)
    return result


NOT_FETCHED_RELS = {"canonical", "alternate"}
# Tags whose reference the browser fetches when the page is shown.
RESOURCE_TAGS = {"script": "src", "img": "src", "iframe": "src", "source": "src",
                 "link": "href", "video": "src", "audio": "src"}


class _Refs(HTMLParser):
    """Collects ids and outgoing references of one HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []      # <a href>: navigation, not fetched on view
        self.resources: list[str] = []  # fetched when the page is viewed

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for key in ("id", "name"):
            if values.get(key):
                self.ids.add(str(values[key]))
        if tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))
        attr = RESOURCE_TAGS.get(tag)
        if tag == "link" and (values.get("rel") or "") in NOT_FETCHED_RELS:
            return  # names the page's published address; the browser loads nothing
        if attr and values.get(attr):
            self.resources.append(str(values[attr]))


def _parse(path: Path) -> _Refs:
    refs = _Refs()
    refs.feed(path.read_text(encoding="utf-8", errors="replace"))
    return refs


def _target_file(site_dir: Path, page: Path, path: str) -> Path:
    if not path:
        return page
    base = site_dir if path.startswith("/") else page.parent
    target = (base / unquote(path).lstrip("/")).resolve()
    if target.is_dir():
        target = target / "index.html"
    return target


def check_site(site_dir: Path) -> list[str]:
    """Broken internal links and anchors, and resources fetched from other hosts.

    Returns one line per problem: ``page: what``. External ``<a href>`` links are
    fine (a click, not a request made by viewing the page).
    """
    site_dir = site_dir.resolve()
    pages = {p: _parse(p) for p in sorted(site_dir.rglob("*.html"))}
    problems = []
    for page, refs in pages.items():
        name = page.relative_to(site_dir).as_posix()
        for ref in refs.resources:
            if urlsplit(ref).scheme in ("http", "https") or ref.startswith("//"):
                problems.append(f"{name}: loads {ref} from another host")
        for ref in refs.links + refs.resources:
            parts = urlsplit(ref)
            if parts.scheme or parts.netloc or ref.startswith(("mailto:", "javascript:")):
                continue
            target = _target_file(site_dir, page, parts.path)
            if not target.exists():
                problems.append(f"{name}: broken link {ref}")
                continue
            if not str(target).startswith(str(site_dir)):
                problems.append(f"{name}: link leaves the site: {ref}")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse(target).ids
                if unquote(parts.fragment) not in ids:
                    problems.append(f"{name}: missing anchor {ref}")
    return problems
