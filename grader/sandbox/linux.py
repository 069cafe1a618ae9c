"""Linux-only isolation: namespaces, mounts, a user of the job's own, capabilities, prctl and /proc.

Imported and called only where `grader.sandbox.platform.current()` says the platform is Linux;
the C library is loaded on first use, never at import time.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import stat
import sys
import tempfile
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from grader.sandbox.isolation import Isolation, Limits

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_SECUREBITS = 28
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
SYS_MOUNT_SETATTR = 442  # the same number on every architecture (added after the syscall tables were unified)
SYS_CAPSET = {"x86_64": 126, "aarch64": 91}.get(os.uname().machine)
AT_FDCWD = -100
AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
# Root loses its special treatment for good: no capabilities from uid 0, on exec or on setuid
# (SECURE_NOROOT, SECURE_NO_SETUID_FIXUP, each locked, and KEEP_CAPS locked off).
SECURE_NOROOT_LOCKED = 0x2F

NOBODY = 65534
JOB_UID_BASE = 2_000_000_000
"""Jobs run as uid (and gid) JOB_UID_BASE + the supervisor's PID: a user of their own, unique among
live jobs, so that the process limit of one submission is not shared with another running beside it."""
TMP_DIRS = {"/tmp": "64m", "/var/tmp": "16m", "/dev/shm": "16m"}
"""Private, writable directories of the child and their sizes: their pages are memory that
RLIMIT_AS does not count, so they are kept small (RLIMIT_FSIZE caps each file besides)."""
TMP_INODES = 4096


@lru_cache(maxsize=1)
def _libc() -> Any:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def unshare(flags: int) -> None:
    """unshare(2): move this process (or, for PID namespaces, its next children) into new namespaces."""
    _check(_libc().unshare(ctypes.c_int(flags)), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    """mount(2)."""
    _check(
        _libc().mount(source.encode() if source else None, target.encode(), fstype.encode() if fstype else None,
                      ctypes.c_ulong(flags), data.encode() if data else None),
        f"mount {target}",
    )


def prctl(option: int, value: int) -> None:
    """prctl(2) with one integer argument."""
    _check(_libc().prctl(ctypes.c_int(option), ctypes.c_ulong(value), ctypes.c_ulong(0),
                         ctypes.c_ulong(0), ctypes.c_ulong(0)), "prctl")


def make_undumpable() -> bool:
    """Forbid other processes of this user to read this process's memory (/proc/PID/mem, ptrace)."""
    try:
        prctl(PR_SET_DUMPABLE, 0)
        return True
    except OSError:
        return False


def _write_maps(uid: int, gid: int) -> None:
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"0 {uid} 1")
    Path("/proc/self/gid_map").write_text(f"0 {gid} 1")


def _user_namespace_works() -> str | None:
    """Try, in a throwaway child, what the warm worker is about to do; None when it works, else why not.

    A process cannot leave a user namespace it entered: where unprivileged namespaces are
    allowed but crippled (AppArmor on recent Ubuntu lets `unshare` succeed and then refuses the
    uid map), entering one for real would leave the worker with an unmapped uid in which every
    file creation fails. So the attempt is made in a child first.
    """
    uid, gid = os.geteuid(), os.getegid()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        problem = ""
        try:
            unshare(CLONE_NEWUSER | CLONE_NEWNET)
            _write_maps(uid, gid)
            unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET)
            mount("none", "/", None, MS_REC | MS_PRIVATE)
            mount("tmpfs", tempfile.gettempdir(), "tmpfs", MS_NOSUID | MS_NODEV, "size=64k")
            probe = tempfile.mkdtemp()
            os.rmdir(probe)
        except OSError as exc:
            problem = exc.strerror or str(exc)
        finally:
            os.write(write, problem.encode()[:300])
            os._exit(0)
    os.close(write)
    answer = b""
    while chunk := os.read(read, 512):
        answer += chunk
    os.close(read)
    os.waitpid(pid, 0)
    return answer.decode("utf-8", "replace") or None


