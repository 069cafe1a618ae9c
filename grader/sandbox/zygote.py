"""The warm worker (Linux and macOS): imports torch, numpy and matplotlib once, then forks one isolated child per job.

Started by the grader as `python -m grader.sandbox.zygote FD [MODE]` with a clean environment. It
never sees a reference answer or a submission: it only forks. Per job it forks a small trusted
supervisor, which (on Linux) enters fresh PID, mount, IPC and network namespaces and forks the
child that will run the student's code as PID 1 of those namespaces, so that when the child
ends, every process it started ends too. The supervisor reports the child's start and end to
the grader on a private socket and kills it when the grader asks (timeouts) or goes away.

What does not depend on the job (both forks, the namespaces, the job's cgroup) is done ahead:
when idle, the warm worker forks the next supervisor, whose child waits in its namespaces for
its job (the paths to hide and its channels). A job then starts with what depends on it: its
file system, its user and its allow-list.

    grader --ctrl--> zygote --fork--> supervisor --fork--> child (student code)
      ^  <------------------ job socket ---------------------'  (started / ended / kill)
      ^  <--------------- commands, observations, output pipes ---------------------'

Windows has no fork: there `grader.sandbox.spawned` starts each child as a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from grader.sandbox import cgroups
from grader.sandbox.control import receive_message, send_message
from grader.sandbox.isolation import WARM_UP_MODES, Isolation, Limits, apply_limits, kill_group, own_session
from grader.sandbox.platform import Platform, current


def preload() -> None:
    """Import what submissions use, so that each child starts warm."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import numpy  # noqa: F401
    import torch

    # One thread per child: children run side by side, and a forked OpenMP pool is unsafe.
    torch.set_num_threads(1)
    import torch.autograd.functional  # noqa: F401
    import torch.func  # noqa: F401
    import torch.overrides

    # The recorder names every op it sees through this table, which torch builds on first use:
    # 20 to 30 ms that every child would otherwise spend again.
    torch.overrides.resolve_name(torch.sin)

    import grader.sandbox.runner  # noqa: F401


