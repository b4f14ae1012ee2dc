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

from runbooks.site.fences import NOT_EXECUTED, Fence, fences, front_matter

__all__ = ["NOT_EXECUTED", "Fence", "fences", "front_matter"]

DOCS = Path(__file__).resolve().parents[1] / "docs"
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
    (re.compile(r"\b\d+m\d+\.\d+s\b"), "<t>s"),  # bash's `time`: real 0m0.786s
    (re.compile(r"\b(\w+_seconds)=\d+(?:\.\d+)?"), r"\1=<t>"),
    # Each test lab keeps its files under a directory named after its prefix.
    (re.compile(r"/lab/bp[\w-]*/"), "/lab/<lab>/"),
    # Catalog times and ages (Bacula), and where a full volume happened to end.
    (re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"), "<time>"),
    (re.compile(r"\b\d+(?:\.\d)?[mhd] ago\b"), "<age> ago"),
    # MooseFS 4's mfsfileinfo prints each chunk's mtime as seconds since the epoch too.
    (re.compile(r"\bmtime:\d+"), "mtime:<epoch>"),
    (re.compile(r'(End of Volume "[^"]+" at )\d+'), r"\1<pos>"),
    (re.compile(r"(Write of \d+ bytes got )\d+"), r"\1<n>"),
    # Thin pool metadata use moves with the filesystem's own allocation (ext4 lazy init).
    (re.compile(r"\bmetadata \d+(?:\.\d+)? % of"), "metadata <n> % of"),
    (re.compile(r"\bmax_pool_metadata_percent=[\d.]+"), "max_pool_metadata_percent=<n>"),
    # ... and so does the Meta% column of an `lvs` pool row (Data% Meta% Health WhenFull).
    (re.compile(r"(\b\d+\.\d\d) +\d+\.\d\d( +\w+ +(?:error|queue)\b)"), r"\1 <n>\2"),
    # A host record's id is its time and a random part; it names the user and machine
    # that made the change (core.hostrecord).
    (re.compile(r"<time>-[0-9a-f]{6}\b"), "<record>"),
    (re.compile(r"\bby [\w.-]+@[\w.-]+"), "by <user>@<machine>"),
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


def how_executed(fence: Fence, page_lab: str | list[str] | None) -> str | None:
    """Which runner executes this fence, or None when nothing does and no reason is given."""
    if fence.reason:
        return f"not executed: {fence.reason}"
    if fence.lang == "console":
        labs = [page_lab] if isinstance(page_lab, str) else list(page_lab or [])
        lab = fence.lab or (labs[0] if labs else None)
        return f"sybil in lab {lab}" if lab else None
    if fence.lang in ("python", "py", "python3") and "notest" not in fence.info:
        return "pytest-markdown-docs"
    if fence.lang == "mermaid":
        return "drawn in the browser test (tests/site/test_browser.py)"
    return None
