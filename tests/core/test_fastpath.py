"""bp's fast path parses a command line exactly as Invoke would, or leaves it to Invoke.

For every option of every monitoring task, the keyword arguments of the fast path
are compared with those Invoke's own parser produces for the same words (the same
task definitions, typed as both programs type them). Lines the fast path must not
take (help, short flags, bad values, two tasks, an Invoke configuration) fall back.
End to end, a real `bp` process answers the same on both paths, without Invoke on
the fast one.
"""

from __future__ import annotations

import inspect
import json

import pytest
from invoke.parser import Parser

from runbooks import fastpath
from runbooks.core.taskdef import RunbookTask
from runbooks.namespace import MONITORING, monitoring
from tests.helpers import DATA, run_bp

TREE = monitoring()
NAMES = sorted(TREE.task_names)
HOSTILE = "a b;$(touch /tmp/x)'\""


def _task(name: str) -> RunbookTask:
    task = fastpath.find_task(name)
    assert isinstance(task, RunbookTask)
    return task


def invoke_kwargs(name: str, words: list[str]) -> dict:
    """What Invoke's parser hands the task for ``name WORDS``."""
    parser = Parser(contexts=TREE.to_contexts(ignore_unknown_help=True))
    return dict(parser.parse_argv([name, *words])[0].as_kwargs)


def _value_words(task: RunbookTask, param: inspect.Parameter, eq: bool) -> list[str]:
    flag = "--" + param.name.replace("_", "-")
    if isinstance(param.default, bool):
        return [flag]
    value = {int: "7", float: "2.5"}.get(type(param.default), HOSTILE)
    words = [f"{flag}={value}"] if eq else [flag, value]
    return words * 2 if param.name in task.iterable else words


def every_option(name: str, eq: bool) -> list[str]:
    """A command line that gives ``name`` every one of its options once (repeatable: twice)."""
    task = _task(name)
    params = list(task.signature.parameters.values())[1:]
    return [w for p in params for w in _value_words(task, p, eq)]


def test_the_fast_path_knows_every_monitoring_task() -> None:
    assert NAMES and all(isinstance(_task(n), RunbookTask) for n in NAMES)
    assert {n.split(".")[0] for n in NAMES} == set(MONITORING)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("eq", [False, True], ids=["space", "equals"])
def test_every_option_parses_as_invoke_parses_it(name: str, eq: bool) -> None:
    words = every_option(name, eq)
    assert fastpath.parse_options(_task(name), words) == invoke_kwargs(name, words)


@pytest.mark.parametrize("name", NAMES)
def test_no_option_gives_invokes_defaults(name: str) -> None:
    task = _task(name)
    required = task.positional_names()
    words = [HOSTILE] * len(required)
    assert fastpath.parse_options(task, words) == invoke_kwargs(name, words)


def test_positional_values_and_flags_mix_as_in_invoke() -> None:
    for words in (["/mnt/a b", "--calls", "3"], ["--calls=3", "/mnt/x"], ["--path", "/mnt"]):
        assert fastpath.parse_options(_task("mfs.audit"), words) == invoke_kwargs(
            "mfs.audit", words)


@pytest.mark.parametrize("argv", [
    [], ["--list"], ["-l"], ["mounts.audit", "--help"], ["mounts.audit", "-h"],
    ["mounts.audit", "-f", "json"], ["mounts.audit", "--bogus", "1"],
    ["mounts.audit", "--timeout", "abc"], ["mounts.audit", "--timeout=nan"],
    ["mounts.audit", "--parallel", "2.5"], ["mounts.audit", "--format"],
    ["mounts.audit", "--format", "json", "--format", "nagios"],
    ["mounts.audit", "mounts.fix"], ["mounts.audit", "--accept-new=yes"],
    ["mounts.nothing"], ["lab.up", "nas"], ["site.build"], ["test"], ["nodomain"],
    ["mfs.audit"], ["changes.undo"],
])
def test_what_the_fast_path_leaves_to_invoke(argv: list[str]) -> None:
    with pytest.raises(fastpath.Fallback):
        fastpath.resolve(argv)


def test_an_invoke_configuration_leaves_it_to_invoke(monkeypatch) -> None:
    fastpath.resolve(["mounts.audit"])  # no configuration here: taken
    monkeypatch.setenv("INVOKE_RUN_ECHO", "1")
    with pytest.raises(fastpath.Fallback):
        fastpath.resolve(["mounts.audit"])


@pytest.mark.parametrize("fmt", ["nagios", "json", "checkmk", "table"])
def test_bp_answers_the_same_on_both_paths_and_the_fast_one_skips_invoke(fmt: str) -> None:
    table = str(DATA / "proc-mounts-nas-lab.txt")
    argv = ["mounts.audit", "--mounts-file", table, "--format", fmt]
    fast = run_bp(*argv, env={"PATH": "/usr/bin:/bin", "PYTHONPROFILEIMPORTTIME": "1"})
    slow = run_bp(*argv, env={"PATH": "/usr/bin:/bin", "INVOKE_RUN_ECHO": "1"})
    assert fast.returncode == slow.returncode == 2, fast.stderr + slow.stderr
    if fmt == "json":
        assert json.loads(fast.stdout) == json.loads(slow.stdout)
    else:
        assert fast.stdout == slow.stdout
    imported = [line.split("|")[-1].strip() for line in fast.stderr.splitlines()
                if line.startswith("import time:")]
    # (importlib.import_module does not log its own module: look for one it imports)
    assert "runbooks.mounts.collect" in imported
    assert not [m for m in imported if m.split(".")[0] == "invoke"]


def test_a_bad_value_gets_invokes_one_line_error_through_bp() -> None:
    proc = run_bp("mounts.audit", "--timeout", "abc")
    assert proc.returncode == 3 and proc.stderr.count("\n") == 1
    assert "--timeout expects a number of seconds" in proc.stderr
