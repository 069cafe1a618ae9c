"""Grading many submissions: each in its own isolated child, several at a time, results in input order."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from grader.grading import GradeOptions, Graded, grade_submission
from grader.sandbox.supervisor import Sandbox
from grader.spec.loader import LoadedExercise


@dataclass
class Tally:
    """Counts of a batch so far, for the progress line and the closing summary."""

    total: int
    done: int = 0
    full_marks: int = 0
    not_run: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, graded: Graded) -> Tally:
        """Count one finished submission; returns a snapshot safe to read from another thread."""
        card = graded.scorecard
        with self._lock:
            self.done += 1
            self.full_marks += card.max_score > 0 and card.score >= card.max_score
            self.not_run += card.error is not None
            return Tally(self.total, self.done, self.full_marks, self.not_run)


def grade_many(
    submissions: list[tuple[Path, str]], exercises: list[LoadedExercise], sandbox: Sandbox, options: GradeOptions,
    jobs: int, on_done: Callable[[Graded, Tally], None] | None = None,
) -> Iterator[Graded]:
    """Grade every submission, `jobs` at a time; yield results in the order given.

    Each submission gets its own child forked from the one warm worker, so a submission that
    hangs or crashes costs its own time only. Every submission is queued at once, so the workers
    never wait on one slow submission: results finish in any order and wait, in memory, only
    until those before them are reported.
    """
    tally = Tally(len(submissions))

    def grade(path: Path, display: str) -> Graded:
        graded = grade_submission(path, exercises, sandbox, options, display)
        snapshot = tally.add(graded)
        if on_done is not None:
            on_done(graded, snapshot)
        return graded

    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="grade") as pool:
        futures = [pool.submit(grade, path, display) for path, display in submissions]
        for future in futures:
            yield future.result()
