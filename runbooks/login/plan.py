"""Plans for trimming update-motd.d and for putting it back exactly."""

from __future__ import annotations

from ..core.changes import NothingToDo, Plan, Step
from ..core.targets import Target
from .collect import current_modes, is_dir, read_manifest
from .parse import MANIFEST, MOTD_DIR, MotdScript

MANIFEST_DIR = MANIFEST.rsplit("/", 1)[0]
# Writes its arguments, one per line, as the manifest: names travel as argv only.
WRITE_MANIFEST = f'mkdir -p {MANIFEST_DIR} && printf "%s\\n" "$@" > {MANIFEST}'


def _mode_is(name: str, mode: str):
    async def verify(target: Target) -> bool:
        return (await current_modes(target, MOTD_DIR)).get(name) == mode

    return verify


def nothing_slow(scripts: list[MotdScript], threshold: float) -> str:
    """Why a trim has nothing to do, naming what was looked at."""
    runs = [s for s in scripts if s.executable]
    if not scripts:
        return f"no scripts in {MOTD_DIR}: nothing runs at login"
    if not runs:
        return (f"none of the {len(scripts)} files in {MOTD_DIR} is executable: "
                "nothing runs at login")
    slowest = max(s.real or 0 for s in runs)
    return (f"none of the {len(runs)} executable scripts in {MOTD_DIR} took longer than "
            f"{threshold:g}s (the slowest {slowest:.2f}s)")


async def plan_trim(target: Target, scripts: list[MotdScript], threshold: float) -> Plan:
    """Plan: record the modes (once), then chmod a-x every script slower than ``threshold``.

    Every step's undo puts back exactly what it changed, the manifest's folder
    included when the trim creates it, so that ``changes.undo`` leaves the host
    as it was.
    """
    plan = Plan("login.trim-motd", target)
    slow = [s for s in scripts if s.executable and (s.real or 0) > threshold]
    if not slow:
        trimmed = await read_manifest(target, MANIFEST) is not None
        plan.idle = "already trimmed" if trimmed else "nothing slow to trim"
        plan.notes.append(f"{target.name}: {nothing_slow(scripts, threshold)}")
        return plan
    if await read_manifest(target, MANIFEST) is None:
        if not await is_dir(target, MANIFEST_DIR):
            plan.add(Step(f"create {MANIFEST_DIR} for the manifest",
                          ["mkdir", "-p", MANIFEST_DIR], ["rmdir", MANIFEST_DIR]))
        lines = [f"{s.mode}\t{s.name}" for s in scripts]
        plan.add(Step(f"record the modes of {len(scripts)} update-motd.d scripts in {MANIFEST}",
                      ["sh", "-c", WRITE_MANIFEST, "sh", *lines], ["rm", "-f", MANIFEST]))
    for script in slow:
        path = f"{MOTD_DIR}/{script.name}"
        new_mode = format(int(script.mode, 8) & ~0o111, "o")
        plan.add(Step(f"stop {script.name} from running at login ({script.real:.2f}s)",
                      ["chmod", "a-x", path], ["chmod", script.mode, path],
                      _mode_is(script.name, new_mode)))
    plan.manual.append("undo everything at once with: invoke login.restore-motd --apply")
    return plan


async def plan_restore(target: Target) -> Plan:
    plan = Plan("login.restore-motd", target)
    recorded = await read_manifest(target, MANIFEST)
    if recorded is None:
        raise NothingToDo(f"{target.name}: no trim manifest ({MANIFEST}): nothing to restore",
                          "not trimmed (no manifest)")
    now = await current_modes(target, MOTD_DIR)
    for name, mode in recorded.items():
        if name not in now:
            plan.manual.append(f"{MOTD_DIR}/{name} is gone since the trim; not recreated")
        elif now[name] != mode:
            path = f"{MOTD_DIR}/{name}"
            plan.add(Step(f"give {name} back its mode {mode}", ["chmod", mode, path],
                          ["chmod", now[name], path], _mode_is(name, mode)))
    plan.add(Step(f"remove {MANIFEST}", ["rm", "-f", MANIFEST], None))
    return plan


def scripts_changed(plan: Plan) -> str:
    """What one host's trim or restore changes, for a rollout's summary: "2 scripts"."""
    count = sum(1 for s in plan.steps if s.argv and s.argv[0] == "chmod")
    return f"{count} script{'s' if count != 1 else ''}"
