"""A control group per job (Linux, as root): memory including shared memory, a process limit and a CPU weight.

Resource limits (`setrlimit`) count one process at a time: eight processes of 400 MB each fit
under a 512 MB address-space limit, and memfd or tmpfs pages are not counted at all. A cgroup
counts the whole job, every process and every page it caused, so the limit is the job's. Jobs get
equal CPU weights, so a submission spinning 60 threads gets the same share of the machine as one
that runs a single thread, and its neighbours keep theirs.

Both cgroup versions are handled: v1 (a hierarchy per controller, as on older distributions and
in many containers) and v2 (the unified hierarchy). Where neither can be written (an ordinary
account, a read-only /sys/fs/cgroup), `JobCgroup.create` returns None with the reason, and the
child falls back to rlimits; the scorecard says which held.
"""

from __future__ import annotations

import os
import secrets
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
GROUP = "autograd-grader"
"""The directory, below the grader's own cgroup, that holds one directory per running job."""
CPU_WEIGHT_V2 = 100
CPU_SHARES_V1 = 1024


def _own_path(controller: str) -> str:
    """This process's cgroup path in a v1 controller's hierarchy ("" for v2's unified one)."""
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            number, controllers, path = line.split(":", 2)
            if (controller and controller in controllers.split(",")) or (not controller and number == "0"):
                return path
    except (OSError, ValueError):
        pass
    return "/"


def _write(path: Path, value: str) -> None:
    path.write_text(value)


