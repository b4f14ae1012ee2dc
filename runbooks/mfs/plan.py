"""mfs.repair's plan: what ``mfsfilerepair`` would do to each chunk, when to refuse to
run it, and the steps that copy aside and repair (applied and journalled by
:func:`runbooks.core.changes.apply_plan`; none of them can be undone).

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

MooseFS 4 (verified on 4.59.2) keeps such a chunk instead: ``mfsfilerepair``
marks it read-as-zeros (its version gets a flag, the tool counts it
"repaired"), writes to it fail, and a valid copy that comes back is read
again; only ``mfsfilerepair -d`` deletes it ("erased"), and mfs.repair never
passes -d. The same guards hold: until a copy comes back the data is gone.

LizardFS's ``fileinfo`` lists valid copies only, so a chunk it shows with no
copy may still have an older version somewhere: erase or promote cannot be
told apart beforehand. Its ``filerepair -c`` (correct-only) promotes such a
version and never erases, so on LizardFS that runs first and an erasing
repair needs --allow-erase as well.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

from ..core.changes import Outcome, Plan, Step
from ..core.findings import docs_url
from ..core.scripts import load
from ..core.targets import Target
from . import collect, parse
from .collect import Dialect
from .parse import Chunk

CHUNK_SIZE = 64 * 1024 * 1024  # MooseFS and LizardFS chunk size
STORY = "stories/moosefs-zero-copies/"
REFUSED_EXIT = 2


@dataclass
class ChunkAction:
    index: int
    chunk_id: str
    action: str  # "unchanged", "promote", "erase", "zero" (MooseFS 4: marked read-as-zeros)
    detail: str

    def line(self) -> str:
        verb = {"unchanged": "not changed", "promote": "REPAIRED", "erase": "ERASED",
                "zero": "READ-AS-ZEROS"}[self.action]
        return f"chunk {self.index} ({self.chunk_id or 'empty'}): {verb} - {self.detail}"


# What MooseFS 4.59.2 did in the lab (tests/data/moosefs4/FORMATS.md): with every server
# connected the chunk read as zeros at once; while servers were stopped (in maintenance) a
# read blocked ~5 min and failed with ENXIO; once a copy came back it read the data again.
ZEROS = ("no copy at all: mfsfilerepair (MooseFS 4, without -d) would mark the chunk "
         "read-as-zeros: it stays in the file, writes to it fail, reads return zeros (ENXIO "
         "while chunkservers are in maintenance) until a valid copy comes back, and then the "
         "data again (-d, never run here, would delete it for good)")


def chunk_actions(chunks: list[Chunk], lists_stale_copies: bool = True,
                  read_as_zeros: bool = False) -> list[ChunkAction]:
    """Predict mfsfilerepair's verdict per chunk from ``mfsfileinfo`` data.

    ``lists_stale_copies`` is False for LizardFS, whose fileinfo hides WRONG
    VERSION copies: a chunk without a listed copy is then planned as the worst
    case (erase), and the detail says that an older version would be promoted.
    ``read_as_zeros``: MooseFS 4, where a chunk with nothing to promote is
    marked read-as-zeros ("zero") instead of deleted, and EC parts count.
    """
    actions = []
    for chunk in chunks:
        if chunk.empty:
            continue
        if not chunk.valid_copies and _readable_parts(chunk):
            kind = chunk.slice
            actions.append(ChunkAction(chunk.index, chunk.hex_id, "unchanged",
                                       f"{chunk.valid_parts} valid {kind.type} parts"
                                       if kind else f"{chunk.valid_parts} valid EC parts"))
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
        elif read_as_zeros:
            invalid_note = f"only INVALID copies ({len(invalid)})" if invalid else ""
            actions.append(ChunkAction(chunk.index, chunk.hex_id, "zero",
                                       ZEROS.replace("no copy at all", invalid_note)
                                       if invalid_note else ZEROS))
        elif not lists_stale_copies:
            kind = chunk.slice
            short = (f"only {chunk.valid_parts} of the {kind.data} {kind.type} parts it needs "
                     "to be read; " if kind else "")
            actions.append(ChunkAction(
                chunk.index, chunk.hex_id, "erase",
                f"{short}no valid copy listed: an older version, if a chunkserver holds one, would "
                "be promoted (filerepair -c does only that); otherwise the chunk would be "
                "deleted and read as zeros"))
        else:
            why = (f"only INVALID copies ({len(invalid)})" if invalid else "no copy at all")
            actions.append(ChunkAction(
                chunk.index, chunk.hex_id, "erase",
                f"{why}: the chunk would be deleted and read as zeros"))
    return actions


def _readable_parts(chunk: Chunk) -> bool:
    """Enough valid parts (MooseFS 4 EC, LizardFS xor/ec) to read the chunk; the tool
    says when there are not."""
    return bool(chunk.valid_parts) and not chunk.unrecoverable


@dataclass
class FilePlan:
    path: str
    actions: list[ChunkAction] = field(default_factory=list)
    error: str = ""

    @property
    def erases(self) -> list[ChunkAction]:
        """The chunks whose data repair would give up (erase, or read-as-zeros)."""
        return [a for a in self.actions if a.action in ("erase", "zero")]

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
    lost = {a.index for a in actions if a.action in ("erase", "zero")}
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


# --- what the operator sees before anything runs ----------------------------------------


def file_plans(infos: dict[str, list[Chunk] | parse.PathError],
               lists_stale_copies: bool = True, read_as_zeros: bool = False) -> list[FilePlan]:
    """Each file's chunk actions, or the error that kept it from being inspected."""
    return [FilePlan(name, error=info.message) if isinstance(info, parse.PathError)
            else FilePlan(name, chunk_actions(info, lists_stale_copies, read_as_zeros))
            for name, info in infos.items()]


