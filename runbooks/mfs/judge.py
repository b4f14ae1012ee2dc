"""Judge chunk safety: valid copies per chunk against the goal, as the master classifies them.

- missing: a chunk with 0 valid copies. Its data is unreadable now (CRIT).
- endangered: 1 valid copy while the goal is above 1: one more failure loses it (WARN).
- undergoal: more than one copy but fewer than the goal (WARN).

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
    goal: int | str | None
    chunks: int
    missing: int
    endangered: int
    undergoal: int

    @property
    def severity(self) -> Severity:
        if self.missing:
            return Severity.CRIT
        if self.endangered or self.undergoal:
            return Severity.WARN
        return Severity.OK


def classify(path: str, check: parse.CheckFile, goal: int | str | None) -> FileVerdict:
    """Count a file's chunks per class from its copy histogram and goal."""
    missing = check.copies.get(0, 0)
    endangered = undergoal = 0
    if isinstance(goal, int):
        endangered = check.copies.get(1, 0) if goal > 1 else 0
        undergoal = sum(n for copies, n in check.copies.items() if 1 < copies < goal)
    else:  # a storage class name: its copy count is not known from here
        endangered = check.copies.get(1, 0)
    return FileVerdict(path, goal, check.chunks, missing, endangered, undergoal)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _chunk_data(chunks: list[parse.Chunk], goal: int | str | None) -> list[dict[str, Any]]:
    wanted = goal if isinstance(goal, int) else 1
    rows = []
    for chunk in chunks:
        if chunk.empty or chunk.valid_copies >= wanted:
            continue
        rows.append({
            "index": chunk.index, "chunk_id": chunk.hex_id, "version": chunk.version,
            "valid_copies": chunk.valid_copies,
            "copies": [{"server": c.server, "status": c.status} for c in chunk.copies],
        })
    return rows


def _message(verdict: FileVerdict, details: list[dict[str, Any]]) -> str:
    parts = []
    if verdict.missing:
        parts.append(f"{_plural(verdict.missing, 'chunk')} with 0 copies")
    if verdict.endangered:
        parts.append(f"{_plural(verdict.endangered, 'chunk')} with 1 copy")
    if verdict.undergoal:
        parts.append(f"{_plural(verdict.undergoal, 'chunk')} under goal")
    statuses = [c["status"] for row in details for c in row["copies"]]
    wrong = sum(1 for s in statuses if s.startswith("WRONG VERSION"))
    invalid = sum(1 for s in statuses if s == "INVALID")
    if wrong:
        parts.append(f"{_plural(wrong, 'WRONG VERSION copy')}".replace("copys", "copies"))
    if invalid:
        parts.append(f"{_plural(invalid, 'INVALID copy')}".replace("copys", "copies"))
    goal = f"goal {verdict.goal}" if verdict.goal is not None else "goal unknown"
    return f"{', '.join(parts)} ({goal}, file has {_plural(verdict.chunks, 'chunk')})"


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
        verdict = classify(path, check, goal)
        totals["chunks"] += verdict.chunks
        for key in ("missing", "endangered", "undergoal"):
            totals[key] += getattr(verdict, key)
        if verdict.severity is Severity.OK:
            continue
        chunks = data.details.get(path)
        details = _chunk_data(chunks, goal) if isinstance(chunks, list) else []
        check_name = "mfs.missing" if verdict.missing else "mfs.undergoal"
        findings.append(Finding(
            check_name, verdict.severity, target, path, _message(verdict, details),
            why=WHY[check_name], page=f"{PAGE}#{'missing' if verdict.missing else 'undergoal'}",
            data={"root": data.root, "goal": goal, "chunks": verdict.chunks,
                  "missing": verdict.missing, "endangered": verdict.endangered,
                  "undergoal": verdict.undergoal, "chunk_detail": details},
        ))
    if not findings:
        findings.append(Finding(
            "mfs.audit", Severity.OK, target, data.root,
            f"{_plural(len(data.files), 'file')}, {_plural(totals['chunks'], 'chunk')}: "
            "every chunk at its goal", data={"root": data.root, **totals},
        ))
    return findings, totals


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
              "files_named": len(view.missing_files)}
    severity = (Severity.CRIT if missing or view.missing_files else
                Severity.WARN if endangered or undergoal or view.disconnected
                or view.undergoal_files else Severity.OK)
    message = (f"{_plural(missing, 'chunk')} missing, {endangered} endangered, "
               f"{undergoal} undergoal; {_plural(len(view.servers), 'chunkserver')} connected"
               + (f", {len(view.disconnected)} disconnected" if view.disconnected else "")
               + " (master's view, lags its loops)")
    findings.append(Finding("mfs.cluster", severity, target, f"master {master}", message,
                            why=WHY["mfs.cluster"], page=f"{PAGE}#cluster",
                            data={**counts, "matrix": {f"{g}/{c}": n
                                                      for (g, c), n in view.matrix.items()}}))
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