def _warm_up() -> None:
    """Run once what every child would otherwise initialise on first use, at a cost per child.

    torch.func's first transform sets itself up for about a second, and so does forward mode's
    first jvp; the first differentiation with an explicit gradient (`y.backward(v)`,
    `grad_outputs=v`) imports torch's symbolic shapes and sympy, one to two seconds, which under
    load was enough for a correct answer to overrun its call timeout. Autograd, function modes and
    matplotlib's first drawing (fonts) add tens of milliseconds each. All of it runs single-threaded
    (set above), so no thread pool exists to be broken by the forks that follow.
    """
    import matplotlib.figure
    import torch
    from torch.overrides import TorchFunctionMode

    class PassThrough(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
            return func(*args, **(kwargs or {}))

    x = torch.linspace(-1.0, 1.0, 8, dtype=torch.float64, requires_grad=True)
    with PassThrough():
        (first,) = torch.autograd.grad((torch.sin(x) * x).sum(), x, create_graph=True)
    first.backward(torch.ones_like(first))
    torch.func.vmap(torch.func.grad(torch.func.grad(torch.sin)))(x.detach())
    torch.func.jvp(torch.sin, (x.detach(),), (torch.ones_like(x),))
    figure = matplotlib.figure.Figure(figsize=(2, 2))
    axes = figure.subplots()
    axes.plot([0.0, 1.0], [0.0, 1.0], label="warm-up")
    axes.set_title("warm-up")
    axes.legend()
    figure.canvas.draw()


class _Worker:
    """What the warm worker knows about its platform, fixed once before it serves."""

    def __init__(self, platform: Platform, mode: str) -> None:
        self.platform = platform
        base = Isolation.for_platform(platform)
        self.keep: list[str] = []
        self.hidden: list[str] = []
        self.readable: list[str] = []
        self.namespaces_allowed = False
        if platform.namespaces:
            from grader.sandbox import linux

            # Namespaces first, then non-dumpable: a non-dumpable process may not write its own
            # uid map, and without the map every file the child creates fails (EOVERFLOW).
            base, self.namespaces_allowed = linux.enter_worker_namespaces(base, mode)
            # Supervisors and children inherit this: a child running as our user cannot ptrace them.
            linux.make_undumpable()
            self.keep = linux.needed_paths()
            self.hidden = linux.checkout_extras()
            # The child's allow-list, worked out once: walking the libraries costs milliseconds.
            self.readable = linux.readable_paths()
            cgroups.sweep_leftovers()
        self.base = base

    def readable_for(self, hide: list[str], own_proc: bool) -> list[str]:
        """The allow-list of a job whose hidden paths are `hide` (recomputed only if one lies inside it).

        `own_proc`: the job has a PID namespace and a /proc of its own, which it may read whole.
        """
        from grader.sandbox import linux

        inside = [h for h in hide if any(h == r or h.startswith(r.rstrip("/") + "/") for r in self.readable)]
        readable = linux.readable_paths(hide) if inside else list(self.readable)
        return readable + ["/proc"] if own_proc else readable


def main(argv: list[str]) -> None:
    """Serve `spawn` requests from the grader until it says `quit` or goes away.

    Usage: `python -m grader.sandbox.zygote FD [auto|user|none] [first|soon|never] [LIMITS]` (see
    isolation.NAMESPACE_MODES and WARM_UP_MODES; LIMITS: the children's `Limits` as JSON, known ahead).
    """
    control = socket.socket(fileno=int(argv[1]))
    preload()
    worker = _Worker(current(), argv[2] if len(argv) > 2 else "auto")
    when = argv[3] if len(argv) > 3 and argv[3] in WARM_UP_MODES else "soon"
    if when == "first":
        _warm_up()
    send_message(control, {"op": "ready", "pid": os.getpid(), "isolation": worker.base.to_dict()})
    # Supervisors are reaped by the kernel; the grader learns their fate on the job socket.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    warm = when != "soon"  # warm already, or never to be ("never": one submission only, `grade file.py`)
    served = False
    spare: _Spare | None = None
    # The next job's limits, most likely: the Sandbox's, then the last job's (a Sandbox keeps its limits).
    limits: dict[str, Any] | None = _given_limits(argv[4]) if len(argv) > 4 else None
    while True:
        idle = not select.select([control], [], [], 0.0)[0]
        if served and not warm and idle:
            # Warm up after the first child is on its way, when no request waits: the single
            # submission of `grade file.py` never waits for this, later children start warm.
            _warm_up()
            warm = True
            continue
        if when != "never" and warm and spare is None and limits is not None and idle:
            spare = _Spare.fork(control, worker, limits)  # forked warm: after the warm-up
            continue
        request, fds = receive_message(control, max_fds=4)
        if request is None or request.get("op") == "quit":
            break
        if request.get("op") == "status":
            send_message(control, {"op": "status", "spare": spare.pid if spare else None})
            continue
        if request.get("op") == "references" and len(fds) == 2:
            # A trusted worker for the instructor's reference code, forked before any student
            # code and never the parent of any: it holds the answers, the children never see it.
            pid = os.fork()
            if pid == 0:
                control.close()
                if spare is not None:
                    spare.discard()  # our copy of its socket would keep it waiting after the warm worker lets it go
                from grader.sandbox.references import serve

                serve(fds[0], fds[1])
            for fd in fds:
                os.close(fd)
            send_message(control, {"op": "spawned", "pid": pid})
            continue
        if request.get("op") != "spawn" or len(fds) != 4:
            for fd in fds:
                os.close(fd)
            continue
        limits = dict(request.get("limits") or {})
        if spare is not None and spare.limits != limits:
            spare.discard()
            spare = None
        job = {"hide": list(request.get("hide", [])) + worker.hidden}
        pid = None
        for _ in range(2):  # a spare that died while it waited is replaced by a fresh supervisor
            supervisor, spare = spare or _Spare.fork(control, worker, limits, fds), None
            if supervisor.hand_over(job, fds):
                pid = supervisor.pid
                break
        for fd in fds:
            os.close(fd)
        send_message(control, {"op": "spawned", "job": request.get("job"), "pid": pid} if pid else {"op": "failed"})
        served = True
    if spare is not None:
        spare.discard()


def _given_limits(text: str) -> dict[str, Any] | None:
    """The limits given on the command line, if they are limits."""
    try:
        given = json.loads(text)
        Limits(**given)
    except (ValueError, TypeError):
        return None
    return given if isinstance(given, dict) else None


class _Spare:
    """A supervisor forked ahead of its job, its child waiting in its namespaces; the warm worker's side."""

    def __init__(self, pid: int, handover: socket.socket, limits: dict[str, Any]) -> None:
        self.pid = pid
        self.handover = handover
        self.limits = limits

    @classmethod
    def fork(cls, control: socket.socket, worker: _Worker, limits: dict[str, Any], held: Sequence[int] = ()) -> _Spare:
        """Fork a supervisor for the next job with these limits; `held`: descriptors of the warm worker it must not keep."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:
            try:
                control.close()
                ours.close()
                for fd in held:
                    # A job's channels reach it through the socket only: an inherited copy of the
                    # output pipe would keep it open after the child's end.
                    os.close(fd)
                _supervise(Limits(**limits), theirs, worker)
            finally:
                os._exit(70)
        theirs.close()
        return cls(pid, ours, limits)

    def hand_over(self, job: dict[str, Any], fds: list[int]) -> bool:
        """Give the supervisor its job and channels (job socket, commands, observations, output); False if it is gone."""
        try:
            send_message(self.handover, job, fds)
            return True
        except OSError:
            return False
        finally:
            self.handover.close()

    def discard(self) -> None:
        """Let it go: on the end of its socket, the supervisor ends its child and itself."""
        self.handover.close()


def _supervise(limits: Limits, handover: socket.socket, worker: _Worker) -> None:
    """The trusted supervisor of one child: start it, hand it its job, report, kill it on request, report its end."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    state = worker.base
    linux_here = worker.platform.namespaces
    if linux_here:
        from grader.sandbox import linux

        state = linux.enter_job_pid_namespace(state, worker.namespaces_allowed)
        if not state.pid_namespace:
            linux.become_subreaper()  # what escapes the child's process group comes back to us
    uid = linux.job_uid(os.getpid()) if linux_here else os.getuid()  # before the fork: PID 1 has no parent to ask
    group = None
    if linux_here:
        group, problem = cgroups.JobCgroup.create(limits.memory_mb, limits.processes)
        if group is not None:
            try:
                group.join()  # the child is born inside it, and so is everything it starts
                state = replace(state, job_cgroup=True)
            except OSError as exc:
                group.remove()
                group, problem = None, f"cgroups: {exc.strerror or exc}"
        if group is None:
            state = state.with_note(problem or "cgroups: unavailable")
    child, to_child, setup_read = _start_child(limits, state, worker, uid, handover)
    request, fds = _wait_for_job(handover, child)
    handover.close()
    if request is None or len(fds) != 4:
        # Discarded, the warm worker gone, or the child dead while it waited (killed from outside):
        # the warm worker finds this socket closed and starts the job on a fresh supervisor.
        for fd in fds:
            os.close(fd)
        _kill(child, state)  # still our unreaped child: its PID is not anyone else's
        os.waitpid(child, 0)
        if group is not None:
            group.kill_all(spare=os.getpid())
            group.leave()
            group.remove()
        os._exit(0)
    job = socket.socket(fileno=fds[0])
    try:
        send_message(to_child, {"hide": list(request.get("hide", []))}, fds[1:])
    except OSError:
        pass  # it died this very moment: its end is reported as any child's is
    for fd in fds[1:]:
        os.close(fd)
    to_child.close()
    setup = _read_all(setup_read)
    try:
        report = json.loads(setup)
    except ValueError:
        report = {"isolation": state.to_dict(), "workdir": None}
    send_message(job, {"event": "started", "pid": child, "isolation": report["isolation"]})
    status, usage = _wait_or_kill(job, child, state)
    peak = oom = None
    if group is not None:
        peak, oom = group.peak_bytes(), group.out_of_memory()
        group.kill_all(spare=os.getpid())
    if not state.pid_namespace:
        kill_group(child)  # what a PID namespace would have ended with the child
        if linux_here:
            linux.kill_descendants()
    if not state.mount_namespace and report.get("workdir"):
        import shutil

        shutil.rmtree(report["workdir"], ignore_errors=True)
    # Peak resident memory of the child and of what it waited for, as the kernel counted it
    # (kilobytes on Linux, bytes on macOS).
    rss = usage.ru_maxrss if usage is not None else 0
    ended: dict[str, Any] = {"event": "ended", "max_rss_kb": rss // 1024 if sys.platform == "darwin" else rss}
    if peak is not None:
        ended["memory_peak_kb"] = peak // 1024  # the whole job's, shared memory included
    if oom:
        ended["out_of_memory"] = True
    if os.WIFSIGNALED(status):
        ended["signal"] = os.WTERMSIG(status)
    else:
        ended["exit_code"] = os.WEXITSTATUS(status)
    try:
        send_message(job, ended)
    except OSError:
        pass
    if group is not None:
        # After the report: nothing of the job runs any more, and removing its cgroup waits for the
        # kernel to finish tearing the last process down (10 to 30 ms the grader need not wait).
        group.leave()
        group.remove()
    os._exit(0)


def _pidfd(child: int) -> int | None:
    """A descriptor that becomes readable when the child ends (Linux 5.3 and later), else None: then poll."""
    pidfd_open = getattr(os, "pidfd_open", None)
    try:
        return pidfd_open(child) if pidfd_open else None
    except OSError:
        return None


def _wait_for_job(handover: socket.socket, child: int) -> tuple[dict[str, Any] | None, list[int]]:
    """The job the warm worker hands over, with its channels; (None, []) if the child dies first or the warm worker
    lets go. A dead child cannot be replaced here: it was PID 1 of the job's PID namespace, which died with it."""
    child_fd = _pidfd(child)
    try:
        while True:
            watched = [handover] + ([child_fd] if child_fd is not None else [])
            readable, _, _ = select.select(watched, [], [], None if child_fd is not None else 0.5)
            if handover in readable:
                return receive_message(handover, max_fds=4)
            if child_fd in readable:
                return None, []
            # Looked at, not reaped: the caller kills and reaps it, and a reaped PID could be reused.
            if child_fd is None and os.waitid(os.P_PID, child, os.WEXITED | os.WNOHANG | os.WNOWAIT):
                return None, []
    finally:
        if child_fd is not None:
            os.close(child_fd)


def _start_child(limits: Limits, state: Isolation, worker: _Worker, uid: int,
                 *inherited: socket.socket) -> tuple[int, socket.socket, int]:
    """Fork the child, which waits for its job: (its pid, the socket to send the job on, its setup report's pipe)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    setup_read, setup_write = os.pipe()
    child = os.fork()
    if child == 0:
        for sock in (ours, *inherited):
            sock.close()
        os.close(setup_read)
        _child(limits, state, worker, uid, theirs, setup_write)
    theirs.close()
    os.close(setup_write)
    return child, ours, setup_read


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def _kill(child: int, state: Isolation) -> None:
    # The child is our unreaped child, so its PID cannot have been reused.
    os.kill(child, signal.SIGKILL)
    if not state.pid_namespace:
        kill_group(child)


def _wait_or_kill(job: socket.socket, child: int, state: Isolation) -> tuple[int, Any]:
    """Block until the child exits, killing it when the grader asks or goes away; its status and usage.

    Waits on a pidfd where Linux has one, else polls; the child is reaped only here, on this
    thread, so a kill never reaches a reused PID.
    """
    child_fd = _pidfd(child)
    while True:
        watched = [job] + ([child_fd] if child_fd is not None else [])
        readable, _, _ = select.select(watched, [], [], None if child_fd is not None else 0.05)
        pid, status, usage = os.wait4(child, os.WNOHANG)
        if pid == child:
            if child_fd is not None:
                os.close(child_fd)
            return status, usage
        if job in readable:
            try:
                message, _ = receive_message(job)
            except OSError:
                message = None
            if message is None or message.get("op") == "kill":
                _kill(child, state)
                if message is None:
                    _, status, usage = os.wait4(child, 0)
                    return status, usage


def _child(limits: Limits, state: Isolation, worker: _Worker, uid: int, supervisor: socket.socket, setup_fd: int) -> None:
    """The child: enter its namespaces, wait for its job, isolate itself for it, report how, then hand over
    to the runner. Never returns."""
    try:
        # Its own session and group: `kill(0, ...)` then reaches nothing of the grader's.
        state = own_session(state)
        processes: int | None = None
        address_base: int | None = None
        if worker.platform.namespaces:
            from grader.sandbox import linux

            linux.die_with_parent()
            state = linux.enter_child_namespaces(state, worker.namespaces_allowed and state.pid_namespace)
        request, fds = receive_message(supervisor, max_fds=3)
        if request is None or len(fds) != 3:
            os._exit(0)  # discarded before any job
        supervisor.close()
        commands_fd, observations_fd, output_fd = fds
        if worker.platform.namespaces:
            state, workdir = linux.set_up_file_system(state, request.get("hide", []), worker.keep)
            os.chdir(workdir)
            state = linux.drop_privileges(state, workdir, uid, worker.keep)
            linux.die_with_parent()  # a change of user clears the parent-death signal
            processes = linux.process_limit(state, limits)
            address_base = linux.mapped_bytes()
        else:
            workdir = tempfile.mkdtemp(prefix="submission-")
            os.chdir(workdir)
            # RLIMIT_NPROC counts every process of the user across the system here, and the
            # address-space limit is not enforced by macOS: neither is set, and the record says so.
            state = state.with_note("process and address-space limits: not on this platform")
        state = apply_limits(state, limits, processes, address_base)
        if worker.platform.namespaces:
            linux.no_new_privileges()
            state = linux.drop_capabilities(state)
            linux.make_undumpable()  # a change of user resets it; other children may share our user
            writable = [workdir] + ([tmp for tmp in linux.TMP_DIRS if os.path.isdir(tmp)] if state.mount_namespace else [])
            held, problem = linux.restrict(worker.readable_for(request.get("hide", []), state.pid_namespace), writable)
            state = replace(state, file_allow_list=True) if held else state.with_note(problem or "Landlock: refused")
        os.write(setup_fd, json.dumps({"isolation": state.to_dict(), "workdir": workdir}).encode())
        os.close(setup_fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        keep_fds = {0, 1, 2, commands_fd, observations_fd}
        open_now = linux.open_fds() if worker.platform.proc else list(range(3, 1024))
        for fd in open_now:
            if fd not in keep_fds:
                try:
                    os.close(fd)
                except OSError:
                    pass
        from grader.sandbox.runner import child_environment, child_main

        environment = child_environment(workdir)  # before clearing: it keeps what Windows needs
        os.environ.clear()
        os.environ.update(environment)
        tempfile.tempdir = None  # chosen again from TMPDIR: the warm worker may have cached its own
        # Line-buffered, and a student's odd string (a lone surrogate) prints escaped, as a notebook
        # shows it, instead of raising. (reconfigure() cannot change `errors` on a pipe: it seeks.)
        sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", buffering=1, closefd=False)
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", buffering=1, closefd=False)
        child_main(commands_fd, observations_fd, workdir)
    finally:
        os._exit(71)


if __name__ == "__main__":
    main(sys.argv)
