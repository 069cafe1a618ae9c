"""The grader's side of the sandbox: start children, run a submission's calls, enforce every deadline.

`Sandbox.run` imports the submission in an isolated child, asks `plan_for` which calls to make
once it knows what the submission defines, and collects one `CallOutcome` per call. The clock is
the grader's: a call that overruns its timeout is killed (with every process it started), marked
`timeout`, and the remaining calls go on in a fresh child. A child that crashes or exits costs the
call it was making, nothing more; once a function has timed out or crashed, its remaining calls
are not made, and each exercise has its own share of the submission's time. Nothing from the
child is trusted: frames are validated, output is capped, and only the supervisor's reports (or,
for a spawned child, the grader's own view of its process) say how it ended.

The conversation with a child is one loop over a queue of events fed by one thread per pipe, so
it is the same on every platform (Windows cannot `select` on pipes).
"""

from __future__ import annotations

import os
import queue
import secrets
import select
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from grader.observations import CallOutcome, CallReport, DoneReport, ModuleReport, SetupReport, parse_frame
from grader.sandbox.isolation import NAMESPACE_MODES, WARM_UP_MODES, Isolation, Limits, WarmUp
from grader.sandbox.launch import ChildHandle, ForkLauncher, SandboxError, SpawnLauncher
from grader.sandbox.output import CapturedOutput, OutputSplitter
from grader.sandbox.references import ReferenceWorker
from grader.sandbox.platform import Platform, current, profile
from grader.wire import FrameDecoder, ProtocolError, encode_frame

__all__ = ["CapturedOutput", "JobRequest", "RunRecord", "Sandbox", "SandboxError"]

START_TIMEOUT = 120.0
"""Seconds a child may take to start (a spawned one imports torch) before the sandbox is declared broken."""
KILL_GRACE = 10.0
"""Seconds to wait for the supervisor to confirm a killed child is gone before giving up on it."""
EXIT_GRACE = 2.0
"""Seconds a child that has made every call may take to exit before it is killed."""
DRAIN_GRACE = 2.0
"""Seconds to keep reading output after a child ended (only an escaped process could hold it longer)."""
MAX_FRAME_NODES = 200_000
"""JSON objects and arrays one frame may hold, counted before it is parsed: a frame of nested lists
costs the grader memory and time far beyond its size in bytes."""
POLL = 0.25
"""Seconds between checks of a reader thread that its attempt is over."""


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
    """What the submission printed once calls judged only by hidden checks began (withheld from students)."""
    call_output_bytes: dict[int, int] = field(default_factory=dict)
    """Bytes printed during each call, by call index."""
    max_rss_kb: int = 0
    """Peak resident memory of the largest child, as its supervisor measured it."""
    memory_peak_kb: int | None = None
    """Peak memory of the whole job (every process, shared memory included) where a cgroup measured it."""
    out_of_memory: bool = False
    """The kernel killed a process of the job for exceeding its memory limit."""


PlanFor = Callable[[ModuleReport], list[dict[str, Any]]]


