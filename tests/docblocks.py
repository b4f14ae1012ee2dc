"""Executed documentation: parse console blocks, normalise output, classify every fence.

Rules (also on docs/lab.md):
- ``console`` blocks run in a fresh lab container of the page's ``lab:`` topology;
- ``python`` blocks run through pytest-markdown-docs;
- any other block needs ``<!-- not-executed: reason -->`` right before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

DOCS = Path(__file__).resolve().parents[1] / "docs"
NOT_EXECUTED = re.compile(r"<!--\s*not-executed:\s*(?P<reason>\S.*?)\s*-->\s*$")
# Parts of output that differ between runs and machines, and nothing else.
VOLATILE = (
    (re.compile(r"/dev/loop\d+"), "/dev/loopN"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"), "<time>"),
    (re.compile(r"\d{8}T\d{6}Z"), "<time>"),
    # Docker picks each lab network's subnet from its pools (172.17-31.0.0/16, then
    # 192.168.N.0/20): only the host part of an address is stable from run to run.
    (re.compile(r"\b(?:172\.\d{1,3}|192\.168)\.\d{1,3}\.(\d{1,3})\b"), r"<lab-net>.\1"),
)
HOST_MARK = "# lab host"  # a console command with this comment runs on the lab host
# Durations measured by the runbooks themselves (login times, script times).
VOLATILE += (
    (re.compile(r"\b\d+\.\d+s\b"), "<t>s"),
    (re.compile(r"\b(\w+_seconds)=\d+(?:\.\d+)?"), r"\1=<t>"),
    # Each test lab keeps its files under a directory named after its prefix.
    (re.compile(r"/lab/bp[\w-]*/"), "/lab/<lab>/"),
)


@dataclass
class ConsoleCommand:
    command: str
    expected: list[str] = field(default_factory=list)
    line: int = 0  # line within the block, 1-based


def parse_console(text: str) -> list[ConsoleCommand]:
    """Split a console block into commands (``$ ``) and the output shown after each."""
    commands: list[ConsoleCommand] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("$ "):
            command, start = line[2:], index + 1
            while command.endswith("\\") and index + 1 < len(lines):
                index += 1
                command = command[:-1] + "\n" + lines[index]
            commands.append(ConsoleCommand(command, [], start))
        elif commands:
            commands[-1].expected.append(line)
        elif line.strip():
            raise ValueError(f"console block line {index + 1}: output before any '$ ' command")
        index += 1
    if not commands:
        raise ValueError("console block without a '$ ' command")
    return commands


def normalise(text: str) -> str:
    lines = []
    for line in text.splitlines():
        for pattern, replacement in VOLATILE:
            line = pattern.sub(replacement, line)
        lines.append(line.rstrip())
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def front_matter(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        return {}
    end = text.find("\n---", 4)
    return yaml.safe_load(text[4:end]) or {} if end > 0 else {}


@dataclass
class Fence:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    info: str
    reason: str | None  # from a not-executed comment right before it


def fences(path: Path) -> list[Fence]:
    """Every fenced code block in a Markdown file, with its not-executed reason if any."""
    from markdown_it import MarkdownIt

    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    tokens = MarkdownIt("commonmark").parse(text)
    found = []
    for token in tokens:
        if token.type != "fence" or token.map is None:
            continue
        start = token.map[0]
        previous = next((lines[i] for i in range(start - 1, -1, -1) if lines[i].strip()), "")
        match = NOT_EXECUTED.search(previous)
        info = token.info.strip()
        lang = info.strip("{}. ").split()[0] if info else ""
        found.append(Fence(path, start + 1, lang, info, match.group("reason") if match else None))
    return found


def how_executed(fence: Fence, page_lab: str | None) -> str | None:
    """Which runner executes this fence, or None when nothing does and no reason is given."""
    if fence.reason:
        return f"not executed: {fence.reason}"
    if fence.lang == "console":
        return f"sybil in lab {page_lab}" if page_lab else None
    if fence.lang in ("python", "py", "python3") and "notest" not in fence.info:
        return "pytest-markdown-docs"
    return None