def listing(plans: list[FilePlan]) -> str:
    """Every chunk a repair would touch, file by file, and how many files need nothing."""
    lines = []
    for plan in plans:
        if plan.changes or plan.error:
            lines.append(f"{plan.path}:")
            if plan.error:
                lines.append(f"  cannot inspect: {plan.error}")
            lines.extend(f"  {action.line()}" for action in plan.actions)
    healthy = sum(1 for p in plans if not p.changes and not p.error)
    lines.append(f"{healthy} of {len(plans)} file(s) need no repair")
    return "".join(line + "\n" for line in lines)


def refused(reasons: list[str]) -> str:
    return "".join(f"REFUSED: {reason}\n" for reason in reasons) + f"why: {docs_url(STORY)}\n"


def preview(tools: Dialect, todo: list[FilePlan], allow_erase: bool) -> str:
    """What a dry run says: the command(s) --apply would run, in order."""
    if tools.levels:
        return (f"dry run: nothing changed; add --apply to run {' '.join(tools.filerepair)} "
                "without -d (MooseFS 4: a chunk with no copy is marked read-as-zeros and "
                "kept, so a copy that comes back is read again; -d, which deletes it for "
                "good, is never run)\n")
    if tools.repair_correct_only is None:
        return f"dry run: nothing changed; add --apply to run {' '.join(tools.filerepair)}\n"
    safe = " ".join(tools.repair_correct_only)
    if allow_erase:
        return (f"dry run: nothing changed; add --apply to copy the readable chunks aside, run "
                f"{safe} (never erases), then {' '.join(tools.filerepair)} (erases) on the "
                "files it could not correct\n")
    lost = sum(len(p.erases) for p in todo)
    return (f"dry run: nothing changed; add --apply to run {safe} (correct-only: promotes an "
            "older version where a chunkserver holds one, never erases)\n"
            + (f"{lost} chunk(s) without a listed copy stay as they are unless --allow-erase\n"
               if lost else ""))


# --- the steps ----------------------------------------------------------------------------


def copy_path(path: str, copy_to: str | None, stamp: str) -> str:
    """Where the copy of ``path`` made before an erasing repair goes."""
    name = f"{posixpath.basename(path)}.before-repair-{stamp}"
    return posixpath.join(copy_to, name) if copy_to else posixpath.join(
        posixpath.dirname(path) or ".", name)


