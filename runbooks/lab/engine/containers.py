"""Lab containers and networks: labelled, owned, listed, removed, reaped.

Every container the lab starts carries the label ``breaking-point.lab`` (its
system) and ``breaking-point.owner`` (who may reap it): ``manual`` for labs
started with ``invoke lab.up``, ``pid:N`` for test runs, so that a later run
can remove what an interrupted one left behind without touching a live lab.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path
from typing import Any

from .common import REPO_ROOT, LabError, log

LABEL = "breaking-point.lab"
OWNER_LABEL = "breaking-point.owner"
REPO_MOUNT = "/src"


def owner() -> str:
    """Who owns the containers started now: ``manual`` or a test run's ``pid:N``."""
    return os.environ.get("BP_LAB_OWNER", "manual")


def repo_mount() -> dict[str, dict[str, str]]:
    """Volumes that mount this checkout read-only at /src, to run the runbooks from it.

    Empty for an installed copy (no tasks.py next to the package): nothing to mount.
    """
    if (REPO_ROOT / "tasks.py").is_file():
        return {str(REPO_ROOT): {"bind": REPO_MOUNT, "mode": "ro"}}
    return {}


def running(container: Any) -> bool:
    """True when the container's state, freshly read, is running."""
    container.reload()
    return container.status == "running"


def run_container(cl: Any, image: str, name: str, system: str, **kwargs: Any) -> Any:
    """Start a labelled container; an old one with the same name is replaced."""
    from docker.errors import NotFound

    with contextlib.suppress(NotFound):
        cl.containers.get(name).remove(force=True)
    labels = {LABEL: system, OWNER_LABEL: owner(), **kwargs.pop("labels", {})}
    # init: a real PID 1 reaps daemons that exit (a stopped mfschunkserver would
    # otherwise linger as a zombie that pgrep still finds).
    kwargs.setdefault("init", True)
    return cl.containers.run(image, name=name, detach=True, labels=labels, **kwargs)


def lab_containers(cl: Any, system: str | None = None) -> list[Any]:
    """Every lab container, or those of one system, running or not."""
    selector = f"{LABEL}={system}" if system else LABEL
    # ignore_removed: another run may remove its lab between the listing and the look-up
    return cl.containers.list(all=True, filters={"label": selector}, ignore_removed=True)


def remove_containers(cl: Any, containers: list[Any]) -> int:
    """Remove containers (gone ones are fine); how many were removed."""
    from docker.errors import APIError, NotFound

    removed = 0
    for container in containers:
        with contextlib.suppress(NotFound):
            try:
                container.remove(force=True)
                removed += 1
            except APIError as exc:
                log(f"could not remove {container.name}: {exc.explanation}")
    return removed


def orphaned(labels: dict[str, str]) -> bool:
    match = re.fullmatch(r"pid:(\d+)", labels.get(OWNER_LABEL, ""))
    return bool(match) and not Path(f"/proc/{match.group(1)}").exists()


def reap_orphans(cl: Any) -> int:
    """Remove containers (and networks) of test runs whose process is gone."""
    removed = remove_containers(cl, [c for c in lab_containers(cl) if orphaned(c.labels)])
    remove_networks(cl, [n for n in lab_networks(cl) if orphaned(n.attrs.get("Labels") or {})])
    return removed


def exec_checked(container: Any, argv: list[str], what: str) -> str:
    """Run argv in a lab container; LabError with its last output line when it fails."""
    code, output = container.exec_run(argv)
    text = output.decode("utf-8", "replace") if isinstance(output, bytes) else str(output)
    if code != 0:
        tail = text.strip().splitlines()[-1:] or ["(no output)"]
        raise LabError(f"{what}: exit {code}: {tail[0]}")
    return text


def put_file(container: Any, directory: str, name: str, data: bytes, mode: int) -> None:
    """Write one file into a container's folder (a tar stream: no shell, no quoting)."""
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), mode
        tar.addfile(info, io.BytesIO(data))
    container.put_archive(directory, buffer.getvalue())


def network(cl: Any, name: str, system: str) -> Any:
    """A fresh labelled bridge network for one system (an old one is replaced)."""
    for old in cl.networks.list(names=[name]):
        old.reload()
        for container in old.containers:  # an earlier lab of the same name: replace it
            with contextlib.suppress(Exception):
                container.remove(force=True)
        old.remove()
    return cl.networks.create(name, driver="bridge", labels={LABEL: system,
                                                              OWNER_LABEL: owner()})


def lab_networks(cl: Any, system: str | None = None, owner_value: str | None = None) -> list:
    """Lab networks, optionally of one system and one owner."""
    selector = [f"{LABEL}={system}" if system else LABEL]
    if owner_value:
        selector.append(f"{OWNER_LABEL}={owner_value}")
    return cl.networks.list(filters={"label": selector})


def remove_networks(cl: Any, networks: list[Any]) -> int:
    """Remove networks (gone ones are fine); how many were removed."""
    from docker.errors import APIError, NotFound

    removed = 0
    for net in networks:
        with contextlib.suppress(NotFound):
            try:
                net.remove()
                removed += 1
            except APIError as exc:
                log(f"could not remove network {net.name}: {exc.explanation}")
    return removed
