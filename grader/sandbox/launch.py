"""Starting children: forked from the warm worker (Linux, macOS) or spawned as fresh interpreters (Windows).

Either way a launcher hands back a `ChildHandle`: the grader's ends of the child's three pipes
(commands in, observations and printed output out), a way to kill it, and lifecycle events
(`started` with the isolation in force, `ended` with how it ended) put on the attempt's queue.
Only the supervisor (or, when spawned, the grader itself, as the child's parent) reports those
events; the child never can.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from grader.sandbox.control import receive_message, send_message
from grader.sandbox.isolation import Isolation, Limits, WarmUp
from grader.sandbox.platform import ENV_VAR, Platform

READY_TIMEOUT = 120.0
"""Seconds the warm worker may take to import torch and report ready (slow CI machines)."""

Events = "queue.Queue[tuple[str, Any]]"


class SandboxError(RuntimeError):
    """The sandbox itself failed (not the submission): a bug or a broken environment."""


class ChildHandle:
    """A started child as the grader sees it: three pipe ends, lifecycle events, and a kill switch."""

    def __init__(self, commands: int, observations: int, output: int) -> None:
        self.commands = commands
        self.observations = observations
        self.output = output

    def kill(self) -> None:
        """Kill the child and everything it started (idempotent)."""
        raise NotImplementedError

    def release(self) -> None:
        """The grader is done with this child: make sure it is gone and free what is left."""
        raise NotImplementedError


def package_root() -> str:
    """The directory that holds the `grader` package (the children's PYTHONPATH)."""
    return str(Path(__file__).resolve().parents[2])


def base_environment(platform: Platform) -> dict[str, str]:
    """The clean environment of the warm worker and of spawned children: nothing of the user's but what Python needs."""
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "C.UTF-8",
        "HOME": os.environ.get("HOME", os.getcwd()),
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": package_root(),
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    names = ["MPLCONFIGDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"]  # keep matplotlib's font cache
    names += ["SYSTEMROOT", "WINDIR", "TEMP", "TMP", "USERPROFILE", "LOCALAPPDATA"]  # Windows needs them to start
    for name in names:
        if name in os.environ:
            env[name] = os.environ[name]
    if platform.forced:
        env[ENV_VAR] = platform.name
    if platform.name == "macos":
        # Forking after torch and matplotlib loaded Objective-C frameworks is safe for what the
        # children do; without this, macOS aborts a forked child at its first such call.
        env["OBJC_DISABLE_INITIALIZE_FORK_SAFETY"] = "YES"
    return env


# -- the warm worker ---------------------------------------------------------------------------
class _ForkedChild(ChildHandle):
    """A child forked by the warm worker; its supervisor reports on the job socket."""

    def __init__(self, job: socket.socket, commands: int, observations: int, output: int, events: Any) -> None:
        super().__init__(commands, observations, output)
        self._job = job
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._listen, args=(events,), daemon=True, name="job-events").start()

    def _listen(self, events: Any) -> None:
        ended = False
        try:
            while True:
                try:
                    message, _ = receive_message(self._job)
                except OSError:
                    message = None
                if message is None:
                    break
                if message.get("event") == "started":
                    events.put(("started", message.get("isolation") or {}))
                elif message.get("event") == "ended":
                    ended = True
                    events.put(("ended", message))
                    break
        finally:
            if not ended:
                events.put(("ended", {"event": "ended", "lost": True}))
            with self._lock:
                self._closed = True
                self._job.close()

    def kill(self) -> None:
        """Ask the supervisor to kill the child (it holds the only handle that can)."""
        with self._lock:
            if self._closed:
                return
            try:
                send_message(self._job, {"op": "kill"})
            except OSError:
                pass

    def release(self) -> None:
        """Hang up: a supervisor whose job socket closes kills its child."""
        with self._lock:
            if not self._closed:
                try:
                    self._job.shutdown(socket.SHUT_RDWR)  # wakes the listener, which closes it
                except OSError:
                    pass


