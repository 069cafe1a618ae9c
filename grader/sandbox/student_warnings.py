"""Child side: warnings shown at the student's own line, never at a file of the grader.

A torch operation called by the student passes through the grader's function-mode hook, so a
warning torch raises from C++ is attributed to that hook's frame (a file of the grader). Here the
location is moved to the innermost frame of the submission on the stack, and the "once per
location" rule of Python's default filter is applied to that location.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

_GRADER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _student_frame(path: str) -> Any:
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename == path:
            return frame
        frame = frame.f_back
    return None


def install(path: str) -> None:
    """Route every warning shown in this process through the student's location (idempotent)."""
    shown: set[tuple[str, int, str, str]] = set()
    original = warnings.showwarning

    def showwarning(message: Any, category: type[Warning], filename: str, lineno: int,
                    file: Any = None, line: str | None = None) -> None:
        if filename != path:
            frame = _student_frame(path)
            if frame is not None:
                filename, lineno, line = path, frame.f_lineno, None
            elif os.path.abspath(filename).startswith(_GRADER_DIR + os.sep):
                filename, lineno, line = "<grader>", 0, ""
        key = (filename, lineno, category.__name__, str(message))
        if key in shown:
            return
        shown.add(key)
        if filename == path:
            filename = os.path.basename(path)
        original(message, category, filename, lineno, file, line)

    if getattr(warnings.showwarning, "__grader__", False):
        return
    showwarning.__grader__ = True  # type: ignore[attr-defined]
    warnings.showwarning = showwarning
    # Warnings attributed to the grader's hooks all reach showwarning, which applies "once per
    # location" to the student's location instead; every other warning keeps Python's filters,
    # and filters the submission sets itself (ignore, error) come first.
    warnings.filterwarnings("always", module=r"grader\.sandbox\.")
