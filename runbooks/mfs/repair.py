"""What ``mfsfilerepair`` would do to each chunk, and when to refuse to run it.

The master's repair (mfsmaster/chunks.c, chunk_repair) treats each chunk so:

- any VALID copy: left alone ("not changed");
- no VALID copy but a WRONG VERSION one: the highest such version is
  promoted ("repaired") - the newest writes to that chunk are lost;
- nothing else (no copy at all, or only INVALID ones): the chunk is deleted
  and that part of the file reads as zeros from then on ("erased").

Copies on chunkservers that are disconnected at that moment count as
absent, so repairing during an outage erases data that would have come back.
Hence the guards: refuse while any chunkserver is disconnected; refuse any
erase unless explicitly allowed, and then copy the readable chunks aside
first (a copy, not a snapshot: a snapshot shares the chunks being erased).

LizardFS's ``fileinfo`` lists valid copies only, so a chunk it shows with no
copy may still have an older version somewhere: erase or promote cannot be
told apart beforehand. Its ``filerepair -c`` (correct-only) promotes such a
version and never erases, so on LizardFS that runs first and an erasing
repair needs --allow-erase as well.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from .parse import Chunk

CHUNK_SIZE = 64 * 1024 * 1024  # MooseFS and LizardFS chunk size
STORY = "stories/moosefs-zero-copies/"


@dataclass
class ChunkAction:
    index: int
    chunk_id: str
    action: str  # "unchanged", "promote", "erase"
    detail: str

    def line(self) -> str:
        verb = {"unchanged": "not changed", "promote": "REPAIRED", "erase": "ERASED"}[self.action]
        return f"chunk {self.index} ({self.chunk_id or 'empty'}): {verb} - {self.detail}"


def chunk_actions(chunks: list[Chunk], lists_stale_copies: bool = True) -> list[ChunkAction]:
    """Predict mfsfilerepair's verdict per chunk from ``mfsfileinfo`` data.

    ``lists_stale_copies`` is False for LizardFS, whose fileinfo hides WRONG
    VERSION copies: a chunk without a listed copy is then planned as the worst
    case (erase), and the detail says that an older version would be promoted.
    """
    actions = []
    for chunk in chunks:
        if chunk.empty:
            continue
        valid = chunk.valid_copies
        wrong = [c for c in chunk.copies if c.wrong_version]
        invalid = [c for c in chunk.copies if c.status == "INVALID"]
        if valid:
            actions.append(ChunkAction(chunk.index, chunk.hex_id, "unchanged",
                                       f"{valid} valid cop{'y' if valid == 1 else 'ies'}"))
        elif wrong:
            servers = ", ".join(c.server for c in wrong)
            actions.append(ChunkAction(
                chunk.index, chunk.hex_id, "promote",
                f"no valid copy; an older version on {servers} would become current "
                "(writes after it are lost)"))
        elif not lists_stale_copies:
            actions.append(ChunkAction(
                chunk.index, chunk.hex_id, "erase",
                "no valid copy listed: an older version, if a chunkserver holds one, would "
                "be promoted (filerepair -c does only that); otherwise the chunk would be "
                "deleted and read as zeros"))
        else:
            why = (f"only INVALID copies ({len(invalid)})" if invalid else "no copy at all")
            actions.append(ChunkAction(
                chunk.index, chunk.hex_id, "erase",
                f"{why}: the chunk would be deleted and read as zeros"))
    return actions


@dataclass
class FilePlan:
    path: str
    actions: list[ChunkAction] = field(default_factory=list)
    error: str = ""

    @property
    def erases(self) -> list[ChunkAction]:
        return [a for a in self.actions if a.action == "erase"]

    @property
    def changes(self) -> bool:
        return any(a.action != "unchanged" for a in self.actions)


def refusals(
    plans: list[FilePlan], disconnected: list[str], allow_erase: bool,
    correct_only: bool = False,
) -> list[str]:
    """Why repair must not run now; empty when it may.

    ``correct_only``: a repair mode that never erases is available (LizardFS's
    ``filerepair -c``) and is what runs without --allow-erase, so chunks that
    would be erased are no reason to refuse; disconnected servers still are.
    """
    reasons = []
    if disconnected:
        reasons.append(
            f"{len(disconnected)} chunkserver(s) disconnected from the master "
            f"({', '.join(disconnected)}): their copies count as absent, so repair would "
            "erase or roll back chunks that come back with them. Bring them back first."
        )
    erasing = [p for p in plans if p.erases]
    if erasing and not allow_erase and not correct_only:
        chunks = sum(len(p.erases) for p in erasing)
        reasons.append(
            f"{chunks} chunk(s) in {len(erasing)} file(s) have no valid copy and no older "
            "version to promote: repair would replace them with zeros. If every "
            "chunkserver is back and the data is truly gone, rerun with --allow-erase "
            "(the readable chunks are copied aside first)."
        )
    failed = [p for p in plans if p.error]
    if failed:
        reasons.append(f"{len(failed)} path(s) could not be inspected: {failed[0].path}: "
                       f"{failed[0].error}")
    return reasons


def copy_commands(path: str, dest: str, size: int, actions: list[ChunkAction]) -> list[list[str]]:
    """Commands that copy every readable chunk of ``path`` to ``dest``, skipping lost ones.

    Reading a chunk with no copy blocks for minutes in mfsmount's retries, so
    lost chunks are not read: they become holes (zeros) in the copy, which is
    what the file itself will contain after the erase.
    """
    lost = {a.index for a in actions if a.action == "erase"}
    chunks = (size + CHUNK_SIZE - 1) // CHUNK_SIZE
    commands = [["truncate", "-s", str(size), dest]]
    for index in range(chunks):
        if index in lost:
            continue
        commands.append(["dd", f"if={path}", f"of={dest}", f"bs={CHUNK_SIZE}", f"skip={index}",
                         f"seek={index}", "count=1", "conv=notrunc", "status=none"])
    return commands


def describe(commands: list[list[str]]) -> str:
    return "; ".join(shlex.join(c) for c in commands)
