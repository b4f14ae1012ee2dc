"""The lab's contact with Docker: engine check and setup, base image, lab images, containers.

Every container the lab starts carries the label ``breaking-point.lab`` (its
topology) and ``breaking-point.owner`` (who may reap it): ``manual`` for labs
started with ``invoke lab.up``, ``pid:N`` for test runs, so that a later run
can remove what an interrupted one left behind without touching a live lab.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from ..core.errors import RunbookError

LABEL = "breaking-point.lab"
OWNER_LABEL = "breaking-point.owner"
BASE_IMAGE = "debian:bookworm"
IMAGE_PREFIX = "bp-lab"
IMAGES_DIR = Path(__file__).parent / "images"
# The lab images that run the runbooks start from images/base (Python and the
# runtime packages): their Dockerfile declares this build argument and starts FROM it.
LAB_BASE_IMAGE = "base"
LAB_BASE_ARG = "BP_LAB_BASE"
REPO_ROOT = Path(__file__).resolve().parents[2]
STATE_DIR = Path(os.environ.get("BP_STATE_DIR", Path.home() / ".local/state/breaking-point"))
# Python packages the lab containers need to run the runbooks from the mounted repo.
# Pure-Python wheels only, so the host's architecture does not matter.
CONTAINER_PYTHON_PACKAGES = ("invoke", "rich", "markdown-it-py", "mdurl", "pygments")

ENGINE_HELP = (
    "no Docker engine answers; install one with `apt-get install docker.io` and start it "
    "(`dockerd &` or `systemctl start docker`), or run `invoke lab.setup` as root"
)


class LabError(RunbookError):
    """The lab cannot do what was asked (no engine, image build failed, not ready)."""


def log(message: str) -> None:
    """Progress for long lab work goes to stderr, so stdout stays parseable."""
    print(f"lab: {message}", file=sys.stderr, flush=True)


def wait_until(
    check: Callable[[], bool], timeout: float, what: str, interval: float = 0.2
) -> float:
    """Poll ``check`` until it is true; return the seconds it took or raise LabError."""
    start = time.monotonic()
    delay = interval
    while True:
        try:
            if check():
                return time.monotonic() - start
        except Exception:  # noqa: S110 - not ready yet is an expected answer
            pass
        if time.monotonic() - start > timeout:
            raise LabError(f"{what}: not ready after {timeout:g}s")
        time.sleep(delay)
        delay = min(delay * 1.5, 2.0)


def client() -> Any:
    """A docker SDK client for an engine that answers, or LabError saying how to get one."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:  # pragma: no cover - docker is a declared dependency
        raise LabError("the docker Python package is missing: pip install docker") from None
    try:
        cl = docker.from_env(timeout=120)
        cl.ping()
    except DockerException:
        raise LabError(ENGINE_HELP) from None
    return cl


def engine_answers() -> bool:
    try:
        client()
    except LabError:
        return False
    return True


