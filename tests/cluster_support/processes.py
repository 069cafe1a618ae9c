"""A Dask scheduler and a `grader worker`, each a process of its own on 127.0.0.1, as a course would run them.

Each leads its own process group; stopping one kills the group and every process it started
(the warm workers are in sessions of their own), found through /proc.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from service_support.server import descendants

ROOT = Path(__file__).resolve().parents[2]
SCHEDULER_SETTINGS = {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "2",
                      "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0"}
"""Three tries for a task whose workers die, and no task queued on a worker before it can start (docs/scaling.md)."""


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class Process:
    """A command in a process group of its own, logging to a file; stopped with everything it started."""

    def __init__(self, command: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.command = command
        self.log = log
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        """Start it (returns at once)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))} | self.env
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=log, stdin=subprocess.DEVNULL, cwd=ROOT,
                                            env=env, start_new_session=True)
        return self

    def kill(self) -> None:
        """SIGKILL the process alone (what it started must cope)."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """Kill it, its group and everything below it; wait for them."""
        if self.process is None:
            return
        tree = descendants(self.process.pid)
        for pid in [self.process.pid, *tree]:
            try:
                os.killpg(pid, signal.SIGKILL) if pid == self.process.pid else os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.process.wait(timeout=30)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in tree):
            time.sleep(0.1)


def scheduler(port: int, log: Path) -> Process:
    """`dask scheduler` on 127.0.0.1:port (no dashboard), with the scheduler settings docs/scaling.md recommends."""
    process = Process([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
                       "--no-dashboard"], log, SCHEDULER_SETTINGS)
    process.start()
    deadline = time.monotonic() + 60
    while not listening(port):
        if time.monotonic() > deadline or process.process.poll() is not None:
            raise RuntimeError(f"the scheduler did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    return process


def grader_worker(address: str, log: Path, jobs: int = 1) -> Process:
    """`grader worker ADDRESS --jobs N` (no dashboard), as a course adds a machine."""
    return Process([str(Path(sys.executable).parent / "grader"), "worker", address, "--jobs", str(jobs),
                    "--no-dashboard"], log).start()
