"""Benchmark: mounts.audit across a fleet of lab hosts, against Ansible and xargs+ssh.

Not a test: it prints measured figures. It starts its own fleet lab (--size,
default 50 sshd containers on 127.0.0.1 ports) and times, in one run, reading
/proc/mounts on every host with:

  1. invoke mounts.audit --hosts @INVENTORY          (this project, asyncssh)
  2. ansible all -i INVENTORY -m command -a 'cat /proc/mounts'
                                                      (ansible-core from PyPI, own venv,
                                                       same number of forks)
  3. xargs -P N ssh HOST cat /proc/mounts            (OpenSSH, one process per host)

Each runs --repeat times (median reported), with the same parallelism for
all. Then it measures login.cost on one host before and after
login.trim-motd. Targets: at least 5x faster than Ansible, within 1.5x of
the xargs loop. Usage: python benchmarks/fleet.py [--size 50] [--repeat 3]
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from runbooks.lab import engine, systems  # noqa: E402

ANSIBLE_VENV = Path(tempfile.gettempdir()) / "bp-bench-ansible"


def ansible() -> Path:
    """ansible-core in a venv of its own, created on first use."""
    binary = ANSIBLE_VENV / "bin" / "ansible"
    if not binary.exists():
        print("installing ansible-core into its own venv ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(ANSIBLE_VENV)], check=True)
        subprocess.run([str(ANSIBLE_VENV / "bin" / "pip"), "install", "-q", "ansible-core"],
                       check=True)
    return binary


def timed(argv: list[str], env: dict[str, str] | None = None, shell: bool = False) -> float:
    start = time.monotonic()
    proc = subprocess.run(argv if not shell else " ".join(argv), shell=shell, env=env,
                          cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    took = time.monotonic() - start
    if proc.returncode not in (0, 1):  # mounts.audit exits 1 for WARN findings
        raise SystemExit(f"failed ({proc.returncode}): {argv[:3]}...\n{proc.stderr[-800:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--forks", type=int, default=16, help="hosts in flight, for every tool")
    args = parser.parse_args()

    prefix = "bp-bench-fleet"
    print(f"starting a fleet of {args.size} hosts ...", file=sys.stderr)
    facts = systems.up("fleet", prefix=prefix, size=args.size)
    inventory, known, key = facts["inventory"], facts["known_hosts"], facts["identity"]
    hosts = [line.split() for line in Path(inventory).read_text().splitlines()
             if line.startswith("host") and "ansible_port=" in line]
    ports = [h[2].split("=")[1] for h in hosts]
    ssh_opts = (f"-o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes -o BatchMode=yes "
                f"-i {key} -o IdentitiesOnly=yes")
    env = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING="True", ANSIBLE_SSH_ARGS=ssh_opts,
               ANSIBLE_PRIVATE_KEY_FILE=key, ANSIBLE_PYTHON_INTERPRETER="auto_silent")
    commands = {
        "mounts.audit": ([sys.executable, "-m", "invoke", "mounts.audit", "--hosts",
                          f"@{inventory}", "--known-hosts", known, "--identity", key,
                          "--parallel", str(args.forks), "--format", "json"], False),
        "ansible": ([str(ansible()), "all", "-i", inventory, "-f", str(args.forks), "-m",
                     "command", "-a", "cat /proc/mounts"], False),
        "xargs ssh": ([f"printf '%s\\n' {' '.join(ports)} | xargs -P {args.forks} -I PORT "
                       f"ssh {ssh_opts} -p PORT root@127.0.0.1 cat /proc/mounts"], True),
    }
    def compare(label: str) -> None:
        results: dict[str, list[float]] = {name: [] for name in commands}
        for round_ in range(args.repeat):
            for name, (argv, shell) in commands.items():
                results[name].append(timed(argv, env, shell))
                print(f"{label} round {round_ + 1}: {name}: {results[name][-1]:.2f}s",
                      file=sys.stderr)
        medians = {name: statistics.median(t) for name, t in results.items()}
        print(f"[{label}] hosts: {args.size}, in flight: {args.forks}, repeats: {args.repeat}")
        for name, value in medians.items():
            print(f"  {name:13} median {value:6.2f} s   "
                  f"(runs: {', '.join(f'{t:.2f}' for t in results[name])})")
        print(f"  ansible / mounts.audit = "
              f"{medians['ansible'] / medians['mounts.audit']:.1f}x (target >= 5x)")
        print(f"  mounts.audit / xargs ssh = "
              f"{medians['mounts.audit'] / medians['xargs ssh']:.2f}x (target <= 1.5x)")

    try:
        compare("logins run update-motd.d")
        # The same again with update-motd.d out of the login path on every host, so
        # that the tools' own overhead shows instead of the scripts' cost.
        cl = engine.client()
        for name in facts["containers"]:
            cl.containers.get(name).exec_run(["sh", "-c", "chmod a-x /etc/update-motd.d/*"])
        compare("update-motd.d trimmed")
        for name in facts["containers"]:
            cl.containers.get(name).exec_run(["sh", "-c", "chmod a+x /etc/update-motd.d/*"])

        def cost() -> dict:
            proc = subprocess.run(
                [sys.executable, "-m", "invoke", "login.cost", "--host",
                 f"root@127.0.0.1:{ports[0]}", "--known-hosts", known, "--identity", key,
                 "--samples", "5", "--format", "json"], cwd=REPO, capture_output=True, text=True)
            return json.loads(proc.stdout)["findings"][0]["data"]

        target = ["--host", f"root@127.0.0.1:{ports[0]}", "--known-hosts", known,
                  "--identity", key]
        before = cost()
        subprocess.run([sys.executable, "-m", "invoke", "login.trim-motd", *target, "--apply"],
                       cwd=REPO, check=True, capture_output=True,
                       env=dict(os.environ, BP_STATE_DIR=tempfile.mkdtemp()))
        after = cost()
        for label, data in (("before trim-motd", before), ("after trim-motd", after)):
            print(f"login.cost {label:17}: login median "
                  f"{statistics.median(data['login_seconds']):.3f} s wall, "
                  f"{data['login_cpu_seconds']} s server CPU; update-motd.d "
                  f"{data['motd_seconds']:.3f} s wall, {data['motd_cpu_seconds']:.3f} s CPU")
    finally:
        cl = engine.client()
        for container in engine.lab_containers(cl, "fleet"):
            if container.name.startswith(prefix + "-"):
                container.remove(force=True)


if __name__ == "__main__":
    sys.exit(main())
