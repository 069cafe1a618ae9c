"""What isolates a child, as a record the scorecard reports; resource limits and sessions where the platform has them.

Each step is tried and its success recorded, so that the grader can say how well a submission
was isolated instead of silently running it with less protection than expected. Nothing here
touches an operating-system call at import time: Linux-only steps live in `grader.sandbox.linux`,
and `grader.sandbox.platform` says which steps exist.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace
from typing import Literal

from grader.sandbox.platform import Platform, current


@dataclass(frozen=True)
class Isolation:
    """Which protections were in force for a child; the scorecard reports it."""

    network_namespace: bool = False
    """No network: the child sits in an empty network namespace of its own."""
    pid_namespace: bool = False
    """The child is PID 1 of its own PID namespace, so killing it kills every process it started."""
    mount_namespace: bool = False
    """Private /tmp, /proc and hidden grader paths through a mount namespace."""
    separate_user: bool = False
    """The child runs as an unprivileged user of its own, not as the grader's user."""
    rlimits: bool = False
    """CPU, memory, file-size, open-file and core-dump limits are set."""
    read_only: bool = False
    """Every file system the child sees is read-only, except its own private temporary directories."""
    session: bool = False
    """The child leads a session and process group of its own: it can signal nothing outside them."""
    file_allow_list: bool = False
    """Landlock: the child reaches only the interpreter, its libraries, the grader's code and its own directory."""
    job_cgroup: bool = False
    """A cgroup of the job's own: memory (shared memory included), processes and CPU share count the whole job."""
    platform: str = "linux"
    """The platform whose path was taken (`linux`, `macos`, `windows`)."""
    start: str = "fork"
    """How the child started: `fork` (from the warm worker) or `spawn` (a fresh interpreter)."""
    forced: bool = False
    """The platform's path was forced on another system (tests of the fallbacks)."""
    notes: tuple[str, ...] = field(default_factory=tuple)
    """Why a protection is missing, where known."""

    @property
    def level(self) -> str:
        """`namespaces` when every namespace holds, `partial` when some do, else `rlimits-only`, else `process`."""
        spaces = (self.network_namespace, self.pid_namespace, self.mount_namespace)
        if all(spaces):
            return "namespaces"
        if any(spaces):
            return "partial"
        return "rlimits-only" if self.rlimits else "process"

    PROTECTIONS = ("network_namespace", "pid_namespace", "mount_namespace", "read_only", "file_allow_list", "rlimits",
                   "job_cgroup", "session")
    """The protections whose absence the scorecard reports (reporters word them)."""

    def missing(self) -> list[str]:
        """The names of the protections that are not in force (see PROTECTIONS)."""
        return [name for name in self.PROTECTIONS if not getattr(self, name)]

    def with_note(self, note: str) -> Isolation:
        """This record with one more note on what could not be set up."""
        return replace(self, notes=self.notes + (note,))

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
        flags = ("network_namespace", "pid_namespace", "mount_namespace", "separate_user", "rlimits", "read_only",
                 "session", "file_allow_list", "job_cgroup", "forced")
        kwargs: dict[str, object] = {k: bool(data.get(k)) for k in flags}
        for name in ("platform", "start"):
            if isinstance(data.get(name), str):
                kwargs[name] = str(data[name])[:20]
        notes = data.get("notes") or ()
        kwargs["notes"] = tuple(str(n)[:300] for n in notes[:20]) if isinstance(notes, (list, tuple)) else ()
        return cls(**kwargs)  # type: ignore[arg-type]

    @classmethod
    def for_platform(cls, platform: Platform, notes: tuple[str, ...] = ()) -> Isolation:
        """The starting record of a child on this platform: nothing in force yet."""
        return cls(platform=platform.name, start=platform.start_method, forced=platform.forced, notes=notes)


NAMESPACE_MODES = ("auto", "user", "none")
"""How the warm worker isolates children on Linux: `auto` (as root: namespaces and a user of each
job's own; otherwise inside a user namespace), `user` (a user namespace even as root: the layout
of an unprivileged grader) or `none` (resource limits only, as where namespaces are forbidden)."""

WarmUp = Literal["first", "soon", "never"]
WARM_UP_MODES: tuple[WarmUp, ...] = ("first", "soon", "never")
"""When the warm worker initialises what every child would on first use (torch.func, sympy, fonts):
`first`, before it reports ready (a service: no submission waits for it); `soon`, once the first
child is on its way (a batch: the first child does not wait for it); `never` (a single submission:
CPU spent for children that never come)."""


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
    """Processes and threads the child may add (not enforceable for a child that stays real root)."""
    observations_mb: int = 64
    """Bytes of observations the grader accepts from one submission, all its calls together."""

    def to_dict(self) -> dict[str, int]:
        """Plain data for the wire."""
        return asdict(self)


def own_session(isolation: Isolation) -> Isolation:
    """Make the child lead a session and process group of its own, where the platform has sessions.

    Then `kill(0, ...)` reaches only what the child started, not the warm worker or its neighbours,
    and the whole group can be killed at once.
    """
    if not current().sessions:
        return isolation.with_note("session: not on this platform")
    try:
        os.setsid()
    except OSError as exc:
        if os.getpid() != os.getsid(0):
            return isolation.with_note(f"session: {exc.strerror}")
    return replace(isolation, session=True)


def apply_limits(isolation: Isolation, limits: Limits, processes: int | None, address_base: int | None) -> Isolation:
    """Set the child's resource limits where the platform has them.

    `processes` is the RLIMIT_NPROC to set and `address_base` the address space already mapped,
    to which `limits.memory_mb` is added (None: that limit is not meaningful here). Every limit is
    tried on its own, so one the system refuses does not cost the others.
    """
    if not current().rlimits:
        return isolation.with_note("resource limits: not on this platform")
    import resource

    wanted = [
        ("core", resource.RLIMIT_CORE, 0, 0),
        ("file size", resource.RLIMIT_FSIZE, limits.file_mb << 20, limits.file_mb << 20),
        ("open files", resource.RLIMIT_NOFILE, limits.open_files, limits.open_files),
        ("CPU", resource.RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 5),
    ]
    if address_base is not None:
        space = address_base + (limits.memory_mb << 20)
        wanted.append(("address space", resource.RLIMIT_AS, space, space))
    if processes is not None:
        wanted.append(("processes", resource.RLIMIT_NPROC, processes, processes))
    refused = []
    for name, which, soft, hard in wanted:
        try:
            _, current_hard = resource.getrlimit(which)
            if current_hard != resource.RLIM_INFINITY:
                soft, hard = min(soft, current_hard), min(hard, current_hard)
            resource.setrlimit(which, (soft, hard))
        except (OSError, ValueError) as exc:
            refused.append(f"{name}: {exc}")
    isolation = replace(isolation, rlimits=not refused or len(refused) < len(wanted))
    return isolation.with_note("limits refused: " + "; ".join(refused)) if refused else isolation


def kill_group(leader: int) -> None:
    """Kill the process group a child leads (everything it started that stayed in it)."""
    import signal

    try:
        os.killpg(leader, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def protect_this_process() -> None:
    """Forbid processes of this user (a submission's, among them) to read this process's memory, where Linux allows."""
    if current().namespaces:
        from grader.sandbox import linux

        linux.make_undumpable()
