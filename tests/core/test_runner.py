"""core.runner: one-line errors with exit status 3, and a check over several targets.

The targets are this host (LocalTarget) under several names, and the work runs real
commands on it; one target's command does not exist, another's never answers.
"""

from __future__ import annotations

import json

import pytest

from runbooks.core.errors import ParseError, RunbookError, TargetError, UsageError
from runbooks.core.findings import Finding, Severity
from runbooks.core.runner import TaskExit, collect_report, fail, finish, guarded
from runbooks.core.targets import LocalTarget

# --- fail and guarded: what the task's caller sees ------------------------------------


@pytest.mark.parametrize(("fmt", "stdout"), [
    (None, ""),
    ("table", ""),
    ("json", ""),
    ("nagios", "MOUNTS UNKNOWN - no mount at /srv\n"),
    ("NAGIOS", "MOUNTS UNKNOWN - no mount at /srv\n"),
    ("checkmk", '3 "MOUNTS" - UNKNOWN - no mount at /srv\n'),
])
def test_fail_is_exit_3_with_one_error_line_and_the_monitoring_line(capsys, fmt, stdout):
    exit_ = fail("no mount at /srv", fmt, "MOUNTS")
    assert isinstance(exit_, TaskExit) and exit_.code == 3
    assert capsys.readouterr() == (stdout, "error: no mount at /srv\n")


def test_fail_default_label_on_the_nagios_line(capsys):
    fail("nothing to check", "nagios")
    assert capsys.readouterr().out == "BREAKING-POINT UNKNOWN - nothing to check\n"


@pytest.mark.parametrize("error", [
    RunbookError("cannot read /etc/fstab"),
    UsageError("cannot read /etc/fstab"),
    TargetError("cannot read /etc/fstab"),
    ParseError("cannot read /etc/fstab"),
])
def test_guarded_turns_every_runbook_error_into_one_line_and_exit_3(capsys, error):
    def body(path, format="table"):
        raise error

    with pytest.raises(TaskExit) as caught:
        guarded(body, "MOUNTS")("/etc/fstab", format="nagios")
    assert caught.value.code == 3
    assert capsys.readouterr() == ("MOUNTS UNKNOWN - cannot read /etc/fstab\n",
                                   "error: cannot read /etc/fstab\n")


def test_guarded_without_a_format_keyword_prints_only_the_error(capsys):
    def body(path):
        raise UsageError(f"{path}: not a mount point")

    with pytest.raises(TaskExit) as caught:
        guarded(body, "MOUNTS")("/srv")  # a positional format is not looked at
    assert caught.value.code == 3
    assert capsys.readouterr() == ("", "error: /srv: not a mount point\n")


def test_guarded_ctrl_c_is_exit_130_and_one_word(capsys):
    def body():
        raise KeyboardInterrupt

    with pytest.raises(TaskExit) as caught:
        guarded(body, "X")()
    assert caught.value.code == 130
    assert capsys.readouterr() == ("", "interrupted\n")


def test_guarded_passes_results_through_and_keeps_the_task_s_name_and_help():
    def audit(path, format="table"):
        """Audit PATH."""
        return (path, format)

    wrapped = guarded(audit, "AUDIT")
    assert wrapped("/srv", format="json") == ("/srv", "json")
    assert (wrapped.__name__, wrapped.__doc__, wrapped.__wrapped__) == ("audit", "Audit PATH.",
                                                                        audit)


def test_guarded_leaves_a_bug_a_bug():
    # Only RunbookError is a user's problem; anything else must show its traceback.
    def body():
        return {}["missing"]

    with pytest.raises(KeyError):
        guarded(body, "X")()


# --- collect_report: several targets, bounded parallelism, one failure -----------------


class Probe:
    """Work for collect_report: runs a real command on the target and counts how many
    targets are inside their command at the same time."""

    def __init__(self, commands: dict[str, list[str]]) -> None:
        self.commands = commands
        self.running = 0
        self.most = 0
        self.order: list[str] = []

    async def __call__(self, target: LocalTarget) -> list[Finding]:
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            result = await target.run(self.commands[target.name])
        finally:
            self.running -= 1
        self.order.append(target.name)
        if not result.ok:
            raise ValueError(f"exit status {result.exit_status}")
        return [Finding("demo.echo", Severity.OK, target.name, "echo", result.stdout.strip())]