class ForkLauncher:
    """The warm worker (`grader.sandbox.zygote`): torch imported once, one fork per child."""

    def __init__(self, platform: Platform, limits: Limits, python: str, namespaces: str, warm_up: WarmUp = "soon") -> None:
        self.platform = platform
        self.limits = limits
        self.python = python
        self.namespaces = namespaces
        self.warm_up = warm_up
        self.isolation = Isolation.for_platform(platform)
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._ready = False
        self._lock = threading.Lock()
        self._log = tempfile.TemporaryFile()

    @property
    def pid(self) -> int | None:
        """The warm worker's process id, once started."""
        return self._process.pid if self._process else None

    def start(self) -> None:
        """Start the warm worker (it imports torch) without waiting for it."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._process = subprocess.Popen(
            [self.python, "-m", "grader.sandbox.zygote", str(theirs.fileno()), self.namespaces,
             self.warm_up, json.dumps(self.limits.to_dict())],
            pass_fds=[theirs.fileno()], env=base_environment(self.platform), cwd="/", stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=self._log, start_new_session=True,
        )
        theirs.close()
        self._control = ours
        self._ready = False

    def wait_ready(self) -> None:
        """Block until the warm worker has imported torch and set up its isolation."""
        with self._lock:
            self._wait_ready()

    def _wait_ready(self) -> None:
        if self._ready:
            return
        if self._control is None:
            self.start()
        assert self._control is not None
        self._control.settimeout(READY_TIMEOUT)
        try:
            message, _ = receive_message(self._control)
        except OSError:
            message = None
        self._control.settimeout(None)
        if not message or message.get("op") != "ready":
            raise SandboxError(f"the grading worker did not start: {self.log_tail()}")
        self.isolation = Isolation.from_dict(message.get("isolation") or {})
        self._ready = True

    def log_tail(self) -> str:
        """The end of what the warm worker wrote to its log (for error messages)."""
        try:
            self._log.seek(0)
            text = self._log.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return "no log"
        return text[-2000:] or "no output"

    def launch(self, events: Any, hide: tuple[str, ...]) -> ChildHandle:
        """Fork a child; its lifecycle events arrive on `events`."""
        job_ours, job_theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        commands_read, commands_write = os.pipe()
        observations_read, observations_write = os.pipe()
        output_read, output_write = os.pipe()
        theirs = [job_theirs.fileno(), commands_read, observations_write, output_write]
        try:
            with self._lock:
                self._wait_ready()
                assert self._control is not None
                try:
                    send_message(self._control, {"op": "spawn", "job": 0, "limits": self.limits.to_dict(),
                                                 "hide": list(hide)}, theirs)
                    reply, _ = receive_message(self._control)
                except OSError as exc:
                    reply = None
                    problem = str(exc)
                else:
                    problem = "no reply"
        finally:
            job_theirs.close()
            for fd in theirs[1:]:
                os.close(fd)
        if not reply or reply.get("op") != "spawned":
            job_ours.close()
            for fd in (commands_write, observations_read, output_read):
                os.close(fd)
            raise SandboxError(f"the grading worker did not start a child ({problem}): {self.log_tail()}")
        return _ForkedChild(job_ours, commands_write, observations_read, output_read, events)

    def start_references(self) -> tuple[int, int, Any, int | None]:
        """Fork the reference worker from the warm worker; (requests fd, replies fd, stop, its pid)."""
        requests_read, requests_write = os.pipe()
        replies_read, replies_write = os.pipe()
        try:
            with self._lock:
                self._wait_ready()
                assert self._control is not None
                send_message(self._control, {"op": "references"}, [requests_read, replies_write])
                reply, _ = receive_message(self._control)
        finally:
            os.close(requests_read)
            os.close(replies_write)
        if not reply or reply.get("op") != "spawned" or not isinstance(reply.get("pid"), int):
            os.close(requests_write)
            os.close(replies_read)
            raise SandboxError(f"the grading worker did not start the reference worker: {self.log_tail()}")
        pid = reply["pid"]

        def stop() -> None:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

        return requests_write, replies_read, stop, pid

    def spare_pid(self) -> int | None:
        """The supervisor the warm worker forked ahead for the next child (None while there is none)."""
        with self._lock:
            self._wait_ready()
            assert self._control is not None
            send_message(self._control, {"op": "status"})
            reply, _ = receive_message(self._control)
        spare = reply.get("spare") if reply else None
        return spare if isinstance(spare, int) else None

    def close(self) -> None:
        """Stop the warm worker and anything still running under it."""
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._process is not None:
            # Killed, not asked to quit: it holds nothing worth saving, and a clean exit would
            # spend a noticeable part of a single grade unloading torch.
            try:
                os.killpg(self._process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self._process.wait()
            self._process = None
        self._log.close()


# -- a fresh interpreter per child -------------------------------------------------------------
class _SpawnedChild(ChildHandle):
    """A child that is a process of the grader's own: it reports its isolation in its first frame."""

    def __init__(self, process: subprocess.Popen[bytes], workdir: str, events: Any) -> None:
        assert process.stdin and process.stdout and process.stderr
        # Own the descriptors outright: the reader threads close them when they are done.
        fds = [os.dup(stream.fileno()) for stream in (process.stdin, process.stdout, process.stderr)]
        for stream in (process.stdin, process.stdout, process.stderr):
            stream.close()
        super().__init__(*fds)
        self._process = process
        self._workdir = workdir
        threading.Thread(target=self._wait, args=(events,), daemon=True, name="spawned-wait").start()

    def _wait(self, events: Any) -> None:
        code = self._process.wait()
        shutil.rmtree(self._workdir, ignore_errors=True)
        ended: dict[str, Any] = {"event": "ended", "max_rss_kb": 0}
        if code < 0:
            ended["signal"] = -code
        else:
            ended["exit_code"] = code
        events.put(("ended", ended))

    def kill(self) -> None:
        """Terminate the child process."""
        try:
            self._process.kill()
        except OSError:
            pass

    def release(self) -> None:
        """Make sure the child process is gone."""
        if self._process.poll() is None:
            self.kill()


