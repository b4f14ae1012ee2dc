"""backup.rear-check: parsing and mapping of what ReaR 2.7 printed in the rear lab.

tests/data/rear/ holds stdout (.out), stderr (.err) and exit status (.exit) of real
runs; tests/data/rear/FORMATS.md says how each was made.
"""

from datetime import UTC, datetime, timedelta

import pytest

from runbooks.backup.judge import judge_rear
from runbooks.backup.parse import (
    CheckLayout,
    parse_checklayout,
    parse_md5sum_check,
    parse_rear_probe,
)
from runbooks.core.errors import ParseError
from runbooks.core.findings import Severity
from tests import helpers

DATA = helpers.DATA / "rear"


def run(case):
    return (int((DATA / f"{case}.exit").read_text()), (DATA / f"{case}.out").read_text(),
            (DATA / f"{case}.err").read_text())


def checklayout(case):
    return parse_checklayout(*run(case))


@pytest.mark.parametrize("case, layout, config", [
    ("checklayout-unchanged", False, False),
    ("checklayout-disk-added", True, False),
    ("checklayout-config-only", False, True),
    ("checklayout-disk-and-config", True, True),
])
def test_checklayout_outcomes(case, layout, config):
    result = checklayout(case)
    assert (result.layout_changed, result.config_changed, result.error) == (layout, config, "")


def test_exit_1_without_a_change_message_is_an_error_not_a_change():
    # rear's ordinary error status is 1 too: not being root must not read as "changed".
    status, _, _ = run("checklayout-not-root")
    assert status == 1
    result = checklayout("checklayout-not-root")
    assert not result.changed
    assert result.error == "ERROR: Relax-and-Recover needs 'root' privileges (effective user " \
        "ID is not 0)"


def test_exit_0_without_the_verdict_is_an_error_not_unchanged():
    # Only "Disk layout is identical" makes exit 0 an OK: a run that printed no
    # verdict (empty output) compared nothing that anyone can see.
    status, out, err = run("checklayout-unchanged")
    assert status == 0 and "Disk layout is identical" in out
    for stdout in ("", out.replace("Disk layout is identical\n", "")):
        result = parse_checklayout(status, stdout, err)
        assert not result.changed
        assert result.error == "no verdict: it did not print 'Disk layout is identical'"


def test_missing_layout_makes_rear_fail_with_its_error_line():
    status, _, _ = run("checklayout-no-layout")
    assert status == 143  # rear's Error function ends it with SIGTERM
    assert checklayout("checklayout-no-layout").error.startswith(
        "ERROR: No (non-empty) /var/lib/rear/layout/disklayout.conf file")


def test_probe_with_and_without_saved_layout():
    saved = parse_rear_probe(run("probe-saved")[1])
    assert saved.rear == "/usr/sbin/rear"
    assert saved.layout_saved is not None and saved.layout_saved.tzinfo is UTC
    # The layout file's own header and its mtime tell the same time (within the save).
    header = next(line for line in run("probe-saved")[1].splitlines() if "dated" in line)
    dated = datetime.strptime(header.split("dated ")[1][:14], "%Y%m%d%H%M%S")
    assert abs(saved.layout_saved.replace(tzinfo=None) - dated) < timedelta(seconds=5)
    none = parse_rear_probe(run("probe-no-layout")[1])
    assert (none.rear, none.layout_saved) == ("/usr/sbin/rear", None)


def test_probe_garbage_is_a_parse_error():
    with pytest.raises(ParseError):
        parse_rear_probe("")  # nothing came back: not "no layout", not "unchanged"
    with pytest.raises(ParseError):
        parse_rear_probe("rear: command not found\n")
    with pytest.raises(ParseError):
        parse_rear_probe("rear\t/usr/sbin/rear\nlayout\tyesterday\t# x\n")


def test_md5sum_check_names_changed_and_vanished_files():
    assert parse_md5sum_check(run("md5sum-config-changed")[1]) == ["/etc/rear/local.conf"]
    assert parse_md5sum_check("/etc/multipath.conf: FAILED open or read\n") == [
        "/etc/multipath.conf (gone)"]
    assert parse_md5sum_check("") == []


def _probe():
    return parse_rear_probe(run("probe-saved")[1])


def test_unchanged_is_ok_with_the_layout_date():
    probe = _probe()
    finding = judge_rear("host", probe, checklayout("checklayout-unchanged"), [],
                         probe.layout_saved + timedelta(days=2))
    assert finding.severity is Severity.OK
    saved = probe.layout_saved.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert finding.message == f"layout unchanged since the last rescue image (layout saved " \
        f"{saved})"
    assert finding.data["layout_age_seconds"] == 2 * 86400


def test_changed_layout_and_config_is_a_warning_that_says_what_changed():
    probe = _probe()
    finding = judge_rear("host", probe, checklayout("checklayout-disk-and-config"),
                         ["/etc/rear/local.conf"], probe.layout_saved)
    assert finding.severity is Severity.WARN
    assert finding.message.startswith("layout changed: run rear mkrescue (disk layout differs "
                                      "from the one saved ")
    assert finding.message.endswith("; configuration changed: /etc/rear/local.conf)")


def test_config_change_without_changed_checksums_means_a_new_file():
    finding = judge_rear("host", _probe(), CheckLayout(False, True), [], datetime.now(UTC))
    assert finding.message.endswith("(configuration changed: a file was added to a watched "
                                    "directory)")


def test_never_saved_layout_is_critical():
    none = parse_rear_probe(run("probe-no-layout")[1])
    finding = judge_rear("host", none, None, [], datetime.now(UTC))
    assert finding.severity is Severity.CRIT
    assert finding.message == ("no rescue image layout recorded: rear mkrescue never ran "
                               "(no /var/lib/rear/layout/disklayout.conf)")


def test_task_has_a_docstring_and_help_for_each_option():
    from runbooks.backup import rear_check

    assert rear_check.name == "rear-check"
    assert rear_check.__doc__ and len(rear_check.__doc__.strip()) > 20
    missing = [p.name for p in rear_check.to_invoke().get_arguments() if not p.help]
    assert not missing
