"""Judge chunk safety: valid copies per chunk against the goal, as the master classifies them.

- missing: a chunk with 0 valid copies. Its data is unreadable now (CRIT).
- endangered: 1 valid copy while the goal is above 1: one more failure loses it (WARN).
- undergoal: more than one copy but fewer than the goal (WARN).

MooseFS 4 counts redundancy levels (how many more losses a chunk survives, for
copies and EC parts alike) against the storage class, with the same classes:
no copy and no EC part is missing (CRIT), level 0 where the class wants more is
endangered (WARN, as 1 copy of goal 3 is), a level above 0 but below the
class's is undergoal (WARN).

WRONG VERSION copies (left behind when a chunkserver missed writes, for
example after a network fault) and INVALID copies do not count as copies;
they are called out because they decide what ``mfsfilerepair`` would do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.findings import Finding, Severity
from . import parse
from .collect import TreeData

PAGE = "runbooks/mfs-audit/"
STORY = "stories/moosefs-zero-copies/"


@dataclass
class FileVerdict:
    path: str
    goal: int | str | None  # MooseFS 4: the storage class
    chunks: int
    missing: int
    endangered: int
    undergoal: int
    level: int | None = None  # MooseFS 4: the class's redundancy level, when known
    levels: bool = False  # judged by redundancy level (MooseFS 4, LizardFS xor/ec goals)
    goal_word: str = "storage class"  # what the setting is called: LizardFS calls it goal

    @property
    def severity(self) -> Severity:
        if self.missing:
            return Severity.CRIT
        if self.endangered or self.undergoal:
            return Severity.WARN
        return Severity.OK


def classify(path: str, check: parse.CheckFile, goal: int | str | None) -> FileVerdict:
    """Count a file's chunks per class from its copy histogram and goal."""
    if check.levels is not None:
        return classify_levels(path, check, goal)
    missing = check.copies.get(0, 0)
    endangered = undergoal = 0
    if isinstance(goal, int):
        endangered = check.copies.get(1, 0) if goal > 1 else 0
        undergoal = sum(n for copies, n in check.copies.items() if 1 < copies < goal)
    else:  # a storage class name: its copy count is not known from here
        endangered = check.copies.get(1, 0)
    return FileVerdict(path, goal, check.chunks, missing, endangered, undergoal)


def classify_levels(path: str, check: parse.CheckFile, sclass: int | str | None) -> FileVerdict:
    """MooseFS 4: chunks per class from redundancy levels and the storage class."""
    levels = check.levels or {}
    wanted = parse.class_level(sclass)
    endangered = levels.get(0, 0) if wanted is None or wanted > 0 else 0
    undergoal = sum(n for level, n in levels.items() if 0 < level < (wanted or 0))
    return FileVerdict(path, sclass, check.chunks, check.lost, endangered, undergoal,
                       wanted, levels=True)


def classify_slices(path: str, chunks: list[parse.Chunk], goal: int | str | None,
                    check: parse.CheckFile) -> FileVerdict | None:
    """LizardFS xor/ec goals, judged from fileinfo's parts by redundancy level.

    ``lizardfs checkfile`` counts a complete xor or ec chunk as "1 copy", healthy or
    one part short alike, so its histogram cannot tell them apart. None when no chunk
    of the file is sliced (plain copies: the histogram is right). A plain chunk of a
    file whose goal is being converted counts at copies - 1.
    """
    kinds = [c.slice for c in chunks if not c.empty and c.slice]
    if not kinds:
        return None
    levels: dict[int, int] = {}
    lost = 0
    for chunk in chunks:
        if chunk.empty:
            continue
        level = chunk_level(chunk)
        if level is None:
            lost += 1
        else:
            levels[level] = levels.get(level, 0) + 1
    wanted = max(kind.parity for kind in kinds if kind)
    undergoal = sum(n for level, n in levels.items() if 0 < level < wanted)
    return FileVerdict(path, goal, check.chunks, lost, levels.get(0, 0), undergoal, wanted,
                       levels=True, goal_word="goal")


def chunk_level(chunk: parse.Chunk) -> int | None:
    """A chunk's redundancy level from fileinfo, None when it cannot be read.

    Full copies give copies - 1; MooseFS 4 EC parts and LizardFS xor/ec parts give
    the distinct valid parts beyond the data parts.
    """
    level = chunk.valid_copies - 1
    if chunk.slice:
        sliced = chunk.slice_level()
        level = max(level, -1 if sliced is None else sliced)
    parts = [c.part for c in chunk.copies if c.valid and c.part]
    for kind, data in (("F", 4), ("E", 8)):
        count = sum(1 for p in parts if p[1:2] == kind)
        if count >= data:
            level = max(level, count - data)
    return None if level < 0 or chunk.unrecoverable else level


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _chunk_data(chunks: list[parse.Chunk], goal: int | str | None,
                levels: bool = False, level: int | None = None) -> list[dict[str, Any]]:
    if levels:
        return _chunk_data_levels(chunks, goal, level)
    wanted = goal if isinstance(goal, int) else 1
    rows = []
    for chunk in chunks:
        if chunk.empty or chunk.valid_copies >= wanted:
            continue
        rows.append(_row(chunk))
    return rows


