"""The lizardfs lab: LizardFS 3.13 built from source, shaped like the moosefs lab.

Master, metalogger, chunkservers cs1-cs4 (labels A-D) and a FUSE 3 client at
/mnt/mfs, with the same faults as the MooseFS labs. The image is built from the
pinned upstream archive (images/lizardfs/sources.txt, see engine.sources); the
story that named the project ran LizardFS.
"""

from __future__ import annotations

from typing import Any

from .base import System
from .moosefs import CHUNKSERVERS, Daemon, Flavour, cluster_faults, role, start_cluster

NAME = "lizardfs"
NODES = ("master", "metalogger", *CHUNKSERVERS, "client")
MASTER = Daemon("mfsmaster", ("mfsmaster", "stop"), ("mfs-role", "master"))
CHUNKSERVER = Daemon("mfschunkserver", ("mfschunkserver", "stop"), ("mfs-role", "chunkserver"))


def registered_chunkservers(client: Any) -> int:
    """Connected chunkservers that report their space (`lizardfs-admin list-chunkservers`).

    A disconnected one is listed with `-` for its version (tests/data/lizardfs).
    """
    code, out = client.exec_run(["lizardfs-admin", "list-chunkservers", "master", "9421",
                                 "--porcelain"])
    if code != 0:
        return 0
    ready = 0
    for line in out.decode("utf-8", "replace").splitlines():
        fields = line.split()
        if len(fields) > 4 and fields[1] != "-" and fields[4].isdigit():
            ready += int(fields[4]) > 0
    return ready


LIZARDFS = Flavour(NAME, "lizardfs", "lfs", NODES, registered_chunkservers)


def start(cl: Any, prefix: str, **_: Any) -> dict[str, Any]:
    """A LizardFS cluster: master, metalogger, four chunkservers, one FUSE client."""
    return start_cluster(LIZARDFS, cl, prefix)


SYSTEM = System(
    NAME,
    "LizardFS 3.13 (from source): master, metalogger, chunkservers cs1-cs4, client at /mnt/mfs",
    start,
    node=LIZARDFS.container_name,
    role=role,
    faults=cluster_faults(MASTER, CHUNKSERVER, owner="lizardfs"),
)
