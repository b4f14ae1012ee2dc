"""lab: real containers that reproduce the failure stories.

Tasks: ``lab.setup`` (engine + base image), ``lab.up``, ``lab.down``, ``lab.status``.
"""

from __future__ import annotations

from invoke import Collection

from ..core.runner import runbook_task


def _topology_names() -> str:
    from .topologies import TOPOLOGIES

    return ", ".join(f"{t.name} ({t.description})" for t in TOPOLOGIES.values())


@runbook_task(label="LAB",
    help={
        "no_install": "Do not apt-get install docker.io or debootstrap; only check and start.",
    }
)
def setup(c, no_install=False):
    """Make the lab usable: a Docker engine that answers, and the debian:bookworm base image.

    Installs Debian's docker.io when no engine is installed (as root), starts
    dockerd when it is not running, and builds debian:bookworm with
    debootstrap + docker import when it is absent (no image registry is used).
    """
    from . import engine

    engine.ensure_engine(install=not no_install)
    engine.ensure_base_image()
    engine.log("engine and base image ready")



@runbook_task(label="LAB", help={"topology": "Which lab to start: nas."})
def up(c, topology):
    """Start a lab topology and wait until its readiness checks pass.

    Builds the topology's images on first use (from Dockerfiles in
    runbooks/lab/images/), labels every container it starts, and prints how
    to reach it. `invoke lab.down` removes it again.
    """
    from . import topologies

    facts = topologies.up(topology)
    print(f"{topology} ready in {facts.pop('seconds')}s")
    for key, value in facts.items():
        print(f"  {key}: {value}")



@runbook_task(label="LAB", help={"topology": "Only this topology (default: every lab container)."})
def down(c, topology=None):
    """Remove lab containers (all of them, or one topology's). Safe to run twice."""
    from . import topologies

    removed = topologies.down(topology)
    print(f"removed {removed} lab container(s)")



@runbook_task(label="LAB")
def status(c):
    """List lab containers with their topology, state and owner."""
    from . import engine

    cl = engine.client()
    containers = engine.lab_containers(cl)
    if not containers:
        print("no lab containers")
        return
    for container in containers:
        labels = container.labels
        print(f"{container.name:24} {labels.get(engine.LABEL, '?'):10} "
              f"{container.status:10} owner={labels.get(engine.OWNER_LABEL, '?')}")


ns = Collection("lab")
for _task in (setup, up, down, status):
    ns.add_task(_task)