def _run(argv: list[str], what: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(argv, text=True, capture_output=True, check=False, **kw)
    except FileNotFoundError:
        raise LabError(f"{what}: {argv[0]} is not installed") from None
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise LabError(f"{what} failed (exit {proc.returncode}): {tail[0]}")
    return proc


def apt_install(packages: list[str]) -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise LabError(f"need {' '.join(packages)}: install them with apt-get as root")
    log(f"installing {' '.join(packages)} from Debian's packages")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    _run(["apt-get", "update", "-qq"], "apt-get update", env=env)
    _run(["apt-get", "install", "-y", "-qq", *packages], "apt-get install", env=env)


def ensure_engine(install: bool = True) -> None:
    """Make sure an engine answers: install docker.io and start dockerd if allowed."""
    if engine_answers():
        return
    if not shutil.which("dockerd"):
        if not install:
            raise LabError(ENGINE_HELP)
        apt_install(["docker.io"])
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    logfile = STATE_DIR / "dockerd.log"
    log(f"starting dockerd (log: {logfile})")
    with open(logfile, "ab") as out:
        subprocess.Popen(
            ["dockerd"], stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True
        )
    took = wait_until(engine_answers, 60, "dockerd")
    log(f"dockerd answers after {took:.1f}s")


def debian_mirror() -> str:
    """The Debian mirror this host's apt uses (so the repo names no mirror itself)."""
    if os.environ.get("BP_DEBIAN_MIRROR"):
        return os.environ["BP_DEBIAN_MIRROR"]
    candidates: list[str] = []
    sources = Path("/etc/apt/sources.list.d")
    for path in sorted(sources.glob("*.sources")) if sources.is_dir() else []:
        for block in path.read_text(errors="replace").split("\n\n"):
            fields = dict(
                (k.strip().lower(), v.strip())
                for k, _, v in (line.partition(":") for line in block.splitlines())
                if not k.startswith(("#", " "))
            )
            suites = fields.get("suites", "").split()
            if "bookworm" in suites and fields.get("enabled", "yes") != "no":
                candidates += fields.get("uris", "").split()
    legacy = Path("/etc/apt/sources.list")
    if legacy.is_file():
        for line in legacy.read_text(errors="replace").splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "deb" and parts[2] == "bookworm":
                candidates.append(parts[1])
    for uri in candidates:
        if "security" not in uri and uri.startswith(("http://", "https://")):
            return uri
    raise LabError("no Debian bookworm mirror in this host's apt sources; set BP_DEBIAN_MIRROR")


def image_exists(cl: Any, ref: str) -> bool:
    from docker.errors import ImageNotFound

    try:
        cl.images.get(ref)
    except ImageNotFound:
        return False
    return True


def ensure_base_image(cl: Any | None = None) -> None:
    """Make ``debian:bookworm`` with debootstrap + import when it is absent (no registry here)."""
    cl = cl or client()
    if image_exists(cl, BASE_IMAGE):
        return
    if not shutil.which("debootstrap"):
        apt_install(["debootstrap"])
    mirror = debian_mirror()
    with tempfile.TemporaryDirectory(prefix="bp-rootfs-") as rootfs:
        log(f"building {BASE_IMAGE} with debootstrap (about a minute)")
        start = time.monotonic()
        _run(["debootstrap", "--variant=minbase", "bookworm", rootfs, mirror], "debootstrap")
        log(f"debootstrap done in {time.monotonic() - start:.0f}s; importing")
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        assert tar.stdout is not None
        cl.api.import_image_from_stream(tar.stdout, repository="debian", tag="bookworm")
        if tar.wait() != 0:
            raise LabError("tar of the debootstrap tree failed")
    if not image_exists(cl, BASE_IMAGE):
        raise LabError(f"{BASE_IMAGE} import did not produce an image")
    log(f"{BASE_IMAGE} ready")


def _wheel_cache() -> Path:
    return Path(os.environ.get("BP_CACHE_DIR", Path.home() / ".cache/breaking-point")) / "wheels"


def _pinned_requirements() -> list[str]:
    pins = []
    for name in CONTAINER_PYTHON_PACKAGES:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pins.append(name)
    return pins


def download_wheels(dest: Path) -> None:
    """Fetch the container's Python wheels on the host (same versions as here)."""
    pins = _pinned_requirements()
    cache = _wheel_cache()
    stamp = cache / ("stamp-" + hashlib.sha256(" ".join(pins).encode()).hexdigest()[:12])
    if not stamp.exists():
        log(f"downloading wheels: {' '.join(pins)}")
        cache.mkdir(parents=True, exist_ok=True)
        _run(
            [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:",
             "--no-deps", "-d", str(cache), *pins],
            "pip download",
        )
        stamp.touch()
    dest.mkdir(parents=True, exist_ok=True)
    for wheel in cache.glob("*.whl"):
        shutil.copy2(wheel, dest / wheel.name)
    (dest / "requirements.txt").write_text("\n".join(pins) + "\n")


def _context_digest(directory: Path, base: str = "") -> str:
    """Hash of an image's build context, its wheels and the base image tag it starts from."""
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(directory)).encode())
            digest.update(path.read_bytes())
    digest.update(" ".join(_pinned_requirements()).encode())
    if base:  # the base's tag is its own content hash: a new base makes a new dependant
        digest.update(base.encode())
    return digest.hexdigest()[:12]


