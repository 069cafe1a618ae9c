"""The grader's side of the sandbox: start the warm worker, run a submission, enforce every deadline.

`Sandbox.run` imports the submission in an isolated child, asks `plan_for` which calls to make
once it knows what the submission defines, and collects one `CallOutcome` per call. The clock is
the grader's: a call that overruns its timeout is killed (with every process it started), marked
`timeout`, and the remaining calls go on in a fresh child. A child that crashes or exits costs the
call it was making, nothing more. Nothing from the child is trusted: frames are validated, output
is capped, and only the supervisor's reports (on a socket the child never sees) say how it ended.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from grader.observations import CallOutcome, CallReport, DoneReport, ModuleReport, parse_frame
from grader.sandbox.isolation import NAMESPACE_MODES, Isolation, Limits
from grader.sandbox.zygote import receive_message, send_message
from grader.wire import FrameDecoder, ProtocolError, encode_frame

READY_TIMEOUT = 120.0
"""Seconds the warm worker may take to import torch and report ready (slow CI machines)."""
KILL_GRACE = 10.0
"""Seconds to wait for the supervisor to confirm a killed child is gone before giving up on it."""
EXIT_GRACE = 2.0
"""Seconds a child that has made every call may take to exit before it is killed."""
DRAIN_GRACE = 2.0
"""Seconds to keep reading output after a child ended (only an escaped process could hold it longer)."""


class SandboxError(RuntimeError):
    """The sandbox itself failed (not the submission): a bug or a broken environment."""


@dataclass(frozen=True)
class JobRequest:
    """One submission to run: its source and what to report about it."""

    source: str
    filename: str
    """File name the child gives the source; tracebacks and the student's lines refer to it."""
    functions: tuple[str, ...]
    attributes: tuple[str, ...] = ()
    watch: tuple[str, ...] = ()
    seed: int = 0
    hide: tuple[str, ...] = ()
    """Paths the child must not see (exercise specs, other submissions, report files)."""


@dataclass
class CapturedOutput:
    """What the submission printed: the first and last bytes, and how much there was."""

    head_limit: int = 16 * 1024
    tail_limit: int = 4 * 1024
    head: bytearray = field(default_factory=bytearray)
    tail: bytearray = field(default_factory=bytearray)
    total: int = 0

    def add(self, chunk: bytes) -> None:
        """Account for a chunk; keep only what fits in head and tail."""
        self.total += len(chunk)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail = (self.tail + chunk)[-self.tail_limit :]

    def text(self) -> str:
        """The kept output as text (invalid UTF-8 replaced), with a marker where bytes were dropped."""
        dropped = self.total - len(self.head) - len(self.tail)
        middle = f"\n[... {dropped} bytes not shown ...]\n" if dropped > 0 else ""
        return self.head.decode("utf-8", "replace") + middle + self.tail.decode("utf-8", "replace")


@dataclass
class RunRecord:
    """Everything the grader learned by running one submission."""

    module: ModuleReport | None = None
    import_problem: str | None = None
    """Why the submission could not be imported, when the child did not report: `timeout` or a crash."""
    calls: dict[int, CallOutcome] = field(default_factory=dict)
    output: CapturedOutput = field(default_factory=CapturedOutput)
    isolation: Isolation = field(default_factory=Isolation)
    wall_time: float = 0.0
    children: int = 0
    """How many children ran (1 + restarts after timeouts and crashes)."""
    observation_bytes: int = 0
    """Bytes received on the observations channel, all children together (capped by Limits)."""
    private_output: CapturedOutput = field(default_factory=CapturedOutput)
    """What the submission printed during calls that only hidden checks judge (withheld from students)."""
    max_rss_kb: int = 0
    """Peak resident memory of the largest child, as its supervisor measured it."""


PlanFor = Callable[[ModuleReport], list[dict[str, Any]]]


