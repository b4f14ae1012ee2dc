"""Pytest plugin: run the console blocks of docs/ in the lab with Sybil.

Each page with ``lab: TOPOLOGY`` front matter gets its own fresh lab; its
console blocks run in page order (state carries from block to block, as it
would for a reader following along), and each command's output must match the
page after normalising volatile parts. A page may name several labs
(``lab: [moosefs, moosefs4, lizardfs]``): a block runs in the first, or in the
ones a ``<!-- lab: NAME[, NAME...] -->`` (or ``<!-- lab: all -->``) comment right
before it names, one lab after the other, and each lab is started once, when its
first block runs. Results are recorded per lab.
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sybil import Example, Sybil
from sybil.parsers.markdown import CodeBlockParser

from runbooks.site.fences import console_runs
from tests.docblocks import (
    HOST_MARK,
    NOT_EXECUTED,
    front_matter,
    normalise,
    parse_console,
)

CONTAINER_KEY = "_bp_lab"
REPO = Path(__file__).resolve().parents[1]
DOCS_DIR = REPO / "docs"


def _block_labs(path: Path, line: int) -> list[str]:
    """The labs the console block at ``line`` of ``path`` runs in."""
    labs = console_runs(path.read_text(encoding="utf-8")).get(line) or [None]
    if not all(labs):
        raise AssertionError(
            f"{path.name}: console block but no `lab:` front matter to run it in "
            "(or mark it <!-- not-executed: reason -->)"
        )
    return [lab for lab in labs if lab]


def _lab_for(example: Example, topology: str) -> dict[str, Any]:
    """The lab facts for this block in ``topology``, starting it on the first block that
    needs it."""
    namespace = example.namespace
    path = Path(example.path)
    labs = namespace.setdefault(CONTAINER_KEY, {})
    if topology not in labs:
        options = front_matter(path).get("lab_options") or {}
        facts = namespace["lab"].up_with(topology, **options)
        labs[topology] = facts
        PROVENANCE[(_page_key(path), topology)] = _provenance(namespace["lab"], topology, facts)
    return labs[topology]


# Packages whose versions a verified page names, where its lab has them.
VERSIONED_PACKAGES = ("moosefs-master", "moosefs-chunkserver", "moosefs-client", "e2fsprogs",
                      "openssh-server", "libpam-modules", "util-linux", "bacula-director",
                      "bacula-sd", "bacula-fd", "libssl3", "openssl", "rear", "parted",
                      "multipath-tools", "lvm2", "thin-provisioning-tools")
PROVENANCE: dict[tuple[str, str], dict[str, Any]] = {}
RESULTS: dict[tuple[str, str], dict[str, int]] = {}  # runs per (page, lab)
BLOCKS: dict[str, dict[int, bool]] = {}  # page -> fence line -> passed (in every lab)
OUTCOMES: dict[tuple[str, int], dict[str, bool]] = {}  # (page, line) -> lab -> passed


def _page_key(path: Path) -> str:
    return path.resolve().relative_to(DOCS_DIR).as_posix()


def _provenance(lab: Any, topology: str, facts: dict[str, Any]) -> dict[str, Any]:
    """Images and software versions of the lab a page ran against."""
    containers = [c for c in lab.client.containers.list(all=True, ignore_removed=True)
                  if c.name.startswith(facts["prefix"] + "-")]
    images = sorted({tag for c in containers for tag in c.image.tags[:1]})
    versions: dict[str, str] = {}
    query = ("dpkg-query -W -f '${Package} ${Version}\\n' "
             + " ".join(VERSIONED_PACKAGES) + " 2>/dev/null; "
             "echo \"debian $(cat /etc/debian_version)\"; echo \"kernel $(uname -r)\"; "
             # MooseFS 4 and LizardFS are built from source: no package says their version
             "p=$(command -v mfsmaster) && ! dpkg -S \"$p\" >/dev/null 2>&1 && "
             "echo \"mfsmaster $(mfsmaster -v 2>&1 | head -n 1)\"")
    outputs = [c.exec_run(["sh", "-c", query])[1].decode("utf-8", "replace")
               for c in containers]  # every node: a topology's nodes differ in packages
    if "ssh_config" in facts:  # a VM lab: ask it over SSH
        proc = subprocess.run(["ssh", "-F", facts["ssh_config"], "lvm-vm", query],
                              capture_output=True, text=True, timeout=60, check=False)
        outputs.append(proc.stdout)
        from runbooks.lab import vm

        images.append(f"vm-lvm root image {vm.image_dir().name}")
    for out in outputs:
        for line in out.splitlines():
            name, _, version = line.partition(" ")
            if version and not version.startswith("<"):
                versions.setdefault(name, version)
    return {"lab": topology, "images": images, "versions": versions}


_ran_here = True  # False in pytest-xdist's controller: its workers run and record the pages


def pytest_configure(config: Any) -> None:
    global _ran_here
    _ran_here = bool(hasattr(config, "workerinput")
                     or not getattr(config.option, "numprocesses", None))


def pytest_runtest_logreport(report: Any) -> None:
    """Count each page's console blocks that passed or failed in this run, per lab."""
    if not _ran_here:
        return
    path, sep, rest = report.nodeid.partition("::")
    if not sep or not path.startswith("docs/") or not rest.startswith("line:"):
        return
    if report.when != "call" and not report.failed:
        return
    line = int(rest.removeprefix("line:").split(",")[0])
    page = path.removeprefix("docs/")
    labs = console_runs((REPO / path).read_text(encoding="utf-8")).get(line) or ["?"]
    # the labs the block ran in, in order: a failure stops it in the lab that failed
    outcomes = OUTCOMES.pop((page, line), {})
    if report.when == "call" and report.passed:
        outcomes = {lab or "?": True for lab in labs}
    elif all(outcomes.values()):  # failed before a lab said so (setup, lab start)
        outcomes[next((lab for lab in labs if lab not in outcomes), labs[0]) or "?"] = False
    for lab, passed in outcomes.items():
        counts = RESULTS.setdefault((page, lab), {"passed": 0, "failed": 0})
        counts["passed" if passed else "failed"] += 1
    BLOCKS.setdefault(page, {})[line] = report.passed and report.when == "call"