def _lab_base(dockerfile: str, cl: Any) -> dict[str, str]:
    """Build arguments: the shared lab base's tag, for a Dockerfile that starts from it."""
    if not re.search(rf"^ARG {LAB_BASE_ARG}$", dockerfile, re.MULTILINE):
        return {}
    return {LAB_BASE_ARG: build_image(LAB_BASE_IMAGE, cl)}


def build_image(name: str, cl: Any | None = None) -> str:
    """Build lab image ``name`` from runbooks/lab/images/NAME unless it is up to date."""
    cl = cl or client()
    source = IMAGES_DIR / name
    if not (source / "Dockerfile").is_file():
        raise LabError(f"no lab image named {name!r} (looked in {source})")
    dockerfile = (source / "Dockerfile").read_text()
    buildargs = _lab_base(dockerfile, cl)
    tag = f"{IMAGE_PREFIX}/{name}:{_context_digest(source, buildargs.get(LAB_BASE_ARG, ''))}"
    if image_exists(cl, tag):
        return tag
    ensure_base_image(cl)
    with tempfile.TemporaryDirectory(prefix="bp-build-") as ctx:
        shutil.copytree(source, ctx, dirs_exist_ok=True)
        if "COPY wheels" in dockerfile:
            download_wheels(Path(ctx) / "wheels")
        log(f"building image {tag}")
        start = time.monotonic()
        for chunk in cl.api.build(path=ctx, tag=tag, rm=True, forcerm=True, decode=True,
                                  labels={LABEL: name}, buildargs=buildargs):
            if "error" in chunk:
                raise LabError(f"image {name}: {chunk['error'].strip()}")
            line = chunk.get("stream", "").strip()
            if line.startswith("Step "):
                log(f"  {line}")
        log(f"image {tag} built in {time.monotonic() - start:.0f}s")
    return tag


def owner() -> str:
    return os.environ.get("BP_LAB_OWNER", "manual")


def run_container(cl: Any, image: str, name: str, topology: str, **kwargs: Any) -> Any:
    """Start a labelled container; an old one with the same name is replaced."""
    from docker.errors import NotFound

    with contextlib.suppress(NotFound):
        cl.containers.get(name).remove(force=True)
    labels = {LABEL: topology, OWNER_LABEL: owner(), **kwargs.pop("labels", {})}
    # init: a real PID 1 reaps daemons that exit (a stopped mfschunkserver would
    # otherwise linger as a zombie that pgrep still finds).
    kwargs.setdefault("init", True)
    return cl.containers.run(image, name=name, detach=True, labels=labels, **kwargs)


def lab_containers(cl: Any, topology: str | None = None) -> list[Any]:
    selector = f"{LABEL}={topology}" if topology else LABEL
    return cl.containers.list(all=True, filters={"label": selector})


def remove_containers(cl: Any, containers: list[Any]) -> int:
    from docker.errors import APIError, NotFound

    removed = 0
    for container in containers:
        with contextlib.suppress(NotFound):
            try:
                container.remove(force=True)
                removed += 1
            except APIError as exc:
                log(f"could not remove {container.name}: {exc.explanation}")
    return removed


def _orphaned(labels: dict[str, str]) -> bool:
    match = re.fullmatch(r"pid:(\d+)", labels.get(OWNER_LABEL, ""))
    return bool(match) and not Path(f"/proc/{match.group(1)}").exists()


def reap_orphans(cl: Any) -> int:
    """Remove containers (and networks) of test runs whose process is gone."""
    removed = remove_containers(cl, [c for c in lab_containers(cl) if _orphaned(c.labels)])
    remove_networks(cl, [n for n in lab_networks(cl) if _orphaned(n.attrs.get("Labels") or {})])
    return removed