def enter_worker_namespaces(base: Isolation, mode: str = "auto") -> tuple[Isolation, bool]:
    """Called once by the warm worker: leave the network; as non-root, become root of a user namespace.

    Returns what holds so far and whether each job may create PID, mount and network namespaces.
    """
    if mode == "none":
        return base.with_note("namespaces turned off"), False
    if os.geteuid() == 0 and mode == "auto":
        try:
            unshare(CLONE_NEWNET)
            return replace(base, network_namespace=True), True
        except OSError as exc:
            return base.with_note(f"network namespace: {exc.strerror}"), True
    problem = _user_namespace_works()
    if problem is not None:
        return base.with_note(f"user namespace: {problem}"), False
    uid, gid = os.geteuid(), os.getegid()
    try:
        unshare(CLONE_NEWUSER | CLONE_NEWNET)
        _write_maps(uid, gid)
    except OSError as exc:  # the probe passed, so this is unexpected; say so rather than hide it
        return base.with_note(f"user namespace: {exc.strerror}"), False
    return replace(base, network_namespace=True), True


def enter_job_pid_namespace(base: Isolation, allowed: bool) -> Isolation:
    """Called by the per-submission supervisor before it forks the child: a new PID namespace, whose PID 1 the child is.

    Only the PID namespace: the supervisor keeps the grader's view of the file system, so that it
    can still clean up the job's cgroup after the child has made its own view read-only.
    """
    if not allowed:
        return base
    try:
        unshare(CLONE_NEWPID)
        return replace(base, pid_namespace=True)
    except OSError as exc:
        return base.with_note(f"PID namespace: {exc.strerror}")


def enter_child_namespaces(base: Isolation, allowed: bool) -> Isolation:
    """Called by the child itself, first thing: new mount, IPC and network namespaces of its own.

    A network namespace per job (not one shared by all children) keeps concurrent submissions from
    talking to each other, over abstract UNIX sockets for instance; IPC too, as System V segments
    and message queues would otherwise outlive the child.
    """
    if not allowed:
        return base
    try:
        unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET)
        return replace(base, mount_namespace=True, network_namespace=True)
    except OSError as exc:
        first = exc
    try:
        unshare(CLONE_NEWNS | CLONE_NEWIPC)
        return replace(base, mount_namespace=True).with_note(f"network namespace per job: {first.strerror}")
    except OSError as exc:
        return base.with_note(f"mount namespace: {exc.strerror}")


