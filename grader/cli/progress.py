"""The progress line of a batch on a terminal, and the one-line summary at its end."""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

import click


class Progress:
    """A progress line on stderr while a batch runs (only on a terminal), and a summary at the end."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.live = sys.stderr.isatty() and os.environ.get("TERM") != "dumb"
        self.lock = threading.Lock()
        self.shown = False

    def update(self, graded: Any, tally: Any) -> None:
        """Redraw the line after one more submission finished (called from grading threads)."""
        if not self.live:
            return
        width = 24
        filled = width * tally.done // max(1, tally.total)
        line = (f"\r[{'#' * filled}{'.' * (width - filled)}] {tally.done}/{tally.total} graded, "
                f"{tally.full_marks} full marks, {tally.not_run} not run")
        with self.lock:
            sys.stderr.write(line)
            sys.stderr.flush()
            self.shown = True

    def clear(self) -> None:
        """Erase the line before other output is printed."""
        with self.lock:
            if self.shown:
                sys.stderr.write("\r\x1b[K")
                sys.stderr.flush()

    def finish(self, scorecards: list[Any], seconds: float) -> None:
        """Replace the line with a one-line summary of the batch."""
        self.clear()
        full = sum(s.max_score > 0 and s.score >= s.max_score for s in scorecards)
        not_run = sum(s.error is not None for s in scorecards)
        click.echo(f"Graded {len(scorecards)} submissions in {seconds:.1f} s: {full} with full marks, "
                   f"{len(scorecards) - full - not_run} with points lost, {not_run} not run.", err=True)