@dataclass
class JobCgroup:
    """The cgroup(s) of one job: create, join, read the peak, kill everything in it, remove."""

    version: int
    directories: dict[str, Path] = field(default_factory=dict)
    """controller -> the job's directory (v2: one directory under the key "unified")."""

    @classmethod
    def create(cls, memory_mb: int, processes: int) -> tuple[JobCgroup | None, str | None]:
        """A fresh cgroup for a job with these limits, or (None, why not)."""
        if os.geteuid() != 0:
            return None, "cgroups: need root"
        name = f"job-{os.getpid()}-{secrets.token_hex(3)}"
        v1 = ROOT / "memory" / "memory.limit_in_bytes"
        try:
            if v1.exists():
                return cls._create_v1(name, memory_mb, processes), None
            if (ROOT / "cgroup.controllers").exists():
                return cls._create_v2(name, memory_mb, processes), None
        except OSError as exc:
            return None, f"cgroups: {exc.strerror or exc}"
        return None, "cgroups: none mounted"

    @classmethod
    def _create_v1(cls, name: str, memory_mb: int, processes: int) -> JobCgroup:
        group = cls(1)
        try:
            for controller in ("memory", "pids", "cpu"):
                base = ROOT / controller
                if not base.is_dir():
                    continue
                directory = base / _own_path(controller).lstrip("/") / GROUP / name
                directory.mkdir(parents=True)
                group.directories[controller] = directory
            memory = group.directories["memory"]
            limit = str(memory_mb << 20)
            _write(memory / "memory.limit_in_bytes", limit)
            swap = memory / "memory.memsw.limit_in_bytes"
            if swap.exists():
                try:
                    _write(swap, limit)  # no escape into swap either
                except OSError:
                    pass
            if "pids" in group.directories:
                _write(group.directories["pids"] / "pids.max", str(processes))
            if "cpu" in group.directories:
                _write(group.directories["cpu"] / "cpu.shares", str(CPU_SHARES_V1))
        except OSError:
            group.remove()
            raise
        return group

    @classmethod
    def _create_v2(cls, name: str, memory_mb: int, processes: int) -> JobCgroup:
        group = cls(2)
        parent = None
        # Below our own cgroup where its controllers may be delegated; else below the root, which
        # (unlike a cgroup holding processes) may always hand its controllers down.
        for candidate in (ROOT / _own_path("").lstrip("/") / GROUP, ROOT / GROUP):
            try:
                candidate.mkdir(parents=True, exist_ok=True)
                _write(candidate / "cgroup.subtree_control", "+memory +pids +cpu")
                parent = candidate
                break
            except OSError:
                continue
        if parent is None:
            raise OSError(0, "cannot enable the memory, pids and cpu controllers")
        directory = parent / name
        directory.mkdir()
        group.directories["unified"] = directory
        try:
            _write(directory / "memory.max", str(memory_mb << 20))
            if (directory / "memory.swap.max").exists():
                _write(directory / "memory.swap.max", "0")
            _write(directory / "pids.max", str(processes))
            _write(directory / "cpu.weight", str(CPU_WEIGHT_V2))
        except OSError:
            group.remove()
            raise
        return group

    def join(self, pid: int = 0) -> None:
        """Move a process (0: this one) into the job's cgroup; its children are born there."""
        target = str(pid or os.getpid())
        for directory in self.directories.values():
            _write(directory / "cgroup.procs", target)

    def peak_bytes(self) -> int | None:
        """The most memory the job held at once, every process and shared page together (None if unknown)."""
        if self.version == 1 and "memory" in self.directories:
            candidates = [self.directories["memory"] / "memory.max_usage_in_bytes"]
        else:
            candidates = [self.directories.get("unified", Path("/nonexistent")) / "memory.peak"]
        for path in candidates:
            try:
                return int(path.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
        return None

    def out_of_memory(self) -> bool:
        """Whether the kernel had to kill a process of the job for memory."""
        try:
            if self.version == 1:
                text = (self.directories["memory"] / "memory.oom_control").read_text()
                return any(line.split()[0] == "oom_kill" and int(line.split()[1]) > 0 for line in text.splitlines())
            text = (self.directories["unified"] / "memory.events").read_text()
            return any(line.split()[0] == "oom_kill" and int(line.split()[1]) > 0 for line in text.splitlines())
        except (OSError, ValueError, IndexError, KeyError):
            return False

    def processes(self) -> list[int]:
        """The processes in the job's cgroup now."""
        directory = self.directories.get("memory") or self.directories.get("unified") or next(iter(self.directories.values()), None)
        if directory is None:
            return []
        try:
            return [int(p) for p in (directory / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []

    def kill_all(self, spare: int | None = None) -> None:
        """Kill every process of the job (but `spare`, the supervisor itself) until none is left."""
        unified = self.directories.get("unified")
        if unified is not None and (unified / "cgroup.kill").exists() and spare is None:
            try:
                _write(unified / "cgroup.kill", "1")
            except OSError:
                pass
        for _ in range(200):
            left = [pid for pid in self.processes() if pid != spare]
            if not left:
                return
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.005)

    def leave(self) -> None:
        """Move this process back to the parent of the job's cgroup (before removing it)."""
        for directory in self.directories.values():
            try:
                _write(directory.parent.parent / "cgroup.procs", str(os.getpid()))
            except OSError:
                pass

    def remove(self) -> None:
        """Remove the job's directories (each must be empty of processes by now)."""
        for directory in self.directories.values():
            for _ in range(50):
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)  # the last killed process is still being torn down


def _owner_alive(name: str) -> bool:
    """Whether the supervisor that made job directory `job-<pid>-<random>` still runs (another grader's live job)."""
    try:
        pid = int(name.split("-")[1])
    except (IndexError, ValueError):
        return False
    return os.path.exists(f"/proc/{pid}")


def sweep_leftovers() -> None:
    """Remove empty job directories a killed supervisor left behind (called by the warm worker at start)."""
    if os.geteuid() != 0:
        return
    bases = [ROOT / c / _own_path(c).lstrip("/") / GROUP for c in ("memory", "pids", "cpu")]
    bases += [ROOT / _own_path("").lstrip("/") / GROUP, ROOT / GROUP]
    for base in bases:
        try:
            for directory in base.iterdir():
                if directory.is_dir() and directory.name.startswith("job-") and not _owner_alive(directory.name):
                    try:
                        directory.rmdir()
                    except OSError:
                        pass
        except OSError:
            continue
