"""The grading queue: bounded, fed only with stored submissions, handing the pool no more than it grades at once.

- A submission is reserved a place (`reserve`: False when the queue is full, and the service
  answers 503), stored, then pushed; so what is queued is always in the database first.
- One dispatcher thread moves submissions `queued` → `running` (counting the attempt) only when
  the pool has a free slot, so `running` means a worker has it. Results are written by id, once,
  from the pool's threads; a submission that hangs holds one slot for at most its total timeout.
- On start, what a crash left unfinished is queued again (`Store.recover`); a clean shutdown
  waits a little for what is running and puts the rest back as it was, attempt not counted.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from concurrent.futures import Future
from typing import Callable

from grader.service.metrics import Metrics
from grader.service.pool import Job, Outcome, Pool
from grader.store import Store

log = logging.getLogger("grader.service")


class GradingQueue:
    """Submissions waiting for the pool, and those it is grading."""

    def __init__(self, store: Store, pool: Pool, capacity: int, metrics: Metrics,
                 on_finished: Callable[[str], None] = lambda _id: None) -> None:
        """`on_finished(id)` is called (from any thread) whenever a submission is graded or failed."""
        self.store = store
        self.pool = pool
        self.capacity = max(1, capacity)
        self.metrics = metrics
        self.on_finished = on_finished
        self._pending: deque[str] = deque()
        self._reserved = 0
        self._running: set[str] = set()
        self._condition = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- what the API uses ---------------------------------------------------------------------------

    def reserve(self) -> bool:
        """Take a place in the queue for a submission about to be stored; False when the queue is full."""
        with self._condition:
            if self._stopping or len(self._pending) + self._reserved >= self.capacity:
                return False
            self._reserved += 1
            return True

    def release(self) -> None:
        """Give back a place taken by `reserve` (the submission was not stored)."""
        with self._condition:
            self._reserved -= 1

    def push(self, submission_id: str, reserved: bool = True) -> None:
        """Queue a stored submission (in the place `reserve` took, unless `reserved` is False)."""
        with self._condition:
            if reserved:
                self._reserved -= 1
            self._pending.append(submission_id)
            self._condition.notify_all()

    @property
    def depth(self) -> int:
        """Submissions waiting for a worker."""
        with self._condition:
            return len(self._pending) + self._reserved

    @property
    def running(self) -> int:
        """Submissions being graded."""
        with self._condition:
            return len(self._running)

    def retry_after(self) -> int:
        """Seconds after which a place is likely free again (for Retry-After): about one grading per slot."""
        return max(1, min(600, math.ceil(self.metrics.mean_grading_seconds() / max(1, self.pool.slots))))

    # -- life cycle ----------------------------------------------------------------------------------

    def start(self, max_attempts: int) -> None:
        """Queue again what the last run left unfinished, then start dispatching."""
        recovery = self.store.recover(max_attempts)
        for submission_id in recovery.failed:
            log.warning("submission %s was being graded during %d crashes; marked failed", submission_id, max_attempts)
            self.metrics.finish(False, None, None)
            self.on_finished(submission_id)
        if recovery.requeued:
            log.info("queued again after a restart: %d submission(s)", len(recovery.requeued))
        with self._condition:
            # Recovered work may exceed the capacity: it was accepted, so it is never turned away.
            self._pending.extend(recovery.requeued)
        self._thread = threading.Thread(target=self._dispatch, name="dispatch", daemon=True)
        self._thread.start()

    def stop(self, grace: float) -> None:
        """Stop dispatching; wait up to `grace` seconds for running submissions, then put the rest back."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
        deadline = time.monotonic() + grace
        with self._condition:
            while self._running and time.monotonic() < deadline:
                self._condition.wait(timeout=max(0.0, deadline - time.monotonic()))
            left = list(self._running)
        for submission_id in left:
            # Interrupted by a clean stop, not a crash: graded on the next start, the attempt not counted.
            self.store.requeue(submission_id, uncount=True)

    # -- the dispatcher --------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        while True:
            with self._condition:
                while not self._stopping and (not self._pending or len(self._running) >= self.pool.slots):
                    self._condition.wait()
                if self._stopping:
                    return
                submission_id = self._pending.popleft()
                self._running.add(submission_id)
            try:
                self._start(submission_id)
            except Exception:  # noqa: BLE001 - a database error must not stop the dispatcher
                log.exception("could not start grading submission %s; it stays queued for the next start", submission_id)
                self._done(submission_id)

    def _start(self, submission_id: str) -> None:
        row = self.store.mark_running(submission_id)
        if row is None or row.source is None:
            self._done(submission_id)  # finished or failed already (queued twice): nothing to do
            return
        job = Job(row.id, row.filename, row.source, row.exercises, row.seed, row.lang, row.exercise_set)
        created = row.created
        future = self.pool.submit(job)
        future.add_done_callback(lambda done: self._finished(submission_id, created, done))

    def _finished(self, submission_id: str, created: float, future: Future[Outcome]) -> None:
        try:
            try:
                outcome = future.result()
            except BaseException as exc:  # noqa: BLE001 - a grader fault fails this submission, not the service
                with self._condition:
                    stopping = self._stopping
                if stopping:
                    return  # the pool was closed under it: `stop` puts it back in the queue
                log.error("grading submission %s failed: %s: %s", submission_id, type(exc).__name__, exc)
                if self.store.fail(submission_id, f"the grader failed: {type(exc).__name__}: {exc}"):
                    self.metrics.finish(False, None, time.time() - created)
                return
            if self.store.finish(submission_id, outcome.scorecard, list(outcome.figures), outcome.seconds):
                self.metrics.finish(True, outcome.seconds, time.time() - created)
        except Exception:  # noqa: BLE001 - the result stays `running` and is graded again on the next start
            log.exception("could not store the result of submission %s", submission_id)
        finally:
            self._done(submission_id)

    def _done(self, submission_id: str) -> None:
        with self._condition:
            self._running.discard(submission_id)
            self._condition.notify_all()
        self.on_finished(submission_id)
