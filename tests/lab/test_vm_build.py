"""A VM image build that is cut short leaves nothing mounted in its work folder."""

import subprocess

from runbooks.lab.vm import _unmount_below


def _mounted(path) -> bool:
    with open("/proc/mounts", encoding="utf-8") as mounts:
        return any(line.split()[1].encode().decode("unicode_escape") == str(path)
                   for line in mounts)


def test_every_mount_below_the_work_folder_goes_even_with_a_space_in_its_name(tmp_path):
    # as debootstrap leaves them when killed: /proc of the new root, and one inside it
    outer, inner = tmp_path / "root dir" / "proc", tmp_path / "root dir" / "proc" / "sys"
    outer.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "lab", str(outer)], check=True)
    inner.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "lab", str(inner)], check=True)
    beside = tmp_path.parent / f"{tmp_path.name}-beside"
    beside.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "lab", str(beside)], check=True)
    try:
        assert _mounted(outer) and _mounted(inner)
        _unmount_below(tmp_path)
        assert not _mounted(outer) and not _mounted(inner)
        assert _mounted(beside), "a folder beside the work folder is not below it"
    finally:
        for path in (inner, outer, beside):
            subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)
