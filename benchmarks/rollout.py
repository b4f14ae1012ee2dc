"""Benchmark: login.trim-motd rolled out over a fleet, against Ansible and xargs+ssh.

Not a test: it prints measured figures. It starts its own fleet lab (--size,
default 50 sshd hosts) and times, in one run, the change that takes the two
slow update-motd.d scripts out of every login:

  1. invoke login.trim-motd --hosts @INVENTORY          the plan alone (dry run)
  2. invoke login.trim-motd --hosts @INVENTORY --apply --yes
                                                        the rollout: plan, canary (1 host,
                                                        verified), waves, journal, manifest
  3. ansible all -i INVENTORY -m file -a 'path=... mode=a-x', once per script
                                                        (ansible-core from .venv-ansible,
                                                         which scripts/bootstrap.sh test makes)
  4. xargs -P N ssh HOST chmod a-x SCRIPT SCRIPT        (OpenSSH, one process per host)

all with the same hosts in flight (--forks). Every host is put back (modes,
manifest and its folder) before each run. Then the fleet's mean login cost
(login.cost on every host) before and after the rollout. Targets: the
rollout within 1.5x of the xargs loop, at least 5x faster than Ansible.
Usage: python benchmarks/rollout.py [--size 50] [--forks 16]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from runbooks.lab import engine, systems  # noqa: E402

ANSIBLE = REPO / ".venv-ansible" / "bin" / "ansible"
SLOW = ["/etc/update-motd.d/90-updates-available", "/etc/update-motd.d/91-release-upgrade"]
# Put a host back as the lab made it: every script executable, no manifest.
RESET = "chmod 755 /etc/update-motd.d/* && rm -rf /var/lib/breaking-point"


def timed(argv: list[str], env: dict[str, str], shell: bool = False,
          ok: tuple[int, ...] = (0,)) -> float:
    start = time.monotonic()
    proc = subprocess.run(" ".join(argv) if shell else argv, shell=shell, env=env, cwd=REPO,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          check=False)
    took = time.monotonic() - start
    if proc.returncode not in ok:
        raise SystemExit(f"failed ({proc.returncode}): {argv[:4]}...\n{proc.stderr[-800:]}")
    return took


def reset(containers: list) -> None:
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda c: c.exec_run(["sh", "-c", RESET]), containers))


def trimmed(containers: list) -> int:
    """How many hosts have both slow scripts out of the login (not executable)."""
    test = " && ".join(f"test ! -x {path}" for path in SLOW)
    return sum(1 for c in containers if c.exec_run(["sh", "-c", test]).exit_code == 0)


def mean_login(inventory: str, known: str, key: str, env: dict[str, str]) -> float:
    proc = subprocess.run([sys.executable, "-m", "invoke", "login.cost", "--hosts",
                           f"@{inventory}", "--known-hosts", known, "--identity", key,
                           "--samples", "3", "--format", "json"], cwd=REPO, env=env,
                          capture_output=True, text=True, check=False)
    logins = [statistics.median(f["data"]["login_seconds"])
              for f in json.loads(proc.stdout)["findings"] if f["data"].get("login_seconds")]
    return statistics.mean(logins)


def commands(inventory: str, known: str, key: str, ports: list[str], forks: int
             ) -> dict[str, list[tuple[list[str], bool, tuple[int, ...]]]]:
    ssh_opts = (f"-o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes "
                f"-o BatchMode=yes -i {key} -o IdentitiesOnly=yes")
    ours = [sys.executable, "-m", "invoke", "login.trim-motd", "--hosts", f"@{inventory}",
            "--known-hosts", known, "--identity", key, "--parallel", str(forks),
            "--threshold", "0.15"]
    return {
        "plan": [(ours, False, (0,))],
        "rollout": [([*ours, "--apply", "--yes"], False, (0,))],
        "ansible file": [([str(ANSIBLE), "all", "-i", inventory, "-f", str(forks), "-m",
                           "file", "-a", f"path={path} mode=a-x"], False, (0,))
                         for path in SLOW],
        "xargs ssh": [([f"printf '%s\\n' {' '.join(ports)} | xargs -P {forks} -I PORT "
                        f"ssh {ssh_opts} -p PORT root@127.0.0.1 chmod a-x {' '.join(SLOW)}"],
                       True, (0,))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", type=int, default=50)
    parser.add_argument("--forks", type=int, default=16, help="hosts in flight, for every tool")
    args = parser.parse_args()
    if not ANSIBLE.exists():
        raise SystemExit(f"{ANSIBLE} is missing: run scripts/bootstrap.sh test first")

    prefix = os.environ.get("BP_LAB_PREFIX", "bp-bench") + "-rollout"
    print(f"starting a fleet of {args.size} hosts ...", file=sys.stderr)
    facts = systems.up("fleet", prefix=prefix, size=args.size)
    inventory, known, key = facts["inventory"], facts["known_hosts"], facts["identity"]
    ports = [line.split("ansible_port=")[1].split()[0]
             for line in Path(inventory).read_text().splitlines() if "ansible_port=" in line]
    cl = engine.client()
    containers = [cl.containers.get(name) for name in facts["containers"]]
    env = dict(os.environ, BP_STATE_DIR=tempfile.mkdtemp(), ANSIBLE_HOST_KEY_CHECKING="True",
               ANSIBLE_SSH_ARGS=f"-o UserKnownHostsFile={known} -o IdentitiesOnly=yes",
               ANSIBLE_PRIVATE_KEY_FILE=key, ANSIBLE_PYTHON_INTERPRETER="auto_silent")
    try:
        reset(containers)
        before = mean_login(inventory, known, key, env)
        figures = {}
        for name, runs in commands(inventory, known, key, ports, args.forks).items():
            reset(containers)
            figures[name] = sum(timed(argv, env, shell, ok) for argv, shell, ok in runs)
            done = trimmed(containers)
            print(f"{name}: {figures[name]:.2f}s, {done} of {args.size} hosts trimmed",
                  file=sys.stderr)
        reset(containers)
        timed(commands(inventory, known, key, ports, args.forks)["rollout"][0][0], env)
        after = mean_login(inventory, known, key, env)
        print(f"hosts: {args.size}, in flight: {args.forks}, canary: 1")
        for name, value in figures.items():
            print(f"  {name:13} {value:6.2f} s")
        print(f"  rollout / xargs ssh = {figures['rollout'] / figures['xargs ssh']:.2f}x "
              "(target <= 1.5x)")
        print(f"  ansible file / rollout = {figures['ansible file'] / figures['rollout']:.1f}x "
              "(target >= 5x)")
        print(f"  mean login over the fleet: {before:.3f} s before, {after:.3f} s after")
    finally:
        for container in containers:
            container.remove(force=True)


if __name__ == "__main__":
    sys.exit(main())
