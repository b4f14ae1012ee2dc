"""runbooks.core.nagios_status on a status.dat that Nagios 4.4.6 wrote in the nagios lab.

tests/data/nagios/status.dat was captured with host03 isolated (the lab's
``isolate`` fault): host03 DOWN and its services UNKNOWN, the others as our
checks found them.
"""

from __future__ import annotations

import pytest

from runbooks.core import nagios_status
from runbooks.core.nagios_status import StatusError, hosts, parse, report, services
from tests.helpers import REPO

STATUS = REPO / "tests" / "data" / "nagios" / "status.dat"


@pytest.fixture(scope="module")
def blocks() -> list[nagios_status.Block]:
    return parse(STATUS.read_text(encoding="utf-8"))


def test_every_block_is_read_in_file_order(blocks) -> None:
    kinds = [b.kind for b in blocks]
    assert kinds == ["info", "programstatus", *["hoststatus"] * 3, *["servicestatus"] * 9,
                     "contactstatus"]
    assert blocks[0].fields["version"] == "4.4.6"


def test_services_carry_state_output_and_command(blocks) -> None:
    found = {(s.host, s.service): s for s in services(blocks)}
    assert len(found) == 9
    login = found[("host01", "Login cost")]
    assert (login.state, login.state_name, login.checked) == (0, "OK", True)
    assert login.output == "LOGIN OK - SSH login cost: 1 host checked, all OK"
    assert login.command == "check_bp!login.cost"
    assert login.last_check > 0
    down = [s for s in found.values() if s.host == "host03"]
    assert {s.state_name for s in down} == {"UNKNOWN"}
    assert all(s.output.startswith("SSH connection failed: ") for s in down)


def test_hosts_up_and_down(blocks) -> None:
    assert [(h.host, h.state_name) for h in hosts(blocks)] == [
        ("host01", "UP"), ("host02", "UP"), ("host03", "DOWN")]


def test_a_value_keeps_everything_after_the_first_equals_sign() -> None:
    [block] = parse("servicestatus {\n\tplugin_output=a=b | x=1\n\tlong_plugin_output=\n\t}\n")
    assert block.fields == {"plugin_output": "a=b | x=1", "long_plugin_output": ""}


def test_a_service_never_checked_reports_pending() -> None:
    text = ("hoststatus {\n\thost_name=h\n\tcurrent_state=0\n\thas_been_checked=1\n\t}\n"
            "servicestatus {\n\thost_name=h\n\tservice_description=S\n\tcurrent_state=0\n"
            "\thas_been_checked=0\n\t}\n")
    assert report(parse(text)).splitlines()[1].split()[:3] == ["h", "S", "PENDING"]


@pytest.mark.parametrize("text, message", [
    ("key=value\n", "expected the start of a block"),
    ("servicestatus {\n\tno equals sign\n\t}\n", "expected key=value"),
    ("servicestatus {\n\tcurrent_state=0\n", "not closed"),
    ("servicestatus {\n\tcurrent_state=x\n\t}\n", "not a number"),
])
def test_malformed_files_are_refused(text: str, message: str) -> None:
    with pytest.raises(StatusError, match=message):
        services(parse(text))


def test_main_prints_the_report_and_fails_in_one_line(tmp_path, capsys) -> None:
    assert nagios_status.main([str(STATUS)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["host01", "(host)", "UP"]
    assert len(out) == 12
    assert nagios_status.main([str(tmp_path / "missing.dat")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing.dat" in err