class Sandbox:
    """Runs submissions in isolated children: forked from a warm worker, or spawned where there is no fork."""

    def __init__(self, limits: Limits | None = None, python: str | None = None, namespaces: str = "auto",
                 platform: str | None = None, warm_up: WarmUp = "soon") -> None:
        """`namespaces` is one of isolation.NAMESPACE_MODES; `platform` forces another platform's path (tests);
        `warm_up` (isolation.WARM_UP_MODES) says when the warm worker initialises, once, what each child would
        on first use: before it is ready (a service), after the first child (a batch) or never (one file)."""
        if namespaces not in NAMESPACE_MODES:
            raise ValueError(f"namespaces must be one of {', '.join(NAMESPACE_MODES)}, not {namespaces!r}")
        if warm_up not in WARM_UP_MODES:
            raise ValueError(f"warm_up must be one of {', '.join(WARM_UP_MODES)}, not {warm_up!r}")
        self.limits = limits or Limits()
        self.python = python or sys.executable
        self.platform: Platform = profile(platform) if platform else current()
        if self.platform.fork:
            self._launcher: ForkLauncher | SpawnLauncher = ForkLauncher(self.platform, self.limits, self.python, namespaces,
                                                                        warm_up)
        else:
            self._launcher = SpawnLauncher(self.platform, self.limits, self.python)
        self._started = False
        self.references = ReferenceWorker(self._launcher.start_references)
        """The trusted worker that runs the exercises' reference code (started on first use)."""

    @property
    def isolation(self) -> Isolation:
        """What the platform and the warm worker provide before any child is started."""
        return self._launcher.isolation

    @property
    def worker_pid(self) -> int | None:
        """The warm worker's process id (None where children are spawned, or before it starts)."""
        return self._launcher.pid

    def spare_pid(self) -> int | None:
        """The supervisor forked ahead for the next child, its child waiting in its namespaces (None if none)."""
        return self._launcher.spare_pid()

    def wait_ready(self) -> None:
        """Block until the warm worker is ready to start children."""
        if not self._started:
            self.start()
        self._launcher.wait_ready()

    def start(self) -> Sandbox:
        """Start the warm worker (it imports torch) without waiting for it; `run` waits."""
        self._launcher.start()
        self._started = True
        return self

    def close(self) -> None:
        """Stop the warm worker, the reference worker and anything still running under them."""
        self.references.close()
        self._launcher.close()

    def __enter__(self) -> Sandbox:
        return self if self._started else self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, request: JobRequest, plan_for: PlanFor, call_timeout: float, total_timeout: float) -> RunRecord:
        """Run a submission; the calls come from `plan_for` once the child reports what it defines."""
        if not self._started:
            self.start()
        self._launcher.wait_ready()
        record = RunRecord(isolation=self.isolation)
        budget = _Budget(time.monotonic(), total_timeout)
        calls: list[dict[str, Any]] | None = None
        remaining: list[dict[str, Any]] = []
        while True:
            attempt = _Attempt(self, request, plan_for, record, remaining if calls is not None else None,
                               call_timeout, budget, first_attempt=record.children == 0)
            attempt.run()
            record.children += 1
            record.isolation = attempt.isolation or record.isolation
            if calls is None:
                calls = attempt.calls
                if calls is None:
                    break  # the import did not finish
                remaining = list(calls)
            remaining = remaining[attempt.completed :]
            if not remaining:
                break
            failed = remaining.pop(0)
            outcome = attempt.failure(failed["index"])
            record.calls[failed["index"]] = outcome
            budget.charge(failed, attempt.failed_after)
            if record.observation_bytes > self.limits.observations_mb << 20:
                remaining = _skip(record, remaining, lambda call: True, "too_much_data")
            if outcome.status in ("timeout", "crashed"):
                # The function is likely to do the same again: its other calls are not made.
                why = "earlier_timeout" if outcome.status == "timeout" else "earlier_crash"
                remaining = _skip(record, remaining, lambda call: call["function"] == failed["function"], why)
            remaining = _skip(record, remaining, budget.exhausted, budget.why_exhausted())
            if not remaining:
                break
        record.wall_time = budget.elapsed()
        return record

    def launch(self, events: Any, hide: tuple[str, ...]) -> ChildHandle:
        """Start one child; its lifecycle events arrive on `events`."""
        return self._launcher.launch(events, hide)


def _skip(record: RunRecord, calls: list[dict[str, Any]], skipped: Callable[[dict[str, Any]], bool],
          why: str) -> list[dict[str, Any]]:
    """Mark the calls `skipped` selects as not run, for `why` (a reason code); the rest, in order."""
    kept = []
    for call in calls:
        if skipped(call):
            record.calls[call["index"]] = CallOutcome(call["index"], "not_run", reason=why)
        else:
            kept.append(call)
    return kept


class _Budget:
    """The submission's time: a total, shared out equally among its exercises once the import is done."""

    def __init__(self, started: float, total: float) -> None:
        self.started = started
        self.total = total
        self.spent: dict[str, float] = {}
        self.shares: dict[str, float] | None = None

    def elapsed(self) -> float:
        """Seconds since the submission started."""
        return time.monotonic() - self.started

    def share_out(self, calls: list[dict[str, Any]]) -> None:
        """Give each exercise with calls an equal part of what the import left."""
        exercises = list(dict.fromkeys(str(call.get("exercise", "")) for call in calls))
        left = max(0.0, self.total - self.elapsed())
        self.shares = {name: left / max(1, len(exercises)) for name in exercises}

    def charge(self, call: dict[str, Any], seconds: float) -> None:
        """Count a call's seconds against its exercise's share."""
        name = str(call.get("exercise", ""))
        self.spent[name] = self.spent.get(name, 0.0) + seconds

    def left(self, call: dict[str, Any] | None, at: float) -> float:
        """Seconds left at time `at` for this call's exercise (never more than the submission has)."""
        overall = self.total - (at - self.started)
        if call is None or self.shares is None:
            return overall
        name = str(call.get("exercise", ""))
        return min(overall, self.shares.get(name, overall) - self.spent.get(name, 0.0))

    def why_exhausted(self) -> str:
        """The reason code of calls skipped for lack of time: the submission's or only their exercise's."""
        return "total_time" if self.elapsed() >= self.total else "exercise_time"

    def exhausted(self, call: dict[str, Any]) -> bool:
        """Whether this call's exercise (or the submission) has no time left now."""
        return self.left(call, time.monotonic()) <= 0


