"""MkDocs hooks: generated pages first, then badges and backlinks on every page.

- before the build: render the generated pages (runbooks/site/generate.py) and
  the Prometheus alerting rules (runbooks/site/alerts.py), a download on the site;
- per page: a "verified" badge under the title of every page with executed
  blocks (from docs/data/verified.json, written by the test run), and a list
  of the pages that link to it, so cross-links always go both ways;
- after the build: every ``runbook_url`` of the published rules file opens a
  page and anchor of the built site, or the build fails.
"""

from __future__ import annotations

import posixpath
import re
import sys
from pathlib import Path
from typing import Any

_state: dict[str, Any] = {}
# Listing pages link to everything; as backlinks they would only add noise.
NOT_BACKLINKS = {"tags.md", "reference/tasks.md", "symptoms.md"}
RUNBOOK_SEARCH_BOOST = 2


def on_pre_build(config: Any, **_: Any) -> None:
    root = Path(config["config_file_path"]).parent
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from mkdocs.exceptions import PluginError

    from runbooks.site import verified
    from runbooks.site.generate import generate, page_title
    from runbooks.site.links import inbound, link_graph
    from runbooks.site.vendor import VendorError, ensure_iframe_worker

    docs = Path(config["docs_dir"])
    try:
        ensure_iframe_worker(docs)
        _state["verified"] = verified.load(docs)
    except VendorError as exc:
        raise PluginError(f"{exc} (needed for search from file://)") from None
    except ValueError as exc:
        raise PluginError(str(exc)) from None
    generate(docs)
    from runbooks.site import alerts

    try:
        alerts.write_rules(docs)
    except ValueError as exc:  # a finding the rules cannot name or link
        raise PluginError(f"alerting rules: {exc}") from None
    graph = link_graph(docs)
    _state["inbound"] = inbound(graph)
    # Read once per build: every page's backlinks name other pages by title.
    _state["titles"] = {page: page_title(docs / page) for page in graph}


# A runbook page opens with its "First" box; the badge goes below it, so the
# command to run now stays right under the title.
FIRST_BOX = re.compile(r'\A\s*!!! \w+ "First"\n(?:(?:[ \t]+\S.*|[ \t]*)\n)*')


def _insert_after_h1(markdown: str, block: str) -> str:
    match = re.search(r"^# .*$", markdown, re.MULTILINE)
    if not match:
        return block + "\n" + markdown
    end = match.end()
    first = FIRST_BOX.match(markdown[end + 1:])
    if first:
        end += 1 + first.end()
    return markdown[:end].rstrip("\n") + "\n\n" + block.strip("\n") + "\n\n" \
        + markdown[end:].lstrip("\n")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any, **_: Any) -> str:
    from runbooks.site import verified
    from runbooks.site.fences import console_blocks

    src = page.file.src_uri
    if src.startswith("runbooks/") and src != "runbooks/index.md":
        # Mid-incident, a symptom typed into search should land on what to do
        # (the runbook) before the stories and lessons that explain it.
        page.meta.setdefault("search", {}).setdefault("boost", RUNBOOK_SEARCH_BOOST)
    if src == "monitoring/prometheus.md":
        from runbooks.site import alerts

        markdown = markdown.replace(alerts.MARKER, alerts.rules_table(src))
    badge = verified.badge(_state.get("verified", {}).get(src), console_blocks(markdown))
    if badge:
        markdown = _insert_after_h1(markdown, badge)
    sources = sorted(s for s in _state.get("inbound", {}).get(src, ())
                     if s not in NOT_BACKLINKS and not s.endswith("index.md"))
    titles = _state.get("titles", {})
    links = [f"[{titles.get(source, source)}]({posixpath.relpath(source, posixpath.dirname(src))})"
             for source in sources]
    if links:
        markdown += "\n\n---\n\n**Pages that link here:** " + " · ".join(links) + "\n"
    return markdown


def on_post_build(config: Any, **_: Any) -> None:
    """Fail the build when a runbook_url of the published rules opens no page or anchor."""
    from mkdocs.exceptions import PluginError

    from runbooks.site import alerts

    site = Path(config["site_dir"])
    rules = site / alerts.RULES_FILE
    if not rules.is_file():
        raise PluginError(f"alerting rules: {alerts.RULES_FILE} is not on the built site")
    problems = alerts.missing_anchors(rules.read_text(encoding="utf-8"), site)
    if problems:
        raise PluginError("alerting rules: runbook_url without its page or anchor:\n  "
                          + "\n  ".join(problems))