def copy_step(plan: FilePlan, dest: str, size: int) -> Step:
    """Copy the readable chunks of ``plan.path`` to ``dest``; lost ones become holes."""
    commands = copy_commands(plan.path, dest, size, plan.actions)
    description = f"copy of {plan.path} before repair"
    argv = ["sh", "-c", describe(commands)]  # what the journal shows; run command by command

    async def run(target: Target) -> Outcome:
        for command in commands:
            await collect.run_checked(target, command)
        return Outcome([{"description": description, "argv": argv, "undo": None,
                         "copy": dest}],
                       [f"copied the readable chunks of {plan.path} to {dest} "
                        f"({len(plan.erases)} lost chunk(s) left as zeros)"])

    return Step(description, argv, None, run=run)


Lines = Callable[[], list[str]]


def repair_step(argv: tuple[str, ...], files: Callable[[], list[FilePlan]], calls: int,
                no_undo: str, answered: dict[str, dict[str, int]],
                then: Lines | None = None, levels: bool = False) -> Step:
    """One repair command over ``files()`` (asked when the step runs), in batches.

    Each file it answered for is journalled with its counts and kept in ``answered``
    for the steps after it; ``then`` adds lines once it is done. ``levels``: MooseFS 4
    (errors on stderr; a chunk marked read-as-zeros is counted as repaired).
    """
    name = " ".join(argv)
    how = f" ({name})" if argv[-1] == "-c" else ""
    if levels:
        how = " (MooseFS 4 counts a chunk marked read-as-zeros as repaired)"

    async def run(target: Target) -> Outcome:
        outcome = Outcome()
        paths = [p.path for p in files()]
        results = await collect.run_batched(target, argv, paths, parse.parse_filerepair,
                                            calls, errors=levels) if paths else {}
        for path in paths:
            result = results[path]
            if isinstance(result, parse.PathError):
                outcome.lines.append(f"{path}: repair failed: {result.message}")
                continue
            answered[path] = result
            outcome.lines.append(f"{path}: {result['repaired']} repaired, {result['erased']} "
                                 f"erased, {result['not changed']} not changed{how}")
            outcome.records.append({"description": f"{name} {path}", "argv": [*argv, path],
                                    "undo": None, "no_undo": no_undo, "result": result})
        outcome.lines.extend(then() if then else [])
        return outcome

    return Step(f"{name} on the files to repair", argv, None, no_undo=no_undo, run=run)


def repair_plan(target: Target, tools: Dialect, todo: list[FilePlan], allow_erase: bool,
                copies: dict[str, tuple[str, int]], calls: int) -> Plan:
    """Copy aside (``copies``: path to destination and size), then the repair passes.

    Where the tools have a correct-only repair it runs first; the erasing one runs
    only with ``allow_erase``, and only on the files that still have a lost chunk.
    """
    no_undo = f"{' '.join(tools.filerepair)} cannot be undone"
    plan = Plan("mfs.repair", target, preview=preview(tools, todo, allow_erase))
    for file in todo:
        if file.path in copies:
            plan.add(copy_step(file, *copies[file.path]))
    if tools.repair_correct_only is None:
        plan.add(repair_step(tools.filerepair, lambda: todo, calls, no_undo, {},
                             levels=tools.levels))
        return plan
    corrected: dict[str, dict[str, int]] = {}

    def left() -> list[FilePlan]:
        return [p for p in todo if p.erases and p.path in corrected
                and corrected[p.path]["repaired"] < len(p.erases)]

    def still_lost() -> list[str]:
        if allow_erase or not left():
            return []
        chunks = sum(len(p.erases) - corrected[p.path]["repaired"] for p in left())
        return [f"{chunks} chunk(s) in {len(left())} file(s) still have no valid copy and no "
                "older version: left as they are. If every chunkserver is back and the data "
                "is truly gone, rerun with --allow-erase (the readable chunks are copied "
                "aside first)."]

    plan.add(repair_step(tools.repair_correct_only, lambda: todo, calls, no_undo, corrected,
                         still_lost))
    if allow_erase:
        plan.add(repair_step(tools.filerepair, left, calls, no_undo, {}))
    return plan

