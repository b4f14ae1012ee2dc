"""Code fences of the Markdown pages, and which of them the test suite executes.

Shared by the test suite (which executes them) and the site build (whose
verified badges count them), so both agree on what "a page's blocks" are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

NOT_EXECUTED = re.compile(r"<!--\s*not-executed:\s*(?P<reason>\S.*?)\s*-->\s*$")


@dataclass
class Fence:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    info: str
    reason: str | None  # from a not-executed comment right before it


def front_matter_of(text: str) -> dict:
    if not text.startswith("---\n"):
        return {}
    end = text.find("\n---", 4)
    return yaml.safe_load(text[4:end]) or {} if end > 0 else {}


def front_matter(path: Path) -> dict:
    return front_matter_of(path.read_text(encoding="utf-8"))


def fences_in(text: str, path: Path = Path("<text>")) -> list[Fence]:
    """Every fenced code block of Markdown ``text``, with its not-executed reason if any."""
    from markdown_it import MarkdownIt  # lazy: comes with rich, only pages need it

    lines = text.splitlines()
    found = []
    for token in MarkdownIt("commonmark").parse(text):
        if token.type != "fence" or token.map is None:
            continue
        start = token.map[0]
        previous = next((lines[i] for i in range(start - 1, -1, -1) if lines[i].strip()), "")
        match = NOT_EXECUTED.search(previous)
        info = token.info.strip()
        lang = info.strip("{}. ").split()[0] if info else ""
        found.append(Fence(path, start + 1, lang, info, match.group("reason") if match else None))
    return found


def fences(path: Path) -> list[Fence]:
    return fences_in(path.read_text(encoding="utf-8"), path)


def console_blocks(text: str) -> int:
    """How many console blocks of a page run in its lab (unmarked ones)."""
    return sum(1 for f in fences_in(text) if f.lang == "console" and not f.reason)
