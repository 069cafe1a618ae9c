"""Operating-system isolation for the child: namespaces, mounts, a separate user and resource limits.

Each step is tried and its success recorded, so that the grader can say how well a submission
was isolated instead of silently running it with less protection than expected.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
import stat
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38

NOBODY = 65534
TMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm")

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def unshare(flags: int) -> None:
    """unshare(2): move this process (or, for PID namespaces, its next children) into new namespaces."""
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    """mount(2)."""
    _check(
        _libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None,
                    ctypes.c_ulong(flags), data.encode() if data else None),
        f"mount {target}",
    )


def prctl(option: int, value: int) -> None:
    """prctl(2) with one integer argument."""
    _check(_libc.prctl(ctypes.c_int(option), ctypes.c_ulong(value), ctypes.c_ulong(0),
                       ctypes.c_ulong(0), ctypes.c_ulong(0)), "prctl")


def make_undumpable() -> bool:
    """Forbid other processes of this user to read this process's memory (/proc/PID/mem, ptrace)."""
    try:
        prctl(PR_SET_DUMPABLE, 0)
        return True
    except OSError:
        return False


@dataclass(frozen=True)
class Isolation:
    """Which protections were in force for a child; the scorecard reports it."""

    network_namespace: bool = False
    """No network: the child sits in an empty network namespace."""
    pid_namespace: bool = False
    """The child is PID 1 of its own PID namespace, so killing it kills every process it started."""
    mount_namespace: bool = False
    """Private /tmp, /proc and hidden grader paths through a mount namespace."""
    separate_user: bool = False
    """The child runs as an unprivileged user of its own (nobody), not as the grader's user."""
    rlimits: bool = False
    """CPU, memory, file-size, open-file and core-dump limits are set."""
    notes: tuple[str, ...] = field(default_factory=tuple)
    """Why a protection is missing, where known."""

    @property
    def level(self) -> str:
        """`namespaces` when every namespace holds, `partial` when some do, else `rlimits-only` (or `none`)."""
        spaces = (self.network_namespace, self.pid_namespace, self.mount_namespace)
        if all(spaces):
            return "namespaces"
        if any(spaces):
            return "partial"
        return "rlimits-only" if self.rlimits else "none"

    def missing(self) -> list[str]:
        """Plain-language names of the protections that are not in force."""
        names = {
            "network_namespace": "network not isolated",
            "pid_namespace": "stray processes may survive (no PID namespace)",
            "mount_namespace": "shared /tmp and file system view (no mount namespace)",
            "rlimits": "no resource limits",
        }
        return [text for key, text in names.items() if not getattr(self, key)]

    def to_dict(self) -> dict[str, object]:
        """Plain data for the wire and the scorecard."""
        data = asdict(self)
        data["notes"] = list(self.notes)
        data["level"] = self.level
        data["missing"] = self.missing()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Isolation:
        """The inverse of `to_dict` (unknown keys ignored)."""
        kwargs = {k: bool(data.get(k)) for k in ("network_namespace", "pid_namespace", "mount_namespace", "separate_user", "rlimits")}
        notes = data.get("notes") or ()
        return cls(**kwargs, notes=tuple(str(n) for n in notes) if isinstance(notes, (list, tuple)) else ())


def enter_worker_namespaces() -> tuple[Isolation, bool]:
    """Called once by the warm worker: leave the network; as non-root, become root of a user namespace.

    Returns what holds so far and whether children may create PID and mount namespaces.
    """
    notes: list[str] = []
    if os.geteuid() == 0:
        try:
            unshare(CLONE_NEWNET)
            return Isolation(network_namespace=True), True
        except OSError as exc:
            return Isolation(notes=(f"network namespace: {exc.strerror}",)), True
    uid, gid = os.geteuid(), os.getegid()
    try:
        unshare(CLONE_NEWUSER | CLONE_NEWNET)
    except OSError as exc:
        notes.append(f"user namespace: {exc.strerror}")
        return Isolation(notes=tuple(notes)), False
    try:
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"0 {uid} 1")
        Path("/proc/self/gid_map").write_text(f"0 {gid} 1")
    except OSError as exc:
        notes.append(f"user namespace map: {exc.strerror}")
    return Isolation(network_namespace=True, notes=tuple(notes)), True


def enter_job_namespaces(base: Isolation, allowed: bool) -> Isolation:
    """Called by the per-submission supervisor before it forks the child: new PID and mount namespaces."""
    if not allowed:
        return base
    try:
        unshare(CLONE_NEWPID | CLONE_NEWNS)
        return replace(base, pid_namespace=True, mount_namespace=True)
    except OSError as exc:
        return replace(base, notes=base.notes + (f"PID/mount namespace: {exc.strerror}",))