def _page_entry(page: str, when: str) -> dict[str, Any] | None:
    """A page's record: one lab as before, several as one run per lab; None if partial."""
    blocks = console_runs((DOCS_DIR / page).read_text(encoding="utf-8"))
    expected: dict[str, int] = {}
    for labs in blocks.values():
        for lab in labs:
            expected[lab or "?"] = expected.get(lab or "?", 0) + 1
    runs = {}
    for lab in expected:
        counts = RESULTS.get((page, lab), {"passed": 0, "failed": 0})
        runs[lab] = {**counts, **PROVENANCE.get((page, lab), {}),
                     "status": "failed" if counts["failed"] else "passed"}
    # the page's totals count blocks (a block passes when it passed in each of its labs)
    seen = BLOCKS.get(page, {})
    passed = sum(1 for ok in seen.values() if ok)
    failed = len(seen) - passed
    if not failed and passed < len(blocks):
        return None  # a partial run (-k) proves nothing about the whole page
    if len(runs) == 1:
        return {"when": when, **next(iter(runs.values()))}
    return {"when": when, "passed": passed, "failed": failed,
            "status": "failed" if failed else "passed", "lab": ", ".join(runs), "runs": runs}


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    """Write docs/data/verified.json for the pages whose blocks ran."""
    from datetime import UTC, datetime

    from runbooks.site import verified

    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    pages = {}
    for page in sorted({page for page, _ in RESULTS}):
        entry = _page_entry(page, when)
        if entry is not None:
            pages[page] = entry
    if pages:
        verified.record(DOCS_DIR, pages)


