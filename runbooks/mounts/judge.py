"""Judge mount options: which ones trade crash safety for speed, and how badly.

Facts behind the rules (kernel Documentation/admin-guide/ext4.rst and xfs.rst):

- ext3/ext4 ``nobarrier`` (shown for ``barrier=0`` too): journal commits are no
  longer forced to disk in order, so a power cut can leave the journal and the
  metadata it protects inconsistent. Safe only behind a non-volatile cache.
- ``data=writeback``: metadata is journaled but file data is not ordered
  before it; after a crash, recently written files can hold stale blocks.
- ``errors=continue``: the filesystem keeps writing after it detected
  corruption, spreading the damage instead of stopping.
- ``noblock_validity``: the check that new allocations do not overlap
  metadata is off, so a corrupt bitmap can make data overwrite metadata.
- ``commit=N`` large: up to N seconds of metadata are lost on a power cut.
- XFS ``nobarrier``: only kernels before 4.19 accept it (newer ones refuse to
  mount), so seeing it means an old kernel running without barriers.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ..core.errors import UsageError
from ..core.findings import Finding, Severity
from .parse import MountEntry

PAGE = "runbooks/mount-options/"
CHECK = "mounts.audit"
EXT_TYPES = frozenset({"ext3", "ext4"})
JOURNALED_TYPES = EXT_TYPES | {"xfs"}
DEFAULT_MAX_COMMIT = 60


@dataclass(frozen=True)
class Rule:
    key: str  # what --accept names, e.g. "nobarrier"
    fstypes: frozenset[str]
    severity: Severity
    why: str
    anchor: str
    match: Callable[[MountEntry, int], str | None]  # -> the offending option text


def _barrier_off(entry: MountEntry, _: int) -> str | None:
    # Prefer the mount table's spelling: older kernels and fstab say barrier=0.
    if entry.in_mount_table("barrier=0"):
        return "barrier=0"
    if entry.has("nobarrier") or entry.has("barrier", "0"):
        return "nobarrier"
    return None


def _option(name: str, value: str | None = None) -> Callable[[MountEntry, int], str | None]:
    text = f"{name}={value}" if value is not None else name

    def match(entry: MountEntry, _: int) -> str | None:
        return text if entry.has(name, value) else None

    return match


def _long_commit(entry: MountEntry, max_commit: int) -> str | None:
    value = entry.option_map().get("commit")
    if value and value.isdigit() and int(value) > max_commit:
        return f"commit={value}"
    return None


RULES: tuple[Rule, ...] = (
    Rule(
        "nobarrier", EXT_TYPES, Severity.CRIT,
        "write barriers are off: a power cut can reorder journal commits and corrupt "
        "the filesystem; acceptable only behind a battery- or flash-backed write cache",
        "barriers-off", _barrier_off,
    ),
    Rule(
        "nobarrier", frozenset({"xfs"}), Severity.CRIT,
        "XFS without barriers (only kernels before 4.19 accept this option; newer ones "
        "refuse to mount): a power cut can corrupt the log",
        "xfs-nobarrier", _barrier_off,
    ),
    Rule(
        "data=writeback", EXT_TYPES, Severity.WARN,
        "file data is not written before the metadata that points to it: after a crash, "
        "recently written files can contain stale or foreign blocks",
        "data-writeback", _option("data", "writeback"),
    ),
    Rule(
        "errors=continue", EXT_TYPES, Severity.WARN,
        "the filesystem keeps writing after it detected corruption, spreading the damage; "
        "remount-ro stops it",
        "errors-continue", _option("errors", "continue"),
    ),
    Rule(
        "noblock_validity", EXT_TYPES, Severity.WARN,
        "allocations are no longer checked against metadata blocks, so a corrupt bitmap "
        "can let file data overwrite metadata unnoticed",
        "noblock-validity", _option("noblock_validity"),
    ),
    Rule(
        "commit", EXT_TYPES, Severity.WARN,
        "a long journal commit interval means that many seconds of metadata changes are "
        "lost on a power cut (default 5 s)",
        "commit-interval", _long_commit,
    ),
)

RULE_KEYS = sorted({r.key for r in RULES})


def _accepted(accepted: set[tuple[str, str]], mount_point: str, key: str) -> bool:
    return any(k == key and fnmatch.fnmatchcase(mount_point, pattern) for pattern, k in accepted)


def parse_accepts(values: Iterable[str]) -> set[tuple[str, str]]:
    """``MOUNTPOINT:KEY`` pairs from --accept (MOUNTPOINT may be a glob); refuses unknown keys."""
    accepted = set()
    for value in values:
        mount_point, sep, key = value.rpartition(":")
        if not sep or not mount_point or key not in RULE_KEYS:
            raise UsageError(
                f"--accept {value!r}: expected MOUNTPOINT:OPTION with OPTION one of "
                f"{', '.join(RULE_KEYS)}"
            )
        accepted.add((mount_point, key))
    return accepted


def judge_mounts(
    entries: Iterable[MountEntry],
    target: str,
    accepted: set[tuple[str, str]] | None = None,
    max_commit: int = DEFAULT_MAX_COMMIT,
) -> list[Finding]:
    """Findings for every journaled filesystem mount: problems, or one OK each."""
    accepted = accepted or set()
    findings: list[Finding] = []
    for entry in entries:
        if entry.fstype not in JOURNALED_TYPES:
            continue
        problems = []
        for rule in RULES:
            if entry.fstype not in rule.fstypes:
                continue
            option = rule.match(entry, max_commit)
            if option is None:
                continue
            data = {
                "device": entry.device, "fstype": entry.fstype,
                "option": option, "options": list(entry.options),
                "effective": list(entry.effective) if entry.effective else None,
            }
            data["source"] = "mount table" if entry.in_mount_table(option) else "default"
            shown = option if entry.in_mount_table(option) else f"{option} (filesystem default)"
            if _accepted(accepted, entry.mount_point, rule.key):
                severity, message = Severity.OK, f"{shown} (accepted risk)"
                data["accepted"] = True
            else:
                severity, message = rule.severity, shown
            problems.append(
                Finding(f"mounts.{rule.anchor}", severity, target, entry.mount_point, message,
                        why=rule.why, page=f"{PAGE}#{rule.anchor}", data=data)
            )
        if problems:  # accepted risks stay in, as OK findings that say so
            findings.extend(problems)
        else:
            findings.append(
                Finding(CHECK, Severity.OK, target, entry.mount_point,
                        f"{entry.fstype}: no risky options",
                        data={"device": entry.device, "fstype": entry.fstype,
                              "options": list(entry.options)})
            )
    return findings


def _is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def judge_selection(
    entries: Sequence[MountEntry], patterns: Sequence[str], target: str, source: str
) -> list[Finding]:
    """UNKNOWN findings for what the audit was asked to judge and could not find.

    No false green: a --mount-point that matches no mount, a mount table with no
    entries, or one without any ext3/ext4/XFS mount means the audit looked at
    nothing, so it must not say OK. ``entries`` is the whole table read from
    ``source``; each pattern that selects nothing judgeable gets its own finding.
    """
    where = "" if source == "/proc/mounts" else f" in {source}"
    reasons = []
    if patterns:
        for pattern in patterns:
            matched = [e for e in entries if fnmatch.fnmatchcase(e.mount_point, pattern)]
            if not matched:
                verb = "matches" if _is_glob(pattern) else "at"
                reasons.append(f"no mount {verb} {pattern}{where}")
            elif not any(e.fstype in JOURNALED_TYPES for e in matched):
                kinds = ", ".join(sorted({e.fstype for e in matched}))
                reasons.append(f"nothing to judge at {pattern}: {kinds} (mounts.audit judges "
                               "ext3, ext4 and XFS)")
    elif not entries:
        reasons.append(f"no mounts listed in {source}")
    elif not any(e.fstype in JOURNALED_TYPES for e in entries):
        reasons.append(f"no ext3, ext4 or XFS mount among the {len(entries)} mounts{where}")
    return [Finding(f"{CHECK}.nothing", Severity.UNKNOWN, target, "", reason,
                    data={"source": source, "patterns": list(patterns)})
            for reason in reasons]