def _is_under(path: str, parent: str) -> bool:
    path, parent = os.path.realpath(path), os.path.realpath(parent)
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def needed_paths() -> list[str]:
    """Directories the child must keep seeing: the interpreter, its libraries and the grader itself."""
    paths = {sys.prefix, sys.base_prefix, os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
    paths.update(p for p in sys.path if p and os.path.isdir(p))
    # The worker runs in "/", which `python -m` puts on sys.path; "/" itself is not a need.
    return sorted({os.path.realpath(p) for p in paths} - {"/"})


def _closed_ancestor(path: str) -> str | None:
    """The outermost directory on the way to `path` that other users cannot enter (e.g. /root)."""
    current = "/"
    for part in Path(path).parts[1:]:
        current = os.path.join(current, part)
        try:
            if not os.stat(current).st_mode & stat.S_IXOTH:
                return current
        except OSError:
            return None
    return None


def _outermost(paths: list[str]) -> list[str]:
    kept: list[str] = []
    for path in sorted(paths):
        if not any(_is_under(path, k) for k in kept):
            kept.append(path)
    return kept


def expose_to_other_users(keep: list[str]) -> None:
    """Make directories the child needs reachable after it drops to another user.

    An interpreter installed under /root (mode 700) would be unreadable to `nobody`. In the
    child's own mount namespace, the closed directory is covered by an open empty tmpfs and each
    needed directory is bind-mounted back at its own path; nothing else of it is visible.
    """
    by_ancestor: dict[str, list[str]] = {}
    for path in _outermost(keep):
        ancestor = _closed_ancestor(path)
        if ancestor is not None:
            by_ancestor.setdefault(ancestor, []).append(path)
    for ancestor, paths in sorted(by_ancestor.items()):
        # Handles on the real directories, taken before the tmpfs hides them.
        handles = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path in paths]
        mount("tmpfs", ancestor, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
        for path, handle in handles:
            os.makedirs(path, mode=0o755, exist_ok=True)
            mount(f"/proc/self/fd/{handle}", path, None, MS_BIND | MS_REC)
            os.close(handle)


def set_up_file_system(isolation: Isolation, hide: list[str], keep: list[str]) -> tuple[Isolation, str]:
    """In the child, as root of its mount namespace: private /tmp and /proc, grader paths hidden.

    Returns what holds and the fresh, empty working directory to run in.
    """
    notes = list(isolation.notes)
    if isolation.mount_namespace:
        try:
            mount("none", "/", None, MS_REC | MS_PRIVATE)
            # A /proc of the new PID namespace: the grader's processes are not listed in it.
            mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV)
            for tmp in TMP_DIRS:
                if os.path.isdir(tmp) and not any(_is_under(k, tmp) for k in keep):
                    mount("tmpfs", tmp, "tmpfs", MS_NOSUID | MS_NODEV, "size=256m,mode=1777")
            for path in hide:
                if not os.path.exists(path) or any(_is_under(k, path) for k in keep):
                    continue
                if os.path.isdir(path):
                    mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=0555")
                else:
                    mount("/dev/null", path, None, MS_BIND)
            if os.geteuid() == 0:
                expose_to_other_users(keep)
        except OSError as exc:
            notes.append(str(exc))
            isolation = replace(isolation, mount_namespace=False)
    import tempfile

    workdir = tempfile.mkdtemp(prefix="submission-")
    return replace(isolation, notes=tuple(notes)), workdir


def drop_privileges(isolation: Isolation, workdir: str) -> Isolation:
    """As real root only: hand the working directory to `nobody` and become `nobody`."""
    if os.geteuid() != 0 or not isolation.mount_namespace:
        return isolation
    try:
        os.chown(workdir, NOBODY, NOBODY)
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        return replace(isolation, separate_user=True)
    except OSError as exc:
        return replace(isolation, notes=isolation.notes + (f"separate user: {exc.strerror}",))


@dataclass(frozen=True)
class Limits:
    """Resource limits of one child."""

    memory_mb: int = 2048
    """Address space the child may add to what the warm worker already maps (torch included)."""
    cpu_seconds: int = 120
    """CPU time for the whole child."""
    file_mb: int = 64
    """Largest file the child may write."""
    open_files: int = 256
    """Open file descriptors."""
    processes: int = 64
    """Processes and threads of the child's user (only when it runs as its own user)."""


def _mapped_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


def apply_limits(isolation: Isolation, limits: Limits) -> Isolation:
    """Set the child's resource limits; processes only when it has a user of its own (root ignores it)."""
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb << 20, limits.file_mb << 20))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
        address_space = _mapped_bytes() + (limits.memory_mb << 20)
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
        if isolation.separate_user:
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        return replace(isolation, rlimits=True)
    except (OSError, ValueError) as exc:
        return replace(isolation, notes=isolation.notes + (f"limits: {exc}",))


def die_with_parent() -> None:
    """Have the kernel kill this process when its parent (the supervisor) dies."""
    import signal

    try:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass
