"""Benchmark: what the monitoring package costs a monitored host, on disk and per check.

Not a test: it prints measured figures. In one run it

  1. builds the wheel of `pip install .` from a clean copy of the sources and
     reports its size, its unpacked size and that of its runtime dependencies;
  2. installs it into a fresh venv (the dependencies come from this venv) and
     measures the CPU time (user + sys, from the kernel's rusage of each child) of
     --runs runs of `bp mounts.audit --mounts-file FILE --format nagios` against
     --runs runs of the same interpreter doing nothing (`-c pass`).

Monitoring runs a check thousands of times an hour, so the median per run is the
figure that matters. Usage: python benchmarks/bp_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MOUNTS = REPO / "tests" / "data" / "proc-mounts-nas-lab.txt"


def build_wheel(tmp: Path) -> Path:
    """The monitoring wheel, built from a copy (a checkout's build/ may hold stale files)."""
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "runbooks", src / "runbooks",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                    str(tmp / "dist"), str(src)], check=True)
    return next((tmp / "dist").glob("breaking_point-*.whl"))


def install(wheel: Path, tmp: Path) -> Path:
    """A fresh venv with the wheel; returns its interpreter. Dependencies: this venv's."""
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True)
    purelib = subprocess.run([str(python), "-c", "import sysconfig; "
                              "print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "runtime-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def runtime_closure(wheel: Path) -> set[str]:
    """Names of the installed distributions the wheel needs, transitively (no extras)."""
    meta = zipfile.ZipFile(wheel).read(
        next(n for n in zipfile.ZipFile(wheel).namelist() if n.endswith("METADATA"))).decode()
    todo = [line.split(":", 1)[1] for line in meta.splitlines()
            if line.startswith("Requires-Dist:")]
    seen: set[str] = set()
    while todo:
        requirement = todo.pop()
        if "extra ==" in requirement:
            continue
        name = re.split(r"[\s<>=!~;\[(]", requirement.strip(), maxsplit=1)[0].lower()
        if name in seen:
            continue
        try:
            todo += metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue  # a marker excluded it on this platform
        seen.add(name)
    return seen


def installed_bytes(name: str) -> int:
    files = metadata.files(name) or []
    return sum(f.locate().stat().st_size for f in files if f.locate().is_file())


def cpu_seconds(argv: list[str]) -> float:
    """User + system CPU of one run of argv (output discarded), from wait4's rusage."""
    actions = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
               (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)]
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 2):  # the mount table holds two risky options: CRITICAL is right
        raise SystemExit(f"exit {code}: {' '.join(argv)}")
    return usage.ru_utime + usage.ru_stime


def median_cpu(argv: list[str], runs: int) -> float:
    cpu_seconds(argv)  # warm the page cache and the .pyc files
    return statistics.median(cpu_seconds(argv) for _ in range(runs))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="runs of each command (30)")
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        wheel = build_wheel(tmp)
        unpacked = sum(i.file_size for i in zipfile.ZipFile(wheel).infolist())
        deps = runtime_closure(wheel)
        print(f"wheel {wheel.name}: {wheel.stat().st_size / 1024:.0f} KiB, "
              f"unpacked {unpacked / 1024:.0f} KiB "
              f"({len(zipfile.ZipFile(wheel).namelist())} files)")
        print(f"runtime dependencies ({len(deps)}): "
              f"{sum(installed_bytes(d) for d in deps) / 2**20:.1f} MiB installed")
        python = install(wheel, tmp)
        bp = [str(python.with_name("bp")), "mounts.audit", "--mounts-file", str(MOUNTS),
              "--format", "nagios"]
        check = median_cpu(bp, runs)
        bare = median_cpu([str(python), "-c", "pass"], runs)
    print(f"CPU per run, median of {runs} (user+sys):")
    print(f"  bp mounts.audit --format nagios  {check * 1000:6.1f} ms")
    print(f"  python -c pass                   {bare * 1000:6.1f} ms")
    print(f"  ratio                            {check / bare:6.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
