"""Everything the experiments take from the lab, in one place (runbooks/lab/).

The MooseFS experiments run the same method on three labs (moosefs: Debian's
MooseFS 3.0; moosefs4: MooseFS 4 from source; lizardfs: LizardFS 3.13 from
source). What differs between them (container names, tool names, how their
output is read, how a goal is set) is one :class:`MfsTools` per lab, in
:data:`MFS_TOOLS`; the output formats are those of runbooks/mfs/parse.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..lab import engine, faults, systems, vm
from ..lab.systems import lizardfs as _lizardfs
from ..lab.systems import moosefs as _moosefs
from ..lab.systems import moosefs4 as _moosefs4
from ..mfs import parse

LabError = engine.LabError
client = engine.client
exec_checked = engine.exec_checked
up = systems.up
CHUNKSERVERS: tuple[str, ...] = _moosefs.CHUNKSERVERS
Flavour = _moosefs.Flavour
inject, heal, active = faults.inject, faults.heal, faults.active
vm_instance_dir, vm_stop_instance = vm.instance_dir, vm.stop_instance


def remove_lab(cl: Any, system: str, prefix: str) -> None:
    """Remove the containers and networks of one run's lab (names start with ``prefix``)."""
    for container in engine.lab_containers(cl, system):
        if container.name.startswith(prefix + "-"):
            container.remove(force=True)
    engine.remove_networks(cl, [n for n in engine.lab_networks(cl, system)
                                if n.name.startswith(prefix)])


def lizardfs_classes(text: str) -> dict[str, int]:
    """Chunk classes from ``lizardfs-admin chunks-health HOST PORT --porcelain``.

    ``missing`` and ``endangered`` are the AVA rows' lost and endangered (one copy
    left) columns; ``undergoal`` counts the REP rows' chunks that need one or more
    copies, less the endangered ones, so that the three do not overlap (as in
    MooseFS's chunk classes).
    """
    health = parse.parse_lizardfs_health(text)  # checks every line's shape
    missing = sum(row["lost"] for row in health.values())
    endangered = sum(row["endangered"] for row in health.values())
    below = sum(int(n) for line in text.splitlines() if line.startswith("REP ")
                for n in line.split()[3:])
    return {"missing": missing, "endangered": endangered,
            "undergoal": max(0, below - endangered - missing)}


def _mfscli_classes(text: str) -> dict[str, int]:
    return parse.parse_mfscli(text).classes


def _mfscli_json_classes(text: str) -> dict[str, int]:
    return parse.parse_mfscli_json(text).classes


def _checkfile3(out: str, paths: Sequence[str], err: str) -> dict[str, Any]:
    return parse.parse_checkfile(out, paths)


def _fileinfo3(out: str, paths: Sequence[str], err: str) -> dict[str, Any]:
    return parse.parse_fileinfo(out, paths)


def _version_line(text: str) -> str:
    """``version: 4.59.2-1 ; build: 2106`` (mfsmaster -v) -> ``4.59.2-1``."""
    for line in text.splitlines():
        if line.startswith("version:"):
            return line.split(":", 1)[1].split(";")[0].strip()
    raise LabError(f"no version in {text.strip()[:100]!r}")


