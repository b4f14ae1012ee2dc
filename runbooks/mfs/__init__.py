"""mfs: MooseFS/LizardFS chunk safety - audit copies against goals, repair only when safe.

Tasks: ``mfs.audit`` (read-only), ``mfs.repair`` and ``mfs.master-restore`` (dry run
unless --apply).
Pages: docs/runbooks/mfs-audit.md, docs/runbooks/mfs-repair.md,
docs/runbooks/mfs-master-restore.md.
Layers: collect.py (batched tool calls), parse.py, judge.py, plan.py (repair and
master-restore).
"""

from __future__ import annotations

from ..core.findings import Report
from ..core.options import TargetOptions
from ..core.runner import TaskExit, collect_report, collection, finish, runbook_task
from ..core.targets import Target

DEFAULT_CALLS = 2
MFS_HELP = {
    "path": "A file or directory on a MooseFS/LizardFS mount; directories are walked.",
    # moosefs4 is accepted too (picked by auto when mfsmount says 4.x); the help text stays
    # as it is until the generated task reference (docs/reference/tasks.md) is regenerated.
    "dialect": "Client tools to use: auto (default: MooseFS 4, MooseFS 3 or LizardFS, from "
    "what is installed), moosefs (3.0 mfs* tools), moosefs4 (mfs* tools of MooseFS 4: "
    "storage classes, redundancy levels, mfscli JSON) or lizardfs (lizardfs, lizardfs-admin).",
    "master": "Master host[:port] for the cluster view (default: from the mount of PATH).",
    "calls": f"Tool calls in flight per target (default {DEFAULT_CALLS}); each call "
    "carries up to 2000 paths.",
}


def _split_master(master: str | None) -> tuple[str, int | None] | None:
    if not master:
        return None
    host, sep, port = master.rpartition(":")
    if sep and port.isdigit():
        return host, int(port)
    return master, None


@runbook_task(
    help={
        **MFS_HELP,
        "cluster": "Ask the master instead of walking files: mfscli -SIC/-SMF/-SCS "
        "(LizardFS: lizardfs-admin list-chunkservers/chunks-health/list-defective-files). "
        "Instant and cluster-wide, but it lags the master's chunk and file loops.",
    },
    label="MFS",
    targets="many",
)
def audit(
    c,
    path,
    cluster=False,
    dialect="auto",
    master=None,
    calls=DEFAULT_CALLS,
    *,
    opts: TargetOptions,
):
    """Check every chunk of every file under PATH: valid copies against the goal.

    Files with a chunk at 0 copies are CRIT (missing: unreadable now); 1 copy
    under a higher goal (endangered) or fewer copies than the goal (undergoal)
    are WARN. For files at risk it fetches every chunk's copies and calls out
    WRONG VERSION and INVALID ones. Paths go to the tools in large batches, a
    bounded number of calls at a time, with a progress bar on a terminal.
    --cluster asks the master instead: instant, but behind by up to a loop.
    """
    if cluster:
        report = _cluster_report(opts, dialect, _split_master(master), path)
    else:
        report = _tree_report(opts, dialect, path, int(calls))
    finish(report, opts.format, opts.textfile_dir)


def _tree_report(opts: TargetOptions, dialect: str, path: str, calls: int) -> Report:
    """Walk PATH on every target: every chunk of every file against its goal."""
    from ..core.progress import progress_bars
    from . import collect
    from .judge import judge_tree

    totals: dict[str, int] = {}

    async def walk(target: Target):
        tools = await collect.detect_dialect(target, dialect)
        await collect.find_mount(target, path)
        with progress_bars() as bars:
            data = await collect.collect_tree(target, tools, path, calls, bars)
        findings, counts = judge_tree(data, target.name)
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
        return [_with_item(f, path) for f in findings]

    report = collect_report("mfs.audit", "MooseFS chunks", "file", opts.targets(), walk,
                            opts.parallel)
    report.checked = totals.get("files", 0)
    report.metrics.update({k: v for k, v in totals.items() if k != "unchecked"})
    return report


def _cluster_report(opts: TargetOptions, dialect: str, master: tuple[str, int | None] | None,
                    path: str) -> Report:
    """Ask the master (given, or the one PATH is mounted from) for its view of the cluster."""
    from . import collect
    from .judge import judge_cluster

    async def ask_master(target: Target):
        tools = await collect.detect_dialect(target, dialect)
        where = master or await collect.master_of(target, path)
        view = await collect.cluster_view(target, tools, *where)
        return judge_cluster(view, target.name, ":".join(str(p) for p in where if p))

    return collect_report("mfs.audit", "MooseFS cluster", "", opts.targets(), ask_master,
                          opts.parallel)


def _with_item(finding, path):
    from dataclasses import replace

    return replace(finding, item=f"chunks {path}")


