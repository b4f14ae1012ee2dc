"""The guarded repair run: inspect, predict, refuse or copy aside, then repair."""

from __future__ import annotations

import datetime as dt
import posixpath
import sys
from typing import TextIO

from ..core.changes import record_change
from ..core.errors import TargetError
from ..core.findings import docs_url
from ..core.targets import Target
from . import collect, parse
from .repair import STORY, FilePlan, chunk_actions, copy_commands, describe, refusals

REFUSED_EXIT = 2


def _copy_path(path: str, copy_to: str | None, stamp: str) -> str:
    name = f"{posixpath.basename(path)}.before-repair-{stamp}"
    return posixpath.join(copy_to, name) if copy_to else posixpath.join(
        posixpath.dirname(path) or ".", name)


async def _run_checked(target: Target, argv: list[str]) -> str:
    result = await target.run(argv)
    if not result.ok:
        raise TargetError(f"{target.name}: {argv[0]}: {result.first_error_line()}")
    return result.stdout


async def run_repair(
    target: Target,
    path: str,
    *,
    apply: bool,
    allow_erase: bool,
    copy_to: str | None,
    dialect: str,
    master: tuple[str, int | None] | None,
    calls: int,
    out: TextIO | None = None,
) -> int:
    """Plan (and with ``apply``, run) the repair of every file under ``path``; exit status."""
    out = out or sys.stdout
    async with target:
        tools = await collect.detect_dialect(target, dialect)
        files = await collect.list_files(target, path)
        infos = await collect.run_batched(target, tools.fileinfo, files, parse.parse_fileinfo,
                                          calls)
        plans = []
        for name in files:
            info = infos[name]
            plans.append(FilePlan(name, error=info.message) if isinstance(info, parse.PathError)
                         else FilePlan(name, chunk_actions(info)))
        where = master or await collect.master_of(target, path)
        view = await collect.cluster_view(target, tools, *where)

        for plan in plans:
            if plan.changes or plan.error:
                out.write(f"{plan.path}:\n")
                if plan.error:
                    out.write(f"  cannot inspect: {plan.error}\n")
                for action in plan.actions:
                    out.write(f"  {action.line()}\n")
        healthy = sum(1 for p in plans if not p.changes and not p.error)
        out.write(f"{healthy} of {len(plans)} file(s) need no repair\n")

        reasons = refusals(plans, view.disconnected, allow_erase)
        if reasons:
            for reason in reasons:
                out.write(f"REFUSED: {reason}\n")
            out.write(f"why: {docs_url(STORY)}\n")
            return REFUSED_EXIT
        todo = [p for p in plans if p.changes]
        if not todo:
            out.write("nothing to repair\n")
            return 0
        if not apply:
            out.write("dry run: nothing changed; add --apply to run mfsfilerepair\n")
            return 0

        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        steps = []
        for plan in todo:
            if not plan.erases:
                continue
            size = int((await _run_checked(target, ["stat", "-c", "%s", "--", plan.path])).strip())
            dest = _copy_path(plan.path, copy_to, stamp)
            commands = copy_commands(plan.path, dest, size, plan.actions)
            for command in commands:
                await _run_checked(target, command)
            out.write(f"copied the readable chunks of {plan.path} to {dest} "
                      f"({len(plan.erases)} lost chunk(s) left as zeros)\n")
            steps.append({"description": f"copy of {plan.path} before repair", "argv":
                          ["sh", "-c", describe(commands)], "undo": None, "copy": dest})
        paths = [p.path for p in todo]
        results = await collect.run_batched(target, tools.filerepair, paths,
                                            parse.parse_filerepair, calls)
        for name in paths:
            result = results[name]
            if isinstance(result, parse.PathError):
                out.write(f"{name}: repair failed: {result.message}\n")
                continue
            out.write(f"{name}: {result['repaired']} repaired, {result['erased']} erased, "
                      f"{result['not changed']} not changed\n")
            steps.append({"description": f"mfsfilerepair {name}", "argv":
                          [*tools.filerepair, name], "undo": None, "result": result})
        change = record_change("mfs.repair", target, steps)
        out.write(f"recorded as change {change} (mfsfilerepair cannot be undone)\n")
        return 0