@dataclass(frozen=True)
class MfsTools:
    """How one MooseFS-like lab is driven: its containers, tools and their output."""

    lab: str
    flavour: _moosefs.Flavour  # container names, chunkservers registered
    checkfile: tuple[str, ...]
    fileinfo: tuple[str, ...]
    filerepair: tuple[str, ...]
    # each parser takes (stdout, paths, stderr): MooseFS 4 names failed paths on stderr
    parse_checkfile: Callable[[str, Sequence[str], str], dict[str, Any]]
    parse_fileinfo: Callable[[str, Sequence[str], str], dict[str, Any]]
    classes_command: tuple[str, ...]  # the master's chunk classes, run on the client
    parse_classes: Callable[[str], dict[str, int]]
    mount: tuple[str, ...]  # mount the filesystem at the directory appended
    version_command: tuple[str, ...]  # run on the master; "dpkg" reads the package
    master_config: tuple[str, str]  # the master's config file and its commented sample
    # the settings that decide when the master replicates (restore-goal records them)
    settings: tuple[str, ...]
    # LizardFS: a repair that only promotes older versions and never erases
    repair_correct_only: tuple[str, ...] | None = None
    lists_stale_copies: bool = True  # LizardFS's fileinfo lists valid copies only

    def container(self, prefix: str, node: str) -> str:
        """The container of a node (master, cs1..cs4, client) of the lab ``prefix``."""
        return self.flavour.container(prefix, node)

    def registered(self, client_container: Any) -> int:
        """Chunkservers registered with their space, as the master reports them."""
        return self.flavour.registered(client_container)

    def version(self, master: Any) -> str:
        """The version of the master's daemon (the Debian package's for MooseFS 3)."""
        code, out = master.exec_run(list(self.version_command))
        text = out.decode("utf-8", "replace")
        if code != 0:
            raise LabError(f"{' '.join(self.version_command)}: {text.strip()[:200]}")
        return text.strip() if self.version_command[0] == "dpkg-query" else _version_line(text)


MASTER_ADDRESS = ("master", "9421")
MOOSEFS_SETTINGS = ("CHUNKS_LOOP_MIN_TIME", "REPLICATIONS_DELAY_INIT",
                    "CS_TEMP_MAINTENANCE_MODE_TIMEOUT")
MFS_TOOLS: dict[str, MfsTools] = {t.lab: t for t in (
    MfsTools("moosefs", _moosefs.MOOSEFS, ("mfscheckfile",), ("mfsfileinfo",),
             ("mfsfilerepair",), _checkfile3, _fileinfo3,
             ("mfscli", "-H", "master", "-n", "-p", "-SIC"), _mfscli_classes,
             ("mfsmount", "-H", "master"),
             ("dpkg-query", "-W", "-f", "${Version}", "moosefs-master"),
             ("/etc/mfs/mfsmaster.cfg", "/usr/share/doc/moosefs-master/examples/mfsmaster.cfg"),
             MOOSEFS_SETTINGS),
    MfsTools("moosefs4", _moosefs4.MOOSEFS4, ("mfscheckfile",), ("mfsfileinfo",),
             ("mfsfilerepair",), parse.parse_checkfile4, parse.parse_fileinfo4,
             ("mfscli", "-H", "master", "-j", "-SIC", "-SMF", "-SCS"), _mfscli_json_classes,
             ("mfsmount", "-H", "master"), ("mfsmaster", "-v"),
             ("/etc/mfs/mfsmaster.cfg", "/etc/mfs/mfsmaster.cfg.sample"), MOOSEFS_SETTINGS),
    MfsTools("lizardfs", _lizardfs.LIZARDFS, ("lizardfs", "checkfile"),
             ("lizardfs", "fileinfo"), ("lizardfs", "filerepair"), _checkfile3, _fileinfo3,
             ("lizardfs-admin", "chunks-health", *MASTER_ADDRESS, "--porcelain"),
             lizardfs_classes, ("mfsmount3", "-o", "mfsmaster=master"), ("mfsmaster", "-v"),
             ("/etc/lizardfs/mfsmaster.cfg", "/etc/lizardfs/mfsmaster.cfg.sample"),
             # LizardFS names its delays OPERATIONS_DELAY_*; the lab sets the MooseFS name
             ("CHUNKS_LOOP_MIN_TIME", "REPLICATIONS_DELAY_INIT", "OPERATIONS_DELAY_INIT",
              "OPERATIONS_DELAY_DISCONNECT"),
             repair_correct_only=("lizardfs", "filerepair", "-c"), lists_stale_copies=False),
)}