# --- mfs.master-restore: what a restore would use, do and write ---------------------------
#
# What each version's tool does, as run in the labs (moosefs, moosefs4, lizardfs):
#
# - MooseFS 3.0 and 4 (``mfsmaster -a``, mfsmaster(8)): the master itself finds the
#   newest metadata file in its DATA_PATH (``metadata.mfs.back``, the metalogger's
#   ``metadata_ml.mfs.back``; in a fresh lab only ``metadata_ml.tmp``, an empty
#   filesystem's header) and applies the changelogs after it (``changelog.N.mfs``
#   and the metalogger's ``changelog_ml.N.mfs``), then runs. It starts a new
#   ``changelog.0.mfs`` at once and writes ``metadata.mfs`` at its next dump or stop;
#   the metalogger's files stay as they are.
# - LizardFS 3.13 (``mfsmetarestore -a -d DIR``, mfsmetarestore(8)): reads
#   ``metadata_ml.mfs`` or ``metadata.mfs`` with ``changelog_ml.mfs*``/``changelog.mfs*``
#   and writes ``metadata.mfs``; ``mfsmaster start`` then loads it. The master alone
#   (``mfsmetarestore -g`` shows what it would load) sees only its own file names,
#   not the metalogger's, so on a metalogger the restore tool is needed.
#
# Refusals (exit 2): a master answers on the cluster's master address, or an
# mfsmaster runs here (a second master over a live one splits the cluster);
# nothing to restore from; a master's configuration is missing here; or the
# folder is not the master's DATA_PATH (the daemon would not read it).

RESTORE_PAGE = "runbooks/mfs-master-restore/"
MASTER_PORTS = (9419, 9420, 9421)  # metaloggers, chunkservers, clients
DEFAULT_MASTERS = ("mfsmaster", "master")
WAIT_SECONDS = 60
DATA_DIRS = {"moosefs": "/var/lib/mfs", "moosefs4": "/var/lib/mfs", "lizardfs": "/var/lib/lizardfs"}


def restore_sources(seen: parse.Inspection) -> list[parse.MetaFile]:
    """The metadata files, then the changelogs, a restore may read (by name)."""
    picked = [f for f in seen.files if f.kind in ("metadata", "changelog")]
    return sorted(picked, key=lambda f: (f.kind != "metadata", f.name))


def restore_argv(dialect: str, folder: str) -> list[str]:
    """The restore command as the operator would type it."""
    if dialect == "lizardfs":
        return ["mfsmetarestore", "-a", "-d", folder]
    return ["mfsmaster", "-a"]


def restore_writes(dialect: str) -> str:
    if dialect == "lizardfs":
        return ("metadata.mfs (then mfsmaster start: sessions.mfs, changelog.mfs, "
                "metadata.mfs.1 ...)")
    return ("changelog.0.mfs at once (mfsmaster -a also starts the master), metadata.mfs "
            "at its next metadata dump or stop")


def _shown(folder: str) -> str:
    """A folder as the operator sees it: quoted when it holds control characters."""
    return folder if folder.isprintable() else repr(folder)


def restore_refusals(seen: parse.Inspection, dialect: str, path: str) -> list[str]:
    """Why the restore must not run here now; empty when it may."""
    folder = _shown(path)
    if seen.local_masters:
        return [f"an mfsmaster already runs here (pid {', '.join(seen.local_masters)}): "
                "a second master over a live one splits the cluster"]
    if seen.answering:
        return [f"a master answers on {', '.join(seen.answering)}: a second master over a "
                "live one splits the cluster; stop or fence the old one first"]
    if not seen.can_probe:
        return ["cannot tell whether a master answers (no bash here to open a TCP "
                "connection): check by hand and stop it first"]
    if seen.unresolved and not (seen.silent or seen.answering):
        return [f"cannot tell whether a master answers: {', '.join(seen.unresolved)} does not "
                "resolve here; give --master HOST (the address clients use)"]
    reasons = []
    if seen.dir_missing:
        reasons.append(f"no metadata folder {folder}: nothing to restore from")
    elif not any(f.kind == "metadata" for f in seen.files):
        reasons.append(f"no metadata file (metadata*.mfs*) in {folder}: nothing to restore "
                       "from (a metalogger downloads one when it connects)")
    missing = [c for c in ("mfsmaster.cfg", "mfsexports.cfg")
               if posixpath.join(seen.etc, c) not in seen.configs]
    if missing:
        reasons.append(f"no master configuration here ({', '.join(missing)} in {seen.etc}): "
                       "copy the old master's configuration first")
    master_dir = seen.data_path or DATA_DIRS[dialect]
    if posixpath.normpath(path) != posixpath.normpath(master_dir):
        reasons.append(f"mfsmaster reads its metadata from {master_dir} (DATA_PATH), not from "
                       f"{folder}: restore there, or set DATA_PATH first")
    if dialect == "lizardfs" and not seen.metarestore:
        reasons.append("mfsmetarestore is not installed here (LizardFS restores with it)")
    return reasons