class SpawnLauncher:
    """No fork (Windows): every child is a fresh `python -m grader.sandbox.spawned`, which imports torch itself."""

    def __init__(self, platform: Platform, limits: Limits, python: str) -> None:
        self.platform = platform
        self.limits = limits
        self.python = python
        self.isolation = Isolation.for_platform(platform, notes=("no fork: each child starts a fresh interpreter",))

    pid = None
    """There is no warm worker."""

    def start(self) -> None:
        """Nothing to start ahead: there is no warm worker."""

    def wait_ready(self) -> None:
        """Nothing to wait for."""

    def log_tail(self) -> str:
        """There is no worker log."""
        return ""

    def spare_pid(self) -> None:
        """Nothing is forked ahead: each child starts when its job comes."""
        return None

    def launch(self, events: Any, hide: tuple[str, ...]) -> ChildHandle:
        """Start a child in a fresh empty directory; it reports its start in its first frame."""
        del hide  # nothing can be hidden without a mount namespace; the record says so
        workdir = tempfile.mkdtemp(prefix="submission-")
        env = base_environment(self.platform)
        env.update({"HOME": workdir, "TMPDIR": workdir, "TEMP": workdir, "TMP": workdir})
        flags = subprocess.CREATE_NEW_PROCESS_GROUP if sys.platform == "win32" else 0  # type: ignore[attr-defined]
        limits = [f"{name}={value}" for name, value in self.limits.to_dict().items()]
        try:
            process = subprocess.Popen(
                [self.python, "-m", "grader.sandbox.spawned", *limits], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=workdir, env=env, bufsize=0, creationflags=flags,
            )
        except OSError as exc:
            shutil.rmtree(workdir, ignore_errors=True)
            raise SandboxError(f"could not start a grading child: {exc}") from None
        return _SpawnedChild(process, workdir, events)

    def start_references(self) -> tuple[int, int, Any, int | None]:
        """Start the reference worker as a fresh interpreter; (requests fd, replies fd, stop, its pid)."""
        process = subprocess.Popen([self.python, "-m", "grader.sandbox.references"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=tempfile.gettempdir(),
                                   env=base_environment(self.platform), bufsize=0)
        assert process.stdin and process.stdout
        requests, replies = os.dup(process.stdin.fileno()), os.dup(process.stdout.fileno())
        process.stdin.close()
        process.stdout.close()

        def stop() -> None:
            if process.poll() is None:
                process.kill()
            process.wait()

        return requests, replies, stop, process.pid

    def close(self) -> None:
        """Nothing outlives its child here."""
