"""A CSV gradebook for learning-management systems: one row per submission, one column per exercise."""

from __future__ import annotations

import csv
import io

from grader.scorecard import Scorecard

# Spreadsheets run a cell that starts with one of these as a formula; a file name is the student's choice.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(text: str) -> str:
    """A text cell that a spreadsheet will not evaluate as a formula."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    return "'" + text if text.startswith(_FORMULA_START) else text


def _points(value: float) -> str:
    return f"{value:g}"


def render(scorecards: list[Scorecard], per_check: bool = False) -> str:
    """Columns `submission, score, max_score`, then each exercise id (and `exercise/check` when `per_check`)."""
    exercises: dict[str, None] = {}
    checks: dict[str, None] = {}
    for card in scorecards:
        for exercise in card.exercises:
            exercises.setdefault(exercise.id)
            for check in exercise.checks:
                if check.graded:
                    checks.setdefault(f"{exercise.id}/{check.id}")
    header = ["submission", "score", "max_score", *exercises, *(checks if per_check else ())]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for card in scorecards:
        by_exercise = {e.id: _points(e.score) for e in card.exercises}
        by_check = {f"{e.id}/{c.id}": _points(c.score) for e in card.exercises for c in e.checks if c.graded}
        row = [cell(card.submission), _points(card.score), _points(card.max_score)]
        row += [by_exercise.get(key, "") for key in exercises]
        if per_check:
            row += [by_check.get(key, "") for key in checks]
        writer.writerow(row)
    return out.getvalue()