def _pump(fd: int, tag: str, events: Any, stop: threading.Event, can_select: bool) -> None:
    """Read a pipe until it closes (or the attempt is over), putting each chunk on the event queue."""
    try:
        while not stop.is_set():
            if can_select and not select.select([fd], [], [], POLL)[0]:
                continue
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                chunk = b""
            events.put((tag, chunk))
            if not chunk:
                return
    finally:
        os.close(fd)


class _Writer:
    """Writes frames to the child's commands pipe from a thread of its own, so a child that stops reading blocks nobody."""

    def __init__(self, fd: int, stop: threading.Event, can_select: bool) -> None:
        self._frames: queue.Queue[bytes | None] = queue.Queue()
        self._fd, self._stop, self._can_select = fd, stop, can_select
        if can_select:
            os.set_blocking(fd, False)
        threading.Thread(target=self._run, daemon=True, name="commands").start()

    def send(self, frame: bytes) -> None:
        """Queue one frame."""
        self._frames.put(frame)

    def close(self) -> None:
        """No more frames; the pipe closes once the queued ones are written (or the child is gone)."""
        self._frames.put(None)

    def _run(self) -> None:
        try:
            while (frame := self._frames.get()) is not None:
                data = memoryview(frame)
                while data and not self._stop.is_set():
                    if self._can_select and not select.select([], [self._fd], [], POLL)[1]:
                        continue
                    try:
                        data = data[os.write(self._fd, data):]
                    except BlockingIOError:
                        continue
        except OSError:
            pass  # the child is gone; its end is reported on the lifecycle channel
        finally:
            os.close(self._fd)


