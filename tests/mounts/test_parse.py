"""The /proc/mounts parser, fed with tables captured in the lab."""

import pytest

from runbooks.core.errors import ParseError
from runbooks.mounts.parse import decode_octal, parse_effective, parse_mounts, with_effective
from tests.helpers import DATA


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


def test_effective_options_from_the_lab_show_hidden_defaults():
    entries = with_effective(
        parse_mounts((DATA / "proc-mounts-nas-lab.txt").read_text()),
        (DATA / "effective-nas-lab.txt").read_text(),
    )
    by_mp = {e.mount_point: e for e in entries}
    nas, clean = by_mp["/srv/nas"], by_mp["/srv/clean"]
    # /proc/mounts says nothing about errors= for /srv/nas; the kernel does.
    assert not any(o.startswith("errors=") for o in nas.options)
    assert "errors=continue" in nas.effective and nas.has("errors", "continue")
    assert clean.has("errors", "remount-ro") and clean.has("barrier")
    assert by_mp["/src"].effective is not None  # the bind mount of the host's ext4
    assert by_mp["/proc"].effective is None


def test_parse_effective_maps_device_mapper_names():
    # Shape of grep -H output on an LVM host (no device-mapper in our lab kernel).
    text = (
        "/proc/fs/ext4/dm-3/options:rw\n/proc/fs/ext4/dm-3/options:errors=remount-ro\n"
        "/sys/block/dm-3/dm/name:vg0-srv\ngarbage line\n"
    )
    ext4, mapper = parse_effective(text)
    assert ext4 == {"dm-3": ("rw", "errors=remount-ro")} and mapper == {"vg0-srv": "dm-3"}
    (entry,) = with_effective(parse_mounts("/dev/mapper/vg0-srv /srv ext4 rw 0 0"), text)
    assert entry.has("errors", "remount-ro")


def test_saved_tables_without_effective_options_are_judged_as_listed():
    (entry,) = with_effective(parse_mounts("/dev/sdz1 /x ext4 rw 0 0"), "")
    assert entry.effective is None and entry.option_map() == {"rw": None}
