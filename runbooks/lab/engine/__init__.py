"""The lab's contact with Docker, one module per job.

- ``common``: LabError, progress log, polling, the repository and state paths;
- ``daemon``: apt packages, dockerd, a client that answers;
- ``baseimage``: ``debian:bookworm`` built with debootstrap;
- ``images``: lab images from runbooks/lab/images/, wheels, content digests;
- ``containers``: labelled containers and networks, owners, orphans, the repository mount;
- ``ssh``: the lab key, authorised and host keys, sshd readiness.

The names most callers need are re-exported here: ``engine.client()``.
"""

from __future__ import annotations

from .baseimage import BASE_IMAGE, debian_mirror, ensure_base_image
from .common import REPO_ROOT, STATE_DIR, LabError, log, machine_lock, wait_until
from .containers import (
    LABEL,
    OWNER_LABEL,
    exec_checked,
    lab_containers,
    lab_networks,
    network,
    owner,
    put_file,
    reap_orphans,
    remove_containers,
    remove_networks,
    repo_mount,
    run_container,
    running,
)
from .daemon import apt_install, client, ensure_engine
from .images import build_image, build_images, image_names
from .ssh import enable_ssh, lab_key, ssh_access, ssh_banner, wait_for_sshd

__all__ = [
    "BASE_IMAGE", "LABEL", "OWNER_LABEL", "REPO_ROOT", "STATE_DIR", "LabError",
    "apt_install", "build_image", "build_images", "client", "debian_mirror", "enable_ssh",
    "ensure_base_image", "ensure_engine", "exec_checked", "image_names", "lab_containers",
    "lab_key", "lab_networks", "log", "machine_lock",
    "network", "owner", "put_file", "reap_orphans", "remove_containers", "remove_networks",
    "repo_mount", "run_container", "running", "ssh_access", "ssh_banner", "wait_for_sshd",
    "wait_until",
]
