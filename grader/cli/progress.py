"""The progress line of a batch on a terminal, and the one-line summary at its end, in the reader's language."""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

import click

from grader.i18n import Lang
from grader.messages import tr


class Progress:
    """A progress line on stderr while a batch runs (only on a terminal), and a summary at the end."""

    def __init__(self, total: int, lang: Lang = "en") -> None:
        self.total = total
        self.lang = lang
        self.live = sys.stderr.isatty() and os.environ.get("TERM") != "dumb"
        self.lock = threading.Lock()
        self.shown = False

    def update(self, graded: Any, tally: Any) -> None:
        """Redraw the line after one more submission finished (called from grading threads)."""
        if not self.live:
            return
        width = 24
        filled = width * tally.done // max(1, tally.total)
        counts = tr(self.lang, "batch_progress", done=tally.done, total=tally.total, full=tally.full_marks,
                    not_run=tally.not_run)
        line = f"\r[{'#' * filled}{'.' * (width - filled)}] {counts}"
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
                self.shown = False

    def finish(self, scorecards: list[Any], seconds: float, width: int | None = None) -> None:
        """Replace the line with a one-line summary of the batch (after everything else it printed), wrapped to `width`."""
        from grader.reporters.text import wrap

        self.clear()
        click.echo(wrap(summary_line(scorecards, seconds, self.lang), width), err=True)


def summary_line(scorecards: list[Any], seconds: float, lang: Lang = "en") -> str:
    """`Graded 12 submissions in 3.4 s: ...`: how many got full marks, lost points, did not run."""
    full = sum(s.max_score > 0 and s.score >= s.max_score for s in scorecards)
    not_run = sum(s.error is not None for s in scorecards)
    return tr(lang, "batch_summary", n=len(scorecards), seconds=seconds, full=full,
              lost=len(scorecards) - full - not_run, not_run=not_run)