def restore_listing(seen: parse.Inspection, dialect: str, folder: str) -> str:
    """What the dry run says before any refusal: version, folder, live masters, files."""
    lines = [f"{parse.MASTER_NAMES[dialect]} (mfsmaster {seen.version or 'not installed'})",
             f"metadata folder: {_shown(folder)}"]
    if seen.answering or seen.local_masters:
        live = [*seen.answering, *(f"pid {p} here" for p in seen.local_masters)]
        lines.append(f"live master: {', '.join(live)}")
    elif seen.silent:
        lines.append(f"live master: none ({', '.join(seen.silent)} do not answer; no "
                     "mfsmaster runs here)")
    files = restore_sources(seen)
    lines.append(f"files a restore would use ({len(files)}):" if files
                 else "files a restore would use: none")
    lines.extend(f.line() for f in files)
    if seen.skipped:
        lines.append(f"  ({seen.skipped} file(s) with unusual names not listed)")
    return "".join(line + "\n" for line in lines)


def restore_refused(reasons: list[str]) -> str:
    return "".join(f"REFUSED: {r}\n" for r in reasons) + f"why: {docs_url(RESTORE_PAGE)}\n"


def restore_preview(dialect: str, folder: str, backup: str) -> str:
    """What --apply would do, in order."""
    return (f"restore: {shlex.join(restore_argv(dialect, folder))}"
            + (" && mfsmaster start" if dialect == "lizardfs" else "") + "\n"
            f"writes in {folder}: {restore_writes(dialect)}\n"
            f"first: copies the folder's metadata files to {backup} (for changes.undo)\n"
            f"then: waits up to {WAIT_SECONDS}s until the master answers on 127.0.0.1:9421\n"
            "dry run: nothing changed; add --apply to restore and start the master\n")


def backup_path(folder: str, stamp: str) -> str:
    return posixpath.join(folder, f"before-restore-{stamp}")


def _restore_script(*args: str) -> list[str]:
    return ["sh", "-c", load(__package__, "master-restore.sh"), "master-restore", *args]


def restore_plan(target: Target, dialect: str, folder: str, backup: str) -> Plan:
    """One step: copy aside, restore, start, wait; journalled with its undo even half done."""
    argv = restore_argv(dialect, folder)
    undo = ["sh", "-c", load(__package__, "master-undo.sh"), "master-undo", folder, backup]
    description = f"restore the master's metadata in {folder} and start mfsmaster"

    async def run(tgt: Target) -> Outcome:
        outcome = Outcome()
        await collect.run_checked(tgt, _restore_script("backup", folder, backup))
        outcome.lines.append(f"copied the metadata files of {folder} to {backup}")
        result = await tgt.run(_restore_script("restore", dialect, folder))
        outcome.records.append({"description": description, "argv": argv, "undo": undo,
                                "copy": backup})
        if not result.ok:
            outcome.failure = f"{shlex.join(argv)} failed: {result.first_error_line()}"
            return outcome
        outcome.lines.append(f"ran {shlex.join(argv)}"
                             + (" and mfsmaster start" if dialect == "lizardfs" else ""))
        waited = await tgt.run(_restore_script("wait", str(WAIT_SECONDS)),
                               timeout=WAIT_SECONDS + 30)
        if not waited.ok:
            outcome.failure = f"the master does not answer on 127.0.0.1:9421 after {WAIT_SECONDS}s"
            return outcome
        outcome.lines.append("the master answers on 127.0.0.1:9421")
        return outcome

    plan = Plan("mfs.master-restore", target, preview=restore_preview(dialect, folder, backup))
    plan.add(Step(description, argv, undo, run=run))
    return plan
