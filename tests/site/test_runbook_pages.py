"""Runbook pages are safe to follow during an incident.

- A page opens with its "First" box: the read-only command to run now and the
  one time-critical fact.
- Outside lab-replay blocks, a console command is either a runbook task
  (changing things with ``--apply`` only where the section says it changes the
  system) or made only of read-only commands. Lab setup and faults live in
  collapsed ``/// details`` blocks of type ``lab-replay``, still executed.
- Each page shows the plain-shell equivalent of its first check, executed too.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from runbooks.site.fences import blocks_in, fences_in, first_box, first_command, in_lab_replay
from tests.helpers import REPO

RUNBOOKS = REPO / "docs" / "runbooks"
PAGES = sorted(p.name for p in RUNBOOKS.glob("*.md") if p.name != "index.md")

# Read-only commands, and for some of them the only subcommands or flags that read.
READ_ONLY = {
    "cat", "grep", "egrep", "zgrep", "head", "tail", "od", "xxd", "ls", "stat", "findmnt",
    "df", "du", "wc", "sort", "uniq", "awk", "cut", "tr", "echo", "printf", "true", "test",
    "[", "sleep", "sha256sum", "md5sum", "cmp", "diff", "time", "timeout", "cd", "uname",
    "id", "hostname", "date", "nproc", "free", "ps", "pgrep", "lsblk", "command", "which",
    "mfscheckfile", "mfsfileinfo", "mfsgetgoal", "mfsgetsclass", "mfscli", "mfsdirinfo",
    "mfsgettrashtime", "lvs", "vgs", "pvs", "lvmconfig", "lvdisplay", "vgdisplay",
    "pvdisplay", "dmesg", "journalctl", "dpkg-query", "jq", "until", "while", "do", "done",
    "then", "fi", "if", "for", "in",
}
SUBCOMMANDS = {  # command -> the first arguments that keep it read-only
    "sed": {"-n"},
    "dmsetup": {"status", "info", "table", "ls"},
    "run-parts": {"--test", "--list"},
    "dpkg": {"-S", "-l", "-L", "-s", "--search", "--list", "--status"},
    "openssl": {"version"},
    "lizardfs-admin": {"info", "list-chunkservers", "list-mounts", "chunks-health",
                       "list-defective-files", "list-goals", "ready-chunkservers-count"},
    "lizardfs": {"checkfile", "fileinfo", "getgoal", "dirinfo"},
    "tune2fs": {"-l"},
    "systemctl": {"status", "is-active", "is-enabled", "show", "list-units", "cat"},
}
WRITE_FLAGS = {"sed": {"-i"}, "find": {"-delete", "-exec", "-execdir", "-ok", "-fprint"}}
SEPARATORS = {";", "&&", "||", "|", "&", "(", ")", "\n"}
REDIRECTS = {">", ">>", ">|", "&>", "<", "<<", "<<<", ">&", "<&"}
CHANGE_SECTIONS = ("Mitigate", "Roll back")
NOT_RUNBOOK_COLLECTIONS = {"lab", "site", "test"}


def _runbook_tasks() -> set[str]:
    from runbooks.namespace import build

    ns = build()
    return {f"{c}.{t}" for c, col in ns.collections.items() for t in col.tasks
            if c not in NOT_RUNBOOK_COLLECTIONS}


def _simple_commands(command: str) -> list[tuple[str, list[str]]]:
    """(separator before it, words) of each simple command."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    lexer.commenters = ""
    found, current, before = [], [], ""
    for token in lexer:
        if token in SEPARATORS:
            found.append((before, current))
            current, before = [], token
        else:
            current.append(token)
    found.append((before, current))
    return [(sep, words) for sep, words in found if words]


# bconsole runs whatever it reads: only listing commands piped in from echo/printf.
BCONSOLE_READS = re.compile(r"^\s*(?:\.?(?:list|llist|status|show|messages|jobs|clients|api"
                            r"|version|estimate listing)\b|\.jobs|\.clients|\.api|quit)")


