"""The class at a glance, computed from stored scorecards: per check who fails, the frequent hints, score distributions.

It counts what `GET /api/v1/stats` counts (one graded submission per student, the latest or the
best; `tests/test_pages.py` holds the two to the same numbers), but from the language-neutral
stored form directly: statuses and scores are plain data there, and only the few distinct hints
are rendered, once each. Rendering every scorecard in full (what the API does) costs about 5 ms a
scorecard, too much for a page that a class of hundreds opens often; even parsing their JSON
costs about 1 ms each, so small summaries of them are kept (`Summaries`: graded results never change).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter

from grader.i18n import Lang, Localized, Text
from grader.messages import render
from grader.store import Store, SubmissionRow

_TEXT: TypeAdapter[Any] = TypeAdapter(Text)
log = logging.getLogger("grader.service")


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


@dataclass(frozen=True)
class CheckState:
    """One check of one scorecard, as much of it as the class view counts (texts in their stored JSON form)."""

    id: str
    status: str
    hint: str | None
    title: str | None
    graded: bool
    hidden: bool


@dataclass(frozen=True)
class ExerciseState:
    """One exercise of one scorecard: its points and its checks."""

    id: str
    title: str
    score: float
    max_score: float
    checks: tuple[CheckState, ...]


@dataclass(frozen=True)
class CardSummary:
    """What the class view needs of one graded scorecard: small, so that many are kept."""

    score: float
    max_score: float
    exercises: tuple[ExerciseState, ...]


def _json(value: Any) -> str | None:
    # Interned: the same hint or title in hundreds of summaries is one string in memory.
    return None if value is None else sys.intern(json.dumps(value, sort_keys=True, ensure_ascii=False))


def summarise(card: dict[str, Any]) -> CardSummary:
    """The summary of a stored scorecard."""
    return CardSummary(float(card.get("score") or 0.0), float(card.get("max_score") or 0.0), tuple(
        ExerciseState(sys.intern(e["id"]), _json(e.get("title")) or "null", float(e.get("score") or 0.0),
                      float(e.get("max_score") or 0.0), tuple(
                          CheckState(sys.intern(c["id"]), sys.intern(str(c.get("status"))),
                                     _json(c.get("hint")) if c.get("hint") else None, _json(c.get("title")),
                                     bool(c.get("graded", True)), bool(c.get("hidden", False)))
                          for c in e.get("checks", [])))
        for e in card.get("exercises", [])))


class Summaries:
    """Summaries of graded scorecards by submission id, the most recently used kept (thread-safe).

    A graded submission's scorecard never changes (results are written once), so a summary made
    once stays right; parsing the JSON of hundreds of scorecards is what a class view would cost
    on every load otherwise (about 1 ms each).
    """

    def __init__(self, capacity: int = 5000) -> None:
        """Keep at most `capacity` summaries (about 3 KB each)."""
        self.capacity = capacity
        self._cards: OrderedDict[str, CardSummary] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, store: Store, rows: Iterable[SubmissionRow]) -> list[tuple[SubmissionRow, CardSummary]]:
        """Each graded row with its summary (scorecards read from `store` only for those not kept)."""
        out = []
        for row in rows:
            with self._lock:
                found = self._cards.get(row.id)
                if found is not None:
                    self._cards.move_to_end(row.id)
            if found is None:
                card = row.scorecard if row.scorecard is not None else getattr(store.get(row.id), "scorecard", None)
                if card is None:
                    continue
                found = summarise(card)
                with self._lock:
                    self._cards[row.id] = found
                    while len(self._cards) > self.capacity:
                        self._cards.popitem(last=False)
            out.append((row, found))
        return out

    def warm(self, store: Store) -> None:
        """Summarise the scorecards the class view counts (latest and best per student), as a server starts."""
        try:
            for pick in ("latest", "best"):
                self.of(store, store.graded_per_student(pick, scorecard=False))
        except Exception:  # the store closing under it (a quick stop), or anything else: the pages summarise later
            log.debug("summaries not made at start", exc_info=True)


def overview(cards: Iterable[tuple[SubmissionRow, CardSummary]], order: list[str], pick: str) -> ClassOverview:
    """Count graded submissions (one per student: `Store.graded_per_student`); exercises in `order` first, then as met."""
    exercises: dict[str, ExerciseSummary] = {}
    titles: dict[str, Any] = {}
    scores: list[float] = []
    max_score = 0.0
    students = 0
    for _, card in cards:
        students += 1
        scores.append(card.score)
        max_score = max(max_score, card.max_score)
        for exercise in card.exercises:
            summary = exercises.get(exercise.id)
            if summary is None:
                summary = exercises[exercise.id] = ExerciseSummary(exercise.id, json.loads(exercise.title),
                                                                   exercise.max_score)
            summary.scores.append(exercise.score)
            for check in exercise.checks:
                entry = summary.checks.get(check.id)
                if entry is None:
                    title = titles.setdefault(check.title or "null", json.loads(check.title or "null"))
                    entry = summary.checks[check.id] = CheckSummary(exercise.id, check.id, title, check.graded,
                                                                    check.hidden)
                if check.status == "passed":
                    entry.passed += 1
                    continue
                if check.status == "failed":
                    entry.failed += 1
                else:
                    entry.error += 1
                if check.hint:
                    entry.hints[check.hint] += 1
    ranked = sorted(exercises.values(), key=lambda e: (order.index(e.id) if e.id in order else len(order), e.id))
    return ClassOverview(pick, students, max_score, scores, ranked)


def fails(card: CardSummary, exercise: str, check: str) -> bool:
    """Whether a graded submission did not pass the check `exercise`/`check` (False when it does not have it)."""
    for found in card.exercises:
        if found.id == exercise:
            return any(c.id == check and c.status != "passed" for c in found.checks)
    return False


def localized(stored: Any, lang: Lang, fallback: str) -> str:
    """A stored title (a localized text, or a plain string) in `lang`, or `fallback` when there is none."""
    if isinstance(stored, dict):
        return Localized.model_validate(stored).get(lang)
    if isinstance(stored, str) and stored:
        return stored
    return fallback
