"""The moosefs4 lab: MooseFS 4 built from source, shaped like the moosefs lab.

Master, metalogger, chunkservers cs1-cs4 (labels A-D) and a FUSE client at
/mnt/mfs, with the same faults as MooseFS 3.0. The image is built from the
pinned upstream archive (images/moosefs4/sources.txt, see engine.sources).
"""

from __future__ import annotations

import json
from typing import Any

from .moosefs import CHUNKSERVERS, Flavour, cluster_system

NAME = "moosefs4"
NODES = ("master", "metalogger", *CHUNKSERVERS, "client")


def registered_chunkservers(client: Any) -> int:
    """Connected chunkservers that report their space, from `mfscli -j -SCS` (MooseFS 4)."""
    code, out = client.exec_run(["mfscli", "-H", "master", "-j", "-SCS"])
    if code != 0:
        return 0
    try:
        servers = json.loads(out.decode("utf-8", "replace"))["dataset"]["chunkservers"]
    except (ValueError, KeyError, TypeError):
        return 0
    return sum(1 for s in servers if s.get("connected") and s.get("hdd_regular_total", 0) > 0)


MOOSEFS4 = Flavour(NAME, "moosefs4", "mfs4", NODES, registered_chunkservers)


SYSTEM = cluster_system(MOOSEFS4, "MooseFS 4.59.2 (from source): master, metalogger, "
                                  "chunkservers cs1-cs4, client at /mnt/mfs")
