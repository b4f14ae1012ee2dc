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
# A page may run in several labs (`lab: [moosefs, moosefs4, lizardfs]`); a console
# block runs in the first unless a `<!-- lab: NAME -->` comment right before it names
# another: output that differs between versions then sits in one block per lab. A tag
# may name several labs (`<!-- lab: moosefs, moosefs4 -->`), or `all` the page's labs:
# a block whose output is the same everywhere runs in each of them, in page order.
LAB_TAG = re.compile(r"<!--\s*lab:\s*(?P<lab>[\w-]+(?:\s*,\s*[\w-]+)*)\s*-->\s*$")


@dataclass
class Fence:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    info: str
    reason: str | None  # from a not-executed comment right before it
    lab: str | None = None  # from a `<!-- lab: NAME[, NAME...] -->` comment right before it


def front_matter_of(text: str) -> dict:
    if not text.startswith("---\n"):
        return {}
    end = text.find("\n---", 4)
    return yaml.safe_load(text[4:end]) or {} if end > 0 else {}


def front_matter(path: Path) -> dict:
    return front_matter_of(path.read_text(encoding="utf-8"))


def page_labs(front: dict) -> list[str]:
    """The labs a page's console blocks run in, first the default (`lab:` a name or a list)."""
    labs = front.get("lab") or []
    return [labs] if isinstance(labs, str) else [str(lab) for lab in labs]


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
        tag = LAB_TAG.search(previous)
        info = token.info.strip()
        lang = info.strip("{}. ").split()[0] if info else ""
        found.append(Fence(path, start + 1, lang, info, match.group("reason") if match else None,
                           re.sub(r"\s+", "", tag.group("lab")) if tag else None))
    return found


def fences(path: Path) -> list[Fence]:
    return fences_in(path.read_text(encoding="utf-8"), path)


def console_blocks(text: str) -> int:
    """How many console blocks of a page run in its lab (unmarked ones)."""
    return sum(1 for f in fences_in(text) if f.lang == "console" and not f.reason)


def console_runs(text: str) -> dict[int, list[str | None]]:
    """The labs each executed console block of a page runs in, by the line of its fence.

    [None] where the page names no lab. A block tagged with a lab the page does not
    name is a ValueError: it would silently run nowhere.
    """
    labs = page_labs(front_matter_of(text))
    found: dict[int, list[str | None]] = {}
    for fence in fences_in(text):
        if fence.lang != "console" or fence.reason:
            continue
        tagged = (labs if fence.lab == "all" else fence.lab.split(",")) if fence.lab else []
        for lab in tagged:
            if lab not in labs:
                raise ValueError(f"line {fence.line}: block tagged lab {lab!r}, "
                                 f"but the page's labs are {labs or 'none'}")
        found[fence.line] = list(tagged) or [labs[0] if labs else None]
    return found


def console_labs(text: str) -> dict[int, str | None]:
    """The (first) lab each executed console block of a page runs in, by its fence's line."""
    return {line: runs[0] for line, runs in console_runs(text).items()}


# --- Runbook page structure: the "First" box and lab-replay blocks -------------

BLOCK_OPEN = re.compile(r"^///\s*(?P<kind>[\w-]+)(?:\s*\|\s*(?P<title>.*?))?\s*$")
BLOCK_CLOSE = re.compile(r"^///\s*$")
FIRST_BOX = re.compile(r'^!!! \w+ "First"\s*$')


@dataclass
class Block:
    """A pymdownx ``/// kind | title`` block: its 1-based first and last line."""

    kind: str
    title: str
    start: int
    end: int
    lab_replay: bool


def blocks_in(text: str) -> list[Block]:
    """Every ``///`` block of a page; lab replays are ``details`` of type lab-replay."""
    lines = text.splitlines()
    found, stack = [], []
    for number, line in enumerate(lines, 1):
        opened = BLOCK_OPEN.match(line)
        if opened:
            stack.append((opened.group("kind"), opened.group("title") or "", number))
        elif BLOCK_CLOSE.match(line) and stack:
            kind, title, start = stack.pop()
            options = [raw.strip() for raw in lines[start:number] if raw.startswith("    ")]
            replay = kind == "lab-replay" or "type: lab-replay" in options[:3]
            found.append(Block(kind, title, start, number, replay))
    if stack:
        kind, _, start = stack[-1]
        raise ValueError(f"line {start}: /// {kind} block is never closed")
    return found


def in_lab_replay(blocks: list[Block], line: int) -> bool:
    return any(b.lab_replay and b.start <= line <= b.end for b in blocks)


def first_box(text: str) -> str | None:
    """The text of the ``!!! … "First"`` box right under the page's title, if it is there."""
    body = text.split("\n---", 1)[1] if text.startswith("---\n") else text
    lines = body.splitlines()
    index = next((i for i, line in enumerate(lines) if line.startswith("# ")), None)
    if index is None:
        return None
    rest = lines[index + 1:]
    while rest and not rest[0].strip():
        rest.pop(0)
    if not rest or not FIRST_BOX.match(rest[0]):
        return None
    box = []
    for line in rest[1:]:
        if line.strip() and not line.startswith((" ", "\t")):
            break
        box.append(line[4:] if line.startswith("    ") else line.strip())
    return "\n".join(box).strip()


def first_command(text: str) -> str | None:
    """The first inline command of a page's "First" box: what to run now."""
    box = first_box(text)
    if not box:
        return None
    match = re.search(r"`([^`]+)`", box)
    return match.group(1) if match else None
