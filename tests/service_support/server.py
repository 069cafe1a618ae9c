"""A real `grader serve` process for tests: started on a free port, waited for, and killed with its whole tree.

Nothing is left behind: the server leads its own process group, and every process it started
(the warm worker is in a session of its own) is found through /proc and killed too.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`, found through the parent ids in /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def started(pid: int) -> str | None:
    """When a live process started (clock ticks since boot), so that a reused pid is not taken for it; None when gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else fields[19]


def alive(pid: int, start: str) -> bool:
    """Whether the process `pid` that started at `start` still runs."""
    return started(pid) == start


def token(db: Path, role: str, name: str | None = None) -> str:
    """Make an access token with `grader token create` on the database `db`."""
    args = [sys.executable, "-m", "grader.service", "token", "create", "--db", str(db), "--role", role]
    args += ["--name", name] if name else []
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=ROOT, check=True)
    return done.stdout.strip()


class Server:
    """`grader serve --port 0 --db DB ARGS...`, as a user starts it."""

    def __init__(self, directory: Path, *args: str, db: Path | None = None) -> None:
        self.directory = directory
        self.db = db or directory / "grader.db"
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.log = directory / "server.log"
        self._tree: dict[int, str] = {}

    def start(self, timeout: float = 180) -> Server:
        """Start it and wait until /healthz answers 200."""
        self.directory.mkdir(parents=True, exist_ok=True)
        log = self.log.open("ab")
        offset = log.tell()  # a restart appends to the same log: read only what this start writes
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.service", "serve", "--port", "0", "--db", str(self.db),
             "--log-level", "warning", *self.args],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, cwd=self.directory, env=env, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"grader serve exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            self._remember(descendants(self.process.pid))
            if not self.url:
                found = re.findall(r"grader serve: (http://\S+)", self.log.read_bytes()[offset:].decode(errors="replace"))
                self.url = found[-1] if found else ""
            if self.url:
                try:
                    if httpx.get(self.url + "/healthz", timeout=5).status_code == 200:
                        self._remember(descendants(self.process.pid))
                        return self
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"grader serve did not become healthy:\n{self.log.read_text()[-3000:]}")

    @property
    def pid(self) -> int:
        """The serving process's id."""
        assert self.process is not None
        return self.process.pid

    def client(self, **kwargs: object) -> httpx.Client:
        """An HTTP client of this server."""
        return httpx.Client(base_url=self.url, timeout=120, **kwargs)  # type: ignore[arg-type]

    def kill(self) -> None:
        """kill -9 the serving process alone (its warm worker and children must go by themselves)."""
        assert self.process is not None
        self._remember(descendants(self.pid))
        os.kill(self.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """Kill the server, its process group and every process it started; wait until they are gone."""
        if self.process is not None:
            self._remember(descendants(self.pid))
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=30)
        self.reap()

    def _remember(self, pids: list[int]) -> None:
        for pid in pids:
            start = started(pid)
            if start is not None:
                self._tree.setdefault(pid, start)

    def reap(self, timeout: float = 15) -> list[int]:
        """Wait for every process the server started to end, killing those that linger; the lingering ones."""
        deadline = time.monotonic() + timeout
        lingering = [p for p, start in self._tree.items() if alive(p, start)]
        while lingering and time.monotonic() < deadline:
            time.sleep(0.1)
            lingering = [p for p in lingering if alive(p, self._tree[p])]
        for pid in lingering:
            if alive(pid, self._tree[pid]):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        return lingering