def _bconsole_input_reads(feeder: list[str]) -> bool:
    if not feeder or feeder[0] not in ("echo", "printf"):
        return False
    text = " ".join(w for w in feeder[1:] if not w.startswith("-")).replace("\\n", "\n")
    lines = [line for line in text.splitlines() if line.strip()]
    return bool(lines) and all(BCONSOLE_READS.match(line) for line in lines)


def problem_with(command: str, section: str, tasks: set[str]) -> str | None:
    """Why ``command`` may not stand outside a lab replay in ``section``, or None."""
    if command.rstrip().endswith("# lab host"):
        return "runs on the lab host (lab control belongs in a lab-replay block)"
    for inner in re.findall(r"\$\(([^()]*)\)|`([^`]*)`", command):
        why = problem_with(inner[0] or inner[1], section, tasks)
        if why:
            return why
    try:
        simple = _simple_commands(command)
    except ValueError as exc:
        return f"cannot parse: {exc}"
    for index, (before, words) in enumerate(simple):
        if words[0] == "bconsole":
            feeder = simple[index - 1][1] if index and before == "|" else []
            if not _bconsole_input_reads(feeder):
                return "bconsole runs what it reads: pipe in listing commands only"
            words = ["true", *words[1:]]  # its own options only choose a configuration
        why = _problem_with_simple(words, section, tasks)
        if why:
            return why
    return None


def _without_redirections(words: list[str]) -> list[str]:
    kept: list[str] = []
    skip = False
    for index, word in enumerate(words):
        redirect = word in REDIRECTS or re.fullmatch(r"\d*[<>]+&?", word)
        if skip:
            skip = False
        elif redirect:
            skip = True
            if kept and kept[-1].isdigit() and index and words[index - 1] == kept[-1]:
                kept.pop()  # the descriptor of 2>/dev/null
        else:
            kept.append(word)
    return kept


def _problem_with_simple(words: list[str], section: str, tasks: set[str]) -> str | None:
    words = list(words)
    while words and re.fullmatch(r"[A-Za-z_]\w*=.*", words[0]):
        words.pop(0)  # VAR=value prefix
    for index, word in enumerate(words):
        if word in REDIRECTS or re.fullmatch(r"\d*[<>]+&?", word):
            target = words[index + 1] if index + 1 < len(words) else ""
            if word.endswith("&") or target in ("/dev/null", "&1", "&2") or word.startswith("<"):
                continue
            return f"writes to {target or 'a file'}"
    words = _without_redirections(words)
    while words and words[0] in ("timeout", "time", "sudo", "nice"):
        words.pop(0)
        while words and (words[0].startswith("-") or re.fullmatch(r"[\d.]+[smh]?", words[0])):
            words.pop(0)
    if not words:
        return None
    head, args = words[0], words[1:]
    if head in ("invoke", "bp"):
        return _problem_with_task(args, section, tasks)
    if head in ("sh", "bash") and args[:1] == ["-c"] and len(args) > 1:
        return problem_with(args[1], section, tasks)
    if head == "ssh":
        remote = _ssh_remote_command(args)
        return problem_with(" ".join(remote), section, tasks) if remote else None
    if any(flag in WRITE_FLAGS.get(head, ()) for flag in args):
        return f"{head} {' '.join(args)} writes"
    if head in SUBCOMMANDS:
        if not args or args[0] not in SUBCOMMANDS[head]:
            return f"{head} {args[0] if args else ''} is not a read-only use of {head}"
        return None
    if head == "rear":
        # checklayout leaves the saved layout alone; it rewrites only ReaR's own
        # scratch copy and log (measured: see docs/runbooks/rear-check.md).
        plain = [a for a in args if a not in ("-v", "-d", "-D")]
        return None if plain == ["checklayout"] else f"rear {' '.join(args)} changes the system"
    if head == "mount" and all(a.startswith("-") and a in ("-l", "-t") for a in args[:1]):
        return None if not [a for a in args if not a.startswith("-")][1:] else "mount mounts"
    if head == "find":
        return None
    if head not in READ_ONLY:
        return f"{head} is not a read-only command (move it into a lab-replay block)"
    return None