def _run(facts: dict[str, Any], container: Any, command: str) -> tuple[int, str]:
    if container is None or command.rstrip().endswith(HOST_MARK):
        # Lab control (faults) and fleet runs happen where Docker is, against this
        # page's own lab; a fleet's inventory and keys come in through the environment.
        state = Path(os.environ.get("TMPDIR", "/tmp")) / f"{facts['prefix']}-state"
        env = dict(os.environ, BP_LAB_PREFIX=facts["prefix"], BP_STATE_DIR=str(state),
                   PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
        for key, var in (("inventory", "BP_INVENTORY"), ("known_hosts", "BP_KNOWN_HOSTS"),
                         ("identity", "BP_IDENTITY"), ("ssh_config", "BP_SSH_CONFIG")):
            if key in facts:
                env[var] = facts[key]
        proc = subprocess.run(["bash", "-c", command], cwd=REPO, env=env, check=False,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
        return proc.returncode, proc.stdout.decode("utf-8", "replace")
    # One pipe for both streams, as on a terminal: their order is then the order of
    # writes (docker exec keeps two pipes, whose relative order is not guaranteed).
    code, output = container.exec_run(["bash", "-c", f"exec 2>&1\n{command}"], workdir="/src")
    return code, output.decode("utf-8", "replace")


def evaluate_console(example: Example) -> str | None:
    """Run the block in each of its labs, one after the other; the first failure ends it."""
    page = _page_key(Path(example.path))
    labs = _block_labs(Path(example.path), example.line)
    outcomes = OUTCOMES.setdefault((page, example.line), {})
    for topology in labs:
        label = f"[{topology}] " if len(labs) > 1 else ""
        try:
            failure = _evaluate_in(example, topology, label)
        except Exception as exc:  # a lab that did not start, a block that timed out...
            # ... reported as the block's failure: Sybil cannot show other errors' tracebacks
            # (its filter needs a frame of the example) and pytest-xdist would end the run.
            failure = f"{label}line {example.line}: {type(exc).__name__}: {exc}"
        outcomes[topology] = failure is None
        if failure:
            return failure
    return None


def _evaluate_in(example: Example, topology: str, label: str) -> str | None:
    facts = _lab_for(example, topology)
    # Labs without a shell container (the fleet) run every command on the lab host.
    container = example.namespace["lab"].container(facts["shell"]) if "shell" in facts else None
    for cmd in parse_console(example.parsed):
        code, actual = _run(facts, container, cmd.command)
        where = f"{label}line {example.line + cmd.line}: $ {cmd.command}"
        if code != 0:
            return (
                f"{where}\nexited {code} (show an expected status with "
                f'`; echo "exit status $?"`):\n{actual}'
            )
        want, got = normalise("\n".join(cmd.expected)), normalise(actual)
        if want != got:
            diff = "\n".join(
                difflib.unified_diff(want.splitlines(), got.splitlines(), "page", "ran",
                                     lineterm="")
            )
            return f"{where}\noutput differs from the page:\n{diff}"
    return None


class ConsoleParser:
    """Console fences, minus those marked ``<!-- not-executed: ... -->``."""

    def __init__(self) -> None:
        self.inner = CodeBlockParser(language="console", evaluator=evaluate_console)

    def __call__(self, document: Any) -> Iterable[Any]:
        for region in self.inner(document):
            before = document.text[: region.start].rstrip().splitlines()[-1:]
            if before and NOT_EXECUTED.search(before[0]):
                continue
            yield region


def _teardown(namespace: dict[str, Any]) -> None:
    for facts in namespace.pop(CONTAINER_KEY, {}).values():
        namespace["lab"].remove_prefix(facts["prefix"])


DOCS_SYBIL = Sybil(
    parsers=[ConsoleParser()],
    patterns=["*.md"],
    path=str(Path(__file__).resolve().parents[1] / "docs"),
    fixtures=["lab"],
    teardown=_teardown,
)
pytest_collect_file = DOCS_SYBIL.pytest()
