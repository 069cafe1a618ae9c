"""The class at a glance, computed from stored scorecards: per check who fails, the frequent hints, score distributions.

It counts what `GET /api/v1/stats` counts (one graded submission per student, the latest or the
best; `tests/test_pages.py` holds the two to the same numbers), but from the language-neutral
stored form directly: statuses and scores are plain data there, and only the few distinct hints
are rendered, once each. Rendering every scorecard in full (what the API does) costs about 5 ms a
scorecard, too much for a page that a class of hundreds opens often.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter

from grader.i18n import Lang, Localized, Text
from grader.messages import render
from grader.store import SubmissionRow

_TEXT: TypeAdapter[Any] = TypeAdapter(Text)


def text_of(stored: Any, lang: Lang) -> str:
    """A text in its stored JSON form (a message, a localized text or a plain string) in `lang`."""
    if stored is None:
        return ""
    return render(_TEXT.validate_python(stored), lang) or ""


@dataclass
class CheckSummary:
    """How the counted submissions did on one check."""

    exercise: str
    check: str
    title: Any = None
    """The check's title as stored (a localized text), or None."""
    graded: bool = True
    hidden: bool = False
    passed: int = 0
    failed: int = 0
    error: int = 0
    hints: Counter[str] = field(default_factory=Counter)
    """Hints given to those who did not pass, by their stored form (JSON text), counted."""

    @property
    def total(self) -> int:
        """How many counted submissions have this check."""
        return self.passed + self.failed + self.error

    @property
    def fail_share(self) -> float:
        """Share of them that did not pass it (failed or error), as the API's `fail_share`."""
        return round((self.total - self.passed) / self.total, 4) if self.total else 0.0

    def top_hints(self, lang: Lang, n: int = 3) -> list[tuple[str, int]]:
        """The `n` most frequent hints in `lang` with their counts (hints that read alike are counted together)."""
        rendered: Counter[str] = Counter()
        for stored, count in self.hints.items():
            rendered[text_of(json.loads(stored), lang)] += count
        return rendered.most_common(n)


@dataclass
class ExerciseSummary:
    """One exercise over the counted submissions: their scores and each check."""

    id: str
    title: Any
    max_score: float
    scores: list[float] = field(default_factory=list)
    checks: dict[str, CheckSummary] = field(default_factory=dict)


@dataclass
class ClassOverview:
    """Every exercise and check over one graded submission per student."""

    pick: str
    students: int
    max_score: float
    scores: list[float]
    exercises: list[ExerciseSummary]

    def checks(self) -> list[CheckSummary]:
        """Every check, exercise by exercise."""
        return [check for exercise in self.exercises for check in exercise.checks.values()]

    def most_failed(self, n: int = 5) -> list[CheckSummary]:
        """The graded checks that the largest shares fail (none that everyone passes)."""
        failing = [c for c in self.checks() if c.graded and c.fail_share > 0]
        return sorted(failing, key=lambda c: (-c.fail_share, -c.total))[:n]


def overview(rows: Iterable[SubmissionRow], order: list[str], pick: str) -> ClassOverview:
    """Count `rows` (graded, with scorecards: `Store.graded_per_student`); exercises in `order` first, then as met."""
    exercises: dict[str, ExerciseSummary] = {}
    scores: list[float] = []
    max_score = 0.0
    students = 0
    for row in rows:
        card = row.scorecard
        if card is None:
            continue
        students += 1
        scores.append(float(card.get("score") or 0.0))
        max_score = max(max_score, float(card.get("max_score") or 0.0))
        for exercise in card.get("exercises", []):
            summary = exercises.get(exercise["id"])
            if summary is None:
                summary = exercises[exercise["id"]] = ExerciseSummary(exercise["id"], exercise.get("title"),
                                                                      float(exercise.get("max_score") or 0.0))
            summary.scores.append(float(exercise.get("score") or 0.0))
            for check in exercise.get("checks", []):
                entry = summary.checks.get(check["id"])
                if entry is None:
                    entry = summary.checks[check["id"]] = CheckSummary(
                        exercise["id"], check["id"], check.get("title"), check.get("graded", True),
                        check.get("hidden", False))
                status = check.get("status")
                if status == "passed":
                    entry.passed += 1
                    continue
                if status == "failed":
                    entry.failed += 1
                else:
                    entry.error += 1
                if check.get("hint"):
                    entry.hints[json.dumps(check["hint"], sort_keys=True, ensure_ascii=False)] += 1
    ranked = sorted(exercises.values(), key=lambda e: (order.index(e.id) if e.id in order else len(order), e.id))
    return ClassOverview(pick, students, max_score, scores, ranked)


def fails(row: SubmissionRow, exercise: str, check: str) -> bool:
    """Whether a graded submission did not pass the check `exercise`/`check` (False when it does not have it)."""
    for found in (row.scorecard or {}).get("exercises", []):
        if found.get("id") == exercise:
            return any(c.get("id") == check and c.get("status") != "passed" for c in found.get("checks", []))
    return False


def localized(stored: Any, lang: Lang, fallback: str) -> str:
    """A stored title (a localized text, or a plain string) in `lang`, or `fallback` when there is none."""
    if isinstance(stored, dict):
        return Localized.model_validate(stored).get(lang)
    if isinstance(stored, str) and stored:
        return stored
    return fallback