SSH_OPTIONS_WITH_VALUE = set("bcDEeFIiJLlmOopQRSWw")


def _ssh_remote_command(args: list[str]) -> list[str]:
    """The words of ssh's remote command: everything after the options and the host."""
    index = 0
    while index < len(args) and args[index].startswith("-"):
        flag = args[index]
        # -F FILE takes the next word; -FFILE and -vt do not.
        if len(flag) == 2 and flag[1] in SSH_OPTIONS_WITH_VALUE:
            index += 1
        index += 1
    return args[index + 1:]


def _problem_with_task(args: list[str], section: str, tasks: set[str]) -> str | None:
    names = [a for a in args if not a.startswith("-")]
    if not names or names[0] not in tasks:
        what = names[0] if names else " ".join(args)
        return f"invoke {what} is not a runbook task"
    changes = "--apply" in args or names[0] == "changes.undo"
    if changes and not section.startswith(CHANGE_SECTIONS):
        return f"{names[0]} changes the system outside Mitigate/Roll back (in {section!r})"
    return None


def commands_outside_replay(path: Path) -> list[tuple[int, str, str]]:
    """(line, section, command) of every executed console command outside lab replays."""
    from tests.docblocks import parse_console

    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    blocks = blocks_in(text)
    found = []
    for fence in fences_in(text, path):
        if fence.lang != "console" or fence.reason or in_lab_replay(blocks, fence.line):
            continue
        section = next((lines[i][3:].strip() for i in range(fence.line - 1, -1, -1)
                        if lines[i].startswith("## ")), "")
        body = "\n".join(lines[fence.line:]).split("\n```", 1)[0]
        for cmd in parse_console(body):
            found.append((fence.line + cmd.line, section, cmd.command))
    return found


@pytest.fixture(scope="module")
def tasks() -> set[str]:
    return _runbook_tasks()


def test_there_are_runbook_pages():
    assert len(PAGES) >= 12


@pytest.mark.parametrize("page", PAGES)
def test_page_opens_with_first(page):
    text = (RUNBOOKS / page).read_text(encoding="utf-8")
    box = first_box(text)
    assert box, f"{page}: no '!!! danger \"First\"' box right under the title"
    assert first_command(text), f"{page}: the First box names no command to run"
    assert len([p for p in box.split("\n\n") if p.strip()]) >= 2, \
        f"{page}: the First box needs the command and the time-critical fact"


@pytest.mark.parametrize("page", PAGES)
def test_no_state_changing_command_outside_lab_replay(page, tasks):
    path = RUNBOOKS / page
    problems = [f"{page}:{line}: $ {command}\n    {why}"
                for line, section, command in commands_outside_replay(path)
                if (why := problem_with(command, section, tasks))]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", PAGES)
def test_lab_replays_say_so_and_run(page):
    text = (RUNBOOKS / page).read_text(encoding="utf-8")
    for block in blocks_in(text):
        if block.kind == "details" and block.title.lower().startswith("lab replay"):
            assert block.lab_replay, f"{page}:{block.start}: a lab replay needs type: lab-replay"
        if block.lab_replay:
            assert block.title.lower().startswith("lab replay"), \
                f"{page}:{block.start}: a lab-replay block's title starts with 'Lab replay'"


@pytest.mark.parametrize("page", PAGES)
def test_plain_shell_equivalent_is_shown_and_executed(page, tasks):
    plain = [c for _, _, c in commands_outside_replay(RUNBOOKS / page)
             if not re.match(r"\s*(invoke|bp)\s", c) and "# lab host" not in c]
    assert plain, f"{page}: no plain-shell command (for a host without the runbooks)"