def sleeper(name: str, seconds: str = "0.2") -> list[str]:
    return ["sh", "-c", 'sleep "$1"; printf "%s\\n" "$2"', "sh", seconds, name]


def test_one_target_failing_is_unknown_and_the_others_are_judged(capsys):
    names = [f"t{n}" for n in range(1, 7)]
    commands = {name: sleeper(name) for name in names}
    commands["t3"] = ["bp-no-such-command", "--version"]
    probe = Probe(commands)
    targets = [LocalTarget(name) for name in names]
    report = collect_report("demo", "Demo", "host", targets, probe, parallel=2)

    assert probe.most == 2  # never more than --parallel at once, and it did overlap
    assert report.targets == names
    assert [(f.check, f.severity, f.target, f.message) for f in report.findings] == [
        ("demo.echo", Severity.OK, "t1", "t1"),
        ("demo.echo", Severity.OK, "t2", "t2"),
        # TargetError's message starts with the target's name; the finding does not repeat it
        ("demo.reach", Severity.UNKNOWN, "t3", "command not found: bp-no-such-command"),
        ("demo.echo", Severity.OK, "t4", "t4"),
        ("demo.echo", Severity.OK, "t5", "t5"),
        ("demo.echo", Severity.OK, "t6", "t6"),
    ]
    assert report.metrics == {"targets": 6, "unreachable": 1}
    assert report.worst is Severity.UNKNOWN
    assert capsys.readouterr().err == "error: t3: command not found: bp-no-such-command\n"


def test_a_target_that_never_answers_and_a_bug_are_each_one_unknown_line(capsys):
    commands = {"fast": sleeper("fast", "0"), "hung": ["sleep", "30"],
                "broken": ["sh", "-c", "exit 4"]}
    targets = [LocalTarget("fast"), LocalTarget("hung", command_timeout=0.5),
               LocalTarget("broken")]
    report = collect_report("demo", "Demo", "host", targets, Probe(commands), parallel=3)
    reach = {f.target: f.message for f in report.findings if f.check == "demo.reach"}
    assert reach == {
        "hung": "sleep 30 gave no answer within 0.5s",
        "broken": "ValueError: exit status 4",  # not a RunbookError: named by its type
    }
    assert report.metrics == {"targets": 3, "unreachable": 2}
    assert capsys.readouterr().err.splitlines() == [
        f"error: hung: {reach['hung']}", "error: broken: ValueError: exit status 4"]


def test_parallel_below_one_is_a_usage_error():
    with pytest.raises(UsageError, match=r"^--parallel must be at least 1$"):
        collect_report("demo", "Demo", "host", [LocalTarget()], Probe({}), parallel=0)


# --- finish: the exit status is the worst severity ----------------------------------


@pytest.mark.parametrize(("severities", "code"), [
    ((), 0), ((Severity.OK,), 0), ((Severity.OK, Severity.WARN), 1),
    ((Severity.WARN, Severity.CRIT), 2), ((Severity.WARN, Severity.UNKNOWN), 3),
    # a confirmed problem outranks "could not look": CRITICAL, not UNKNOWN
    ((Severity.UNKNOWN, Severity.CRIT), 2),
])
def test_finish_renders_and_exits_with_the_worst_severity(capsys, severities, code):
    async def work(target):
        return [Finding("demo.x", s, target.name, f"s{i}", "m") for i, s in enumerate(severities)]

    report = collect_report("demo", "Demo", "host", [LocalTarget("a")], work)
    with pytest.raises(TaskExit) as caught:
        finish(report, "json")
    assert caught.value.code == code
    doc = json.loads(capsys.readouterr().out)
    assert (doc["exit_code"], len(doc["findings"])) == (code, len(severities))


def test_finish_with_an_unknown_format_is_a_usage_error(capsys):
    report = collect_report("demo", "Demo", "host", [], Probe({}))
    with pytest.raises(UsageError, match=r"^unknown format 'yaml': choose one of "):
        finish(report, "yaml")
    assert capsys.readouterr().out == ""
