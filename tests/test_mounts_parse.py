"""The /proc/mounts parser, fed with tables captured in the lab."""

from pathlib import Path

import pytest

from runbooks.core.errors import ParseError
from runbooks.mounts.parse import decode_octal, parse_mounts

DATA = Path(__file__).parent / "data"


def test_lab_capture_parses_every_line():
    text = (DATA / "proc-mounts-nas-lab.txt").read_text()
    entries = parse_mounts(text)
    assert len(entries) == len(text.splitlines())
    nas = next(e for e in entries if e.mount_point == "/srv/nas")
    assert nas.fstype == "ext4"
    assert nas.device.startswith("/dev/loop")
    assert nas.options == ("rw", "relatime", "nobarrier", "data=writeback")
    assert nas.option_map()["data"] == "writeback"
    assert nas.has("nobarrier") and not nas.has("barrier")


def test_kernel_octal_escapes_are_decoded():
    # Captured from a mount point named: it's a "nas" $(touch /tmp/pwned);<TAB>x\y
    entry = parse_mounts((DATA / "proc-mounts-hostile.txt").read_text())[0]
    assert entry.mount_point == "/srv/it's a \"nas\" $(touch /tmp/pwned);\tx\\y"
    assert entry.has("nobarrier")


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [("a\\040b", "a b"), ("tab\\011", "tab\t"), ("nl\\012", "nl\n"), ("back\\134", "back\\"),
     ("plain", "plain"), ("\\04", "\\04")],
)
def test_decode_octal(raw, decoded):
    assert decode_octal(raw) == decoded


def test_comments_and_blank_lines_are_ignored():
    assert parse_mounts("# saved by a support bundle\n\n/dev/sda1 / ext4 rw 0 1\n")[0].line == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("/dev/sda1 / ext4 rw 0\n", "line 1: expected 6 fields"),
        ("ok / ext4 rw 0 0\n<html>not a mount table</html>\n", "line 2: expected 6 fields"),
        ("/dev/sda1 / ext4 rw x 0\n", "line 1: dump and pass fields must be numbers"),
    ],
)
def test_malformed_tables_name_the_line(text, message):
    with pytest.raises(ParseError, match=message):
        parse_mounts(text)
