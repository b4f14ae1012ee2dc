"""Shell as files: every script in runbooks/ passes shellcheck, and none hides in a string.

Scripts are ``scripts/NAME.sh`` next to the module that runs them (loaded with
runbooks.core.scripts.load), plus the lab images' helper scripts, which have no
extension but start with ``#!/bin/sh`` or ``#!/bin/bash``. shellcheck is Debian's
package (``scripts/bootstrap.sh test`` installs it); without it these tests fail.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO

RUNBOOKS = REPO / "runbooks"
SHEBANGS = ("#!/bin/sh", "#!/bin/bash")
# A string this long that reads like shell belongs in a .sh file.
MAX_INLINE_LINES = 5
SHELL_WORDS = re.compile(r"; then\b|^\s*(?:done|fi|esac)\b|\$\(|\bset -e", re.MULTILINE)


def _is_script(path: Path) -> bool:
    if path.suffix == ".sh":
        return True
    if path.suffix or not path.is_file():
        return False
    with path.open("rb") as f:
        first = f.readline().decode("utf-8", "replace")
    return first.startswith(SHEBANGS)


def shell_scripts() -> list[Path]:
    return sorted(p for p in RUNBOOKS.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and _is_script(p))


SCRIPTS = shell_scripts()


def test_the_scripts_are_found():
    names = {p.relative_to(RUNBOOKS).as_posix() for p in SCRIPTS}
    for expected in ("toolchain/scripts/collect.sh", "backup/scripts/status.sh",
                     "lvm/scripts/collect.sh", "lab/images/nas/nas-setup"):
        assert expected in names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.relative_to(RUNBOOKS).as_posix())
def test_shellcheck(script: Path):
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.fail("shellcheck is not installed: run `scripts/bootstrap.sh test` "
                    "(or apt-get install shellcheck)")
    proc = subprocess.run([shellcheck, "--norc", "--format=gcc", str(script)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _docstrings(tree: ast.Module) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):  # the literal parts of an f-string
        return "".join(v.value for v in node.values
                       if isinstance(v, ast.Constant) and isinstance(v.value, str))
    return None


def inline_scripts(source: str) -> list[tuple[int, int]]:
    """(line, length) of every string in Python ``source`` that reads like a shell script."""
    tree = ast.parse(source)
    skip = _docstrings(tree) | {id(v) for node in ast.walk(tree)
                                if isinstance(node, ast.JoinedStr) for v in node.values}
    found = []
    for node in ast.walk(tree):
        text = _text(node)
        if text is None or id(node) in skip:
            continue
        lines = text.strip("\n").splitlines()
        if len(lines) > MAX_INLINE_LINES and SHELL_WORDS.search(text):
            found.append((node.lineno, len(lines)))
    return found


def test_the_inline_scan_finds_a_script_and_passes_docstrings():
    script = 'for f in *; do\n  if [ -f "$f" ]; then\n    echo "$f"\n  fi\ndone\necho "$(date)"\n'
    source = f'"""{script}"""\nX = 1\nS = """\n{script}"""\nF = f"""\n{{X}}\n{script}"""\n'
    assert inline_scripts(source) == [(9, 6), (17, 6)]
    assert inline_scripts('S = """\necho one\necho two\n"""\n') == []


def test_no_shell_script_hides_in_a_python_string():
    offenders = []
    for path in sorted(RUNBOOKS.rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        for line, length in inline_scripts(path.read_text(encoding="utf-8")):
            offenders.append(f"{rel}:{line}: {length} lines of shell")
    assert not offenders, "move these into scripts/*.sh:\n" + "\n".join(offenders)


def _load_calls(path: Path) -> list[tuple[int, str, str]]:
    """(line, package, name) of every ``load(PACKAGE, "NAME")`` call in a module."""
    own_package = ".".join(path.relative_to(REPO).parts[:-1])
    calls = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "load" and len(node.args) == 2):
            package, name = node.args
            if isinstance(package, ast.Name) and package.id == "__package__":
                package_name = own_package
            elif isinstance(package, ast.Constant):
                package_name = str(package.value)
            else:
                continue
            if isinstance(name, ast.Constant):
                calls.append((node.lineno, package_name, str(name.value)))
    return calls


def test_every_loaded_script_exists_and_every_script_is_loaded():
    loaded = set()
    missing = []
    for path in sorted(RUNBOOKS.rglob("*.py")):
        for line, package, name in _load_calls(path):
            script = REPO.joinpath(*package.split("."), "scripts", name)
            loaded.add(script)
            if not script.is_file():
                missing.append(f"{path.relative_to(REPO)}:{line}: no {script.relative_to(REPO)}")
    assert not missing, "\n".join(missing)
    unused = [p.relative_to(REPO).as_posix() for p in SCRIPTS
              if p.parent.name == "scripts" and p not in loaded]
    assert not unused, f"scripts nothing loads: {unused}"