def exec_checked(container: Any, argv: list[str], what: str) -> str:
    """Run argv in a lab container; LabError with its last output line when it fails."""
    code, output = container.exec_run(argv)
    text = output.decode("utf-8", "replace") if isinstance(output, bytes) else str(output)
    if code != 0:
        tail = text.strip().splitlines()[-1:] or ["(no output)"]
        raise LabError(f"{what}: exit {code}: {tail[0]}")
    return text


def lab_key() -> Path:
    """The lab's SSH client key (ed25519), made on first use; returns the private key path."""
    key = STATE_DIR / "lab" / "id_ed25519"
    if not key.exists():
        import asyncssh  # lazy

        key.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        private = asyncssh.generate_private_key("ssh-ed25519", comment="breaking-point-lab")
        private.write_private_key(str(key))
        key.chmod(0o600)
        private.write_public_key(str(key) + ".pub")
    return key


def put_file(container: Any, directory: str, name: str, data: bytes, mode: int) -> None:
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), mode
        tar.addfile(info, io.BytesIO(data))
    container.put_archive(directory, buffer.getvalue())


def ssh_banner(port: int) -> bool:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
        return conn.recv(64).startswith(b"SSH-2.0-")


def ssh_access(container: Any) -> tuple[int, str]:
    """Authorise the lab key for root in the container; return its loopback port and the
    known_hosts line for its ed25519 host key (port 22 must be published on 127.0.0.1)."""
    key = lab_key()
    put_file(container, "/root/.ssh", "authorized_keys",
              Path(str(key) + ".pub").read_bytes(), 0o600)
    container.reload()
    port = int(container.ports["22/tcp"][0]["HostPort"])
    wait_until(lambda: exec_checked(container, ["test", "-s", "/etc/ssh/ssh_host_ed25519_key.pub"],
                                    "host key") is not None, 20, f"{container.name} host key")
    host_key = exec_checked(container, ["cat", "/etc/ssh/ssh_host_ed25519_key.pub"],
                            f"{container.name}: host key")
    key_type, key_data = host_key.split()[:2]
    return port, f"[127.0.0.1]:{port} {key_type} {key_data}"


def wait_for_sshd(port: int, what: str) -> None:
    wait_until(lambda: ssh_banner(port), 20, f"{what} sshd")


def enable_ssh(container: Any) -> dict[str, str]:
    """SSH into one lab container: key authorised, host key trusted, sshd answering."""
    port, line = ssh_access(container)
    known_hosts = STATE_DIR / "lab" / f"known_hosts-{container.name}"
    known_hosts.write_text(line + "\n")
    wait_for_sshd(port, container.name)
    return {"ssh": f"root@127.0.0.1:{port}", "identity": str(lab_key()),
            "known_hosts": str(known_hosts)}


def network(cl: Any, name: str, topology: str) -> Any:
    """A fresh labelled bridge network for one topology (an old one is replaced)."""
    for old in cl.networks.list(names=[name]):
        old.reload()
        for container in old.containers:  # an earlier lab of the same name: replace it
            with contextlib.suppress(Exception):
                container.remove(force=True)
        old.remove()
    return cl.networks.create(name, driver="bridge", labels={LABEL: topology,
                                                              OWNER_LABEL: owner()})


def lab_networks(cl: Any, topology: str | None = None, owner_value: str | None = None) -> list:
    selector = [f"{LABEL}={topology}" if topology else LABEL]
    if owner_value:
        selector.append(f"{OWNER_LABEL}={owner_value}")
    return cl.networks.list(filters={"label": selector})


def remove_networks(cl: Any, networks: list[Any]) -> int:
    from docker.errors import APIError, NotFound

    removed = 0
    for net in networks:
        with contextlib.suppress(NotFound):
            try:
                net.remove()
                removed += 1
            except APIError as exc:
                log(f"could not remove network {net.name}: {exc.explanation}")
    return removed
