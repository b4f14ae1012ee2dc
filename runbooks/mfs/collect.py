"""Collect: run the MooseFS/LizardFS client tools on a target, many paths per call.

Every tool loops over all its path arguments on one master connection, so
the fast path is few calls with many paths each (batches bounded by count and
bytes), a bounded number of them in flight at once. Tools exit 1 when any one
path failed but still print a block for every path, so the output is parsed
whatever the exit status, and only a call that printed nothing is an error.
MooseFS 4's tools print a failed path's error on stderr instead, so there a
path may have no block and stderr names it (see ``run_batched(errors=True)``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..core.errors import ParseError, RunbookError, TargetError
from ..core.scripts import load
from ..core.targets import Target
from . import parse

Parser = Callable[..., dict[str, Any]]
BATCH_FILES = 2000
BATCH_BYTES = 120_000  # well under ARG_MAX, also through an SSH command line
DEFAULT_CALLS = 2  # parallel tool calls per target: the master is the bottleneck


@dataclass(frozen=True)
class Dialect:
    name: str
    checkfile: tuple[str, ...]
    fileinfo: tuple[str, ...]
    getgoal: tuple[str, ...]
    filerepair: tuple[str, ...]
    probe: str  # an executable that only this dialect has
    # A repair that promotes older versions but never erases (LizardFS: filerepair -c).
    repair_correct_only: tuple[str, ...] | None = None
    # Whether fileinfo lists stale (WRONG VERSION) copies; LizardFS lists valid ones only.
    lists_stale_copies: bool = True
    # MooseFS 4: chunks counted by redundancy level, storage classes instead of goals,
    # errors on stderr instead of stdout, mfscli with JSON output (-j).
    levels: bool = False

    @property
    def parsers(self) -> tuple[Parser, Parser, Parser]:
        """(checkfile, fileinfo, getgoal/getsclass) parsers for this dialect's output."""
        if self.levels:
            return parse.parse_checkfile4, parse.parse_fileinfo4, parse.parse_getsclass
        return parse.parse_checkfile, parse.parse_fileinfo, parse.parse_getgoal


MOOSEFS = Dialect("moosefs", ("mfscheckfile",), ("mfsfileinfo",), ("mfsgetgoal",),
                  ("mfsfilerepair",), "mfscheckfile")
# mfsfilerepair without -d: a chunk with no copy is marked read-as-zeros, not deleted.
MOOSEFS4 = Dialect("moosefs4", ("mfscheckfile",), ("mfsfileinfo",), ("mfsgetsclass",),
                   ("mfsfilerepair",), "mfscheckfile", levels=True)
LIZARDFS = Dialect("lizardfs", ("lizardfs", "checkfile"), ("lizardfs", "fileinfo"),
                   ("lizardfs", "getgoal"), ("lizardfs", "filerepair"), "lizardfs",
                   repair_correct_only=("lizardfs", "filerepair", "-c"),
                   lists_stale_copies=False)
DIALECTS = {d.name: d for d in (MOOSEFS, MOOSEFS4, LIZARDFS)}
# What the LizardFS cluster view asks the master, in this order. list-chunkservers
# comes first: without it a disconnected chunkserver goes unnoticed.
LIZARDFS_ADMIN = ("list-chunkservers", "chunks-health", "list-defective-files")


async def detect_dialect(target: Target, wanted: str = "auto") -> Dialect:
    """The tool family to use: as asked, or whichever is installed (MooseFS first).

    One call: which tools exist, and mfsmount's version (4 and later: ``moosefs4``).
    """
    if wanted != "auto":
        try:
            return DIALECTS[wanted]
        except KeyError:
            raise RunbookError(
                f"unknown dialect {wanted!r}: choose auto, {', '.join(DIALECTS)}"
            ) from None
    result = await target.run(["sh", "-c", load(__package__, "detect.sh"), "detect"])
    found = result.stdout.split("\n")
    return pick_dialect(found, target.name)


def pick_dialect(lines: Sequence[str], where: str) -> Dialect:
    """The dialect from detect.sh's lines: tool paths, then ``mfs-version=X.Y.Z...``."""
    major = next((int(m.group(1)) for line in lines
                  if (m := re.match(r"mfs-version=(\d+)\.", line))), None)
    for dialect in (MOOSEFS, LIZARDFS):
        if any(line.endswith("/" + dialect.probe) for line in lines):
            return MOOSEFS4 if dialect is MOOSEFS and major and major >= 4 else dialect
    raise TargetError(f"{where}: neither MooseFS (mfscheckfile) nor LizardFS (lizardfs) "
                      "client tools are installed")


async def list_files(target: Target, root: str) -> list[str]:
    """Every regular file under ``root`` (or ``root`` itself), NUL-separated so any name works.

    No file at all is an error: a check that looked at nothing must not say OK.
    """
    start = root if not root.startswith("-") else "./" + root  # never read as a find option
    result = await target.run(["find", start, "-type", "f", "-print0"])
    if not result.ok and not result.stdout:
        raise TargetError(f"{target.name}: {root}: {result.first_error_line()}")
    files = [p for p in result.stdout.split("\0") if p]
    if not files:
        raise RunbookError(f"{target.name}: no file under {root}: nothing to check")
    return files