class _Attempt:
    """One child's lifetime: from starting it to the report that it has ended."""

    def __init__(self, sandbox: Sandbox, request: JobRequest, plan_for: PlanFor, record: RunRecord,
                 calls: list[dict[str, Any]] | None, call_timeout: float, budget: _Budget, first_attempt: bool) -> None:
        self.sandbox = sandbox
        self.request = request
        self.plan_for = plan_for
        self.record = record
        self.calls = calls
        """The calls this child makes, in order (None until the plan exists)."""
        self.completed = 0
        """How many of `calls` this child reported."""
        self.call_timeout = call_timeout
        self.budget = budget
        self.first_attempt = first_attempt
        self.isolation: Isolation | None = None
        self.ended: dict[str, Any] | None = None
        self.ended_at = 0.0
        self.killed_for: str | None = None
        self.killed_at = 0.0
        self.violation: str | None = None
        self.failed_after = 0.0
        self.decoder = FrameDecoder()
        self.nonce = secrets.token_hex(16)
        self.splitter = OutputSplitter(self.nonce)
        self.phase = "starting"
        self.phase_start = time.monotonic()
        self.early_frames: list[Any] = []
        """Reports read before the supervisor's word that the child started (they are handled then)."""
        self.private_from: int | None = None
        """Position in `calls` from which every call, and everything printed, is withheld."""

    def failure(self, index: int) -> CallOutcome:
        """The outcome of the call during which this child stopped without reporting."""
        elapsed = self.failed_after
        if self.killed_for == "timeout":
            return CallOutcome(index, "timeout", wall_time=elapsed, detail=f"{self.call_timeout:g}", reason="call_timeout")
        if self.killed_for == "total":
            return CallOutcome(index, "timeout", wall_time=elapsed, reason=self.budget.why_exhausted())
        if self.violation:
            return CallOutcome(index, "invalid", wall_time=elapsed, detail=self.violation)
        reason = "out_of_memory" if self.ended and self.ended.get("out_of_memory") else None
        return CallOutcome(index, "crashed", wall_time=elapsed, detail=_how_it_ended(self.ended), reason=reason)

    # -- the conversation -----------------------------------------------------------------
    def run(self) -> None:
        """Start the child, converse until it has ended, then release everything it held."""
        events: queue.Queue[tuple[str, Any]] = queue.Queue()
        stop = threading.Event()
        child = self.sandbox.launch(events, self.request.hide)
        can_select = self.sandbox.platform.name != "windows"
        self.child = child
        self.writer = _Writer(child.commands, stop, can_select)
        for fd, tag in ((child.observations, "obs"), (child.output, "out")):
            threading.Thread(target=_pump, args=(fd, tag, events, stop, can_select), daemon=True, name=tag).start()
        hello = {
            "source": self.request.source, "filename": self.request.filename,
            "functions": list(self.request.functions), "attributes": list(self.request.attributes),
            "watch": list(self.request.watch), "seed": self.request.seed, "marker": self.nonce,
        }
        try:
            self.writer.send(encode_frame(hello))
            if self.calls is not None:
                self._set_private_from()
            self._converse(events)
        finally:
            stop.set()
            self.writer.close()
            child.release()
        if self.phase in ("starting", "import") and self.record.module is None:
            if self.killed_for in ("timeout", "total"):
                self.record.import_problem = "timeout"
            elif self.violation:
                self.record.import_problem = f"invalid: {self.violation}"  # killed for it; say why, not how
            else:
                self.record.import_problem = _how_it_ended(self.ended)

    def _converse(self, events: queue.Queue[tuple[str, Any]]) -> None:
        open_pipes = {"obs", "out"}
        while True:
            now = time.monotonic()
            if self.ended is not None and (not open_pipes or now >= self.ended_at + DRAIN_GRACE):
                break  # a pipe still open after the end is held by something that escaped; stop reading
            if self.ended is None and now >= self._deadline():
                self._on_deadline(now)
                continue
            limit = self.ended_at + DRAIN_GRACE if self.ended is not None else self._deadline()
            try:
                kind, data = events.get(timeout=max(0.0, limit - now))
            except queue.Empty:
                continue
            if kind == "started":
                try:
                    self._started(Isolation.from_dict(data))
                except ProtocolError as exc:
                    self._violation(exc)
            elif kind == "ended":
                self.ended = data
                self.ended_at = time.monotonic()
                if isinstance(data.get("max_rss_kb"), int):
                    self.record.max_rss_kb = max(self.record.max_rss_kb, data["max_rss_kb"])
                if isinstance(data.get("memory_peak_kb"), int):
                    self.record.memory_peak_kb = max(self.record.memory_peak_kb or 0, data["memory_peak_kb"])
                if data.get("out_of_memory"):
                    self.record.out_of_memory = True
            elif kind == "out":
                if not data:
                    open_pipes.discard("out")
                    self._print(self.splitter.flush())
                else:
                    self._print(self.splitter.feed(data))
            elif kind == "obs":
                if not data:
                    open_pipes.discard("obs")
                elif self.violation is None:
                    self._receive(data)
                # After a violation the child is being killed; what it still sends is read and dropped.

    def _started(self, isolation: Isolation) -> None:
        if self.phase == "starting":
            self.isolation = isolation
            self.phase = "import"
            self.phase_start = time.monotonic()
            early, self.early_frames = self.early_frames, []
            for frame in early:
                self._handle(frame)

    def _set_private_from(self) -> None:
        assert self.calls is not None
        self.private_from = next((i for i, call in enumerate(self.calls) if call.get("private")), None)

    def _print(self, pieces: list[tuple[int, bytes]]) -> None:
        """Attribute printed bytes: segment 0 to the import, segment k to this child's k-th call."""
        for segment, data in pieces:
            if segment == 0:
                if self.first_attempt:  # a restarted child imports again; its output was shown once
                    self.record.output.add(data)
                continue
            position = segment - 1
            calls = self.calls or []
            if calls:
                index = calls[min(position, len(calls) - 1)]["index"]
                self.record.call_output_bytes[index] = self.record.call_output_bytes.get(index, 0) + len(data)
            private = self.private_from is not None and position >= self.private_from
            (self.record.private_output if private else self.record.output).add(data)

    def _deadline(self) -> float:
        if self.killed_for is not None:
            return self.killed_at + KILL_GRACE
        if self.phase == "starting":
            return self.phase_start + START_TIMEOUT
        if self.phase == "done":
            return self.phase_start + EXIT_GRACE
        return self.phase_start + min(self.call_timeout, max(0.0, self._left()))

    def _left(self) -> float:
        """What the budget allows the current phase, from its start."""
        call = self.calls[self.completed] if self.phase == "calls" and self.calls and self.completed < len(self.calls) else None
        return self.budget.left(call, self.phase_start)

    def _on_deadline(self, now: float) -> None:
        if self.killed_for is not None:
            raise SandboxError(f"a killed child did not end: {self.sandbox._launcher.log_tail()}")
        if self.phase == "starting":
            self._kill("start")
            raise SandboxError(f"a grading child did not start within {START_TIMEOUT:g} s: {self.sandbox._launcher.log_tail()}")
        self.failed_after = now - self.phase_start
        if self.phase == "done":
            self._kill("lingering")  # every call reported; it just does not leave
        elif self._left() < self.call_timeout:
            self._kill("total")  # the exercise's share (or the submission's time) ran out first
        else:
            self._kill("timeout")

    def _kill(self, why: str) -> None:
        self.killed_for = why
        self.killed_at = time.monotonic()
        self.child.kill()

    def _receive(self, chunk: bytes) -> None:
        self.record.observation_bytes += len(chunk)
        cap = self.sandbox.limits.observations_mb << 20
        try:
            if self.record.observation_bytes > cap:
                # One submission's reports live in the grader's memory until it is judged.
                raise ProtocolError(f"more than {self.sandbox.limits.observations_mb} MiB of observations")
            for body in self.decoder.frames(chunk):
                if body.count(b"{") + body.count(b"[") > MAX_FRAME_NODES:
                    raise ProtocolError(f"a frame of more than {MAX_FRAME_NODES} objects and arrays")
                self._handle(parse_frame(body))
        except ProtocolError as exc:
            self._violation(exc)

    def _violation(self, exc: ProtocolError) -> None:
        self.violation = str(exc)
        self.failed_after = time.monotonic() - self.phase_start
        self._kill("violation")

    def _handle(self, frame: SetupReport | ModuleReport | CallReport | DoneReport) -> None:
        now = time.monotonic()
        if isinstance(frame, SetupReport):
            if self.phase != "starting":
                raise ProtocolError("a setup report after the start")
            self._started(Isolation.from_dict(frame.isolation))
            return
        if self.phase == "starting":
            # The supervisor's "started" travels on another channel than the child's reports, so a
            # quick child's first report can be read first: it waits its turn.
            if len(self.early_frames) >= 4:
                raise ProtocolError("reports before the child started")
            self.early_frames.append(frame)
            return
        if self.phase == "import":
            if not isinstance(frame, ModuleReport):
                raise ProtocolError("expected the module report first")
            if self.record.module is None:
                self.record.module = frame
            if not frame.ok:
                self.calls = self.calls if self.calls is not None else []
                self.phase = "done"
                self.phase_start = now
                return
            if self.calls is None:
                self.calls = self.plan_for(frame)
                self.budget.share_out(self.calls)
            self._set_private_from()
            self.writer.send(encode_frame({"calls": self.calls}))
            self.phase = "calls" if self.calls else "done"
            self.phase_start = now
            return
        if isinstance(frame, DoneReport):
            if self.calls is not None and self.completed < len(self.calls):
                raise ProtocolError("the child said it was done before making every call")
            self.phase = "done"
            self.phase_start = now
            return
        if not isinstance(frame, CallReport) or self.calls is None or self.completed >= len(self.calls):
            raise ProtocolError("unexpected frame")
        expected = self.calls[self.completed]["index"]
        if frame.index != expected:
            raise ProtocolError(f"report for call {frame.index} where call {expected} was due")
        self.record.calls[expected] = CallOutcome(expected, frame.outcome, frame, wall_time=now - self.phase_start)
        self.budget.charge(self.calls[self.completed], now - self.phase_start)
        self.completed += 1
        self.phase_start = now
        if self.completed >= len(self.calls):
            self.phase = "done"


def _how_it_ended(ended: dict[str, Any] | None) -> str:
    if not ended or ended.get("lost"):
        return "ended"
    if "signal" in ended:
        import signal

        try:
            return f"killed by {signal.Signals(ended['signal']).name}"
        except ValueError:
            return f"killed by signal {ended['signal']}"
    return f"exit status {ended.get('exit_code')}"
