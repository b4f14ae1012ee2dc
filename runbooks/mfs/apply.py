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


async def _plan(target: Target, tools: collect.Dialect, path: str, calls: int) -> list[FilePlan]:
    files = await collect.list_files(target, path)
    infos = await collect.run_batched(target, tools.fileinfo, files, parse.parse_fileinfo, calls)
    plans = []
    for name in files:
        info = infos[name]
        plans.append(FilePlan(name, error=info.message) if isinstance(info, parse.PathError)
                     else FilePlan(name, chunk_actions(info, tools.lists_stale_copies)))
    return plans


def _show(plans: list[FilePlan], out: TextIO) -> None:
    for plan in plans:
        if plan.changes or plan.error:
            out.write(f"{plan.path}:\n")
            if plan.error:
                out.write(f"  cannot inspect: {plan.error}\n")
            for action in plan.actions:
                out.write(f"  {action.line()}\n")
    healthy = sum(1 for p in plans if not p.changes and not p.error)
    out.write(f"{healthy} of {len(plans)} file(s) need no repair\n")


def _dry_run(tools: collect.Dialect, todo: list[FilePlan], allow_erase: bool) -> str:
    if tools.repair_correct_only is None:
        return f"dry run: nothing changed; add --apply to run {' '.join(tools.filerepair)}\n"
    safe = " ".join(tools.repair_correct_only)
    if allow_erase:
        return (f"dry run: nothing changed; add --apply to copy the readable chunks aside, run "
                f"{safe} (never erases), then {' '.join(tools.filerepair)} (erases) on the "
                "files it could not correct\n")
    lost = sum(len(p.erases) for p in todo)
    return (f"dry run: nothing changed; add --apply to run {safe} (correct-only: promotes an "
            "older version where a chunkserver holds one, never erases)\n"
            + (f"{lost} chunk(s) without a listed copy stay as they are unless --allow-erase\n"
               if lost else ""))


async def _copy_aside(
    target: Target, plan: FilePlan, copy_to: str | None, stamp: str, out: TextIO
) -> dict[str, object]:
    size = int((await _run_checked(target, ["stat", "-c", "%s", "--", plan.path])).strip())
    dest = _copy_path(plan.path, copy_to, stamp)
    commands = copy_commands(plan.path, dest, size, plan.actions)
    for command in commands:
        await _run_checked(target, command)
    out.write(f"copied the readable chunks of {plan.path} to {dest} "
              f"({len(plan.erases)} lost chunk(s) left as zeros)\n")
    return {"description": f"copy of {plan.path} before repair", "argv":
            ["sh", "-c", describe(commands)], "undo": None, "copy": dest}


async def _repair_pass(
    target: Target, argv: tuple[str, ...], plans: list[FilePlan], calls: int, out: TextIO,
    steps: list[dict[str, object]],
) -> dict[str, dict[str, int]]:
    """Run one repair command over ``plans``; the counts of every file it answered for."""
    paths = [p.path for p in plans]
    results = await collect.run_batched(target, argv, paths, parse.parse_filerepair, calls)
    done = {}
    for name in paths:
        result = results[name]
        if isinstance(result, parse.PathError):
            out.write(f"{name}: repair failed: {result.message}\n")
            continue
        done[name] = result
        how = "" if argv[-1] != "-c" else f" ({' '.join(argv)})"
        out.write(f"{name}: {result['repaired']} repaired, {result['erased']} erased, "
                  f"{result['not changed']} not changed{how}\n")
        steps.append({"description": f"{' '.join(argv)} {name}", "argv": [*argv, name],
                      "undo": None, "result": result})
    return done


async def _repair(
    target: Target, tools: collect.Dialect, todo: list[FilePlan], allow_erase: bool,
    calls: int, out: TextIO, steps: list[dict[str, object]],
) -> None:
    """The repair passes: correct-only first where the tools have it, erasing only if allowed."""
    if tools.repair_correct_only is None:
        await _repair_pass(target, tools.filerepair, todo, calls, out, steps)
        return
    corrected = await _repair_pass(target, tools.repair_correct_only, todo, calls, out, steps)
    left = [p for p in todo if p.erases and p.path in corrected
            and corrected[p.path]["repaired"] < len(p.erases)]
    if not left:
        return
    if allow_erase:
        await _repair_pass(target, tools.filerepair, left, calls, out, steps)
        return
    chunks = sum(len(p.erases) - corrected[p.path]["repaired"] for p in left)
    out.write(f"{chunks} chunk(s) in {len(left)} file(s) still have no valid copy and no older "
              "version: left as they are. If every chunkserver is back and the data is truly "
              "gone, rerun with --allow-erase (the readable chunks are copied aside first).\n")


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
        mount = await collect.find_mount(target, path, "nothing to repair")
        plans = await _plan(target, tools, path, calls)
        where = master or (mount.master, mount.port)
        view = await collect.cluster_view(target, tools, *where)
        _show(plans, out)

        reasons = refusals(plans, view.disconnected, allow_erase,
                           correct_only=tools.repair_correct_only is not None)
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
            out.write(_dry_run(tools, todo, allow_erase))
            return 0

        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        steps = [await _copy_aside(target, plan, copy_to, stamp, out)
                 for plan in todo if plan.erases and allow_erase]
        await _repair(target, tools, todo, allow_erase, calls, out, steps)
        change = record_change("mfs.repair", target, steps)
        out.write(f"recorded as change {change} ({' '.join(tools.filerepair)} cannot be "
                  "undone)\n")
        return 0
