"""MkDocs hook: pages with a diagram get the Mermaid library from the site itself.

Material draws ``mermaid`` code blocks with the library when the page already
has it, and fetches it from unpkg.com when not; the site makes no request to
another host, so each page that holds a diagram loads the copy that
runbooks/site/vendor.py put under docs/assets/vendor/mermaid/. Pages without one
do not pay for its 3.5 MB.
"""

from __future__ import annotations

from typing import Any

MERMAID_JS = "assets/vendor/mermaid/mermaid.min.js"


def script_tag(page_url: str) -> str:
    """The script element for a page at ``page_url`` (a path relative to the site)."""
    from mkdocs.utils import get_relative_url

    return f'<script src="{get_relative_url(MERMAID_JS, page_url)}"></script>'


def on_post_page(output: str, page: Any, config: Any) -> str:
    if 'class="mermaid"' not in output or "</head>" not in output:
        return output
    return output.replace("</head>", script_tag(page.url) + "\n</head>", 1)
