"""Which operating system the grader runs on, and what it offers to isolate a submission: decided here only.

Every other module asks `current()` instead of looking at `sys.platform` or trying a Linux call,
so that what macOS and Windows lack is never touched there:

| platform | how children start | isolation available |
| --- | --- | --- |
| linux | forked from a warm worker | namespaces (PID, mount, network, IPC; a user namespace without root), rlimits, a session, prctl |
| macos | forked from a warm worker | rlimits, a session and process group of its own |
| windows | a fresh interpreter per child (no fork) | a child process of its own, killed at its deadline |

`GRADER_PLATFORM=macos` or `=windows` (or `Sandbox(platform=...)`) makes a Linux machine take
the path of that platform, so that the fallbacks are tested where the suite runs. Forcing also
hides, in this process and in the children it starts, the calls that platform lacks (`os.fork`,
`os.setsid`, `resource`, ...), so that code which would touch one fails loudly instead of working
by accident.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from functools import lru_cache

ENV_VAR = "GRADER_PLATFORM"
"""Environment variable that forces a platform's path: `linux`, `macos` or `windows`."""
NAMES = ("linux", "macos", "windows")


@dataclass(frozen=True)
class Platform:
    """What the operating system offers the sandbox."""

    name: str
    """`linux`, `macos` or `windows`."""
    fork: bool
    """Children are forked from a warm worker that imported torch once; otherwise each is a fresh interpreter."""
    namespaces: bool
    """Linux namespaces, mounts and prctl(2) can be tried."""
    rlimits: bool
    """setrlimit(2) exists (the `resource` module)."""
    sessions: bool
    """A child can get a session and process group of its own, and the group can be killed."""
    proc: bool
    """/proc describes processes (open files, children, memory maps)."""
    forced: bool = False
    """This is another platform's path, taken on purpose on this machine."""

    @property
    def start_method(self) -> str:
        """How children start: `fork` (from the warm worker) or `spawn` (a fresh interpreter)."""
        return "fork" if self.fork else "spawn"


_PROFILES = {
    "linux": Platform("linux", fork=True, namespaces=True, rlimits=True, sessions=True, proc=True),
    "macos": Platform("macos", fork=True, namespaces=False, rlimits=True, sessions=True, proc=False),
    "windows": Platform("windows", fork=False, namespaces=False, rlimits=False, sessions=False, proc=False),
}

# What each platform lacks that Linux has, hidden when its path is forced on Linux. Only what the
# grader itself might call: numpy and torch look at sys.platform and use os.uname and os.getuid
# on Linux, so those stay (our code reaches them only on the fork path).
_MISSING = {
    "macos": {"os": ("pidfd_open", "waitid", "unshare", "setns"), "modules": ()},
    "windows": {
        "os": ("fork", "forkpty", "setsid", "setpgid", "killpg", "wait4", "waitid", "pidfd_open", "setuid",
               "setgid", "setgroups", "unshare", "setns"),
        "socket": ("send_fds", "recv_fds"),
        "modules": ("resource", "fcntl", "termios"),
    },
}


def native_name() -> str:
    """The platform this interpreter really runs on."""
    if sys.platform.startswith("linux"):
        return "linux"
    if sys.platform == "darwin":
        return "macos"
    if sys.platform in ("win32", "cygwin"):
        return "windows"
    return "macos"  # another POSIX system: fork and rlimits, nothing Linux-only


def profile(name: str) -> Platform:
    """The capabilities of a platform by name; `ValueError` for an unknown one."""
    if name not in _PROFILES:
        raise ValueError(f"unknown platform {name!r}; choose from: {', '.join(NAMES)}")
    return replace(_PROFILES[name], forced=name != native_name())


@lru_cache(maxsize=1)
def current() -> Platform:
    """The platform in force: the native one, or the one `GRADER_PLATFORM` names."""
    forced = os.environ.get(ENV_VAR, "").strip().lower()
    return profile(forced or native_name())


def emulate(name: str) -> None:
    """Hide from this process what platform `name` lacks (only for a forced path on Linux)."""
    missing = _MISSING.get(name)
    if missing is None or native_name() != "linux":
        return
    import socket

    for module, attributes in (("os", missing.get("os", ())), ("socket", missing.get("socket", ()))):
        target = os if module == "os" else socket
        for attribute in attributes:
            if hasattr(target, attribute):
                delattr(target, attribute)
    for module_name in missing.get("modules", ()):
        sys.modules[module_name] = None  # type: ignore[assignment]  # `import` of it now raises ImportError


def emulate_from_environment() -> None:
    """Apply `emulate` when `GRADER_PLATFORM` forces another platform's path on this machine.

    An unknown name is left for the command to report (`current()` raises there).
    """
    try:
        chosen = current()
    except ValueError:
        current.cache_clear()
        return
    if chosen.forced:
        emulate(chosen.name)


def check_environment() -> str | None:
    """Why `GRADER_PLATFORM` cannot be used, or None when it is unset or names a platform."""
    try:
        current()
    except ValueError as exc:
        current.cache_clear()
        return f"{exc} (set in {ENV_VAR})"
    return None