@pytest.mark.parametrize(("command", "section", "ok"), [
    ("invoke mfs.audit /mnt/mfs", "Diagnose", True),
    ("invoke mounts.fix /srv/nas --apply", "Mitigate", True),
    ("invoke mounts.fix /srv/nas --apply", "Diagnose", False),
    ("invoke changes.undo 3", "Roll back", True),
    ("invoke changes.undo 3", "Verify", False),
    ("invoke lab.fault cs4 stop", "Diagnose", False),
    ("invoke lab.heal cs4   # lab host", "Mitigate", False),
    ("mfscheckfile /mnt/mfs/f | grep copies; echo \"exit status $?\"", "Diagnose", True),
    ("timeout 60 sh -c 'until mfscheckfile f | grep -q 2; do sleep 1; done'", "Diagnose", True),
    ("mfsscadmin /mnt/mfs modify -f 3", "Diagnose", False),
    ("mkdir -p /mnt/mfs/x && mfssetgoal -r 3 /mnt/mfs/x > /dev/null", "Diagnose", False),
    ("head -c 100 /dev/urandom > /mnt/mfs/f", "Diagnose", False),
    ("echo $(rm -rf /x)", "Diagnose", False),
    ("dd if=/dev/zero of=/dev/vdb bs=1M", "Diagnose", False),
    ("lvs -o lv_name,data_percent lab 2>/dev/null", "Diagnose", True),
    ("sed -i s/a/b/ /etc/fstab", "Mitigate", False),
    ("dmsetup remove pool", "Diagnose", False),
    ("run-parts --test /etc/update-motd.d", "Diagnose", True),
    ("ssh web1 true", "Diagnose", True),
    ("ssh -p 22 web1 rm -f /etc/motd", "Diagnose", False),
    ("ssh -F cfg web1 'lvs -o lv_name --noheadings'", "Diagnose", True),
    ("ssh -Fcfg -o BatchMode=yes web1 grep -n pam_motd /etc/pam.d/sshd", "Diagnose", True),
    ("ssh -F cfg web1 'rm -f /x'", "Diagnose", False),
    ("apt-get remove -y parted", "Diagnose", False),
    ("echo 'llist jobs' | bconsole | grep -E 'jobstatus'", "Diagnose", True),
    ("printf 'run job=backup-fd1 yes\\nwait\\n' | bconsole >/dev/null", "Diagnose", False),
    ("echo reload | bconsole", "Diagnose", False),
    ("bconsole -c /etc/bacula/bconsole.conf", "Diagnose", False),
    ("rear -v checklayout 2>/dev/null | grep -E '^Disk'", "Diagnose", True),
    ("rear -v mkrescue", "Diagnose", False),
])
def test_the_rule_tells_read_only_from_changing(command, section, ok):
    tasks = {"mfs.audit", "mounts.fix", "changes.undo"}
    assert (problem_with(command, section, tasks) is None) is ok, problem_with(command, section,
                                                                              tasks)


@pytest.mark.parametrize("page", PAGES)
def test_built_page_shows_first_under_the_title_and_folds_lab_replays(page, built_site):
    html = (built_site / "runbooks" / page.replace(".md", ".html")).read_text()
    article = html.split('<article class="md-content__inner md-typeset">', 1)[1]
    after_title = re.split(r"</h1>", article, maxsplit=1)[1].lstrip()
    assert re.match(r'<div class="admonition danger">\s*<p class="admonition-title">First</p>',
                    after_title), f"{page}: no First under the title: {after_title[:120]}"
    for details in re.findall(r"<details[^>]*>", article):
        if "lab-replay" in details:
            assert " open" not in details, f"{page}: a lab replay is expanded by default"
    outside = re.sub(r'<details class="lab-replay".*?</details>', "", article, flags=re.S)
    assert "# lab host" not in outside and "lab.fault" not in outside.replace(
        "lab.fault</code>", ""), f"{page}: lab control outside a lab replay on the built page"