def _row(chunk: parse.Chunk) -> dict[str, Any]:
    return {"index": chunk.index, "chunk_id": chunk.hex_id, "version": chunk.version,
            "valid_copies": chunk.valid_copies,
            "copies": [{"server": c.server, "status": c.status} for c in chunk.copies]}


def _chunk_data_levels(chunks: list[parse.Chunk], sclass: int | str | None,
                       wanted: int | None = None) -> list[dict[str, Any]]:
    """The chunks below the wanted redundancy level: given (LizardFS slices) or read from
    MooseFS 4's class name (level 1 when the class is unknown)."""
    wanted = parse.class_level(sclass) if wanted is None else wanted
    floor = 1 if wanted is None else wanted
    rows = []
    for chunk in chunks:
        level = chunk_level(chunk)
        if chunk.empty or (level is not None and level >= floor):
            continue
        row = _row(chunk)
        row["copies"] = [{"server": c.server, "status": c.status, **({"part": c.part}
                                                                     if c.part else {})}
                         for c in chunk.copies]
        row.update(valid_parts=chunk.valid_parts, redundancy_level=level,
                   read_as_zeros=chunk.read_as_zeros)
        rows.append(row)
    return rows


def _message(verdict: FileVerdict, details: list[dict[str, Any]]) -> str:
    parts = []
    if verdict.missing:
        parts.append(f"{_plural(verdict.missing, 'chunk')} with 0 copies")
    if verdict.endangered:
        parts.append(f"{_plural(verdict.endangered, 'chunk')} at redundancy level 0"
                     if verdict.levels else f"{_plural(verdict.endangered, 'chunk')} with 1 copy")
    if verdict.undergoal:
        parts.append(f"{_plural(verdict.undergoal, 'chunk')} below redundancy level "
                     f"{verdict.level}" if verdict.levels
                     else f"{_plural(verdict.undergoal, 'chunk')} under goal")
    statuses = [c["status"] for row in details for c in row["copies"]]
    wrong = sum(1 for s in statuses if s.startswith("WRONG VERSION"))
    invalid = sum(1 for s in statuses if s == "INVALID")
    if wrong:
        parts.append(f"{_plural(wrong, 'WRONG VERSION copy')}".replace("copys", "copies"))
    if invalid:
        parts.append(f"{_plural(invalid, 'INVALID copy')}".replace("copys", "copies"))
    zeros = sum(1 for row in details if row.get("read_as_zeros"))
    if zeros:
        parts.append(f"{_plural(zeros, 'chunk')} marked read-as-zeros by a repair")
    chunks = _plural(verdict.chunks, "chunk")
    return f"{', '.join(parts)} ({_goal_text(verdict)}, file has {chunks})"


def _goal_text(verdict: FileVerdict) -> str:
    if not verdict.levels:
        return f"goal {verdict.goal}" if verdict.goal is not None else "goal unknown"
    word = verdict.goal_word
    if verdict.goal is None:
        return f"{word} unknown"
    if verdict.level is None:
        return f"{word} {verdict.goal}"
    return f"{word} {verdict.goal}: redundancy level {verdict.level}"


def judge_tree(data: TreeData, target: str) -> tuple[list[Finding], dict[str, int]]:
    """Findings for every file at risk, one OK summary when none is, and the counts."""
    findings: list[Finding] = []
    totals = {"files": len(data.files), "chunks": 0, "missing": 0, "endangered": 0,
              "undergoal": 0, "unchecked": 0}
    for path in data.files:
        check = data.checks.get(path)
        goal = data.goals.get(path)
        goal = None if isinstance(goal, parse.PathError) else goal
        if not isinstance(check, parse.CheckFile):
            totals["unchecked"] += 1
            reason = check.message if isinstance(check, parse.PathError) else "no answer"
            findings.append(Finding("mfs.unchecked", Severity.UNKNOWN, target, path,
                                    f"could not check: {reason}", page=PAGE,
                                    data={"root": data.root}))
            continue
        chunks = data.details.get(path)
        verdict = ((isinstance(chunks, list) and classify_slices(path, chunks, goal, check))
                   or classify(path, check, goal))
        totals["chunks"] += verdict.chunks
        for key in ("missing", "endangered", "undergoal"):
            totals[key] += getattr(verdict, key)
        if verdict.severity is Severity.OK:
            continue
        details = (_chunk_data(chunks, goal, verdict.levels, verdict.level)
                   if isinstance(chunks, list) else [])
        findings.append(_file_finding(verdict, details, target, data.root))
    if not findings:
        findings.append(Finding(
            "mfs.audit", Severity.OK, target, data.root,
            f"{_plural(len(data.files), 'file')}, {_plural(totals['chunks'], 'chunk')}: "
            "every chunk at its goal", data={"root": data.root, **totals},
        ))
    return findings, totals