def batches(paths: Sequence[str]) -> list[list[str]]:
    """Split paths into calls bounded by count and by argument bytes."""
    out: list[list[str]] = []
    current: list[str] = []
    size = 0
    for path in paths:
        cost = len(path.encode()) + 3
        if current and (len(current) >= BATCH_FILES or size + cost > BATCH_BYTES):
            out.append(current)
            current, size = [], 0
        current.append(path)
        size += cost
    if current:
        out.append(current)
    return out


T = TypeVar("T")
Progress = Callable[[int], None]


async def run_batched(
    target: Target,
    command: Sequence[str],
    paths: Sequence[str],
    parser: Callable[..., dict[str, T]],
    calls: int = DEFAULT_CALLS,
    progress: Progress | None = None,
    errors: bool = False,
) -> dict[str, T]:
    """Run ``command`` over all ``paths`` in batches, ``calls`` at a time, and merge results.

    ``errors``: the tool reports a failed path on stderr only (MooseFS 4), so the
    parser gets stderr as a third argument to name it.
    """
    gate = asyncio.Semaphore(max(1, calls))

    async def one(batch: list[str]) -> dict[str, T]:
        async with gate:
            result = await target.run([*command, *batch])
        if not result.stdout and not result.ok and not (
                errors and any(_names(result.stderr, path) for path in batch)):
            raise TargetError(f"{target.name}: {command[0]}: {result.first_error_line()}")
        try:
            parsed = (parser(result.stdout, batch, result.stderr) if errors
                      else parser(result.stdout, batch))
        except ParseError as exc:
            raise ParseError(f"{target.name}: {exc}") from None
        if progress:
            progress(len(batch))
        return parsed

    merged: dict[str, T] = {}
    for part in await asyncio.gather(*(one(b) for b in batches(paths))):
        merged.update(part)
    return merged


def _names(stderr: str, path: str) -> bool:
    """Whether a tool's stderr holds a message about ``path``."""
    return stderr.startswith(f"{path}: ") or f"\n{path}: " in stderr


@dataclass
class TreeData:
    """Everything collected about one audited path."""

    root: str
    files: list[str]
    goals: dict[str, int | str | parse.PathError] = field(default_factory=dict)
    checks: dict[str, parse.CheckFile | parse.PathError] = field(default_factory=dict)
    details: dict[str, list[parse.Chunk] | parse.PathError] = field(default_factory=dict)


async def goals_for(
    target: Target, dialect: Dialect, root: str, files: Sequence[str], calls: int,
    progress: Progress | None = None,
) -> dict[str, int | str | parse.PathError]:
    """Goal (MooseFS 4: storage class) of every file: one ``-r`` call when the tree shares one."""
    result = await target.run([*dialect.getgoal, "-r", root])
    summarise = (parse.parse_getsclass_recursive if dialect.levels
                 else parse.parse_getgoal_recursive)
    try:
        summary = summarise(_after_first_header(result.stdout, root))
    except ParseError:  # e.g. root is a single file: ask per file below
        summary = {}
    if result.ok and len(summary) == 1 and sum(summary.values()) == len(files):
        (goal,) = summary
        if progress:
            progress(len(files))
        return dict.fromkeys(files, goal)
    return await run_batched(target, dialect.getgoal, files, dialect.parsers[2], calls,
                             progress, errors=dialect.levels)


def _after_first_header(text: str, root: str) -> str:
    header = f"{root}:\n"
    return text[len(header):] if text.startswith(header) else text


async def collect_tree(
    target: Target,
    dialect: Dialect,
    root: str,
    calls: int = DEFAULT_CALLS,
    progress_factory: Callable[[str, int], Progress] | None = None,
) -> TreeData:
    """Files, goals and copy counts under ``root``; full chunk detail for files at risk."""
    files = await list_files(target, root)
    data = TreeData(root, files)
    if not files:
        return data

    def progress(label: str, total: int) -> Progress | None:
        return progress_factory(label, total) if progress_factory else None

    goals_task = goals_for(target, dialect, root, files, calls, progress("goals", len(files)))
    checks_task = run_batched(target, dialect.checkfile, files, dialect.parsers[0], calls,
                              progress("copies", len(files)), errors=dialect.levels)
    data.goals, data.checks = await asyncio.gather(goals_task, checks_task)
    at_risk = [f for f in files if needs_detail(data.checks.get(f), data.goals.get(f))]
    if at_risk:
        data.details = await run_batched(target, dialect.fileinfo, at_risk,
                                         dialect.parsers[1], calls,
                                         progress("chunk detail", len(at_risk)),
                                         errors=dialect.levels)
    return data


