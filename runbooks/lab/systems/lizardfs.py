"""The lizardfs lab: LizardFS 3.13 built from source, shaped like the moosefs lab.

Master, metalogger, chunkservers cs1-cs4 (labels A-D) and a FUSE 3 client at
/mnt/mfs, with the same faults as the MooseFS labs. The image is built from the
pinned upstream archive (images/lizardfs/sources.txt, see engine.sources); the
story that named the project ran LizardFS.
"""

from __future__ import annotations

from typing import Any

from .moosefs import CHUNKSERVERS, Flavour, cluster_system

NAME = "lizardfs"
NODES = ("master", "metalogger", *CHUNKSERVERS, "client")


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


SYSTEM = cluster_system(LIZARDFS, "LizardFS 3.13 (from source): master, metalogger, "
                                  "chunkservers cs1-cs4, client at /mnt/mfs", owner="lizardfs")