def _is_under(path: str, parent: str) -> bool:
    path, parent = os.path.realpath(path), os.path.realpath(parent)
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def needed_paths() -> list[str]:
    """Directories the child must keep seeing: the interpreter, its libraries and the grader itself."""
    paths = {sys.prefix, sys.base_prefix, os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
    paths.update(p for p in sys.path if p and os.path.isdir(p))
    # The worker runs in "/", which `python -m` puts on sys.path; "/" itself is not a need.
    return sorted({os.path.realpath(p) for p in paths} - {"/"})


def checkout_extras() -> list[str]:
    """When the grader runs from a source checkout: everything in it but the `grader` package.

    A checkout holds example solutions, tests and history that a submission must not read; an
    installed grader (site-packages) has none of that beside it.
    """
    package = Path(__file__).resolve().parents[1]
    root = package.parent
    if not (root / "pyproject.toml").is_file() or root.name in ("site-packages", "dist-packages"):
        return []
    return sorted(str(entry) for entry in root.iterdir() if entry != package and not entry.is_symlink())


def package_copies() -> list[str]:
    """The grader's package directory and every other directory named `grader` on the import path.

    An editable install (the README's) leaves a copy of the built-in exercises, reference answers
    and model solutions included, in site-packages/grader/_exercises, beside the package that is
    really imported; neither may be read by a submission (the child has imported what it needs).
    """
    package = Path(__file__).resolve().parents[1]
    found = {str(package)}
    for entry in sys.path:
        candidate = Path(entry) / "grader" if entry else None
        if candidate is not None and candidate.is_dir() and not candidate.is_symlink():
            found.add(str(candidate.resolve()))
    return sorted(found)


STANDINS = str(Path(__file__).resolve().parent / "standins")
"""The book's `d2l` helpers: the one part of the grader a submission loads from disk (when it imports d2l)."""


def hide_package_copies() -> None:
    """In the child's mount namespace: an empty read-only tmpfs over every copy of the grader's package,
    the `d2l` stand-ins bound back at their own path.

    Landlock leaves them out of the allow-list too, but not where they lie under the child's own
    writable /tmp (a checkout or virtual environment under /tmp), whose rule covers all below it.
    """
    standins = os.open(STANDINS, os.O_PATH | os.O_DIRECTORY)
    try:
        for copy in package_copies():
            inside = _is_under(STANDINS, copy)
            mount("tmpfs", copy, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755")
            if inside:
                os.makedirs(STANDINS, mode=0o755, exist_ok=True)
                mount(f"/proc/self/fd/{standins}", STANDINS, None, MS_BIND)
                mount(None, STANDINS, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
            mount(None, copy, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    finally:
        os.close(standins)


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

    An interpreter installed under /root (mode 700) would be unreadable to the job's user. In the
    child's own mount namespace, the closed directory is covered by an open empty tmpfs and each
    needed directory is bind-mounted back at its own path; nothing else of it is visible.
    """
    by_ancestor: dict[str, list[str]] = {}
    for path in _outermost(keep):
        ancestor = _closed_ancestor(path)
        if ancestor is not None:
            by_ancestor.setdefault(ancestor, []).append(path)
    for ancestor, paths in sorted(by_ancestor.items()):
        cover_keeping(ancestor, "size=1m,mode=0755", paths)


def cover_keeping(target: str, options: str, keep: list[str]) -> None:
    """Mount a fresh tmpfs over `target`, with the needed directories under it bound back at their own paths.

    So a private /tmp works even when the interpreter or the grader lives under /tmp (a CI
    checkout), and a closed /root shows only the interpreter.
    """
    inside = [p for p in _outermost(keep) if _is_under(p, target) and os.path.realpath(p) != os.path.realpath(target)]
    # Handles on the real directories, taken before the tmpfs hides them.
    handles = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path in inside]
    try:
        mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, options)
        for path, handle in handles:
            os.makedirs(path, mode=0o755, exist_ok=True)
            mount(f"/proc/self/fd/{handle}", path, None, MS_BIND | MS_REC)
    finally:
        for _, handle in handles:
            os.close(handle)


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def make_read_only() -> None:
    """Make every mount of this (private) mount namespace read-only and nosuid.

    One recursive mount_setattr(2) where the kernel has it (5.12+); otherwise each mount point is
    remounted read-only in turn, keeping the flags it has (a user namespace may not drop them).
    """
    attr = _MountAttr(attr_set=MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID)
    result = _libc().syscall(ctypes.c_long(SYS_MOUNT_SETATTR), ctypes.c_int(AT_FDCWD), ctypes.c_char_p(b"/"),
                             ctypes.c_uint(AT_RECURSIVE), ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)))
    if result == 0:
        return
    remount_each_read_only()


_STATVFS_TO_MOUNT = {os.ST_NOSUID: MS_NOSUID, os.ST_NODEV: MS_NODEV, os.ST_NOEXEC: MS_NOEXEC,
                     os.ST_NOATIME: MS_NOATIME, os.ST_NODIRATIME: MS_NODIRATIME, os.ST_RELATIME: MS_RELATIME}


def mount_points() -> list[str]:
    """Mount points of this mount namespace, parents before children (from /proc/self/mountinfo)."""
    points = []
    with open("/proc/self/mountinfo") as info:
        for line in info:
            # Field 5 is the mount point, with space, tab, newline and backslash escaped in octal.
            raw = line.split()[4]
            points.append(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), raw))
    return points


def remount_each_read_only() -> None:
    """The fallback of `make_read_only`: a read-only bind remount of every mount point.

    Goes on past a mount that refuses, so that the others are read-only still; then raises.
    """
    refused: OSError | None = None
    for point in mount_points():
        try:
            flags = os.statvfs(point).f_flag
        except OSError:
            continue  # hidden by a later mount on a parent; nothing there to reach
        kept = sum(bit for st, bit in _STATVFS_TO_MOUNT.items() if flags & st)
        try:
            mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | kept)
        except OSError as exc:
            refused = refused or exc
    if refused is not None:
        raise refused


def set_up_file_system(isolation: Isolation, hide: list[str], keep: list[str]) -> tuple[Isolation, str]:
    """In the child, as root of its mount namespace: read-only view, private /tmp and /proc, grader paths hidden.

    Returns what holds and the fresh, empty working directory to run in.
    """
    notes = list(isolation.notes)
    if isolation.mount_namespace:
        try:
            mount("none", "/", None, MS_REC | MS_PRIVATE)
        except OSError as exc:
            notes.append(str(exc))
            isolation = replace(isolation, mount_namespace=False)
    if isolation.mount_namespace:
        try:
            # Before the private mounts below, which stay writable: everything else is read-only.
            make_read_only()
            isolation = replace(isolation, read_only=True)
        except OSError as exc:
            notes.append(f"read-only: {exc}")
        try:
            # A /proc of the new PID namespace: the grader's processes are not listed in it.
            mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV)
            for tmp, size in TMP_DIRS.items():
                if os.path.isdir(tmp) and not any(os.path.realpath(k) == os.path.realpath(tmp) for k in keep):
                    cover_keeping(tmp, f"size={size},nr_inodes={TMP_INODES},mode=1777", keep)
            for path in hide:
                if not os.path.exists(path) or any(_is_under(k, path) for k in keep):
                    continue
                if os.path.isdir(path):
                    mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=0555")
                else:
                    mount("/dev/null", path, None, MS_BIND)
            hide_package_copies()
            if other_users_available():
                expose_to_other_users(keep)
        except OSError as exc:
            notes.append(str(exc))
            isolation = replace(isolation, mount_namespace=False)
    workdir = tempfile.mkdtemp(prefix="submission-")
    return replace(isolation, notes=tuple(notes)), workdir


def _uid_map() -> list[tuple[int, int, int]]:
    with open("/proc/self/uid_map") as uid_map:
        return [tuple(int(n) for n in line.split()) for line in uid_map if line.strip()]  # type: ignore[misc]


def is_real_root() -> bool:
    """True for root of the whole system, False for root of a user namespace or any other user."""
    try:
        return os.geteuid() == 0 and _uid_map() == [(0, 0, 4294967295)]
    except (OSError, ValueError):
        return False


def other_users_available() -> bool:
    """True for root with other user ids to become: not in the one-id user namespace of an unprivileged grader."""
    try:
        return os.geteuid() == 0 and sum(length for _, _, length in _uid_map()) > 1
    except (OSError, ValueError):
        return False


def job_uid(supervisor_pid: int) -> int:
    """The user (and group) id a job runs as."""
    return JOB_UID_BASE + supervisor_pid


def drop_privileges(isolation: Isolation, workdir: str, uid: int, keep: list[str]) -> Isolation:
    """As root with other users to become: hand the working directory to the job's own user and become it.

    Where that id does not exist (a container's user namespace maps fewer ids), `nobody` stands in.
    Without a mount namespace this works only when every directory the child needs is open to
    other users (an interpreter under /root is not).
    """
    if not other_users_available():
        return isolation
    if not isolation.mount_namespace:
        closed = sorted({a for a in map(_closed_ancestor, _outermost(keep)) if a is not None})
        if closed:
            return isolation.with_note(f"separate user: {', '.join(closed)} is closed to other users")
    problem = None
    for candidate in (uid, NOBODY):
        try:
            os.chown(workdir, candidate, candidate)
            os.setgroups([])
            os.setgid(candidate)
            os.setuid(candidate)
            return replace(isolation, separate_user=True)
        except OSError as exc:
            problem = exc
    return isolation.with_note(f"separate user: {problem.strerror if problem else '?'}")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_capabilities(isolation: Isolation) -> Isolation:
    """For a child that is still uid 0 (of the system or of a user namespace): give up every capability.

    Otherwise it could unmount what hides the grader's files, remount the file system writable or,
    as real root, ignore file permissions and the process limit.
    """
    if os.geteuid() != 0:
        return isolation
    try:
        prctl(PR_SET_SECUREBITS, SECURE_NOROOT_LOCKED)
        last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
        for cap in range(last + 1):
            prctl(PR_CAPBSET_DROP, cap)
        if SYS_CAPSET is None:
            raise OSError(0, f"capset: unknown on {os.uname().machine}")
        header = _CapHeader(version=0x20080522, pid=0)  # _LINUX_CAPABILITY_VERSION_3: two data words
        data = (_CapData * 2)()
        _check(_libc().syscall(ctypes.c_long(SYS_CAPSET), ctypes.byref(header), ctypes.byref(data)), "capset")
        return isolation
    except OSError as exc:
        return isolation.with_note(f"capabilities: {exc.strerror or exc}")


def no_new_privileges() -> None:
    """Forbid the child and its descendants to gain privileges (setuid programs, file capabilities)."""
    try:
        prctl(PR_SET_NO_NEW_PRIVS, 1)
    except OSError:
        pass


def mapped_bytes() -> int:
    """Bytes of address space this process maps now (RLIMIT_AS is set above it)."""
    import resource

    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


def _threads_of_user(uid: int) -> int:
    """Processes and threads of `uid` that this process can see (the kernel's count for RLIMIT_NPROC)."""
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                count += int(fields["Threads"])
        except (OSError, KeyError, ValueError):
            continue
    return count


def process_limit(isolation: Isolation, limits: Limits) -> int | None:
    """RLIMIT_NPROC for the child, or None where it cannot be set meaningfully."""
    if isolation.separate_user:
        return limits.processes  # a user of its own: every process of that user is the child's
    if not isolation.pid_namespace and not is_real_root():
        # Counted over the grader's whole user, so allow what runs now plus the child's share.
        return _threads_of_user(os.getuid()) + limits.processes
    if isolation.pid_namespace and not is_real_root():
        # In a user namespace the kernel counts the grader's whole user (every job of this grader
        # and the user's other processes), which cannot be read from inside; a generous cap still
        # stops a fork storm long before the machine is exhausted.
        return _threads_of_user(os.getuid()) + limits.processes * 8
    return None  # real root is exempt from the limit; the job's PID namespace ends everything anyway


def become_subreaper() -> None:
    """Have orphaned descendants reparented to this process, so that `kill_descendants` finds them."""
    try:
        prctl(PR_SET_CHILD_SUBREAPER, 1)
    except OSError:
        pass


def _children_of(pid: int) -> list[int]:
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat_file:
                fields = stat_file.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                children.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return children


def kill_descendants(rounds: int = 200) -> None:
    """As a subreaper: kill and reap every process below this one, `setsid` escapes included.

    Each killed process's own children are reparented here, so a few rounds reach the whole tree
    even while it forks. Without a PID namespace this is what ends what a submission left running.
    """
    import signal

    for _ in range(rounds):
        children = _children_of(os.getpid())
        if not children:
            return
        for child in children:
            try:
                os.kill(child, signal.SIGKILL)
            except OSError:
                pass
        for child in children:
            try:
                os.waitpid(child, 0)
            except ChildProcessError:
                pass


def die_with_parent() -> None:
    """Have the kernel kill this process when its parent (the supervisor) dies."""
    import signal

    try:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


def open_fds() -> list[int]:
    """File descriptors open in this process."""
    try:
        return [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return list(range(3, 1024))


# -- Landlock: an allow-list of files, and no TCP, abstract sockets or signals outside the job -----
SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
FS_ALL_ABI1 = (1 << 13) - 1
FS_REFER, FS_TRUNCATE, FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1, 2
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1, 2
READ_ACCESS = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
SYSTEM_READ = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/opt/conda", "/sys/devices/system/cpu")
"""System directories a child reads (libraries, fonts, time zones, CPU topology)."""
ETC_READ = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group", "nsswitch.conf", "fonts",
            "matplotlibrc", "mime.types", "os-release")
"""The minimal /etc: what the C library, Python and matplotlib look at."""
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
PROC_READ = ("/proc/self", "/proc/thread-self", "/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/proc/sys/kernel",
             "/proc/sys/vm/overcommit_memory")


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> int:
    """The Landlock ABI version the kernel offers (0: none)."""
    version = _libc().syscall(ctypes.c_long(SYS_LANDLOCK_CREATE_RULESET), None, ctypes.c_size_t(0),
                              ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION))
    return max(0, int(version))


def _under(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def _cover(root: Path, excluded: list[Path]) -> list[Path]:
    """Paths that together reach everything under `root` except the excluded paths (Landlock only allows)."""
    inside = [e for e in excluded if _under(e, root)]
    if not inside:
        return [root]
    if any(e == root for e in inside) or not root.is_dir() or root.is_symlink():
        return []
    covered: list[Path] = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return []
    for entry in entries:
        covered.extend(_cover(entry, inside))
    return covered


def readable_paths(hidden: list[str] = ()) -> list[str]:  # type: ignore[assignment]
    """What the child may read: the interpreter and its libraries; of the grader only the book's stand-ins.

    The child's own grader code (runner, recorder) is imported before the allow-list is set, so
    none of the grader's files need be readable: not its exercises (`grader/_exercises` in a
    wheel), not its recorder's source, not a checkout's tests or history. The `hidden` paths
    (exercise directories, other submissions, report files) stay out of reach too. Of /proc only
    what a process reads about itself (a job with a /proc of its own may be given all of it).
    """
    package = Path(__file__).resolve().parents[1]
    checkout = package.parent if (package.parent / "pyproject.toml").is_file() else None
    excluded = [*(Path(c) for c in package_copies()), *(Path(os.path.realpath(h)) for h in hidden)]
    if checkout is not None:
        excluded += [entry for entry in checkout.iterdir() if entry != package]
    roots = {Path(os.path.realpath(r)) for r in (sys.prefix, sys.base_prefix, *sys.path) if r}
    found: set[str] = set()
    for root in roots:
        if root == Path("/") or not root.exists():
            continue
        found.update(str(p) for p in _cover(root, excluded))
    found.update(p for p in SYSTEM_READ if os.path.exists(p))
    found.update(os.path.join("/etc", name) for name in ETC_READ if os.path.exists(os.path.join("/etc", name)))
    found.update(p for p in PROC_READ if os.path.exists(p))
    found.add(STANDINS)  # loaded from disk only when a submission imports d2l
    return sorted(found)


def _handled_fs(abi: int) -> int:
    handled = FS_ALL_ABI1
    if abi >= 2:
        handled |= FS_REFER
    if abi >= 3:
        handled |= FS_TRUNCATE
    if abi >= 5:
        handled |= FS_IOCTL_DEV
    return handled


def restrict(read: list[str], write: list[str]) -> tuple[bool, str | None]:
    """Confine this process and its descendants with Landlock; (whether it holds, why not).

    Files: only `read` (read and execute) and `write` (everything) are reachable, whatever the
    permissions say. Where the kernel has them, also no TCP connect or bind, no abstract UNIX
    socket outside the job and no signal to a process outside it.
    """
    try:
        abi = landlock_abi()
    except (OSError, AttributeError):
        abi = 0
    if abi < 1:
        return False, "Landlock: not offered by this kernel"
    handled = _handled_fs(abi)
    attr = _RulesetAttr(handled_access_fs=handled,
                        handled_access_net=(NET_BIND_TCP | NET_CONNECT_TCP) if abi >= 4 else 0,
                        scoped=(SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if abi >= 6 else 0)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else (16 if abi >= 4 else 8)
    libc = _libc()
    ruleset = libc.syscall(ctypes.c_long(SYS_LANDLOCK_CREATE_RULESET), ctypes.byref(attr), ctypes.c_size_t(size),
                           ctypes.c_uint32(0))
    if ruleset < 0:
        return False, f"Landlock: {os.strerror(ctypes.get_errno())}"
    try:
        rules = [(path, READ_ACCESS | (FS_IOCTL_DEV if abi >= 5 else 0)) for path in read]
        rules += [(path, handled) for path in write]
        rules += [(device, READ_ACCESS | FS_WRITE_FILE | (FS_TRUNCATE if abi >= 3 else 0) | (FS_IOCTL_DEV if abi >= 5 else 0))
                  for device in DEVICES if os.path.exists(device)]
        for path, access in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # gone or hidden: nothing to allow
            try:
                if not os.path.isdir(path):
                    access &= FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
                rule = _PathBeneathAttr(allowed_access=access & handled, parent_fd=fd)
                if libc.syscall(ctypes.c_long(SYS_LANDLOCK_ADD_RULE), ctypes.c_int(ruleset),
                                ctypes.c_int(LANDLOCK_RULE_PATH_BENEATH), ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
                    return False, f"Landlock rule for {path}: {os.strerror(ctypes.get_errno())}"
            finally:
                os.close(fd)
        no_new_privileges()
        if libc.syscall(ctypes.c_long(SYS_LANDLOCK_RESTRICT_SELF), ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            return False, f"Landlock: {os.strerror(ctypes.get_errno())}"
    finally:
        os.close(ruleset)
    return True, None
