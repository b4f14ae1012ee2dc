"""Project hygiene that can regress silently: lint, lazy imports, task help."""

import ast
import json
import operator
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

HEAVY = ["asyncssh", "docker", "rich", "jinja2", "yaml", "mkdocs", "requests"]


def test_ruff_is_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    proc = subprocess.run([ruff, "check", "."], cwd=REPO, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_loading_the_task_tree_imports_no_heavy_module():
    # `invoke --list` must stay fast: heavy clients load only when a task needs them.
    # Invoke itself may load some (it uses yaml), so compare with a bare `import invoke`.
    probe = (
        "import json, sys; sys.path.insert(0, '.'); import invoke; before = set(sys.modules); "
        "import tasks; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in set(sys.modules) - before]))"
    )
    proc = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True,
                          text=True, check=True)
    assert json.loads(proc.stdout) == []


def _all_tasks() -> list[str]:
    sys.path.insert(0, str(REPO))
    from runbooks.namespace import build

    return sorted(build().task_names)


ALL_TASKS = _all_tasks()


def test_the_task_list_covers_every_domain():
    for task in ("backup.status", "backup.rear-check", "patching.stale-libs",
                 "toolchain.check", "mfs.audit", "login.cost", "lab.up", "test"):
        assert task in ALL_TASKS


@pytest.mark.parametrize(
    "task", ALL_TASKS,
)
def test_every_task_has_a_docstring_and_help_for_each_option(task):
    sys.path.insert(0, str(REPO))
    from runbooks.namespace import build

    ns = build()
    found = ns[task]
    assert found.__doc__ and len(found.__doc__.strip()) > 20
    from runbooks.site.reference import _arguments  # get_arguments() alone pops the help texts

    params = [p for p in _arguments(found) if p.name not in ("c",)]
    missing = [p.name for p in params if not p.help]
    assert not missing, f"{task}: options without help: {missing}"


# The task modules stay thin: the layers below them do the work (issue 13).
# Every module of the package, task modules included: the layers below do the work.
MODULES = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "runbooks").rglob("*.py"))
MAX_FUNCTION_LINES = 60


def long_functions(source: str) -> list[tuple[str, int]]:
    """(name, lines) of every function in ``source`` longer than MAX_FUNCTION_LINES."""
    return [(node.name, node.end_lineno - node.lineno + 1) for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]


def test_the_length_finder_counts_a_long_function():
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    assert long_functions(f"def big():\n{body}\n") == [("big", MAX_FUNCTION_LINES + 1)]
    assert long_functions("def small():\n    return 1\n") == []


@pytest.mark.parametrize("module", MODULES)
def test_no_function_is_long(module):
    assert long_functions((REPO / module).read_text()) == []


@pytest.mark.parametrize("module", [m for m in MODULES if "/core/" not in m])
def test_task_modules_take_target_options_from_the_decorator(module):
    # One declaration in runbooks/core/options.py; a task body gets them as `opts`.
    source = (REPO / module).read_text()
    spelled = re.findall(r"^    (?:host|known_hosts|connect_timeout|parallel)=", source, re.M)
    assert spelled == [], f"{module} spells out target options again"


def _change_tasks(init: Path) -> list[str]:
    """Functions of a task module decorated with ``runbook_task(..., targets="one")`` or
    ``targets="fleet"`` (a change rolled out over many hosts)."""
    found = []
    for node in ast.walk(ast.parse(init.read_text())):
        if isinstance(node, ast.FunctionDef):
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and any(
                        k.arg == "targets" and isinstance(k.value, ast.Constant)
                        and k.value.value in ("one", "fleet") for k in deco.keywords):
                    found.append(node.name)
    return found


LAYERS = {"__init__.py", "collect.py", "parse.py", "judge.py"}


def _domains() -> list[str]:
    sys.path.insert(0, str(REPO))
    from runbooks.namespace import RUNBOOKS

    return list(RUNBOOKS)


@pytest.mark.parametrize("domain", _domains())
def test_every_domain_has_the_same_layers_and_a_plan_exactly_when_it_changes_things(domain):
    # issue 13: collect, parse, judge, plan (only for tasks that change things), a thin
    # __init__ and the shell scripts; nothing else, so every domain reads the same way.
    folder = REPO / "runbooks" / domain
    present = {p.name for p in folder.iterdir() if p.name != "__pycache__"}
    changes = _change_tasks(folder / "__init__.py")
    wanted = LAYERS | ({"plan.py"} if changes else set())
    assert present - {"scripts"} == wanted, f"{domain}: change tasks {changes}"
    if "scripts" in present:
        assert {p.suffix for p in (folder / "scripts").iterdir()} == {".sh"}


def test_the_domains_that_change_things_are_the_expected_ones():
    changing = [d for d in _domains() if _change_tasks(REPO / "runbooks" / d / "__init__.py")]
    assert sorted(changing) == ["login", "lvm", "mfs", "mounts"]


# No test asserts how fast something is: timings are figures for benchmarks and reports.
# A test may assert that a time-out is honoured, with a bound that holds on a loaded 2-core
# machine and on a first run (image builds included), e.g. "a 5 s time-out returns in 60 s".
MIN_TIME_BOUND = 60
MEASURED = re.compile(r"took|elapsed|seconds|duration|monotonic\(\)|perf_counter\(\)|time\(\)")
_ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
               ast.Div: operator.truediv}


def _number(node: ast.AST) -> float | None:
    """The value of a constant arithmetic expression (``3 * 2 + 1.5``), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
        left, right = _number(node.left), _number(node.right)
        if left is not None and right is not None:
            return _ARITHMETIC[type(node.op)](left, right)
    return None


def time_bounds(source: str) -> list[tuple[int, str, float]]:
    """(line, measured expression, bound) of every `assert MEASURED < CONSTANT` in source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare)):
            continue
        operands = [node.test.left, *node.test.comparators]
        for i, op in enumerate(node.test.ops):
            if isinstance(op, ast.Lt | ast.LtE):
                measured, bound = operands[i], operands[i + 1]
            elif isinstance(op, ast.Gt | ast.GtE):
                measured, bound = operands[i + 1], operands[i]
            else:
                continue
            text = ast.get_source_segment(source, measured) or ""
            value = _number(bound)
            if value is not None and MEASURED.search(text):
                found.append((node.lineno, text, value))
    return found


def test_the_time_bound_finder_finds_speed_assertions():
    source = ("assert took < 3 * 2 + 1.5\nassert time.monotonic() - start < 10\n"
              "assert 60 > elapsed\nassert 0.5 <= took < 60\nassert took < slowed\n")
    assert [(line, bound) for line, _, bound in time_bounds(source)] == [
        (1, 7.5), (2, 10), (3, 60), (4, 60)]


def test_no_test_asserts_speed():
    tight = [f"{path.relative_to(REPO)}:{line}: {text} < {bound:g}"
             for path in sorted((REPO / "tests").glob("*.py"))
             for line, text, bound in time_bounds(path.read_text())
             if bound < MIN_TIME_BOUND]
    assert not tight, "speed assertions (bound a time-out with a margin of 60 s):\n" + \
        "\n".join(tight)