@runbook_task(
    help={
        **MFS_HELP,
        "allow_erase": "Also repair files whose lost chunks would become zeros. Their "
        "readable chunks are first copied aside (see --copy-to).",
        "copy_to": "Directory for the copies made before an erasing repair (default: "
        "next to each file, named FILE.before-repair-TIMESTAMP).",
    },
    label="MFS",
    targets="one",
)
def repair(
    c,
    path,
    apply=False,
    allow_erase=False,
    copy_to=None,
    dialect="auto",
    master=None,
    calls=DEFAULT_CALLS,
    *,
    opts: TargetOptions,
):
    """Run mfsfilerepair only when it cannot destroy data that could still come back.

    Prints, per chunk, what repair would do: not changed (a valid copy
    exists), REPAIRED (an older WRONG VERSION copy is promoted) or ERASED (no
    copy left: the chunk becomes zeros). Refuses while any chunkserver is
    disconnected from the master, and refuses erasing unless --allow-erase,
    which first copies the readable chunks aside. On LizardFS it runs the
    correct-only `lizardfs filerepair -c` (never erases) first, and erases
    only with --allow-erase. Dry run unless --apply; exits 2 when it refuses.
    """
    import asyncio

    target = opts.one_target()
    code = asyncio.run(_repair(target, path, bool(apply), bool(allow_erase), copy_to, dialect,
                               _split_master(master), int(calls)))
    if code:
        raise TaskExit(code)


async def _repair(target: Target, path: str, apply: bool, allow_erase: bool,
                  copy_to: str | None, dialect: str, master: tuple[str, int | None] | None,
                  calls: int) -> int:
    """Inspect, show what repair would do, refuse or plan, and apply; the exit status."""
    import datetime as dt

    from ..core.changes import apply_plan
    from . import collect, plan

    async with target:
        tools = await collect.detect_dialect(target, dialect)
        mount = await collect.find_mount(target, path, "nothing to repair")
        files = plan.file_plans(await collect.file_chunks(target, tools, path, calls),
                                tools.lists_stale_copies, read_as_zeros=tools.levels)
        view = await collect.cluster_view(target, tools, *(master or (mount.master, mount.port)))
        print(plan.listing(files), end="")
        reasons = plan.refusals(files, view.disconnected, allow_erase,
                                correct_only=tools.repair_correct_only is not None)
        if reasons:
            print(plan.refused(reasons), end="")
            return plan.REFUSED_EXIT
        todo = [f for f in files if f.changes]
        if not todo:
            print("nothing to repair")
            return 0
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        erasing = [f.path for f in todo if f.erases and allow_erase]
        copies = {name: (plan.copy_path(name, copy_to, stamp), size)
                  for name, size in (await collect.file_sizes(target, erasing)).items()}
        await apply_plan(plan.repair_plan(target, tools, todo, allow_erase, copies, calls),
                         apply)
        return 0


@runbook_task(
    help={
        "data_dir": "The master's metadata folder (default: DATA_PATH of mfsmaster.cfg, "
        "else /var/lib/mfs, LizardFS /var/lib/lizardfs).",
        "master": "Where clients reach the cluster's master, host[:port] (default: mfsmaster, "
        "else master; ports 9419-9421): if it answers, the restore is refused.",
        "dialect": "auto (default: from mfsmaster -v), moosefs, moosefs4 or lizardfs.",
    },
    label="MFS",
    targets="one",
    name="master-restore",
)
def master_restore(c, apply=False, data_dir=None, master=None, dialect="auto", *,
                   opts: TargetOptions):
    """Rebuild a lost master's metadata on this host (e.g. a metalogger) and start it.

    Lists the metadata files and changelogs a restore would use (the master's
    and the metalogger's), the command (MooseFS: mfsmaster -a; LizardFS:
    mfsmetarestore -a -d DIR, then mfsmaster start) and what it writes.
    Refuses while a master answers on --master or an mfsmaster runs here, and
    when there is nothing to restore from. --apply copies the folder's files
    aside, restores, starts the master and waits until it answers; undo with
    `invoke changes.undo ID --apply`. Exits 2 when it refuses.
    """
    import asyncio

    from . import plan

    where = _split_master(master)
    masters = [where[0]] if where else list(plan.DEFAULT_MASTERS)
    ports = (where[1],) if where and where[1] else plan.MASTER_PORTS
    code = asyncio.run(_master_restore(opts.one_target(), data_dir, masters, ports,
                                       bool(apply), dialect))
    if code:
        raise TaskExit(code)


async def _master_restore(target: Target, folder: str | None, masters: list[str],
                          ports: tuple[int, ...], apply: bool, dialect: str) -> int:
    """Inspect, list, refuse or plan, and apply; the exit status."""
    import datetime as dt

    from ..core.changes import apply_plan
    from . import collect, parse, plan

    async with target:
        seen = await collect.inspect_master(target, folder, masters, ports)
        chosen = parse.master_dialect(seen, dialect)
        where = folder or seen.dir
        print(plan.restore_listing(seen, chosen, where), end="")
        reasons = plan.restore_refusals(seen, chosen, where)
        if reasons:
            print(plan.restore_refused(reasons), end="")
            return plan.REFUSED_EXIT
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        await apply_plan(plan.restore_plan(target, chosen, where, plan.backup_path(where, stamp)),
                         apply)
        return 0


ns = collection("mfs", audit, repair, master_restore)
