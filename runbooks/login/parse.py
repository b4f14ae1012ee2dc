"""Parse what the login-cost collectors print. Pure functions, tested on captured output."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.errors import ParseError

MOTD_DIR = "/etc/update-motd.d"
MANIFEST = "/var/lib/breaking-point/motd-manifest"


@dataclass(frozen=True)
class MotdScript:
    name: str
    mode: str  # octal, as stat -c %a prints it
    executable: bool
    real: float | None  # seconds; None when not executable (not run)
    user: float | None
    system: float | None

    @property
    def cpu(self) -> float:
        return (self.user or 0.0) + (self.system or 0.0)


def _seconds(text: str) -> float | None:
    return None if text == "-" else float(text)


def parse_motd_timings(text: str) -> list[MotdScript]:
    """Lines of ``MODE<TAB>EXEC<TAB>REAL USER SYS<TAB>NAME`` from the timing script."""
    scripts = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t", 3)
        if len(parts) != 4:
            raise ParseError(f"motd timing line {number}: unexpected {line!r}")
        mode, executable, times, name = parts
        fields = times.split()
        if len(fields) != 3 or not mode.isdigit() or executable not in ("0", "1"):
            raise ParseError(f"motd timing line {number}: unexpected {line!r}")
        try:
            real, user, system = (_seconds(f) for f in fields)
        except ValueError:
            raise ParseError(f"motd timing line {number}: unexpected {line!r}") from None
        scripts.append(MotdScript(name, mode, executable == "1", real, user, system))
    return scripts


@dataclass(frozen=True)
class PamMotd:
    line: int
    text: str

    @property
    def runs_scripts(self) -> bool:
        """An active pam_motd line without ``noupdate`` runs update-motd.d at every login."""
        words = self.text.split()
        return bool(words) and not words[0].startswith("#") and "noupdate" not in words


def parse_pam_motd(text: str) -> list[PamMotd]:
    """``grep -n pam_motd /etc/pam.d/sshd`` output: numbered lines naming pam_motd."""
    found = []
    for raw in text.splitlines():
        number, sep, rest = raw.partition(":")
        if sep and number.isdigit() and "pam_motd" in rest:
            found.append(PamMotd(int(number), rest.strip()))
    return found


def parse_manifest(text: str) -> dict[str, str]:
    """The trim manifest: ``MODE<TAB>NAME`` per script, as it was before the first trim."""
    modes = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line:
            continue
        mode, sep, name = line.partition("\t")
        if not sep or not mode.isdigit() or not name:
            raise ParseError(f"{MANIFEST} line {number}: unexpected {line!r}")
        modes[name] = mode
    return modes
