"""Benchmark: mfs.audit against the shell idioms it replaces, on >= 10,000 files.

Not a test: it prints measured figures. It starts its own moosefs lab, builds
a tree of small files (goal 2), and times, in the client container, in one run:

  1. invoke mfs.audit TREE                         (this project, end to end)
  2. find TREE -type f -exec mfscheckfile {} \\;    (one tool call per file)
  3. find TREE -type f -print0 | xargs -0 mfscheckfile   (batched by xargs)

Each is run --repeat times (default 3) and the median wall time is reported,
with the ratios the project targets (audit >= 6x faster than find -exec,
within 1.25x of xargs). Usage: python benchmarks/mfs_audit.py [--files N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from runbooks.lab import engine, systems

TREE = "/mnt/mfs/bench"
COMMANDS = {
    "mfs.audit": f"cd /src && invoke mfs.audit {TREE} --format json > /dev/null",
    "find -exec": f"find {TREE} -type f -exec mfscheckfile {{}} \\; > /dev/null",
    "find | xargs": f"find {TREE} -type f -print0 | xargs -0 mfscheckfile > /dev/null",
}


def timed(container, script: str) -> float:
    start = time.monotonic()
    code, out = container.exec_run(["sh", "-c", script])
    took = time.monotonic() - start
    if code not in (0, 1):  # mfs.audit exits 1 for undergoal files; that is fine here
        raise SystemExit(f"failed ({code}): {script}\n{out.decode()[-500:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    cl = engine.client()
    prefix = "bp-bench"
    facts = systems.up("moosefs", prefix=prefix)
    client = cl.containers.get(facts["client"])
    try:
        print(f"building {args.files} files under {TREE} ...", file=sys.stderr)
        start = time.monotonic()
        build = (f"mkdir -p {TREE} && cd {TREE} && i=0; while [ $i -lt {args.files} ]; do "
                 f"d=d$((i / 500)); mkdir -p $d; echo $i > $d/f$i; i=$((i + 1)); done")
        code, out = client.exec_run(["sh", "-c", build])
        if code:
            raise SystemExit(out.decode()[-500:])
        print(f"built in {time.monotonic() - start:.0f}s", file=sys.stderr)
        results: dict[str, list[float]] = {name: [] for name in COMMANDS}
        for round_ in range(args.repeat):
            for name, script in COMMANDS.items():
                results[name].append(timed(client, script))
                print(f"round {round_ + 1}: {name}: {results[name][-1]:.2f}s", file=sys.stderr)
        medians = {name: statistics.median(times) for name, times in results.items()}
        print(f"files: {args.files}, repeats: {args.repeat}, machine: {os.cpu_count()} "
              f"cores")
        for name, value in medians.items():
            runs = ", ".join(f"{t:.2f}" for t in results[name])
            print(f"{name:14} median {value:7.2f} s   (runs: {runs})")
        audit = medians["mfs.audit"]
        print(f"find -exec / mfs.audit   = {medians['find -exec'] / audit:.1f}x (target >= 6x)")
        print(f"mfs.audit / find | xargs = {audit / medians['find | xargs']:.2f}x "
              f"(target <= 1.25x)")
    finally:
        for container in engine.lab_containers(cl, "moosefs"):
            if container.name.startswith(prefix + "-"):
                container.remove(force=True)
        engine.remove_networks(cl, [n for n in engine.lab_networks(cl, "moosefs")
                                    if n.name.startswith(prefix)])


if __name__ == "__main__":
    main()
