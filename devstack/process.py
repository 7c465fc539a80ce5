"""Service processes started in the background, recorded by PID in the run folder, and stopped by that PID."""

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from devstack.errors import PortInUse, ServiceStartFailed

logger = logging.getLogger(__name__)


def port_is_free(host: str, port: int) -> bool:
    """Whether nothing listens on host:port (a bind succeeds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_accepts(host: str, port: int, timeout_s: float = 1.0) -> bool:
    """Whether a TCP connection to host:port succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    """A port the kernel considers free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def require_free_ports(service: str, host: str, ports: dict[str, int]) -> None:
    """Raise PortInUse naming the service, the port and the setting to change, if any port is taken.

    A key is a setting's name, optionally followed by `:what` when one setting places several ports.
    """
    for key, port in ports.items():
        setting = key.partition(":")[0]
        if not port_is_free(host, port):
            raise PortInUse(
                f"{service}: port {host}:{port} is in use by another process; stop that or choose another "
                f"port with CBIR_STACK_{setting.upper()} (or `cbir stack up --{setting.replace('_', '-')}`)"
            )


@dataclass(frozen=True)
class ProcessRecord:
    """A process the stack started: its PID and the command line, to recognise it later."""

    pid: int
    argv: list[str]

    def is_alive(self) -> bool:
        """Whether this PID is still the process we started (not exited, not reused by another program)."""
        try:
            cmdline = Path(f"/proc/{self.pid}/cmdline").read_bytes()
        except OSError:
            return False
        if _is_zombie(self.pid):
            return False
        if not cmdline:  # briefly empty while the kernel is still setting up a process it just exec'd
            return True
        return cmdline.split(b"\0")[:-1] == [arg.encode() for arg in self.argv]


def _is_zombie(pid: int) -> bool:
    """Whether the process has exited but was not reaped yet."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


class PidFile:
    """The JSON file in `run/pids/` that records one service's process."""

    def __init__(self, run_dir: Path, service: str) -> None:
        self.path = run_dir / "pids" / f"{service}.json"

    def read(self) -> ProcessRecord | None:
        """The recorded process, or None when there is no record."""
        if not self.path.is_file():
            return None
        data = json.loads(self.path.read_text())
        return ProcessRecord(pid=int(data["pid"]), argv=list(data["argv"]))

    def write(self, record: ProcessRecord) -> None:
        """Record a started process."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({"pid": record.pid, "argv": record.argv}))

    def remove(self) -> None:
        """Forget the record."""
        self.path.unlink(missing_ok=True)


def spawn(argv: list[str], log_path: Path, cwd: Path, env: dict[str, str] | None = None) -> ProcessRecord:
    """Start argv in its own session with stdout and stderr appended to log_path."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        try:
            process = subprocess.Popen(
                argv,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # not killed by the caller's Ctrl-C; stopped by `stack down`
                env={**os.environ, **(env or {})},
            )
        except OSError as error:
            raise ServiceStartFailed(f"cannot run {argv[0]}: {error}") from error
    return ProcessRecord(pid=process.pid, argv=argv)


def wait_until(
    ready: Callable[[], bool],
    record: ProcessRecord,
    timeout_s: float,
    what: str,
    log_path: Path,
    failed: Callable[[], str | None] = lambda: None,
) -> None:
    """Poll ready() until it is true; raise ServiceStartFailed if the process exits, failed() gives a reason,
    or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return
        if not record.is_alive():
            raise ServiceStartFailed(f"{what} exited during start-up; see {log_path}:\n{_tail(log_path)}")
        reason = failed()
        if reason is not None:
            raise ServiceStartFailed(f"{what} cannot start: {reason}; see {log_path}")
        time.sleep(0.5)
    raise ServiceStartFailed(f"{what} not healthy after {timeout_s:.0f} s; see {log_path}:\n{_tail(log_path)}")


def _tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log file."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def stop(record: ProcessRecord, timeout_s: float) -> None:
    """SIGTERM exactly this PID, then SIGKILL if it has not exited within timeout_s."""
    if not record.is_alive():
        return
    os.kill(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not record.is_alive():
            _reap(record.pid)
            return
        time.sleep(0.2)
    logger.warning("PID %d ignored SIGTERM for %.0f s; sending SIGKILL", record.pid, timeout_s)
    os.kill(record.pid, signal.SIGKILL)
    _reap(record.pid)


def _reap(pid: int) -> None:
    """Collect the exit status if the process is our child (avoids zombies in long-lived callers)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def session_members(session_id: int) -> list[int]:
    """PIDs of the live processes in a session (a service started by spawn leads its own session)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session_id and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def stop_session(record: ProcessRecord, timeout_s: float) -> None:
    """Stop the process, then whatever it started that is still running (Storm workers, their Python
    components): every member of the session spawn gave it, SIGTERM then SIGKILL.

    The session is ours if the recorded process is, or if no process has its PID any more (Linux does not reuse
    a PID while a session of that id exists); a PID reused by another program leaves its session alone.
    """
    ours = record.is_alive() or not Path(f"/proc/{record.pid}").exists()
    stop(record, timeout_s)
    leftovers = session_members(record.pid) if ours else []
    if not leftovers:
        return
    logger.info("Stopping %d leftover processes of session %d", len(leftovers), record.pid)
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while session_members(record.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in session_members(record.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
