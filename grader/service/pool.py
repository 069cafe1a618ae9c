"""Where grading runs: a `Pool` takes a `Job` (plain data) and returns a future of its `Outcome` (plain data).

The queue knows only this interface, so a cluster (Dask workers, each with its own warm worker)
can take the local pool's place. `LocalPool` is the warm pool of `grade --jobs`: one `Sandbox`
(one warm worker, torch imported there once) shared by `slots` threads, each calling the same
`grade_submission` as `grade`. The serving process itself never imports torch for this: the
children run the submission, and the grader's own steps (parse, plan, judge) work on plain data.
Heavy modules are imported in `start`, not when this module is.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from grader.store import Figure

if TYPE_CHECKING:
    from grader.sandbox.supervisor import Sandbox
    from grader.service.sets import ExerciseSets
    from grader.spec.loader import LoadedExercise

log = logging.getLogger("grader.service")

SUFFIXES = (".py", ".ipynb")


@dataclass(frozen=True)
class Job:
    """One submission to grade, as plain data (it may travel to another machine)."""

    id: str
    filename: str
    """The safe display name; the scorecard's `submission`."""
    source: bytes
    exercises: tuple[str, ...]
    """Exercise ids to grade (empty: every exercise of the set)."""
    seed: int
    lang: str
    exercise_set: str = ""
    """The name of the set to grade against (empty: the pool's default set); recorded with the submission."""


@dataclass(frozen=True)
class Outcome:
    """A graded job: the language-neutral scorecard (`Scorecard.model_dump(mode="json")`) and its figures."""

    scorecard: dict[str, Any]
    figures: tuple[Figure, ...]
    seconds: float
    """Wall time of grading, from the start of the job to its scorecard."""


class Pool(Protocol):
    """Where grading runs."""

    slots: int
    """How many jobs it grades at once; the queue hands it no more than that."""

    def start(self) -> None:
        """Get ready to grade (start workers); blocks until it can."""

    def isolation(self) -> dict[str, Any]:
        """What isolation the submissions get (`level`, `missing`, ...), as in a scorecard's `run.isolation`."""

    def healthy(self) -> bool:
        """Whether it can grade now."""

    def submit(self, job: Job) -> Future[Outcome]:
        """Grade a job; the future fails only for a fault of the grader, never for the submission's."""

    def close(self) -> None:
        """Stop the workers; jobs still running end with an error."""


def disk_name(filename: str) -> str:
    """The file name a submission is graded under: its own stem when that is a Python identifier, as `grade` does.

    The child names the module after the file (tracebacks show it) and falls back to
    `submission.py` for stems that are not identifiers; this name makes the same choice.
    """
    path = Path(filename)
    suffix = path.suffix if path.suffix in SUFFIXES else ".py"
    return (path.stem if path.stem.isidentifier() else "submission") + suffix


