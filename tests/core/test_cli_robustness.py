"""The command line under abuse, through both entry points (`invoke` and `bp`).

- Garbage for a number option is one line on stderr and exit 3, never a traceback.
- `--help` names the value type of every option that takes a value, and the task
  reference page shows the same.
- A reader that leaves early (`| head`) ends the program quietly.

Every task and option is read from the collections, so a new one is covered as it lands.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from runbooks.namespace import build, monitoring
from runbooks.site.reference import _arguments, describe
from tests.helpers import REPO

BP = Path(sys.executable).with_name("bp")
PROGRAMS = {"invoke": [sys.executable, "-m", "invoke"], "bp": [str(BP)]}
# The value type --help may show, by the Python type of the option's default.
SHOWN = {int: {"INT", "SECONDS"}, float: {"NUMBER", "SECONDS"}, str: {"STRING"},
         list: {"STRING"}}


def _tasks() -> dict[str, list]:
    ns = build()
    return {name: _arguments(ns[name]) for name in sorted(ns.task_names)}


TASKS = _tasks()
BP_TASKS = set(monitoring().task_names)
NUMERIC = [(task, arg.names[0], arg.kind) for task, args in TASKS.items() for arg in args
           if arg.kind in (int, float)]


def program(name: str) -> list[str]:
    assert BP.is_file(), f"the bp console script is not installed next to {sys.executable}"
    return PROGRAMS[name]


def offered_by(task: str) -> list[str]:
    """The programs that offer ``task``: `bp` has the runbooks and changes, not lab or site."""
    return [name for name in PROGRAMS if name == "invoke" or task in BP_TASKS]


def run_both(*args: str, timeout: float = 60) -> dict[str, subprocess.CompletedProcess]:
    """Run the same command line with `invoke` and (for its tasks) `bp`, at the same time."""
    task = next(a for a in args if not a.startswith("-"))
    procs = {name: subprocess.Popen([*program(name), *args], cwd=REPO, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for name in offered_by(task)}
    done = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=timeout)
        done[name] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return done


def assert_usage_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert proc.returncode == 3, (proc.args, proc.returncode, proc.stderr)


def test_the_collections_have_the_number_options_we_know_of():
    flags = {(task, flag) for task, flag, _ in NUMERIC}
    assert {("mounts.audit", "timeout"), ("mounts.audit", "parallel"), ("mfs.audit", "calls"),
            ("login.cost", "threshold"), ("lab.up", "size")} <= flags
    assert len({task for task, _, _ in NUMERIC}) >= 15


@pytest.mark.parametrize(("task", "flag", "kind"), NUMERIC,
                         ids=[f"{t}--{f}" for t, f, _ in NUMERIC])
def test_garbage_for_a_number_is_one_line_and_exit_3(task, flag, kind):
    for name, proc in run_both(task, f"--{flag}=abc").items():
        assert_usage_error(proc, f"--{flag}", "'abc'", "number")
        assert proc.stdout == "", f"{name}: {proc.stdout}"


@pytest.mark.parametrize("args", [
    ("mounts.audit", "-t", "abc"),             # short flag, separate value
    ("mounts.audit", "--timeout", "abc"),      # long flag, separate value
    ("mounts.audit", "--timeout=nan"),         # a NaN limit would never be crossed
    ("lvm.health", "--crit=inf"),
    ("mounts.audit", "--parallel=1.5"),        # an int option takes whole numbers only
    ("mfs.audit", "--calls=", "/mnt/mfs"),
], ids=lambda args: " ".join(args))
def test_every_spelling_of_a_bad_number_is_caught(args):
    for proc in run_both(*args).values():
        assert_usage_error(proc, "expects")


CHANGE_LINES = {
    "mounts.fix": ["/srv"],
    "mfs.repair": ["/mnt/mfs/file"],
    "mfs.master-restore": [],
    "lvm.extend-pool": ["--pool", "vg/pool", "--size", "+1G"],
    "login.trim-motd": [],
    "login.restore-motd": [],
}


def test_every_change_task_is_listed_here():
    changes = {task for task, args in TASKS.items()
               if any(a.name == "apply" for a in args) and task != "changes.undo"}
    assert changes == set(CHANGE_LINES)


ONE_TARGET = {"mfs.repair", "mfs.master-restore"}  # the others roll out over many (core.rollout)


@pytest.mark.parametrize("task", sorted(ONE_TARGET))
def test_a_change_refuses_two_targets_before_touching_either(task):
    for proc in run_both(task, *CHANGE_LINES[task], "--host", "web1,web2").values():
        assert_usage_error(proc, f"{task} changes one target at a time; give one --host, "
                           "--container or inventory host (--limit)")
        assert proc.stdout == ""


@pytest.mark.parametrize("task", sorted(set(CHANGE_LINES) - ONE_TARGET))
def test_a_rollout_without_a_terminal_or_yes_refuses_before_touching_any(task):
    # web1 and web2 do not even resolve: the refusal comes before any host is reached
    for proc in run_both(task, *CHANGE_LINES[task], "--host", "web1,web2", "--apply").values():
        assert "Traceback" not in proc.stderr
        assert proc.stderr == ("error: refusing to change 2 hosts without a confirmation: "
                               "no terminal to ask on; add --yes (after a dry run)\n")
        assert proc.stdout == "" and proc.returncode == 2


def test_bp_types_its_own_options_too():
    proc = subprocess.run([*program("bp"), "-T", "soon", "mounts.audit"], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)
    assert_usage_error(proc, "--command-timeout", "'soon'")


def test_a_good_number_still_works(tmp_path):
    table = tmp_path / "mounts"
    table.write_text("/dev/a /srv ext4 rw,relatime 0 0\n")
    for proc in run_both("mounts.audit", "--mounts-file", str(table), "--timeout=2.5",
                         "--parallel", "4", "--max-commit=30").values():
        assert proc.returncode == 0, proc.stderr
        assert "all OK" in proc.stdout


def _help_types(text: str) -> dict[str, str | None]:
    """{option: value type shown} from the Options part of `--help TASK`."""
    shown: dict[str, str | None] = {}
    options = text.partition("\nOptions:\n")[2]
    for line in options.splitlines():
        if not re.match(r"  -", line):  # flag lines; wrapped help text is indented deeper
            continue
        spec = re.split(r"\s{2,}", line.strip())[0]
        for flag in spec.split(", "):   # -t SECONDS | --timeout=SECONDS | --[no-]x | -h [STRING]
            name, _, value = re.sub(r"^--?(\[no-\])?", "", flag).partition(
                " " if re.match(r"-\w( |$)", flag) else "=")
            shown[name.rstrip("[")] = value.strip("[]") or None
    return shown


def _reference_types(task: str) -> dict[str, str | None]:
    """{option: value type} as the generated task reference page shows them."""
    shown: dict[str, str | None] = {}
    for col in describe(build()):
        for info in col.tasks:
            if info.name == task:
                for option in info.options:
                    first = option.flags.split(", ")[0]
                    name, _, value = first.lstrip("-").replace(" ", "=").partition("=")
                    shown[name] = value or None
    return shown


# With two positional arguments (lab.fault NODE KIND) Invoke fails on the second before
# the task runs; `invoke --help lab.fault` is the way there.
POSITIONAL_TASKS = sorted(t for t, args in TASKS.items()
                          if sum(1 for a in args if a.positional) == 1)


def test_some_tasks_take_a_positional_argument():
    assert {"mfs.audit", "lab.experiment", "changes.undo"} <= set(POSITIONAL_TASKS)


@pytest.mark.parametrize("task", POSITIONAL_TASKS)
def test_help_after_a_task_with_a_positional_argument_helps_and_runs_nothing(task):
    # Invoke's parser gives the flag to the missing positional argument; the task must
    # still print its help (and never run with "--help" as its PATH or NAME)
    for name, proc in run_both(task, "--help").items():
        assert proc.returncode == 0, (name, proc.stdout, proc.stderr)
        assert f"{task} [--options]" in proc.stdout and "Docstring:" in proc.stdout, (
            name, proc.stdout, proc.stderr)
        assert proc.stderr == "", (name, proc.stderr)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_help_shows_the_type_of_every_option(task):
    reference = _reference_types(task)
    for name, proc in run_both("--help", task).items():
        assert proc.returncode == 0, proc.stderr
        shown = _help_types(proc.stdout)
        assert "" not in shown, f"{name} --help {task}: a flag without a name (`--`)"
        for arg in TASKS[task]:
            flag = arg.names[0]
            assert flag in shown, f"{name} --help {task}: no --{flag} in\n{proc.stdout}"
            if arg.kind is bool:
                assert shown[flag] is None, f"{name} --help {task}: --{flag} is a switch"
            else:
                assert shown[flag] in SHOWN[arg.kind], (
                    f"{name} --help {task}: --{flag} ({arg.kind.__name__}) shows "
                    f"{shown[flag]!r}")
        named = {arg.names[0]: shown[arg.names[0]] for arg in TASKS[task]}
        assert named == reference, f"task reference page and {name} --help {task} differ"


# --- a reader that leaves early ------------------------------------------------------

@pytest.fixture(scope="module")
def big_table(tmp_path_factory) -> Path:
    """A mount table whose JSON report is far larger than a pipe holds (64 KiB)."""
    path = tmp_path_factory.mktemp("pipe") / "mounts"
    path.write_text("".join(f"/dev/md{i} /srv/d{i} ext4 rw,barrier=0,data=writeback 0 0\n"
                            for i in range(2000)))
    return path


def read_then_close(argv: list[str], keep: int, unbuffered: bool) -> tuple[int, str]:
    """Run argv with stdout a pipe; read ``keep`` bytes, close the pipe, collect stderr."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    killer = threading.Timer(60, proc.kill)  # a hung child fails the test, not the suite
    killer.start()
    try:
        if keep:
            proc.stdout.read(keep)
        proc.stdout.close()
        stderr = proc.stderr.read().decode("utf-8", "replace")
        return proc.wait(), stderr
    finally:
        killer.cancel()


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("keep", [0, 10], ids=["closed-at-once", "after-10-bytes"])
@pytest.mark.parametrize("name", sorted(PROGRAMS))
@pytest.mark.parametrize("args", [("--list",), ("--help", "mounts.audit"), ("check",)],
                         ids=["list", "help", "check-json"])
def test_a_reader_that_leaves_early_ends_it_quietly(name, args, keep, unbuffered, big_table):
    status = 0
    if args == ("check",):
        args = ("mounts.audit", "--mounts-file", str(big_table), "--format", "json")
        status = 2  # the check's own status: barrier=0 is CRIT
    code, stderr = read_then_close([*program(name), *args], keep, unbuffered)
    for noise in ("Traceback", "BrokenPipeError", "Exception ignored", "Broken pipe"):
        assert noise not in stderr, stderr
    assert code in (status, 141), (code, stderr)
    if args[0] == "mounts.audit":
        assert code == 141  # 2000 findings cannot have fit into the pipe


def test_a_broken_pipe_that_is_not_stdout_is_not_hidden():
    # The quiet end is for a reader of stdout that left; any other broken pipe is an error.
    probe = textwrap.dedent("""
        import sys
        sys.path.insert(0, ".")
        from invoke import Context
        from runbooks.core.entry import TypedTask

        def body(c):
            raise BrokenPipeError(32, "Broken pipe")

        TypedTask(body)(Context())
    """)
    proc = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 1 and "BrokenPipeError" in proc.stderr
