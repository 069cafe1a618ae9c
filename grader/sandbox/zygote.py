"""The warm worker: imports torch, numpy and matplotlib once, then forks one isolated child per job.

Started by the grader as `python -m grader.sandbox.zygote FD` with a clean environment. It never
sees a reference answer or a submission: it only forks. Per job it forks a small trusted
supervisor, which enters fresh PID and mount namespaces and forks the child that will run the
student's code as PID 1 of that namespace, so that when the child ends, every process it started
ends too. The supervisor reports the child's start and end to the grader on a private socket and
kills it when the grader asks (timeouts) or goes away.

    grader --ctrl--> zygote --fork--> supervisor --fork--> child (student code)
      ^  <------------------ job socket ---------------------'  (started / ended / kill)
      ^  <--------------- commands, observations, output pipes ---------------------'
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
from typing import Any

from grader.sandbox import isolation
from grader.sandbox.isolation import Isolation, Limits

MAX_CONTROL_MESSAGE = 1 << 16


def send_message(sock: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    """One JSON message (and optionally file descriptors) on a SOCK_SEQPACKET socket."""
    data = json.dumps(message).encode()
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.send(data)


def receive_message(sock: socket.socket, max_fds: int = 0) -> tuple[dict[str, Any] | None, list[int]]:
    """One message and any file descriptors sent with it; (None, []) when the peer closed."""
    if max_fds:
        data, fds, _flags, _addr = socket.recv_fds(sock, MAX_CONTROL_MESSAGE, max_fds)
    else:
        data, fds = sock.recv(MAX_CONTROL_MESSAGE), []
    if not data:
        return None, fds
    return json.loads(data), fds


def _preload() -> None:
    """Import what submissions use, so that each forked child starts warm."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import numpy  # noqa: F401
    import torch

    # One thread per child: children run side by side, and a forked OpenMP pool is unsafe.
    torch.set_num_threads(1)
    import torch.func  # noqa: F401
    import torch.autograd.functional  # noqa: F401

    import grader.sandbox.runner  # noqa: F401