def _file_finding(verdict: FileVerdict, details: list[dict[str, Any]], target: str,
                  root: str) -> Finding:
    """The finding for one file at risk (MooseFS 4: by redundancy level)."""
    check_name = "mfs.missing" if verdict.missing else "mfs.undergoal"
    # spelled out, so that the site test finds every anchor a finding can link to
    page = (f"{PAGE}#missing" if verdict.missing else
            f"{PAGE}#redundancy-level" if verdict.levels else f"{PAGE}#undergoal")
    why = WHY[check_name]
    extra: dict[str, Any] = {}
    if verdict.levels:
        why = WHY_LEVELS[check_name]
        extra = {"storage_class": verdict.goal, "redundancy_level": verdict.level}
    return Finding(
        check_name, verdict.severity, target, verdict.path, _message(verdict, details),
        why=why, page=page,
        data={"root": root, "goal": verdict.goal, "chunks": verdict.chunks,
              "missing": verdict.missing, "endangered": verdict.endangered,
              "undergoal": verdict.undergoal, **extra, "chunk_detail": details},
    )


WHY_LEVELS = {
    "mfs.missing": "a chunk with no valid copy and no EC part cannot be read; do not run "
    "mfsfilerepair before every chunkserver is back (MooseFS 4 marks such a chunk "
    "read-as-zeros, and with -d deletes it)",
    "mfs.undergoal": "below the storage class's redundancy level: at level 0 one more "
    "failure leaves a chunk with no copy; the master re-replicates on its chunk loop",
}
WHY = {
    "mfs.missing": "a chunk with no valid copy cannot be read; do not run mfsfilerepair "
    "before every chunkserver is back (it would replace the chunk with zeros)",
    "mfs.undergoal": "fewer copies than the goal: one more failure may leave a chunk with "
    "none; the master re-replicates on its chunk loop",
    "mfs.cluster": "the master's counts come from its chunk loop and missing-file list "
    "from its file loop, so they lag reality by up to a loop period; an empty missing-file "
    "list proves nothing: walk the files with mfs.audit PATH",
}


def judge_cluster(view: parse.ClusterView, target: str, master: str) -> list[Finding]:
    """Findings from the master's view: classes, missing files, disconnected servers."""
    if not view.servers and not view.disconnected:
        return [Finding("mfs.cluster", Severity.UNKNOWN, target, f"master {master}",
                        "the master lists no chunkserver, connected or disconnected: "
                        "nothing to judge copies by", page=f"{PAGE}#cluster")]
    findings: list[Finding] = []
    missing = view.classes.get("missing", 0)
    endangered = view.classes.get("endangered", 0)
    undergoal = view.classes.get("undergoal", 0)
    counts = {"missing": missing, "endangered": endangered, "undergoal": undergoal,
              "servers": len(view.servers), "disconnected": len(view.disconnected),
              "files_named": len(view.missing_files),
              "stale_files_named": len(view.stale_missing)}
    severity = (Severity.CRIT if missing or view.missing_files else
                Severity.WARN if endangered or undergoal or view.disconnected
                or view.undergoal_files or view.stale_missing else Severity.OK)
    message = (f"{_plural(missing, 'chunk')} missing, {endangered} endangered, "
               f"{undergoal} undergoal; {_plural(len(view.servers), 'chunkserver')} connected"
               + (f", {len(view.disconnected)} disconnected" if view.disconnected else "")
               + " (master's view, lags its loops)"
               + (f"; mfscli: {view.caveat}" if view.caveat else "")
               + (f"; the master's defective-file list still names "
                  f"{_plural(len(view.stale_missing), 'file')} unavailable, but no chunk is "
                  "lost now: the list is older than the chunks' state; check those files "
                  "with mfs.audit PATH" if view.stale_missing else ""))
    matrix = {"matrix": {f"{g}/{c}": n for (g, c), n in view.matrix.items()}}
    if view.levels:  # MooseFS 4: by redundancy level, target/current
        matrix = {"redundancy_levels": dict(view.levels)}
    findings.append(Finding("mfs.cluster", severity, target, f"master {master}", message,
                            why=WHY["mfs.cluster"], page=f"{PAGE}#cluster",
                            data={**counts, **matrix}))
    for row in view.missing_files:
        findings.append(Finding(
            "mfs.missing", Severity.CRIT, target, row["path"],
            f"chunk {row['chunk']} (index {row['index']}): {row['type'].lower()}",
            why=WHY["mfs.missing"], page=f"{PAGE}#missing", data=dict(row),
        ))
    for path in view.undergoal_files:
        findings.append(Finding(
            "mfs.undergoal", Severity.WARN, target, path, "undergoal (master's list)",
            why=WHY["mfs.undergoal"], page=f"{PAGE}#undergoal", data={"path": path},
        ))
    for server in view.disconnected:
        findings.append(Finding(
            "mfs.disconnected", Severity.WARN, target, f"chunkserver {server}",
            "disconnected from the master: its copies count as absent",
            page=f"{PAGE}#cluster", data={"server": server},
        ))
    return findings
