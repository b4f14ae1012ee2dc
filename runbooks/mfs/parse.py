"""Parse MooseFS (and LizardFS) client tool output. Pure functions, no I/O.

The per-file tools (``mfscheckfile``, ``mfsfileinfo``, ``mfsgetgoal``) take
many paths and print, for each one in order, either a header ``PATH:`` with
indented lines, or ``PATH: <error>`` on one line (errors go to stdout too).
File names may contain newlines, so the output is never split on lines
first: each parser walks the text expecting the exact header of the next path
it passed, which is unambiguous whatever the names contain.

MooseFS 4 (``*4`` parsers below) prints errors on stderr only, counts chunks
by redundancy level, and prints storage classes instead of goals.

Anything that does not fit raises :class:`ParseError` naming the offending
line, so a changed tool version gives UNKNOWN instead of a wrong verdict.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..core.errors import ParseError, RunbookError

# " chunks with 2 copies:   12", " chunks with 1 copy:  3", older " 2 copies: 12"
_CHECK_LINE = re.compile(
    r"^\s+(?:chunks with (?P<n>\d+) cop(?:y|ies)|(?P<old>\d+) cop(?:y|ies))"
    r"\s*:\s+(?P<count>\d+)\s*$"
)
_EMPTY_LINE = re.compile(r"^\s+empty \(zero\) chunks\s*:\s+(?P<count>\d+)\s*$")
_CHUNK_LINE = re.compile(
    r"^\s+chunk (?P<index>\d+): (?:(?P<hex>[0-9A-Fa-f]{16})_(?P<hexver>[0-9A-Fa-f]{8})"
    r" / \(id:(?P<id>\d+) ver:(?P<ver>\d+)\)|(?P<empty>empty))\s*$"
)
# MooseFS: "copy 1: 10.0.0.3:9422 (status:VALID)"; LizardFS: "copy 1: 10.0.0.3:9422:_"
# (a label after the port) and, for xor goals, " part 1/3 of xor2".
_COPY_LINE = re.compile(
    r"^\s+copy (?P<n>\d+): (?P<server>\S+)(?: \(status:(?P<status>[A-Z ,]+?)\))?"
    r"(?: (?P<part>part \d+/\d+ of \S+))?\s*$"
)
NOTE_TOO_FEW_PARTS = "not enough parts available"  # LizardFS xor/ec chunks
_FILEINFO_NOTES = (
    "no valid copies !!!",
    "copies have different checksums !!!",
    "no chunks - empty file",
    NOTE_TOO_FEW_PARTS,
)
_SLICE = re.compile(r"part (?P<index>\d+)/(?P<parts>\d+) of "
                    r"(?P<type>xor(?P<xor>\d+)|ec\((?P<k>\d+),(?P<m>\d+)\))")


@dataclass(frozen=True)
class LizardSlice:
    """A LizardFS slice type from a fileinfo part: ``xorN`` (N data parts and one
    parity part) or ``ec(K,M)`` (K data parts, M parity parts). Equal for every part
    of one chunk; ``index`` (1-based) is left out of comparisons."""

    type: str
    data: int
    parity: int
    index: int = field(default=0, compare=False)

    @classmethod
    def of(cls, part: str) -> LizardSlice | None:
        match = _SLICE.fullmatch(part)
        if not match:
            return None
        if match.group("xor"):
            data, parity = int(match.group("xor")), 1
        else:
            data, parity = int(match.group("k")), int(match.group("m"))
        return cls(match.group("type"), data, parity, int(match.group("index")))


@dataclass
class CheckFile:
    """``mfscheckfile``: how many chunks have N valid copies.

    MooseFS 4 counts by redundancy level instead (how many more losses a chunk
    survives, copies and EC parts alike): ``levels`` is then set and ``lost``
    counts the chunks with no copy and no EC part; ``copies`` keeps 0 (lost)
    and the full-copy lines, for callers that only ask about 0 copies.
    """

    copies: dict[int, int] = field(default_factory=dict)  # valid copies -> chunk count
    empty_chunks: int = 0
    levels: dict[int, int] | None = None  # MooseFS 4: redundancy level -> chunk count
    lost: int = 0  # MooseFS 4: chunks with no copy and no EC part (or not found)

    @property
    def chunks(self) -> int:
        if self.levels is not None:
            return sum(self.levels.values()) + self.lost
        return sum(self.copies.values())


@dataclass
class Copy:
    server: str
    status: str  # VALID, WRONG VERSION, INVALID, MARKED FOR REMOVAL, ... ("" if not shown)
    # MooseFS 4 EC part (DF0-DF3/CF0.. for EC4, DE0-DE7/CE0.. for EC8), or a LizardFS
    # slice part ("part 1/3 of xor2", "part 2/3 of ec(2,1)")
    part: str = ""

    @property
    def slice(self) -> LizardSlice | None:
        """The LizardFS xor/ec slice this part belongs to, None for anything else."""
        return LizardSlice.of(self.part)

    @property
    def valid(self) -> bool:
        return self.status in ("VALID", "") or self.status == "MARKED FOR REMOVAL"

    @property
    def wrong_version(self) -> bool:
        return self.status.startswith("WRONG VERSION")


@dataclass
class Chunk:
    index: int
    chunk_id: int | None = None  # None for an empty (zero) chunk
    version: int | None = None
    copies: list[Copy] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.chunk_id is None

    @property
    def valid_copies(self) -> int:
        """Valid full copies (EC parts are not copies)."""
        return sum(1 for c in self.copies if c.valid and not c.part)

    @property
    def valid_parts(self) -> int:
        return sum(1 for c in self.copies if c.valid and c.part)

    @property
    def unrecoverable(self) -> bool:
        """The tool says it: no valid copy and too few parts to rebuild one (MooseFS 4's
        EC parts, LizardFS's xor and ec parts)."""
        return NOTE_UNRECOVERABLE in self.notes or NOTE_TOO_FEW_PARTS in self.notes

    @property
    def slice(self) -> LizardSlice | None:
        """LizardFS: the xor/ec slice type of the chunk's parts, None for plain copies."""
        return next((c.slice for c in self.copies if c.slice), None)

    def slice_level(self) -> int | None:
        """LizardFS: how many more lost parts an xor/ec chunk survives; None when it
        cannot be read (fewer distinct valid parts than data parts) or has no slice."""
        kind = self.slice
        if kind is None or self.unrecoverable:
            return None
        present = {c.slice.index for c in self.copies if c.valid and c.slice == kind}
        level = len(present) - kind.data
        return level if level >= 0 else None

    @property
    def read_as_zeros(self) -> bool:
        """MooseFS 4: mfsfilerepair marked the chunk readable as zeros (version flag)."""
        return NOTE_READ_AS_ZEROS in self.notes

    @property
    def hex_id(self) -> str:
        return "" if self.chunk_id is None else f"{self.chunk_id:016X}"


@dataclass
class PathError:
    """The tool could not handle this path (it printed ``PATH: message``)."""

    message: str


def _line_at(text: str, pos: int) -> str:
    end = text.find("\n", pos)
    return text[pos:] if end < 0 else text[pos:end]


def _line_number(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _walk(
    text: str,
    paths: Sequence[str],
    tool: str,
    body: Callable[[str], bool],
    errors: str | None = None,
    glued: re.Pattern[str] | None = None,
) -> dict[str, tuple[list[str] | None, str | None]]:
    """For each path: (body lines, None) or (None, error message), in order.

    ``body(line)`` says whether a line belongs to the current path's block.
    ``errors``: the tool prints errors to stderr (MooseFS 4), so a path may have
    no block at all; its message is then looked up there. ``glued``: a body item
    that may end without a newline (MooseFS 4 prints ``empty (zero) chunks:`` so).
    """
    result: dict[str, tuple[list[str] | None, str | None]] = {}
    pos = 0
    for path in paths:
        header = f"{path}:"
        if not text.startswith(header, pos):
            if errors is not None:
                result[path] = (None, _Absent(stderr_message(errors, path, tool)))
                continue
            found = _line_at(text, pos) if pos < len(text) else "(end of output)"
            raise ParseError(
                f"{tool} output line {_line_number(text, pos)}: expected {path!r}, found {found!r}"
            )
        pos += len(header)
        if text.startswith("\n", pos) or pos == len(text):
            pos += 1
            lines, pos = _body(text, pos, body, glued)
            result[path] = (lines, None)
        else:
            message = _line_at(text, pos).strip()
            pos += len(_line_at(text, pos)) + 1
            result[path] = (None, message)
    if pos < len(text) and text[pos:].strip():
        raise ParseError(
            f"{tool} output line {_line_number(text, pos)}: unexpected {_line_at(text, pos)!r}"
        )
    return result


class _Absent(str):
    """The message of a path that has no block in the output (MooseFS 4: it is on stderr)."""


def _body(text: str, pos: int, body: Callable[[str], bool],
          glued: re.Pattern[str] | None) -> tuple[list[str], int]:
    """The lines of one block from ``pos``, and where the next block starts."""
    lines = []
    while pos < len(text):
        if glued and (match := glued.match(text, pos)):
            lines.append(match.group(0).rstrip("\n"))
            pos = match.end()
            continue
        line = _line_at(text, pos)
        if not body(line):
            break
        lines.append(line)
        pos += len(line) + 1
    return lines, pos


def stderr_message(errors: str, path: str, tool: str) -> str:
    """What a MooseFS 4 tool said about ``path`` on stderr (``PATH: message``)."""
    for lead in (f"{path}: ", f"{path} ["):  # a name may hold newlines: search, do not split
        at = errors.find(lead)
        while at > 0 and errors[at - 1] != "\n":
            at = errors.find(lead, at + 1)
        if at >= 0:
            return _line_at(errors, at + len(path)).lstrip(": ").strip()
    return f"{tool} printed nothing for it"


def _fileinfo_line(line: str) -> bool:
    # Only lines of a known shape: a file named "  x" must read as the next header.
    return bool(_CHUNK_LINE.match(line) or _COPY_LINE.match(line)) or (
        line.startswith("\t") and line.strip() in _FILEINFO_NOTES
    )


def parse_checkfile(text: str, paths: Sequence[str]) -> dict[str, CheckFile | PathError]:
    """Parse ``mfscheckfile PATH...`` (or ``lizardfs checkfile``) output for ``paths``."""

    def body(line: str) -> bool:
        return bool(_CHECK_LINE.match(line) or _EMPTY_LINE.match(line))

    parsed: dict[str, CheckFile | PathError] = {}
    for path, (lines, error) in _walk(text, paths, "mfscheckfile", body).items():
        if lines is None:
            parsed[path] = PathError(error or "")
            continue
        result = CheckFile()
        for line in lines:
            if match := _CHECK_LINE.match(line):
                copies = int(match.group("n") or match.group("old"))
                result.copies[copies] = result.copies.get(copies, 0) + int(match.group("count"))
            elif match := _EMPTY_LINE.match(line):
                result.empty_chunks += int(match.group("count"))
        parsed[path] = result
    return parsed


def parse_fileinfo(text: str, paths: Sequence[str]) -> dict[str, list[Chunk] | PathError]:
    """Parse ``mfsfileinfo PATH...`` output: every chunk with its copies and their status."""
    walked = _walk(text, paths, "mfsfileinfo", _fileinfo_line)
    parsed: dict[str, list[Chunk] | PathError] = {}
    for path, (lines, error) in walked.items():
        if lines is None:
            parsed[path] = PathError(error or "")
            continue
        chunks: list[Chunk] = []
        for line in lines:
            if match := _CHUNK_LINE.match(line):
                chunk = Chunk(int(match.group("index")))
                if not match.group("empty"):
                    chunk.chunk_id = int(match.group("id"))
                    chunk.version = int(match.group("ver"))
                chunks.append(chunk)
            elif match := _COPY_LINE.match(line):
                if not chunks:
                    raise ParseError(f"mfsfileinfo: copy line before any chunk: {line.strip()!r}")
                status = " ".join((match.group("status") or "").replace(" ,", ",").split())
                chunks[-1].copies.append(Copy(match.group("server"), status,
                                              match.group("part") or ""))
            elif line.strip() in _FILEINFO_NOTES and chunks:
                chunks[-1].notes.append(line.strip())
        parsed[path] = chunks
    return parsed


def parse_getgoal(text: str, paths: Sequence[str]) -> dict[str, int | str | PathError]:
    """Parse ``mfsgetgoal PATH...``: ``PATH: 3`` (or ``PATH: 'class'`` with storage classes)."""
    parsed: dict[str, int | str | PathError] = {}
    # One line per path, "PATH: value": the walker reads the value where errors stand.
    for path, (_, value) in _walk(text, paths, "mfsgetgoal", lambda line: False).items():
        value = (value or "").strip()
        if value.isdigit():
            parsed[path] = int(value)
        elif value.startswith("'") and value.endswith("'") and len(value) > 1:
            parsed[path] = value[1:-1]
        elif re.fullmatch(r"\w+", value):  # LizardFS prints a named goal bare: "xor2"
            parsed[path] = value
        else:
            parsed[path] = PathError(value)
    return parsed


_GOAL_SUMMARY = re.compile(r"^\s*files with goal\s+(?P<goal>\S+)\s*:\s*(?P<count>\d+)\s*$")
_SUMMARY_OTHER = re.compile(r"^\s*(directories with goal|.*:\s*$)")


def parse_getgoal_recursive(text: str) -> dict[int | str, int]:
    """Parse ``mfsgetgoal -r DIR``: files per goal (directories are ignored)."""
    goals: dict[int | str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if match := _GOAL_SUMMARY.match(line):
            goal_text = match.group("goal").strip("'")
            goal: int | str = int(goal_text) if goal_text.isdigit() else goal_text
            goals[goal] = goals.get(goal, 0) + int(match.group("count"))
        elif not _SUMMARY_OTHER.match(line):
            raise ParseError(f"mfsgetgoal -r output line {number}: unexpected {line.strip()!r}")
    return goals


@dataclass
class ClusterView:
    """What the master says (``mfscli -SIC -SMF -SCS``, plain output)."""

    matrix: dict[tuple[int, int], int] = field(default_factory=dict)  # (goal, copies) -> chunks
    classes: dict[str, int] = field(default_factory=dict)  # missing, endangered, undergoal, ...
    missing_files: list[dict[str, str]] = field(default_factory=list)
    undergoal_files: list[str] = field(default_factory=list)  # LizardFS names them
    servers: list[str] = field(default_factory=list)
    disconnected: list[str] = field(default_factory=list)
    # MooseFS 4: chunks by "target/current" redundancy level ("1/missing", "2/0", ...)
    levels: dict[str, int] = field(default_factory=dict)
    # MooseFS 4: why the master's counters may be incomplete ("" when it says they are valid)
    caveat: str = ""
    # LizardFS: files the master's defective-file list calls unavailable while chunks-health
    # counts no lost chunk: the list is older than the chunks' state (see lizardfs_view)
    stale_missing: list[str] = field(default_factory=list)


def parse_mfscli(text: str) -> ClusterView:
    """Parse plain (non-tty) ``mfscli`` output of the -SIC, -SMF and -SCS sections.

    Only the first "all chunks matrix" block is used: with -SIC the master
    prints the matrix of all chunks first, then the one of regular chunks.
    """
    view = ClusterView()
    seen_matrix_classes: set[str] = set()
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        section, _, rest = raw.partition(":\t")
        fields = rest.split("\t")
        if section == "all chunks matrix":
            if fields[0] == "goal/copies/chunks:" and len(fields) == 4:
                key = (int(fields[1]), int(fields[2]))
                if key not in view.matrix:
                    view.matrix[key] = int(fields[3])
            elif fields[0].startswith("chunkclass ") and len(fields) == 2:
                name = fields[0][len("chunkclass "):].rstrip(":")
                if name not in seen_matrix_classes:
                    seen_matrix_classes.add(name)
                    view.classes[name] = int(fields[1])
            else:
                raise ParseError(f"mfscli output line {number}: unexpected {raw.strip()!r}")
        elif section == "missing files":
            if len(fields) < 5:
                raise ParseError(f"mfscli output line {number}: unexpected {raw.strip()!r}")
            view.missing_files.append({
                "path": fields[0], "inode": fields[1], "index": fields[2],
                "chunk": fields[3], "type": fields[4],
            })
        elif section == "chunk servers":
            view.servers.append(f"{fields[0]}:{fields[1]}")
        elif section == "Disconnected chunk servers":
            view.disconnected.append(f"{fields[0]}:{fields[1]}")
        elif section in ("chunks with wrong goal", "metadata"):  # other sections: not ours
            continue
        else:
            raise ParseError(f"mfscli output line {number}: unexpected {raw.strip()!r}")
    return view


_DEFECTIVE = re.compile(r'^"(?:file (?P<inode>\d+): )?(?P<path>.*)" (?P<flags>\d+)$')


def parse_lizardfs_defective(text: str) -> list[tuple[str, str, int]]:
    """``lizardfs-admin list-defective-files HOST PORT --porcelain``: (path, inode, flags).

    Flags: 1 unavailable (a chunk with no copy), 2 undergoal, 4 structure error.
    Names are printed unescaped inside the quotes, so the last ``" N`` ends them.
    LizardFS 3.13 prints ``"file 14: dir/name" 1``: the path from the filesystem's root,
    without its leading slash, after the inode; the path returned has the slash.
    """
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _DEFECTIVE.match(line)
        if not match:
            raise ParseError(f"list-defective-files line {number}: unexpected {line.strip()!r}")
        path = match.group("path")
        rows.append(("/" + path.lstrip("/"), match.group("inode") or "",
                     int(match.group("flags"))))
    return rows


def parse_lizardfs_health(text: str) -> dict[str, dict[str, int]]:
    """``lizardfs-admin chunks-health HOST PORT --porcelain``: AVA rows per goal.

    Returns {goal: {"safe": n, "endangered": n, "lost": n}}; REP/DEL rows are checked
    for shape only (their column count differs between LizardFS versions).
    """
    goals: dict[str, dict[str, int]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "AVA" and len(fields) == 5 and all(f.isdigit() for f in fields[2:]):
            goals[fields[1]] = {"safe": int(fields[2]), "endangered": int(fields[3]),
                                "lost": int(fields[4])}
        elif fields[0] in ("REP", "DEL") and len(fields) >= 3 and all(
            f.isdigit() for f in fields[2:]
        ):
            continue
        else:
            raise ParseError(f"chunks-health line {number}: unexpected {line.strip()!r}")
    return goals


@dataclass
class LizardChunkserver:
    """One row of ``lizardfs-admin list-chunkservers HOST PORT --porcelain``."""

    address: str
    version: str  # "-" while the server is disconnected from the master
    chunks: int
    used: int
    total: int
    label: str

    @property
    def connected(self) -> bool:
        return self.version != "-"


def parse_lizardfs_chunkservers(text: str) -> list[LizardChunkserver]:
    """``list-chunkservers --porcelain``: ``ADDR VERSION CHUNKS USED TOTAL TODEL*3 ERRORS LABEL``.

    LizardFS prints a disconnected server as ``ADDR - 0 0 0 0 0 0 0 -``
    (src/admin/list_chunkservers_command.cc): it is listed, not left out.
    """
    servers = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 10 or not all(f.isdigit() for f in fields[2:9]) or ":" not in fields[0]:
            raise ParseError(f"list-chunkservers line {number}: unexpected {line.strip()!r}")
        address, version, chunks, used, total = fields[:5]
        servers.append(LizardChunkserver(address, version, int(chunks), int(used), int(total),
                                         fields[9]))
    return servers


def lizardfs_view(health: str, defective: str, chunkservers: str) -> ClusterView:
    """A ClusterView from LizardFS's admin answers, so one judge serves both dialects."""
    view = ClusterView()
    for server in parse_lizardfs_chunkservers(chunkservers):
        (view.servers if server.connected else view.disconnected).append(server.address)
    for row in parse_lizardfs_health(health).values():
        view.classes["missing"] = view.classes.get("missing", 0) + row["lost"]
        view.classes["endangered"] = view.classes.get("endangered", 0) + row["endangered"]
    # The master rebuilds its defective-file list on its file loop only (an hour by
    # default), and drops an entry only when the loop finds the file healthy again. A
    # master that restarted before its chunkservers registered lists every file as
    # unavailable until then; chunks-health is current. A file is named missing only
    # while chunks-health counts lost chunks; otherwise it is listed as stale.
    lost_now = view.classes.get("missing", 0) > 0
    for path, inode, flags in parse_lizardfs_defective(defective):
        if flags & 1 and lost_now:
            view.missing_files.append({"path": path, "inode": inode, "index": "", "chunk": "?",
                                       "type": "UNAVAILABLE"})
        elif flags & 1:
            view.stale_missing.append(path)
        elif flags & 2:
            view.undergoal_files.append(path)
    return view


@dataclass(frozen=True)
class MfsMount:
    """The MooseFS/LizardFS mount that holds a path, and the master it talks to."""

    mount_point: str
    fstype: str
    source: str
    master: str
    port: int | None


def master_from_mount(fstype: str, source: str) -> tuple[str, int | None] | None:
    """The master of a mount table entry, or None when it is not MooseFS/LizardFS.

    MooseFS 3 mounts show type ``fuse`` with source ``mfs#HOST:PORT``; LizardFS
    3.13's mfsmount shows type ``fuse.mfs`` with source ``HOST:PORT``.
    """
    if source.startswith("mfs#") and (fstype == "fuse" or fstype.startswith("fuse.")):
        address = source[len("mfs#"):]
    elif fstype == "fuse.mfs":
        address = source
    else:
        return None
    host, sep, port = address.rpartition(":")
    if sep and host and port.isdigit():
        return host, int(port)
    return (address, None) if address else None


_FINDMNT_ESCAPE = re.compile(rb"\\x([0-9a-fA-F]{2})")


def _unescape_findmnt(field: str) -> str:
    raw = field.encode("utf-8", "surrogateescape")
    return _FINDMNT_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw).decode(
        "utf-8", "replace")


def parse_findmnt(text: str) -> tuple[str, str, str]:
    """``findmnt -n -r -o TARGET,FSTYPE,SOURCE -T PATH``: (mount point, type, source).

    Raw output escapes blanks and backslashes as ``\\xHH``, so each field is one word.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    fields = lines[0].split(" ") if len(lines) == 1 else []
    if len(fields) != 3:
        raise ParseError(f"findmnt: unexpected output {text.strip()[:200]!r}")
    target, fstype, source = (_unescape_findmnt(f) for f in fields)
    return target, fstype, source


_REPAIR_LINE = re.compile(r"^\s+chunks (?P<what>not changed|erased|repaired)\s*:\s+(?P<n>\d+)\s*$")


def parse_filerepair(text: str, paths: Sequence[str],
                     errors: str | None = None) -> dict[str, dict[str, int] | PathError]:
    """``mfsfilerepair PATH...``: chunks not changed / erased / repaired per path.

    ``errors``: stderr, where MooseFS 4 reports a path it failed on.
    """
    parsed: dict[str, dict[str, int] | PathError] = {}
    walked = _walk(text, paths, "mfsfilerepair", lambda line: bool(_REPAIR_LINE.match(line)),
                   errors)
    for path, (lines, error) in walked.items():
        if lines is None:
            parsed[path] = PathError(error or "")
            continue
        counts = {"not changed": 0, "erased": 0, "repaired": 0}
        for line in lines:
            match = _REPAIR_LINE.match(line)
            assert match is not None  # _walk only keeps matching lines
            counts[match.group("what")] += int(match.group("n"))
        parsed[path] = counts
    return parsed


# --- MooseFS 4 (4.59.2: mfsclient/tools_diagtools.c) ------------------------------------
# mfscheckfile: "2 full copies (redundancy level: 1):   N", "1 full copy ; 3 EC4 parts
# (redundancy level: 0):   N", "no copies and EC parts :   N"; at column 0, errors on stderr.
_PARTS = r"\d+ (?:full cop(?:y|ies)|EC[48] parts?)"
_LEVEL_LINE = re.compile(
    rf"^(?P<what>{_PARTS}(?: ; {_PARTS})*) \(redundancy level: (?P<level>\d+)\):"
    r"\s+(?P<count>\d+)\s*$"
)
_FULL = re.compile(r"^(?P<n>\d+) full cop(?:y|ies)$")
_NO_COPIES = re.compile(r"^no copies and EC parts :\s+(?P<count>\d+)\s*$")
# Status 0 and 1 are printed without a count or a newline (4.59.2), the next header glued on.
_GLUED = re.compile(r"(?P<what>empty \(zero\) chunks|chunks not found):(?: +(?P<count>\d+))?\n?")
_CHUNK4 = re.compile(
    r"^\tchunk (?P<index>\d+): (?:(?P<hex>[0-9A-F]{16})_(?P<hexver>[0-9A-F]{8})"
    r" / \(id:(?P<id>\d+) ver:(?P<ver>\d+)\) ; mtime:\d+ \([^)]*\)|(?P<empty>empty))$"
)
_COPY4 = re.compile(
    r"^\t\t(?:copy \d+|EC part (?P<part>[A-Z]{2}\d+)): (?P<server>\S+) ; "
    r"status:(?P<status>[A-Z ,?]+?)(?: ; .*)?$"
)
NOTE_UNRECOVERABLE = "missing data copies / data parts - unrecoverable"
NOTE_READ_AS_ZEROS = ("chunk marked as readable after repair - reading this chunk will "
                      "receive zeros")
_NOTES4 = (NOTE_UNRECOVERABLE, NOTE_READ_AS_ZEROS, "data parts missing - recoverable",
           "full copies have different checksums !!!", "no chunks - empty file",
           "couldn't add this chunk to signature !!!")


def _checkfile4_line(line: str) -> bool:
    return bool(_LEVEL_LINE.match(line) or _NO_COPIES.match(line))


def _add_level_line(result: CheckFile, line: str) -> None:
    levels = result.levels if result.levels is not None else {}
    if match := _LEVEL_LINE.match(line):
        count = int(match.group("count"))
        level = int(match.group("level"))
        levels[level] = levels.get(level, 0) + count
        parts = match.group("what").split(" ; ")
        if len(parts) == 1 and (full := _FULL.match(parts[0])):
            copies = int(full.group("n"))
            result.copies[copies] = result.copies.get(copies, 0) + count
    elif match := _NO_COPIES.match(line):
        result.lost += int(match.group("count"))
    elif match := _GLUED.fullmatch(line):
        # no count printed: at least one such chunk
        count = int(match.group("count") or 1)
        if match.group("what") == "chunks not found":
            result.lost += count  # the file names a chunk the master does not know
        else:
            result.empty_chunks += count
    result.levels = levels
    result.copies[0] = result.lost
    if not result.lost:
        del result.copies[0]


def parse_checkfile4(text: str, paths: Sequence[str],
                     errors: str = "") -> dict[str, CheckFile | PathError]:
    """Parse MooseFS 4 ``mfscheckfile PATH...``: chunks per redundancy level, and lost ones.

    A path the tool failed on has no block; its message comes from ``errors`` (stderr).
    """
    parsed: dict[str, CheckFile | PathError] = {}
    walked = _walk(text, paths, "mfscheckfile", _checkfile4_line, errors, _GLUED)
    for path, (lines, error) in walked.items():
        if lines is None:
            parsed[path] = PathError(error or "")
            continue
        result = CheckFile(levels={})
        for line in lines:
            _add_level_line(result, line)
        parsed[path] = result
    return parsed


def _fileinfo4_line(line: str) -> bool:
    return bool(_CHUNK4.match(line) or _COPY4.match(line)) or (
        line.startswith("\t") and line.strip() in _NOTES4)


def parse_fileinfo4(text: str, paths: Sequence[str],
                    errors: str = "") -> dict[str, list[Chunk] | PathError]:
    """Parse MooseFS 4 ``mfsfileinfo PATH...``: chunks, copies/EC parts and their notes."""
    parsed: dict[str, list[Chunk] | PathError] = {}
    for path, (lines, error) in _walk(text, paths, "mfsfileinfo", _fileinfo4_line,
                                      errors).items():
        if lines is None:
            parsed[path] = PathError(error or "")
            continue
        chunks: list[Chunk] = []
        for line in lines:
            if match := _CHUNK4.match(line):
                chunk = Chunk(int(match.group("index")))
                if not match.group("empty"):
                    chunk.chunk_id, chunk.version = int(match.group("id")), int(match.group("ver"))
                chunks.append(chunk)
            elif match := _COPY4.match(line):
                if not chunks:
                    raise ParseError(f"mfsfileinfo: copy line before any chunk: {line.strip()!r}")
                status = " ".join(match.group("status").replace(" ,", ",").split())
                chunks[-1].copies.append(Copy(match.group("server"), status,
                                              match.group("part") or ""))
            elif chunks and line.strip() != "no chunks - empty file":
                chunks[-1].notes.append(line.strip())
        parsed[path] = chunks
    return parsed


def parse_getsclass(text: str, paths: Sequence[str],
                    errors: str = "") -> dict[str, int | str | PathError]:
    """Parse MooseFS 4 ``mfsgetsclass PATH...``: ``PATH: CLASS`` per path (errors on stderr)."""
    parsed: dict[str, int | str | PathError] = {}
    for path, (_, value) in _walk(text, paths, "mfsgetsclass", lambda line: False,
                                  errors).items():
        if isinstance(value, _Absent) or not (value or "").strip():
            parsed[path] = PathError(value or "no storage class printed")
        else:
            parsed[path] = (value or "").strip()
    return parsed


_SCLASS_SUMMARY = re.compile(r"^\s*(?P<kind>files|directories) with storage class : "
                             r"(?P<name>.*) :\s*$")
_SCLASS_COUNT = re.compile(r"^\s*count :\s+(?P<count>\d+)\s*$")


def parse_getsclass_recursive(text: str) -> dict[int | str, int]:
    """Parse MooseFS 4 ``mfsgetsclass -r DIR`` (header removed): files per storage class."""
    classes: dict[int | str, int] = {}
    current: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if match := _SCLASS_SUMMARY.match(line):
            current = match.group("name") if match.group("kind") == "files" else None
        elif (match := _SCLASS_COUNT.match(line)) and number > 1:
            if current is not None:
                classes[current] = classes.get(current, 0) + int(match.group("count"))
        else:
            raise ParseError(f"mfsgetsclass -r output line {number}: unexpected {line.strip()!r}")
    return classes


def class_level(sclass: int | str | None) -> int | None:
    """The redundancy level a storage class asks for, from MooseFS 4's naming of its
    predefined classes (``2CP``: 2 copies, level 1; ``EC4+1``: 1 parity part, level 1).
    None for any other name: its definition is not read from here."""
    if not isinstance(sclass, str):
        return None
    if match := re.fullmatch(r"(\d+)CP", sclass):
        return max(int(match.group(1)) - 1, 0)
    if match := re.fullmatch(r"EC[48]\+(\d+)", sclass):
        return int(match.group(1))
    return None


_CHUNK_CLASSES = ("missing", "endangered", "undergoal", "stable", "overgoal",
                  "pending_deletion", "ready_to_remove")


def parse_mfscli_json(text: str) -> ClusterView:
    """Parse MooseFS 4 ``mfscli -j -SIC -SMF -SCS`` (one JSON document for the three).

    The chunk matrix counts "equivalent copies" (redundancy level + 1; 0 is missing):
    it is turned into redundancy levels, as the plain output and mfscheckfile show them.
    """
    try:
        doc = json.loads(text)
        dataset = doc["dataset"]
        chunks = dataset["info"]["chunks"]
        summary = chunks["summary"]["allchunks"]
        view = ClusterView(classes={name: int(summary[name]) for name in _CHUNK_CLASSES})
        if chunks.get("progress_status"):  # e.g. right after the master started
            view.caveat = str(chunks.get("progress_str", "counters may not be valid"))
        for row in chunks["allchunks"]:
            target, current = int(row["target"]) - 1, int(row["current"]) - 1
            # target 0 (level -1): chunks of no file any more, pending deletion
            key = f"{'none' if target < 0 else target}/{'missing' if current < 0 else current}"
            view.levels[key] = view.levels.get(key, 0) + int(row["chunks"])
        for server in dataset["chunkservers"]:
            address = f"{server['ip']}:{server['port']}"
            (view.servers if server["connected"] else view.disconnected).append(address)
        for row in dataset["info"]["missing"]:
            paths = row["paths"] if isinstance(row["paths"], list) else [row["paths"]]
            view.missing_files.extend(
                {"path": path, "inode": str(row["inode"]), "index": str(row["index"]),
                 "chunk": str(row["chunkid"]), "type": str(row["type_txt"])} for path in paths)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ParseError(f"mfscli -j: unexpected JSON ({type(exc).__name__}: {exc})") from None
    if doc.get("errors"):
        raise ParseError(f"mfscli -j: the master answered with errors: {doc['errors']}")
    return view

# --- mfs.master-restore: what master-restore.sh inspect saw on the host -----------------

MASTER_NAMES = {"moosefs": "MooseFS 3", "moosefs4": "MooseFS 4", "lizardfs": "LizardFS"}


@dataclass
class MetaFile:
    """One file of a metadata folder."""

    name: str
    size: int
    mtime: str  # UTC, YYYY-MM-DD HH:MM:SS
    header: str = ""  # the first 8 bytes (metadata files), e.g. "MFSM 2.0", "MFSM NEW"
    first: int | None = None  # changelogs: first and last change number
    last: int | None = None

    @property
    def kind(self) -> str:
        """metadata, changelog, or other (sessions, stats, the package's empty template)."""
        if self.name == "metadata.mfs.empty" or self.name.endswith(".lock"):
            return "other"
        if self.name.startswith("metadata") and self.name != "metadata.crc":
            return "metadata"
        return "changelog" if self.name.startswith("changelog") else "other"

    @property
    def from_metalogger(self) -> bool:
        return "_ml" in self.name

    def line(self) -> str:
        """How the dry run lists it."""
        source = "metalogger" if self.from_metalogger else "master"
        if self.kind == "metadata":
            what = ("empty filesystem (MFSM NEW)" if self.header == "MFSM NEW"
                    else f"header {self.header}" if self.header else "no header")
            return f"  {self.name}: {source} metadata, {what}, written {self.mtime}"
        if self.first is None:
            return f"  {self.name}: {source} changelog, empty, written {self.mtime}"
        return (f"  {self.name}: {source} changelog, changes {self.first} to {self.last}, "
                f"written {self.mtime}")


@dataclass
class Inspection:
    """What ``master-restore.sh inspect`` saw on the host."""

    etc: str = "/etc/mfs"
    version: str = ""  # mfsmaster -v, first line; "" when mfsmaster is not installed
    metarestore: bool = False
    configs: list[str] = field(default_factory=list)
    data_path: str = ""  # DATA_PATH from mfsmaster.cfg, "" when not set there
    local_masters: list[str] = field(default_factory=list)  # pids
    answering: list[str] = field(default_factory=list)  # host:port
    silent: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    can_probe: bool = True
    dir: str = ""  # the folder looked at (when none was given)
    dir_missing: bool = False
    skipped: int = 0
    files: list[MetaFile] = field(default_factory=list)


def _meta_number(text: str) -> int | None:
    return int(text) if text.strip().isdigit() else None


def parse_inspect(text: str) -> Inspection:
    """Parse the key=value lines of ``master-restore.sh inspect``."""
    seen = Inspection()
    lists = {"config": seen.configs, "local-master": seen.local_masters,
             "answers": seen.answering, "silent": seen.silent, "unresolved": seen.unresolved}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            continue
        if key in lists:
            lists[key].append(value)
        elif key == "etc":
            seen.etc = value
        elif key == "version":
            seen.version = value.strip()
        elif key == "mfsmetarestore":
            seen.metarestore = True
        elif key == "data-path":
            seen.data_path = value.strip()
        elif key == "dir":
            seen.dir = value
        elif key == "probe":
            seen.can_probe = False
        elif key == "no-dir":
            seen.dir_missing = True
        elif key == "skipped":
            seen.skipped += 1
        elif key == "file":
            seen.files.append(_meta_file(value))
    return seen


def _meta_file(value: str) -> MetaFile:
    name, size, mtime, header, first, last = (value.split("\t") + [""] * 6)[:6]
    return MetaFile(name, int(size) if size.isdigit() else 0, mtime, header.strip(),
                    _meta_number(first), _meta_number(last))


def master_dialect(seen: Inspection, wanted: str = "auto") -> str:
    """moosefs, moosefs4 or lizardfs: as asked, or from mfsmaster -v and /etc."""
    if wanted != "auto":
        if wanted not in MASTER_NAMES:
            raise RunbookError(f"unknown dialect {wanted!r}: choose auto, "
                               f"{', '.join(MASTER_NAMES)}")
        return wanted
    if not seen.version:
        raise RunbookError("mfsmaster is not installed here: install the master package of the "
                           "cluster's version first")
    if seen.etc == "/etc/lizardfs" or "build:" not in seen.version:
        return "lizardfs"
    number = seen.version.removeprefix("version:").strip()
    return "moosefs4" if number.split(".")[0].isdigit() and int(number.split(".")[0]) >= 4 \
        else "moosefs"