class Sandbox:
    """A warm worker and the means to run submissions in isolated children forked from it."""

    def __init__(self, limits: Limits | None = None, python: str | None = None, namespaces: str = "auto") -> None:
        """`namespaces` is one of isolation.NAMESPACE_MODES: `none` and `user` stand in for weaker systems."""
        if namespaces not in NAMESPACE_MODES:
            raise ValueError(f"namespaces must be one of {', '.join(NAMESPACE_MODES)}, not {namespaces!r}")
        self.limits = limits or Limits()
        self.python = python or sys.executable
        self.namespaces = namespaces
        self.isolation = Isolation()
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._lock = threading.Lock()
        self._log = tempfile.TemporaryFile()

    # -- worker lifecycle -------------------------------------------------------------------
    def start(self) -> Sandbox:
        """Start the warm worker (import torch there) without waiting for it; `run` waits."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        package_root = str(Path(__file__).resolve().parents[2])
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": os.environ.get("HOME", "/"),
            "MPLBACKEND": "Agg",
            "OMP_NUM_THREADS": "1",
            "PYTHONPATH": package_root,
            "PYTHONNOUSERSITE": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        for name in ("MPLCONFIGDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):  # keep matplotlib's font cache
            if name in os.environ:
                env[name] = os.environ[name]
        self._process = subprocess.Popen(
            [self.python, "-m", "grader.sandbox.zygote", str(theirs.fileno()), self.namespaces],
            pass_fds=[theirs.fileno()], env=env, cwd="/", stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=self._log, start_new_session=True,
        )
        theirs.close()
        self._control = ours
        self._ready = False
        return self

    def _wait_ready(self) -> None:
        if self._ready:
            return
        if self._control is None:
            self.start()
        assert self._control is not None
        readable, _, _ = select.select([self._control], [], [], READY_TIMEOUT)
        message, _ = receive_message(self._control) if readable else (None, [])
        if not message or message.get("op") != "ready":
            raise SandboxError(f"the grading worker did not start: {self._log_tail()}")
        self.isolation = Isolation.from_dict(message["isolation"])
        self._ready = True

    def _log_tail(self) -> str:
        self._log.seek(0)
        text = self._log.read().decode("utf-8", "replace").strip()
        return text[-2000:] or "no output"

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
            except ProcessLookupError:
                pass
            self._process.wait()
            self._process = None
        self._log.close()

    def __enter__(self) -> Sandbox:
        return self if self._process else self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- running ----------------------------------------------------------------------------
    def run(self, request: JobRequest, plan_for: PlanFor, call_timeout: float, total_timeout: float) -> RunRecord:
        """Run a submission; the calls come from `plan_for` once the child reports what it defines."""
        with self._lock:
            self._wait_ready()
        record = RunRecord(isolation=self.isolation)
        started = time.monotonic()
        deadline = started + total_timeout
        calls: list[dict[str, Any]] | None = None
        position = 0
        while True:
            attempt = _Attempt(self, request, plan_for, record, calls, position, call_timeout, deadline)
            attempt.run()
            record.children += 1
            record.isolation = attempt.isolation or record.isolation
            if calls is None:
                calls = attempt.calls
            if calls is None or attempt.position >= len(calls):
                break  # import failed, or every call has an outcome
            failed = calls[attempt.position]["index"]
            if failed not in record.calls:
                record.calls[failed] = attempt.failure(failed)
            position = attempt.position + 1
            if time.monotonic() >= deadline:
                for call in calls[position:]:
                    record.calls[call["index"]] = CallOutcome(call["index"], "not_run", detail="total time limit")
                break
            if record.observation_bytes > self.limits.observations_mb << 20:
                for call in calls[position:]:
                    record.calls[call["index"]] = CallOutcome(call["index"], "not_run", detail=attempt.violation)
                break
        record.wall_time = time.monotonic() - started
        return record

    def _spawn(self, fds: list[int]) -> None:
        with self._lock:
            self._wait_ready()
            assert self._control is not None
            try:
                send_message(self._control, {"op": "spawn", "job": 0, "limits": _limits_dict(self.limits)}, fds)
                reply, _ = receive_message(self._control)
            except OSError as exc:
                raise SandboxError(f"the grading worker is gone: {exc}; {self._log_tail()}") from None
            if not reply or reply.get("op") != "spawned":
                raise SandboxError(f"the grading worker did not start a child: {self._log_tail()}")


def _limits_dict(limits: Limits) -> dict[str, int]:
    return {name: getattr(limits, name) for name in limits.__dataclass_fields__}


class _Attempt:
    """One child's lifetime: from spawning it to the supervisor's report that it has ended."""

    def __init__(self, sandbox: Sandbox, request: JobRequest, plan_for: PlanFor, record: RunRecord,
                 calls: list[dict[str, Any]] | None, position: int, call_timeout: float, deadline: float) -> None:
        self.sandbox = sandbox
        self.request = request
        self.plan_for = plan_for
        self.record = record
        self.calls = calls
        self.position = position
        self.call_timeout = call_timeout
        self.deadline = deadline
        self.isolation: Isolation | None = None
        self.ended: dict[str, Any] | None = None
        self.ended_at = 0.0
        self.killed_for: str | None = None
        self.killed_at = 0.0
        self.violation: str | None = None
        self.decoder = FrameDecoder()
        self.outbox = bytearray()

    def failure(self, index: int) -> CallOutcome:
        """The outcome of the call during which this child stopped without reporting."""
        elapsed = time.monotonic() - self.phase_start
        if self.killed_for == "timeout":
            return CallOutcome(index, "timeout", wall_time=elapsed, detail=f"{self.call_timeout:g} s")
        if self.killed_for == "total":
            return CallOutcome(index, "timeout", wall_time=elapsed, detail="total time limit")
        if self.violation:
            return CallOutcome(index, "invalid", wall_time=elapsed, detail=self.violation)
        return CallOutcome(index, "crashed", wall_time=elapsed, detail=_how_it_ended(self.ended))

    def run(self) -> None:
        job_ours, job_theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        commands_read, commands_write = os.pipe()
        observations_read, observations_write = os.pipe()
        output_read, output_write = os.pipe()
        theirs = [job_theirs.fileno(), commands_read, observations_write, output_write]
        try:
            self.sandbox._spawn(theirs)
        finally:
            job_theirs.close()
            for fd in theirs[1:]:
                os.close(fd)
        try:
            self._converse(job_ours, commands_write, observations_read, output_read)
        finally:
            job_ours.close()
            for fd in (commands_write, observations_read, output_read):
                try:
                    os.close(fd)
                except OSError:
                    pass

    def _converse(self, job: socket.socket, commands: int, observations: int, output: int) -> None:
        os.set_blocking(commands, False)
        started, _ = receive_message(job)
        if not started or started.get("event") != "started":
            raise SandboxError("the child's supervisor did not report its start")
        self.isolation = Isolation.from_dict(started.get("isolation") or {})
        hello = {
            "source": self.request.source, "filename": self.request.filename,
            "functions": list(self.request.functions), "attributes": list(self.request.attributes),
            "watch": list(self.request.watch), "seed": self.request.seed,
        }
        self.outbox += encode_frame(hello)
        self.phase = "import"
        self.phase_start = time.monotonic()
        os.set_blocking(output, False)
        open_pipes = {observations, output}
        while True:
            now = time.monotonic()
            if self.ended is not None and (not open_pipes or now >= self.ended_at + DRAIN_GRACE):
                break  # a pipe still open after the end is held by something that escaped; stop reading
            if self.ended is None and now >= self._deadline():
                self._on_deadline(job, now)
            readers = list(open_pipes) + ([job] if self.ended is None else [])
            writers = [commands] if self.outbox and self.ended is None else []
            wait = (self.ended_at + DRAIN_GRACE if self.ended is not None else self._deadline()) - now
            readable, writable, _ = select.select(readers, writers, [], max(0.0, wait))
            # Output first: the child flushes what a call printed before reporting the call, so
            # output read before the report belongs to that call (and stays private if it is).
            readable.sort(key=lambda source: source != output)
            if writable:
                self._flush(commands)
            for source in readable:
                if source is job:
                    message, _ = receive_message(job)
                    self.ended = message or {"event": "ended", "lost": True}
                    self.ended_at = time.monotonic()
                    if isinstance(self.ended.get("max_rss_kb"), int):
                        self.record.max_rss_kb = max(self.record.max_rss_kb, self.ended["max_rss_kb"])
                    continue
                if source == output:
                    if not self._drain_output(output):
                        open_pipes.discard(output)
                    continue
                chunk = os.read(source, 1 << 16)
                if not chunk:
                    open_pipes.discard(source)
                elif self.violation is None:
                    self._receive(chunk, job)
                # After a violation the child is being killed; what it still sends is read and dropped.
        if self.phase == "import" and self.record.module is None:
            self.record.import_problem = "timeout" if self.killed_for in ("timeout", "total") else _how_it_ended(self.ended)

    def _drain_output(self, output: int) -> bool:
        """Read what the child printed, up to 1 MiB now; False once the pipe is closed."""
        sink = self._output_sink()
        for _ in range(16):
            try:
                chunk = os.read(output, 1 << 16)
            except BlockingIOError:
                return True
            if not chunk:
                return False
            sink.add(chunk)
        return True

    def _output_sink(self) -> CapturedOutput:
        calls = self.calls
        if self.phase == "calls" and calls is not None and self.position < len(calls) and calls[self.position].get("private"):
            return self.record.private_output
        return self.record.output

    def _deadline(self) -> float:
        if self.killed_for is not None:
            return self.killed_at + KILL_GRACE
        if self.phase == "done":
            return self.phase_start + EXIT_GRACE
        return min(self.deadline, self.phase_start + self.call_timeout)

    def _on_deadline(self, job: socket.socket, now: float) -> None:
        if self.killed_for is not None:
            raise SandboxError("a killed child did not end")
        if self.phase == "done":
            self._kill(job, "lingering")  # every call reported; it just does not leave
        elif now >= self.deadline:
            self._kill(job, "total")
        else:
            self._kill(job, "timeout")

    def _flush(self, commands: int) -> None:
        try:
            written = os.write(commands, self.outbox)
            del self.outbox[:written]
        except BlockingIOError:
            pass
        except OSError:
            self.outbox.clear()  # the child is gone; its end will be reported

    def _kill(self, job: socket.socket, why: str) -> None:
        self.killed_for = why
        self.killed_at = time.monotonic()
        try:
            send_message(job, {"op": "kill"})
        except OSError:
            pass

    def _receive(self, chunk: bytes, job: socket.socket) -> None:
        self.record.observation_bytes += len(chunk)
        cap = self.sandbox.limits.observations_mb << 20
        try:
            if self.record.observation_bytes > cap:
                # One submission's reports live in the grader's memory until it is judged.
                raise ProtocolError(f"more than {self.sandbox.limits.observations_mb} MiB of observations")
            for body in self.decoder.frames(chunk):
                self._handle(parse_frame(body))
        except ProtocolError as exc:
            self.violation = str(exc)
            self._kill(job, "violation")

    def _handle(self, frame: ModuleReport | CallReport | DoneReport) -> None:
        now = time.monotonic()
        if self.phase == "import":
            if not isinstance(frame, ModuleReport):
                raise ProtocolError("expected the module report first")
            if self.record.module is None:
                self.record.module = frame
            if not frame.ok:
                self.calls = self.calls if self.calls is not None else []
                self.phase = "done"
                return
            if self.calls is None:
                self.calls = self.plan_for(frame)
            remaining = self.calls[self.position :]
            self.outbox += encode_frame({"calls": remaining})
            self.phase = "calls" if remaining else "done"
            self.phase_start = now
            return
        if isinstance(frame, DoneReport):
            if self.calls is not None and self.position < len(self.calls):
                raise ProtocolError("the child said it was done before making every call")
            self.phase = "done"
            return
        if not isinstance(frame, CallReport) or self.calls is None or self.position >= len(self.calls):
            raise ProtocolError("unexpected frame")
        expected = self.calls[self.position]["index"]
        if frame.index != expected:
            raise ProtocolError(f"report for call {frame.index} where call {expected} was due")
        self.record.calls[expected] = CallOutcome(expected, frame.outcome, frame, wall_time=now - self.phase_start)
        self.position += 1
        self.phase_start = now
        if self.position >= len(self.calls):
            self.phase = "done"


def _how_it_ended(ended: dict[str, Any] | None) -> str:
    if not ended:
        return "ended"
    if "signal" in ended:
        try:
            return f"killed by {signal.Signals(ended['signal']).name}"
        except ValueError:
            return f"killed by signal {ended['signal']}"
    return f"exit status {ended.get('exit_code')}"
