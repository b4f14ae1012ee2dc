"""bp imports Invoke the lean way (runbooks.cli): nothing of Invoke is lost by it.

Each probe runs in a fresh interpreter, since the lean import only acts on a
process that has not imported Invoke yet.
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

from runbooks.cli import domains_named
from runbooks.namespace import MONITORING
from tests.helpers import REPO


def _probe(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", "from runbooks.cli import import_invoke_lean; "
                             "import_invoke_lean(); import sys, invoke\n" + code],
                            cwd=REPO, capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_lean_import_leaves_nothing_standing_in() -> None:
    out = _probe("print(sorted(m for m in ('unittest.mock', 'importlib.metadata') "
                 "if m in sys.modules), invoke.__version__)")
    assert out == f"[] {version('invoke')}\n"


def test_what_was_left_out_is_real_when_used() -> None:
    out = _probe("from unittest.mock import Mock\n"
                 "from importlib.metadata import version\n"
                 "context = invoke.MockContext(run={'true': invoke.Result('ok')})\n"
                 "print(isinstance(context.run, Mock), context.run('true').stdout,"
                 " version('invoke') == invoke.__version__)\n"
                 "from invoke.util import yaml\n"
                 "print(yaml.safe_load('a: [1, 2]'))")
    assert out == "True ok True\n{'a': [1, 2]}\n"


def test_a_command_line_imports_the_domains_it_names() -> None:
    assert domains_named(["bp", "mounts.audit", "--format", "nagios"]) == ("mounts",)
    assert domains_named(["bp", "--help", "mfs.repair", "changes.list"]) == ("mfs", "changes")
    assert domains_named(["bp", "mounts.audit", "--host", "lvm.example"]) == ("mounts", "lvm")
    assert domains_named(["bp", "--list"]) == MONITORING
    assert domains_named(["bp", "--complete", "--", "bp", "mounts.audit"]) == MONITORING