class LocalPool:
    """The warm pool on this machine: one Sandbox, `slots` submissions at a time."""

    def __init__(self, exercises: list[LoadedExercise], slots: int, call_timeout: float, total_timeout: float,
                 memory_mb: int, figures: str, hide: tuple[str, ...] = (), sandbox: Sandbox | None = None,
                 sets: ExerciseSets | None = None) -> None:
        """`hide`: paths no submission may see (the database); the pool's own spool is hidden too.

        `sandbox`: one already started (so that its warm worker imports torch while the caller
        loads the exercises); by default `start` starts one. `sets`: every set served, each job
        graded against the one it names (`exercises` is then the default set's, graded for jobs
        that name none).
        """
        self.exercises = exercises
        self.sets = sets
        self.slots = max(1, slots)
        self.call_timeout = call_timeout
        self.total_timeout = total_timeout
        self.memory_mb = memory_mb
        self.figures = figures
        self._spool = Path(tempfile.mkdtemp(prefix="grader-serve-"))
        self.hide = tuple(hide) + (str(self._spool),)
        self._executor = ThreadPoolExecutor(max_workers=self.slots, thread_name_prefix="grade")
        self._sandbox: Sandbox | None = None
        self._given = sandbox
        self._generation = 0
        self._lock = threading.Lock()
        self._broken: str | None = None

    def start(self) -> None:
        """Start the warm worker and wait until it has imported torch."""
        from grader.sandbox.isolation import Limits
        from grader.sandbox.supervisor import Sandbox

        sandbox = self._given or Sandbox(Limits(memory_mb=self.memory_mb), warm_up="first").start()
        self._given = None
        sandbox.wait_ready()
        with self._lock:
            self._sandbox = sandbox
            self._broken = None

    def isolation(self) -> dict[str, Any]:
        """The isolation of the warm worker's children (the scorecards say what each one really got)."""
        return self._sandbox.isolation.to_dict() if self._sandbox is not None else {}

    def healthy(self) -> bool:
        """True once started, unless the warm worker died and could not be started again."""
        return self._sandbox is not None and self._broken is None

    def submit(self, job: Job) -> Future[Outcome]:
        """Grade `job` on one of the pool's threads."""
        return self._executor.submit(self._grade, job)

    def close(self) -> None:
        """Stop the warm worker (children die with it) and remove the spool."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            sandbox, self._sandbox = self._sandbox, None
        if sandbox is not None:
            sandbox.close()
        shutil.rmtree(self._spool, ignore_errors=True)

    def _restart(self, generation: int, why: Exception) -> None:
        """Start a new warm worker after the current one died (once, however many threads noticed)."""
        from grader.sandbox.isolation import Limits
        from grader.sandbox.supervisor import Sandbox

        with self._lock:
            if generation != self._generation or self._sandbox is None:
                return
            log.warning("the warm worker failed (%s); starting a new one", why)
            old = self._sandbox
            try:
                old.close()
            except Exception:  # noqa: BLE001 - it is dead already; what matters is the new one
                pass
            try:
                fresh = Sandbox(Limits(memory_mb=self.memory_mb), warm_up="first").start()
                fresh.wait_ready()
            except Exception as exc:  # noqa: BLE001 - reported through healthy() and the job's failure
                self._broken = f"{type(exc).__name__}: {exc}"
                raise
            self._sandbox = fresh
            self._generation += 1

    def _grade(self, job: Job) -> Outcome:
        from grader.sandbox.launch import SandboxError

        for attempt in range(2):
            with self._lock:
                sandbox, generation = self._sandbox, self._generation
            if sandbox is None:
                raise RuntimeError("the grading pool is closed")
            try:
                return self._grade_on(sandbox, job)
            except SandboxError as exc:
                if attempt:
                    raise
                self._restart(generation, exc)
        raise AssertionError("unreachable")

    def _exercises_of(self, job: Job) -> list[LoadedExercise]:
        """The exercises of the job's set; ValueError (the job fails, clearly) for a set no longer served."""
        if self.sets is None or not job.exercise_set:
            return self.exercises
        found = self.sets.of_stored(job.exercise_set)
        if found is None:
            raise ValueError(f"the exercise set {job.exercise_set!r} is no longer served (this server grades: "
                             f"{', '.join(self.sets.names)})")
        return found.exercises

    def _grade_on(self, sandbox: Sandbox, job: Job) -> Outcome:
        from grader.grading import GradeOptions, grade_submission, kept_attachments, plain_attachments

        started = time.perf_counter()
        available = self._exercises_of(job)
        by_id = {e.spec.id: e for e in available}
        missing = [w for w in job.exercises if w not in by_id]
        if missing:
            raise ValueError(f"exercises no longer in the set: {', '.join(missing)}")
        # In the order asked for, as `grade -e B -e A` grades them.
        exercises = [by_id[w] for w in job.exercises] if job.exercises else list(available)
        directory = Path(tempfile.mkdtemp(prefix=f"{job.id}-", dir=self._spool))
        try:
            path = directory / disk_name(job.filename)
            path.write_bytes(job.source)
            options = GradeOptions(seed=job.seed, call_timeout=self.call_timeout, total_timeout=self.total_timeout,
                                   lang=job.lang, hide=self.hide, keep_figures=self.figures != "none")  # type: ignore[arg-type]
            graded = grade_submission(path, exercises, sandbox, options, display=job.filename)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        figures = []
        if self.figures != "none":
            # The overlay's curves as data: the result page draws them as SVG, without matplotlib here.
            figures += [Figure(f"{exercise}.{check}.{name}", exercise, check, kind, data)
                        for exercise, check, kind, name, data in plain_attachments(graded, job.lang)]  # type: ignore[arg-type]
        # Overlays kept as pictures (`all`) are drawn here (from plain arrays) in the language of the submitter.
        figures += [Figure(f"{exercise}.{check}.{a.name}", exercise, check, a.kind, a.content(job.lang))  # type: ignore[arg-type]
                    for exercise, check, a in kept_attachments(graded, self.figures)]
        return Outcome(graded.scorecard.model_dump(mode="json"), tuple(figures), time.perf_counter() - started)