def needs_detail(check: object, goal: object) -> bool:
    """Whether a file has any chunk below its goal (then fetch chunk ids and copy states)."""
    if not isinstance(check, parse.CheckFile):
        return False
    if check.levels is not None:  # MooseFS 4: lost, or below the class's redundancy level
        wanted = parse.class_level(goal)
        floor = 1 if wanted is None else wanted
        return bool(check.lost) or any(level < floor and count
                                       for level, count in check.levels.items())
    if any(copies == 0 and count for copies, count in check.copies.items()):
        return True
    if isinstance(goal, int):
        return any(copies < goal and count for copies, count in check.copies.items())
    return any(copies <= 1 and count for copies, count in check.copies.items())


def cluster_commands(dialect: Dialect, master: str, port: int | None) -> list[list[str]]:
    """The commands that make up the master's view: one ``mfscli``, or three ``lizardfs-admin``.

    MooseFS 4's mfscli answers all three sections in one JSON document (``-j``).
    """
    if dialect is LIZARDFS:
        where = [master, str(port or 9421)]
        return [["lizardfs-admin", command, *where, "--porcelain"] for command in LIZARDFS_ADMIN]
    output = ["-j"] if dialect.levels else ["-n", "-p"]
    argv = ["mfscli", "-H", master, *output, "-SIC", "-SMF", "-SCS"]
    if port:
        argv[3:3] = ["-P", str(port)]
    return [argv]


async def cluster_view(
    target: Target, dialect: Dialect, master: str, port: int | None
) -> parse.ClusterView:
    """The master's own view: chunk classes, files it knows lost, chunkservers and their state."""
    answers = []
    for argv in cluster_commands(dialect, master, port):
        result = await target.run(argv)
        if not result.ok:
            name = " ".join(argv[:2]) if argv[0] == "lizardfs-admin" else argv[0]
            raise TargetError(f"{target.name}: {name}: {result.first_error_line()}")
        answers.append(result.stdout)
    try:
        if dialect is LIZARDFS:
            servers, health, defective = answers
            return parse.lizardfs_view(health, defective, servers)
        if dialect.levels:
            return parse.parse_mfscli_json(answers[0])
        return parse.parse_mfscli(answers[0])
    except ParseError as exc:
        raise ParseError(f"{target.name}: {exc}") from None


async def find_mount(target: Target, path: str, hint: str = "nothing to check") -> parse.MfsMount:
    """The MooseFS/LizardFS mount holding ``path``; RunbookError (ending in ``hint``) if none."""
    result = await target.run(["findmnt", "-n", "-r", "-o", "TARGET,FSTYPE,SOURCE", "-T", path])
    if not result.ok or not result.stdout.strip():
        reason = result.first_error_line() if result.stderr.strip() else "no such file or directory"
        raise TargetError(f"{target.name}: {path}: {reason}")
    try:
        mount_point, fstype, source = parse.parse_findmnt(result.stdout)
    except ParseError as exc:
        raise ParseError(f"{target.name}: {exc}") from None
    master = parse.master_from_mount(fstype, source)
    if master is None:
        raise RunbookError(f"{target.name}: {path} is not on a MooseFS/LizardFS mount "
                           f"({mount_point} is {fstype} from {source}): {hint}")
    return parse.MfsMount(mount_point, fstype, source, *master)


async def master_of(target: Target, path: str) -> tuple[str, int | None]:
    """The master that the MooseFS/LizardFS mount holding ``path`` talks to."""
    mount = await find_mount(target, path, "give --master HOST:PORT")
    return mount.master, mount.port


async def file_chunks(
    target: Target, dialect: Dialect, root: str, calls: int = DEFAULT_CALLS
) -> dict[str, list[parse.Chunk] | parse.PathError]:
    """Every file under ``root`` with its chunks and their copies (``fileinfo``), in order."""
    files = await list_files(target, root)
    infos = await run_batched(target, dialect.fileinfo, files, dialect.parsers[1], calls,
                              errors=dialect.levels)
    return {name: infos[name] for name in files}


async def run_checked(target: Target, argv: Sequence[str]) -> str:
    """Run ``argv``; its output, or a TargetError naming the tool and its error."""
    result = await target.run(argv)
    if not result.ok:
        raise TargetError(f"{target.name}: {argv[0]}: {result.first_error_line()}")
    return result.stdout


async def file_sizes(target: Target, paths: Sequence[str]) -> dict[str, int]:
    """The size in bytes of each of ``paths`` (one ``stat`` each)."""
    return {path: int((await run_checked(target, ["stat", "-c", "%s", "--", path])).strip())
            for path in paths}


async def inspect_master(target: Target, folder: str | None, masters: Sequence[str],
                         ports: Sequence[int]) -> parse.Inspection:
    """mfs.master-restore: tools, configuration, live masters and metadata files on ``target``.

    ``folder`` None: the master's DATA_PATH, or the version's default folder.
    """
    script = load(__package__, "master-restore.sh")
    out = await run_checked(target, ["sh", "-c", script, "master-restore", "inspect",
                                     folder or "", " ".join(map(str, ports)), *masters])
    return parse.parse_inspect(out)
