"""Project hygiene that can regress silently: lint, lazy imports, task help."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
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
    from runbooks.reference import _arguments  # get_arguments() alone pops the help texts

    params = [p for p in _arguments(found) if p.name not in ("c",)]
    missing = [p.name for p in params if not p.help]
    assert not missing, f"{task}: options without help: {missing}"
