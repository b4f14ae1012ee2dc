"""Machine-wide build locks: a second process waits for the first instead of building too."""

import multiprocessing
import threading

from runbooks.lab.engine import common


def _hold(cache: str, held, release) -> None:
    import os

    os.environ["BP_CACHE_DIR"] = cache
    with common.machine_lock("image-x"):
        held.set()
        release.wait(60)


def test_a_second_holder_waits_until_the_first_releases(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BP_CACHE_DIR", str(tmp_path))
    ctx = multiprocessing.get_context("fork")
    held, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(tmp_path), held, release))
    holder.start()
    try:
        assert held.wait(30), "the first process never took the lock"
        got = threading.Event()

        def take() -> None:
            with common.machine_lock("image-x"):
                got.set()

        taker = threading.Thread(target=take, daemon=True)
        taker.start()
        assert not got.wait(0.5), "took a lock another process holds"
        release.set()
        assert got.wait(30), "never got the lock after its release"
        taker.join(30)
    finally:
        release.set()
        holder.join(30)
    assert "waiting for another process that holds the image-x lock" in capsys.readouterr().err


def test_different_names_do_not_wait_for_each_other(tmp_path, monkeypatch):
    monkeypatch.setenv("BP_CACHE_DIR", str(tmp_path))
    with common.machine_lock("image-a"), common.machine_lock("image-b"):
        assert (tmp_path / "locks" / "image-a.lock").exists()
