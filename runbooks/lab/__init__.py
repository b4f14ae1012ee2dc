"""lab: real containers that reproduce the failure stories.

Tasks: ``lab.setup`` (engine + base image), ``lab.up``, ``lab.down``, ``lab.status``,
``lab.fault`` and ``lab.heal``.
"""

from __future__ import annotations

import os

from ..core.runner import collection, runbook_task


@runbook_task(label="LAB",
    help={
        "no_install": "Do not apt-get install docker.io, debootstrap or qemu; only check and "
        "start.",
    }
)
def setup(c, no_install=False):
    """Make the lab usable: a Docker engine, the debian:bookworm base image, and qemu.

    Installs Debian's docker.io when no engine is installed (as root), starts
    dockerd when it is not running, and builds debian:bookworm with
    debootstrap + docker import when it is absent (no image registry is used).
    Installs qemu-system-x86 and qemu-utils for the vm-lvm lab when missing;
    its VM image is built on its first `lab.up vm-lvm`.
    """
    from . import engine, vm

    engine.ensure_engine(install=not no_install)
    engine.ensure_base_image()
    if no_install:
        missing = vm._missing_tools()
        if missing:
            engine.log(f"vm-lvm lab needs {' '.join(missing)} (not installed: --no-install)")
    else:
        vm.ensure_tools()
    engine.log("engine, base image and qemu ready")



@runbook_task(label="LAB", iterable=["name"], help={
    "name": "Build only this image (repeatable): base, nas, moosefs, moosefs4, lizardfs, "
    "fleet, bacula, nagios, ... Default: every lab image.",
})
def build(c, name=None):
    """Build the lab images now instead of on each lab's first start.

    An image is rebuilt only when its Dockerfile, its files or the base it starts
    from changed (images are tagged by content). The first build on a machine is
    long: MooseFS 4 and LizardFS compile from the source archives (about 3 and 20
    minutes on 2 cores), beside the packaged images. The test task runs this first,
    so that no test waits on a build.
    """
    import time

    from . import engine

    start = time.monotonic()
    tags = engine.build_images(list(name or []))
    print(f"{len(tags)} lab images ready in {time.monotonic() - start:.0f}s")
    for image, tag in tags.items():
        print(f"  {image}: {tag}")


@runbook_task(label="LAB", help={
    "topology": "Which lab to start: nas, moosefs, fleet, bacula, patching, ... "
    "(`invoke lab.status` lists every topology).",
    "size": "fleet only: how many hosts (default 5).",
})
def up(c, topology, size=5):
    """Start a lab topology and wait until its readiness checks pass.

    Builds the topology's images on first use (from Dockerfiles in
    runbooks/lab/images/), labels every container it starts, and prints how
    to reach it. `invoke lab.down` removes it again.
    """
    from . import systems

    # the same prefix lab.fault and lab.heal look nodes up by (BP_LAB_PREFIX, default bp)
    facts = systems.up(topology, prefix=os.environ.get("BP_LAB_PREFIX", "bp"), size=int(size))
    print(f"{topology} ready in {facts.pop('seconds')}s")
    for key, value in facts.items():
        print(f"  {key}: {value}")



