"""What `GET /metrics` says, in Prometheus' text exposition format (version 0.0.4).

Written by hand rather than with a client library: a few counters and two histograms do not
justify a dependency. Counters count since this process started (Prometheus handles restarts);
the numbers of submissions in each status come from the database, so they survive restarts.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0)
"""Upper bounds (seconds) of the latency histograms: from a warm fast path to the total timeout."""


@dataclass
class Histogram:
    """Cumulative buckets, sum and count, as Prometheus expects."""

    buckets: tuple[float, ...] = BUCKETS
    counts: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    total: float = 0.0
    count: int = 0

    def observe(self, value: float) -> None:
        """Record one observation."""
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1
        self.total += value
        self.count += 1

    def lines(self, name: str) -> list[str]:
        """The exposition lines of this histogram."""
        out = [f'{name}_bucket{{le="{bound:g}"}} {n}' for bound, n in zip(self.buckets, self.counts)]
        out.append(f'{name}_bucket{{le="+Inf"}} {self.count}')
        out.append(f"{name}_sum {self.total:.6f}")
        out.append(f"{name}_count {self.count}")
        return out


class Metrics:
    """The service's counters and histograms; thread-safe."""

    def __init__(self) -> None:
        """All zero."""
        self._lock = threading.Lock()
        self.accepted = 0
        self.graded = 0
        self.failed = 0
        self.rejected: dict[str, int] = {}
        self.grading = Histogram()
        self.latency = Histogram()
        self._mean = 0.0

    def accept(self) -> None:
        """A submission was stored and queued."""
        with self._lock:
            self.accepted += 1

    def reject(self, reason: str) -> None:
        """A submission was refused (`queue_full`, `rate_limited`, `too_large`, `invalid`, `unauthorized`)."""
        with self._lock:
            self.rejected[reason] = self.rejected.get(reason, 0) + 1

    def finish(self, graded: bool, grading_seconds: float | None, total_seconds: float | None) -> None:
        """A submission left the queue for good: graded (with its times) or failed."""
        with self._lock:
            if graded:
                self.graded += 1
            else:
                self.failed += 1
            if grading_seconds is not None:
                self.grading.observe(grading_seconds)
                # A moving mean of grading time, for Retry-After.
                self._mean = grading_seconds if self.grading.count == 1 else 0.9 * self._mean + 0.1 * grading_seconds
            if total_seconds is not None:
                self.latency.observe(total_seconds)

    def mean_grading_seconds(self, default: float = 2.0) -> float:
        """The recent mean time to grade one submission (`default` before the first)."""
        with self._lock:
            return self._mean if self.grading.count else default

    def render(self, queued: int, running: int, slots: int, statuses: dict[str, int], isolation: dict[str, Any],
               healthy: bool, torch_loaded: bool = False) -> str:
        """The whole exposition."""
        with self._lock:
            lines = [
                "# HELP grader_queue_depth Submissions waiting for a worker.",
                "# TYPE grader_queue_depth gauge",
                f"grader_queue_depth {queued}",
                "# HELP grader_running Submissions being graded now.",
                "# TYPE grader_running gauge",
                f"grader_running {running}",
                "# HELP grader_slots Submissions the pool grades at once.",
                "# TYPE grader_slots gauge",
                f"grader_slots {slots}",
                "# HELP grader_up Whether the grading pool can grade.",
                "# TYPE grader_up gauge",
                f"grader_up {int(healthy)}",
                "# HELP grader_submissions_accepted_total Submissions stored and queued by this process.",
                "# TYPE grader_submissions_accepted_total counter",
                f"grader_submissions_accepted_total {self.accepted}",
                "# HELP grader_submissions_graded_total Submissions graded by this process.",
                "# TYPE grader_submissions_graded_total counter",
                f"grader_submissions_graded_total {self.graded}",
                "# HELP grader_submissions_failed_total Submissions the grader could not grade (a fault of the grader).",
                "# TYPE grader_submissions_failed_total counter",
                f"grader_submissions_failed_total {self.failed}",
                "# HELP grader_submissions_rejected_total Submissions refused, by reason.",
                "# TYPE grader_submissions_rejected_total counter",
            ]
            for reason in sorted(self.rejected) or ["queue_full"]:
                lines.append(f'grader_submissions_rejected_total{{reason="{reason}"}} {self.rejected.get(reason, 0)}')
            lines += ["# HELP grader_submissions Submissions in the database, by status.",
                      "# TYPE grader_submissions gauge"]
            lines += [f'grader_submissions{{status="{status}"}} {n}' for status, n in statuses.items()]
            lines += ["# HELP grader_grading_seconds Time to grade one submission, from its start on a worker.",
                      "# TYPE grader_grading_seconds histogram", *self.grading.lines("grader_grading_seconds"),
                      "# HELP grader_submission_seconds Time from acceptance to result (queueing included).",
                      "# TYPE grader_submission_seconds histogram", *self.latency.lines("grader_submission_seconds")]
        level = str(isolation.get("level") or "unknown").replace('"', "")
        lines += ["# HELP grader_isolation_info The isolation submissions get (scorecards record each one's).",
                  "# TYPE grader_isolation_info gauge", f'grader_isolation_info{{level="{level}"}} 1',
                  "# HELP grader_serving_process_torch_loaded Whether the serving process has loaded torch (it must not).",
                  "# TYPE grader_serving_process_torch_loaded gauge", f"grader_serving_process_torch_loaded {int(torch_loaded)}"]
        return "\n".join(lines) + "\n"