def _warm_up() -> None:
    """Run once what every child would otherwise initialise on first use, at a cost per child.

    torch.func's first transform sets itself up for about a second; autograd, function modes and
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
    first.sum().backward()
    torch.func.vmap(torch.func.grad(torch.func.grad(torch.sin)))(x.detach())
    figure = matplotlib.figure.Figure(figsize=(2, 2))
    axes = figure.subplots()
    axes.plot([0.0, 1.0], [0.0, 1.0], label="warm-up")
    axes.set_title("warm-up")
    axes.legend()
    figure.canvas.draw()


def main(argv: list[str]) -> None:
    """Serve `spawn` requests from the grader until it says `quit` or goes away.

    Usage: `python -m grader.sandbox.zygote FD [auto|user|none]` (see isolation.NAMESPACE_MODES).
    """
    control = socket.socket(fileno=int(argv[1]))
    # Supervisors and children inherit this: a child running as our user cannot ptrace them.
    isolation.make_undumpable()
    _preload()
    base, namespaces_allowed = isolation.enter_worker_namespaces(argv[2] if len(argv) > 2 else "auto")
    keep = isolation.needed_paths()
    hidden = isolation.checkout_extras()
    send_message(control, {"op": "ready", "pid": os.getpid(), "isolation": base.to_dict()})
    # Supervisors are reaped by the kernel; the grader learns their fate on the job socket.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    warm = served = False
    while True:
        if served and not warm and not select.select([control], [], [], 0.0)[0]:
            # Warm up after the first child is on its way, when no request waits: the single
            # submission of `grade file.py` never waits for this, later children start warm.
            _warm_up()
            warm = True
            continue
        request, fds = receive_message(control, max_fds=4)
        if request is None or request.get("op") == "quit":
            break
        if request.get("op") != "spawn" or len(fds) != 4:
            for fd in fds:
                os.close(fd)
            continue
        pid = os.fork()
        if pid == 0:
            try:
                control.close()
                _supervise({**request, "hide": list(request.get("hide", [])) + hidden}, fds, base, namespaces_allowed, keep)
            finally:
                os._exit(70)
        for fd in fds:
            os.close(fd)
        send_message(control, {"op": "spawned", "job": request.get("job"), "pid": pid})
        served = True


def _supervise(request: dict[str, Any], fds: list[int], base: Isolation, namespaces_allowed: bool, keep: list[str]) -> None:
    """The trusted supervisor of one child: start it, report, kill it on request, report its end."""
    job_fd, commands_fd, observations_fd, output_fd = fds
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    job = socket.socket(fileno=job_fd)
    state = isolation.enter_job_namespaces(base, namespaces_allowed)
    if not state.pid_namespace:
        isolation.become_subreaper()  # what escapes the child's process group comes back to us
    setup_read, setup_write = os.pipe()
    uid = isolation.job_uid(os.getpid())
    child = os.fork()
    if child == 0:
        job.close()
        os.close(setup_read)
        _child(request, state, keep, uid, commands_fd, observations_fd, output_fd, setup_write)
    for fd in (setup_write, commands_fd, observations_fd, output_fd):
        os.close(fd)
    setup = _read_all(setup_read)
    try:
        report = json.loads(setup)
    except ValueError:
        report = {"isolation": state.to_dict(), "workdir": None}
    send_message(job, {"event": "started", "pid": child, "isolation": report["isolation"]})
    _wait_or_kill(job, child, state)
    _, status, usage = os.wait4(child, 0)
    if not state.pid_namespace:
        _kill_group(child)  # what a PID namespace would have ended with the child
        isolation.kill_descendants()
    if not state.mount_namespace and report.get("workdir"):
        import shutil

        shutil.rmtree(report["workdir"], ignore_errors=True)
    # Peak resident memory of the child and of what it waited for, as the kernel counted it.
    ended: dict[str, Any] = {"event": "ended", "max_rss_kb": usage.ru_maxrss}
    if os.WIFSIGNALED(status):
        ended["signal"] = os.WTERMSIG(status)
    else:
        ended["exit_code"] = os.WEXITSTATUS(status)
    try:
        send_message(job, ended)
    except OSError:
        pass
    os._exit(0)


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def _kill_group(child: int) -> None:
    try:
        os.killpg(child, signal.SIGKILL)
    except OSError:
        pass


def _wait_or_kill(job: socket.socket, child: int, state: Isolation) -> None:
    """Block until the child exits; kill it when the grader asks or closes the job socket."""
    try:
        child_fd = os.pidfd_open(child)
    except (AttributeError, OSError):
        child_fd = None
    while True:
        watched = [job] + ([child_fd] if child_fd is not None else [])
        readable, _, _ = select.select(watched, [], [], None if child_fd is not None else 0.05)
        if child_fd is not None and child_fd in readable:
            return
        if child_fd is None and os.waitid(os.P_PID, child, os.WEXITED | os.WNOHANG | os.WNOWAIT):
            return  # exited; left unreaped for the caller
        if job in readable:
            try:
                message, _ = receive_message(job)
            except OSError:
                message = None
            if message is None or message.get("op") == "kill":
                # The child is our unreaped child, so its PID cannot have been reused.
                os.kill(child, signal.SIGKILL)
                if not state.pid_namespace:
                    _kill_group(child)
                if message is None:
                    return


def _child(request: dict[str, Any], state: Isolation, keep: list[str], uid: int, commands_fd: int,
           observations_fd: int, output_fd: int, setup_fd: int) -> None:
    """The child: isolate itself, report how, then hand over to the runner. Never returns."""
    try:
        if not state.pid_namespace:
            os.setsid()  # at least a process group of its own to kill
        isolation.die_with_parent()
        state, workdir = isolation.set_up_file_system(state, request.get("hide", []), keep)
        os.chdir(workdir)
        state = isolation.drop_privileges(state, workdir, uid, keep)
        isolation.die_with_parent()  # a change of user clears the parent-death signal
        state = isolation.apply_limits(state, Limits(**request.get("limits", {})))
        state = isolation.drop_capabilities(state)
        isolation.make_undumpable()  # a change of user resets it; other children may share our user
        os.write(setup_fd, json.dumps({"isolation": state.to_dict(), "workdir": workdir}).encode())
        os.close(setup_fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        keep_fds = {0, 1, 2, commands_fd, observations_fd}
        for fd in _open_fds():
            if fd not in keep_fds:
                try:
                    os.close(fd)
                except OSError:
                    pass
        os.environ.clear()
        os.environ.update({
            "HOME": workdir, "TMPDIR": workdir, "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "MPLCONFIGDIR": workdir, "OMP_NUM_THREADS": "1",
            "USER": "student", "LOGNAME": "student",  # the job's user has no passwd entry (getpass)
        })
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        from grader.sandbox.runner import child_main

        child_main(commands_fd, observations_fd, workdir)
    finally:
        os._exit(71)


def _open_fds() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return list(range(3, 256))


if __name__ == "__main__":
    main(sys.argv)
