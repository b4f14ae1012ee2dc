"""Nagios' status file (status.dat) read back: each host's and service's current state.

Nagios 4 rewrites status.dat every ``status_update_interval`` seconds: blocks
``KIND {`` ... ``}`` of ``key=value`` lines (the value is everything after the
first ``=``; Nagios writes newlines in plugin output as a literal ``\\n``).
``parse`` is pure and keeps every block; ``services`` and ``hosts`` pick the
current states. ``python -m runbooks.core.nagios_status [STATUS_FILE]`` prints
one line per service: what an operator asks the server when the web UI is not
at hand.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

DEFAULT_STATUS = "/var/lib/nagios4/status.dat"  # Debian's nagios4
SERVICE_STATES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
HOST_STATES = ("UP", "DOWN", "UNREACHABLE")


class StatusError(ValueError):
    """A status file that is not one (a line outside a block, a block not closed)."""


@dataclass(frozen=True)
class Block:
    """One block of status.dat: its kind (``servicestatus``) and its fields."""

    kind: str
    fields: dict[str, str]


@dataclass(frozen=True)
class ServiceStatus:
    """A service's current state as Nagios last recorded it."""

    host: str
    service: str
    state: int  # the plugin's exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN
    checked: bool  # False until Nagios has run the check once
    output: str  # the first line of the plugin's output, without perfdata
    last_check: int  # Unix time, 0 when never checked
    command: str  # check_command as configured: ``check_bp!login.cost``

    @property
    def state_name(self) -> str:
        return SERVICE_STATES[self.state] if 0 <= self.state < 4 else f"STATE {self.state}"


@dataclass(frozen=True)
class HostStatus:
    """A host's current state: 0 UP, 1 DOWN, 2 UNREACHABLE."""

    host: str
    state: int
    checked: bool
    output: str

    @property
    def state_name(self) -> str:
        return HOST_STATES[self.state] if 0 <= self.state < 3 else f"STATE {self.state}"


def parse(text: str) -> list[Block]:
    """Every block of a status file, in file order; StatusError for a malformed one."""
    blocks: list[Block] = []
    kind: str | None = None
    fields: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if kind is None:
            if not line.endswith("{"):
                raise StatusError(f"line {number}: expected the start of a block: {line[:40]!r}")
            kind, fields = line[:-1].strip(), {}
        elif line == "}":
            blocks.append(Block(kind, fields))
            kind = None
        else:
            key, sep, value = raw.lstrip().partition("=")
            if not sep:
                raise StatusError(f"line {number}: expected key=value: {line[:40]!r}")
            fields[key] = value
    if kind is not None:
        raise StatusError(f"block {kind!r} not closed at the end of the file")
    return blocks


def _int(fields: dict[str, str], key: str) -> int:
    try:
        return int(fields.get(key, "0"))
    except ValueError:
        raise StatusError(f"{key}={fields[key]!r} is not a number") from None


def services(blocks: list[Block]) -> list[ServiceStatus]:
    """The ``servicestatus`` blocks as ServiceStatus, in file order."""
    return [ServiceStatus(b.fields.get("host_name", ""), b.fields.get("service_description", ""),
                          _int(b.fields, "current_state"),
                          _int(b.fields, "has_been_checked") == 1,
                          b.fields.get("plugin_output", ""), _int(b.fields, "last_check"),
                          b.fields.get("check_command", ""))
            for b in blocks if b.kind == "servicestatus"]


def hosts(blocks: list[Block]) -> list[HostStatus]:
    """The ``hoststatus`` blocks as HostStatus, in file order."""
    return [HostStatus(b.fields.get("host_name", ""), _int(b.fields, "current_state"),
                       _int(b.fields, "has_been_checked") == 1, b.fields.get("plugin_output", ""))
            for b in blocks if b.kind == "hoststatus"]


def report(blocks: list[Block]) -> str:
    """One line per host and service: name, state, first output line."""
    lines = []
    for host in hosts(blocks):
        lines.append(f"{host.host:<10} {'(host)':<18} {host.state_name:<9} {host.output}")
        for svc in (s for s in services(blocks) if s.host == host.host):
            state = svc.state_name if svc.checked else "PENDING"
            lines.append(f"{svc.host:<10} {svc.service:<18} {state:<9} {svc.output}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the report of a status file (Debian's by default); 1 with one line if unreadable."""
    args = sys.argv[1:] if argv is None else argv
    path = args[0] if args else DEFAULT_STATUS
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            print(report(parse(handle.read())))
    except (OSError, StatusError) as exc:
        print(f"nagios_status: {path}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
