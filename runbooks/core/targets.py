"""Targets: where a runbook runs its commands. Local, SSH and container share one interface.

Commands are always argument vectors, never shell strings. Locally and in a
container they are executed without a shell; over SSH the remote side does use
a shell, so every argument is quoted with :func:`shlex.join` before it leaves.

Heavy clients (asyncssh, the docker SDK) are imported when a target of that
kind is first used, so that ``invoke --list`` stays fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import signal
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .errors import TargetError, UsageError

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_COMMAND_TIMEOUT = 60.0
DEFAULT_PARALLEL = 16
DEFAULT_RETRIES = 2  # connect retries; the kernel already resends a lost SYN within a try
RETRY_BACKOFF = 0.5  # seconds before the first retry, doubled each time
PREFERRED_HOST_KEYS = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
                       "rsa-sha2-512", "rsa-sha2-256"]

# Host names and addresses we are willing to hand to a resolver or to ssh:
# RFC 1123 labels, IPv4, and bracketed IPv6. Anything else (spaces, quotes,
# `$(...)`) is refused before it can reach a resolver or a shell.
_HOST_RE = re.compile(r"^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})|\[[0-9A-Fa-f:.]+\])$")
_USER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}$")
_CONTAINER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class Interrupted(TargetError):
    """The run was stopped (Ctrl-C) before this target finished."""


class _Retryable(Exception):
    """A connect failure worth another try (network error or time-out)."""


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    exit_status: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.exit_status == 0

    def first_error_line(self) -> str:
        for line in (self.stderr or self.stdout).splitlines():
            if line.strip():
                return line.strip()
        return f"exit status {self.exit_status}"


class Target(ABC):
    """Somewhere commands run. Use as an async context manager, or call close()."""

    kind: str = "target"

    def __init__(self, name: str, command_timeout: float = DEFAULT_COMMAND_TIMEOUT) -> None:
        self.name = name
        self.command_timeout = command_timeout

    @abstractmethod
    async def run(self, argv: Sequence[str], *, timeout: float | None = None) -> CommandResult:
        """Run ``argv`` and return its result; raise TargetError if it could not run."""

    async def read_file(self, path: str) -> str:
        """The text of ``path`` on the target; TargetError names the cause if unreadable."""
        result = await self.run(["cat", "--", path])
        if not result.ok:
            raise TargetError(f"{self.name}: cannot read {path}: {result.first_error_line()}")
        return result.stdout

    async def close(self) -> None:  # noqa: B027 - most targets hold nothing open
        pass

    async def __aenter__(self) -> Target:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def _home_short(path: str) -> str:
    """A path with the home directory written as ~, as people type it."""
    home = str(Path.home())
    return "~" + path[len(home):] if path.startswith(home + "/") else path


def _decode(data: bytes | str | None) -> str:
    if data is None:
        return ""
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace")
    return data


def _kill_session(pid: int) -> None:
    """SIGKILL to a command started in a session of its own, and to all it started."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _communicate(proc: subprocess.Popen[bytes], timeout: float) -> tuple[bytes, bytes] | None:
    """The command's output, or None when it did not finish within ``timeout`` (then ended)."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_session(proc.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):  # a child that left the session
            proc.communicate(timeout=5)
        return None


class LocalTarget(Target):
    """This host. Commands run directly (no shell)."""

    kind = "local"

    def __init__(self, name: str = "localhost", **kw: Any) -> None:
        super().__init__(name, **kw)

    async def run(self, argv: Sequence[str], *, timeout: float | None = None) -> CommandResult:
        timeout = timeout or self.command_timeout
        start = time.monotonic()
        # Started here, not with asyncio's subprocess API: a cancel that lands while
        # asyncio is still setting a process up leaves it waiting forever for that
        # process (CPython 3.11). A session of its own lets a time-out or a cancel
        # end the command's children too, which would otherwise keep its pipes open.
        try:
            proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    start_new_session=True)
        except FileNotFoundError:
            raise TargetError(f"{self.name}: command not found: {argv[0]}") from None
        except PermissionError:
            raise TargetError(f"{self.name}: not allowed to run {argv[0]}") from None
        try:
            output = await asyncio.to_thread(_communicate, proc, timeout)
        except BaseException:  # cancelled (Ctrl-C, a sibling call failed): stop it all
            _kill_session(proc.pid)
            raise
        if output is None:
            raise TargetError(
                f"{self.name}: {shlex.join(argv)} gave no answer within {timeout:g}s")
        return CommandResult(tuple(argv), proc.returncode or 0, _decode(output[0]),
                             _decode(output[1]), time.monotonic() - start)

    async def read_file(self, path: str) -> str:
        try:
            return await asyncio.to_thread(Path(path).read_text, "utf-8", "replace")
        except OSError as exc:
            raise TargetError(f"{self.name}: cannot read {path}: {exc.strerror or exc}") from None


class SSHTarget(Target):
    """A host reached over SSH with asyncssh.

    Host keys are verified against ``known_hosts`` (default ~/.ssh/known_hosts,
    as OpenSSH does). An unknown key is refused unless ``accept_new`` (then it
    is recorded, like OpenSSH's StrictHostKeyChecking=accept-new); a changed
    key is always refused. User, port, identity and ProxyJump not given here
    come from ~/.ssh/config (or from ``config``, an ssh_config file named
    explicitly). Connecting is retried with backoff on network errors and
    time-outs, never on key or authentication errors. The connection is
    opened on first use and reused for every command.
    """

    kind = "ssh"

    def __init__(
        self,
        host: str,
        *,
        port: int | None = None,
        user: str | None = None,
        known_hosts: str | None = None,
        identity: str | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        accept_new: bool = False,
        retries: int = DEFAULT_RETRIES,
        config: str | None = None,
    ) -> None:
        label = (f"{user}@" if user else "") + host + (f":{port}" if port else "")
        super().__init__(label, command_timeout=command_timeout)
        self.host = host.strip("[]")
        self.port = port
        self.user = user
        self.known_hosts = known_hosts
        self.identity = identity
        self.connect_timeout = connect_timeout
        self.accept_new = accept_new
        self.retries = retries
        self.config = config
        self._conn: Any = None

    @property
    def known_hosts_path(self) -> Path:
        return Path(self.known_hosts or Path.home() / ".ssh" / "known_hosts")

    def _key_on_record(self) -> bool:
        """Whether known_hosts already holds a key for this host (so a mismatch = changed)."""
        import asyncssh

        path = self.known_hosts_path
        if not path.is_file():
            return False
        try:
            keys = asyncssh.match_known_hosts(str(path), self.host, self.host, self.port or 22)
        except (OSError, ValueError):
            return False
        return bool(keys[0])

    def _record_key(self, conn: Any) -> None:
        key = conn.get_server_host_key()
        pattern = self.host if (self.port or 22) == 22 else f"[{self.host}]:{self.port}"
        path = self.known_hosts_path
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        line = f"{pattern} {key.export_public_key().decode().strip()}\n"
        with path.open("a") as known:
            known.write(line)

    async def _connect(self) -> Any:
        delay = RETRY_BACKOFF
        for attempt in range(self.retries + 1):
            try:
                return await self._connect_once()
            except _Retryable as exc:
                if attempt == self.retries:
                    raise TargetError(f"{self.name}: {exc} (after {attempt + 1} attempts)"
                                      ) from None
                await asyncio.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    async def _connect_once(self) -> Any:
        import asyncssh  # lazy: ~150 ms of imports

        options: dict[str, Any] = {
            "connect_timeout": self.connect_timeout,
            "login_timeout": self.connect_timeout,
        }
        if self.port:
            options["port"] = self.port
        if self.user:
            options["username"] = self.user
        if self.known_hosts:
            if not Path(self.known_hosts).is_file():
                if not self.accept_new:
                    raise TargetError(f"{self.name}: known_hosts file {self.known_hosts} "
                                      "does not exist")
                self.known_hosts_path.parent.mkdir(parents=True, exist_ok=True)
                self.known_hosts_path.touch()
            options["known_hosts"] = self.known_hosts
        if self.identity:
            options["client_keys"] = [self.identity]
        if self.config:
            options["config"] = [self.config]
        where = _home_short(self.known_hosts or "~/.ssh/known_hosts")
        try:
            return await asyncio.wait_for(
                asyncssh.connect(self.host, **options), self.connect_timeout + 1
            )
        except asyncssh.HostKeyNotVerifiable as exc:
            if self._key_on_record():
                raise TargetError(
                    f"{self.name}: HOST KEY CHANGED: the server's key differs from the one in "
                    f"{where}; refusing to connect (possible man-in-the-middle)"
                ) from None
            if not self.accept_new:
                detail = "" if "not trusted" in exc.reason else f": {exc.reason}"
                raise TargetError(
                    f"{self.name}: host key not trusted (checked against {where}){detail}; "
                    "verify it and add it, or pass --accept-new"
                ) from None
        except asyncssh.PermissionDenied:
            raise TargetError(f"{self.name}: authentication refused") from None
        except asyncssh.Error as exc:
            raise TargetError(f"{self.name}: ssh: {exc.reason}") from None
        except TimeoutError:
            raise _Retryable(f"no SSH answer within {self.connect_timeout:g}s") from None
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise _Retryable(f"cannot connect: {reason}") from None
        # accept-new: the host is not on record at all; trust this key and write it down.
        # Without a known key asyncssh would pick RSA; prefer what OpenSSH records first.
        conn = await asyncio.wait_for(
            asyncssh.connect(self.host, **{**options, "known_hosts": None,
                                           "server_host_key_algs": PREFERRED_HOST_KEYS}),
            self.connect_timeout + 1,
        )
        self._record_key(conn)
        return conn

    async def run(self, argv: Sequence[str], *, timeout: float | None = None) -> CommandResult:
        timeout = timeout or self.command_timeout
        if self._conn is None:
            self._conn = await self._connect()
        command = shlex.join(argv)  # the remote shell sees every argument quoted
        start = time.monotonic()
        try:
            result = await asyncio.wait_for(self._conn.run(command, check=False), timeout)
        except TimeoutError:
            raise TargetError(
                f"{self.name}: {command} gave no answer within {timeout:g}s"
            ) from None
        except OSError as exc:
            raise TargetError(f"{self.name}: connection lost: {exc}") from None
        status = result.exit_status if result.exit_status is not None else 255
        return CommandResult(
            tuple(argv), status, _decode(result.stdout), _decode(result.stderr),
            time.monotonic() - start,
        )

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            await self._conn.wait_closed()
            self._conn = None


class ContainerTarget(Target):
    """A running Docker container, reached with ``docker exec`` through the engine API."""

    kind = "container"

    def __init__(self, container: str, **kw: Any) -> None:
        super().__init__(container, **kw)

    def _exec(self, argv: Sequence[str]) -> tuple[int, bytes, bytes]:
        import docker  # lazy
        from docker.errors import DockerException, NotFound

        try:
            client = docker.from_env()
            container = client.containers.get(self.name)
            code, (out, err) = container.exec_run(list(argv), demux=True)
        except NotFound:
            raise TargetError(f"{self.name}: no such container") from None
        except DockerException as exc:
            raise TargetError(f"{self.name}: docker: {str(exc).splitlines()[0]}") from None
        return code, out or b"", err or b""

    async def run(self, argv: Sequence[str], *, timeout: float | None = None) -> CommandResult:
        timeout = timeout or self.command_timeout
        start = time.monotonic()
        try:
            code, out, err = await asyncio.wait_for(asyncio.to_thread(self._exec, argv), timeout)
        except TimeoutError:
            raise TargetError(
                f"{self.name}: {shlex.join(argv)} gave no answer within {timeout:g}s"
            ) from None
        if code == 126 or (code == 127 and b"executable file not found" in out + err):
            raise TargetError(f"{self.name}: command not found: {argv[0]}")
        elapsed = time.monotonic() - start
        return CommandResult(tuple(argv), code, _decode(out), _decode(err), elapsed)


def parse_ssh_spec(spec: str) -> tuple[str | None, str, int | None]:
    """Split ``[user@]host[:port]`` and refuse anything that is not a plain host name."""
    user = None
    rest = spec.strip()
    if "@" in rest:
        user, rest = rest.rsplit("@", 1)
        if not _USER_RE.match(user):
            raise UsageError(f"invalid user name in host {spec!r}")
    port = None
    if rest.startswith("["):  # [v6addr]:port
        close = rest.find("]")
        if close > 0 and rest[close + 1 :].startswith(":"):
            rest, port_text = rest[: close + 1], rest[close + 2 :]
            port = _parse_port(port_text, spec)
    elif rest.count(":") == 1:
        rest, port_text = rest.split(":")
        port = _parse_port(port_text, spec)
    if not _HOST_RE.match(rest) or ".." in rest:
        raise UsageError(
            f"invalid host name {spec!r}: use letters, digits, '.', '-', '_' or an IP address"
        )
    return user, rest, port


def _parse_port(text: str, spec: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise UsageError(f"invalid port in host {spec!r}")
    return int(text)


def split_list(value: str | Sequence[str] | None) -> list[str]:
    """Accept 'a,b' and repeated options alike; drop blanks."""
    if not value:
        return []
    items = [value] if isinstance(value, str) else list(value)
    return [part.strip() for item in items for part in item.split(",") if part.strip()]


def select_targets(
    hosts: str | Sequence[str] | None = None,
    containers: str | Sequence[str] | None = None,
    *,
    known_hosts: str | None = None,
    identity: str | None = None,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
    accept_new: bool = False,
) -> list[Target]:
    """Targets from --host and --container values; the local host when neither is given."""
    targets: list[Target] = []
    for spec in split_list(hosts):
        alias, sep, address = spec.partition("=")
        if not sep:
            alias, address = "", spec
        elif not _HOST_RE.match(alias):
            raise UsageError(f"invalid host alias {alias!r}")
        user, host, port = parse_ssh_spec(address)
        target = SSHTarget(
            host, port=port, user=user, known_hosts=known_hosts, identity=identity,
            connect_timeout=connect_timeout, command_timeout=command_timeout,
            accept_new=accept_new,
        )
        if alias:  # inventory names read better than user@address:port
            target.name = alias
        targets.append(target)
    for name in split_list(containers):
        if not _CONTAINER_RE.match(name):
            raise UsageError(f"invalid container name {name!r}")
        targets.append(ContainerTarget(name, command_timeout=command_timeout))
    if not targets:
        targets.append(LocalTarget(command_timeout=command_timeout))
    return targets


T = TypeVar("T")


async def run_on_targets(
    targets: Sequence[Target],
    work: Callable[[Target], Awaitable[T]],
    *,
    parallel: int = DEFAULT_PARALLEL,
) -> list[tuple[Target, T | BaseException]]:
    """Run ``work`` on every target, at most ``parallel`` at once.

    A target's failure is returned in its slot, never raised, so that one bad
    host cannot stop or hang the others. Results keep the targets' order.
    """
    if parallel < 1:
        raise UsageError("--parallel must be at least 1")
    gate = asyncio.Semaphore(parallel)
    loop = asyncio.get_running_loop()

    async def one(target: Target) -> tuple[Target, T | BaseException]:
        async with gate:
            try:
                return target, await work(target)
            except Exception as exc:  # one host's problem stays that host's
                return target, exc
            finally:
                with contextlib.suppress(Exception):  # closing a dead link may fail too
                    await target.close()

    tasks = [asyncio.ensure_future(one(t)) for t in targets]

    def interrupt() -> None:  # Ctrl-C: stop what is running, keep what has finished
        for task in tasks:
            task.cancel()

    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGINT, interrupt)
    try:
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(signal.SIGINT)
    results: list[tuple[Target, T | BaseException]] = []
    for target, outcome in zip(targets, outcomes, strict=True):
        if isinstance(outcome, asyncio.CancelledError):
            results.append((target, Interrupted(f"{target.name}: interrupted before it finished")))
        else:
            results.append(outcome)  # type: ignore[arg-type]
    return results
