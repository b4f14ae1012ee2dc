"""The monitoring package: what `pip install .` puts on a monitored host, built and run for real.

The wheel is built from a clean copy of the sources (a checkout's build/ folder
may hold files of packages that are no longer shipped), installed into a fresh
venv that sees only the runtime dependencies of this one, and its `bp` run there.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from runbooks.namespace import MONITORING
from tests.helpers import DATA, REPO

LEFT_OUT = ("runbooks/lab/", "runbooks/experiments/", "runbooks/site/", "runbooks/testsuite/")


def _run(*argv: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True,
                          check=False, timeout=600)


@pytest.fixture(scope="module")
def slim(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the wheel, the bp of a fresh venv that has only the wheel and the runtime deps)."""
    tmp = tmp_path_factory.mktemp("slim")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "runbooks", src / "runbooks",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    built = _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp / "dist", src,
                 cwd=tmp)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp / "dist").glob("breaking_point-*.whl")
    venv = tmp / "venv"
    assert _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp).returncode == 0
    python = venv / "bin" / "python"
    installed = _run(sys.executable, "-m", "pip", "--python", python, "install", "-q",
                     "--no-deps", "--no-index", wheel, cwd=tmp)
    assert installed.returncode == 0, installed.stderr
    # Runtime dependencies (invoke, rich, asyncssh, ...) from this venv, after the
    # new venv's own site-packages, so `runbooks` comes from the wheel.
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                   cwd=tmp).stdout.strip()
    (Path(purelib) / "runtime-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return wheel, venv / "bin" / "bp"


def test_the_wheel_carries_the_runbooks_and_the_core_only(slim: tuple[Path, Path]) -> None:
    names = zipfile.ZipFile(slim[0]).namelist()
    assert [n for n in names if n.startswith(LEFT_OUT) or "Dockerfile" in n] == []
    packages = {n.split("/")[1] for n in names if n.startswith("runbooks/") and n.count("/") > 1}
    assert packages == {"core", *(d for d in MONITORING if d != "changes")}
    assert {"runbooks/cli.py", "runbooks/namespace.py"} <= set(names)
    meta = zipfile.ZipFile(slim[0]).read("breaking_point-0.1.0.dist-info/METADATA").decode()
    needs = [line.split()[1] for line in meta.splitlines()
             if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert sorted(n.split(">")[0].split("<")[0] for n in needs) == [
        "asyncssh", "docker", "invoke", "pyyaml", "rich"]


def test_installed_bp_lists_the_runbooks_and_changes_only(slim: tuple[Path, Path]) -> None:
    listed = _run(slim[1], "--list", cwd=slim[1].parent)
    assert listed.returncode == 0, listed.stderr
    tasks = {line.split()[0] for line in listed.stdout.splitlines()
             if line.startswith("  ") and not line.startswith("   ")}
    assert set(MONITORING) == {t.split(".")[0] for t in tasks}
    assert {"mounts.audit", "mfs.audit", "changes.list", "changes.undo"} <= tasks


def test_installed_bp_runs_a_check_from_the_wheel(slim: tuple[Path, Path]) -> None:
    where = _run(slim[1].with_name("python"), "-c", "import runbooks; print(runbooks.__file__)",
                 cwd=slim[1].parent)
    assert where.stdout.startswith(str(slim[1].parents[1])), where.stdout
    result = _run(slim[1], "mounts.audit", "--mounts-file", DATA / "proc-mounts-nas-lab.txt",
                  "--format", "nagios", cwd=slim[1].parent)
    assert result.returncode == 2, result.stderr
    assert result.stdout.startswith("MOUNTS CRITICAL - /srv/nas: nobarrier, data=writeback |")


def test_bp_imports_no_lab_or_site_code_even_in_a_checkout() -> None:
    probe = ("import sys; from runbooks.namespace import monitoring; monitoring(); "
             "print(sorted(m for m in sys.modules if m.startswith("
             "('runbooks.lab', 'runbooks.experiments', 'runbooks.site', "
             "'runbooks.testsuite'))))")
    result = _run(sys.executable, "-c", probe, cwd=REPO)
    assert (result.returncode, result.stdout) == (0, "[]\n"), result.stderr


def test_the_checkout_tree_still_has_everything() -> None:
    from runbooks.namespace import build

    tree = build()
    assert set(tree.collections) == {"site", "lab", *MONITORING}
    assert set(tree.tasks) == {"test"}