@runbook_task(
    label="LAB",
    help={
        "node": "Lab node: a container name, a MooseFS role (master, cs1..cs4, client), "
        "a fleet host (host01...) or a Bacula daemon (dir, sd, fd1, fd2).",
        "kind": "stop | kill | isolate | first-packet-drop | fill-disk | lose-chunks | "
        "slow | wrong-host-key | chmod-fails | barrier-off | cancel-job.",
    },
)
def fault(c, node, kind):
    """Inject a reversible fault into one lab node (see `lab.heal`).

    stop and kill end the MooseFS daemon (cleanly or with SIGKILL); isolate
    drops all its traffic on the lab network; first-packet-drop loses the
    first packet of every new connection to or from it, like the switch bug
    in the MooseFS story; fill-disk leaves a chunkserver no free byte;
    lose-chunks restarts a chunkserver with an empty chunk folder, as after a
    disk swap (the old folder is kept, so heal brings the chunks back); slow
    rate-limits a node; wrong-host-key gives a fleet host new SSH host keys;
    chmod-fails makes every chmod on a fleet host fail, as on a read-only /etc
    (a change that fails half-way). Fleet hosts (host01...) take stop/kill
    (sshd), isolate, first-packet-drop, slow, wrong-host-key and chmod-fails.
    The monitoring lab's nas takes barrier-off. Bacula daemons (dir, sd, fd1, fd2) take stop and
    kill; fill-disk fills the storage daemon's volume folder, and
    cancel-job (dir) starts a job and cancels it while it runs.
    """
    from . import engine, faults, systems

    print(f"{node}: {faults.inject(systems.node(engine.client(), node), kind)}")


@runbook_task(
    label="LAB",
    help={"node": "Lab node, as for lab.fault.", "kind": "Only this fault (default: all)."},
)
def heal(c, node, kind=None):
    """Undo the faults injected into a node (all of them, last first, or one kind)."""
    from . import engine, faults, systems

    done = faults.heal(systems.node(engine.client(), node), kind)
    print("\n".join(f"{node}: {line}" for line in done) if done else f"{node}: no active fault")


@runbook_task(label="LAB", help={
    "topology": "Only this topology (default: every lab started with lab.up).",
    "all": "Also remove containers of test runs and experiments that are still running.",
})
def down(c, topology=None, all=False):
    """Remove the labs started with lab.up (all of them, or one topology's). Safe to run twice.

    Labs of a running test suite or experiment are left alone (they remove
    their own); --all removes every labelled container and network.
    """
    from . import systems

    removed = systems.down(topology, everything=all)
    print(f"removed {removed} lab container(s)")



@runbook_task(label="LAB")
def status(c):
    """List the lab topologies, then lab containers with their topology, state and owner."""
    from . import engine, systems

    for system in systems.SYSTEMS.values():
        print(f"topology {system.name:9} {system.describe}")
    cl = engine.client()
    containers = engine.lab_containers(cl)
    if not containers:
        print("no lab containers")
        return
    for container in containers:
        labels = container.labels
        print(f"{container.name:24} {labels.get(engine.LABEL, '?'):10} "
              f"{container.status:10} owner={labels.get(engine.OWNER_LABEL, '?')}")


@runbook_task(
    label="LAB",
    help={"name": "servers-lost | restore-goal | first-packet-drop | repair-zero-copy "
          "(MooseFS) | thin-pool-full | raid1-leg-lost | thin-metadata-full (vm-lvm) | all.",
          "lab": "The lab (version) to run on: moosefs (default for the MooseFS experiments), "
                 "moosefs4, lizardfs, or all of the experiment's labs."},
)
def experiment(c, name, lab=""):
    """Run an experiment in its own lab (MooseFS or the LVM VM) and write its results as data.

    Steady state, fault injection, observation and rollback are journaled;
    the result (with date, software versions and lab configuration) goes to
    docs/data/experiments/NAME.json (NAME.LAB.json on a lab other than the
    experiment's default), from which the tolerance pages are built.
    """
    from ..experiments import EXPERIMENTS, run_experiment
    from .engine import LabError

    if name != "all" and name not in EXPERIMENTS:
        raise LabError(
            f"unknown experiment {name!r}: choose one of {', '.join(EXPERIMENTS)} or all")
    for one in (list(EXPERIMENTS) if name == "all" else [name]):
        known = EXPERIMENTS[one].labs()
        if lab and lab != "all" and lab not in known:
            if name == "all":
                continue
            raise LabError(f"experiment {one} does not run on {lab!r}: choose one of "
                           f"{', '.join(known)} or all")
        for where in (list(known) if lab == "all" else [lab or None]):
            print(f"{one}: results in {run_experiment(one, lab=where)}")


ns = collection("lab", setup, build, up, down, status, fault, heal, experiment)
