"""The exercise sets a service grades against: each loaded once, by name (`builtin`, or a directory's name).

`grader serve --exercises DIR` may be given several times; each set is graded against its own
exercises, and every submission records the name of its set (the store's `exercise_set`), so
that restart recovery grades it again against the same set. The first set is the default of a
submission that names none. Plain data: nothing here imports torch or reads argv.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from grader.spec.loader import LoadedExercise

BUILTIN = "builtin"
"""The name of the built-in set (the five exercises shipped with the grader)."""


@dataclass(frozen=True)
class ExerciseSet:
    """One set: its name, its directory (None: the built-in exercises) and its loaded exercises in grading order."""

    name: str
    directory: Path | None
    exercises: list[LoadedExercise]

    def ids(self) -> list[str]:
        """Its exercise ids, in grading order."""
        return [e.spec.id for e in self.exercises]

    def stored_names(self) -> tuple[str, ...]:
        """What the store may hold for it: its name, and the resolved directory that older versions stored."""
        return (self.name,) if self.directory is None else (self.name, str(self.directory.resolve()))


class ExerciseSets:
    """The sets a service offers, in the order given (the first is the default)."""

    def __init__(self, sets: list[ExerciseSet]) -> None:
        """At least one set, with distinct names (the CLI checks both before it gets here)."""
        if not sets:
            raise ValueError("a service needs at least one exercise set")
        self._by_name = {s.name: s for s in sets}
        if len(self._by_name) != len(sets):
            raise ValueError("two exercise sets have the same name")
        self.default = sets[0]

    def __iter__(self) -> Iterator[ExerciseSet]:
        """The sets, default first."""
        return iter(self._by_name.values())

    def __len__(self) -> int:
        """How many sets."""
        return len(self._by_name)

    @property
    def names(self) -> list[str]:
        """The names, default first."""
        return list(self._by_name)

    def get(self, name: str | None) -> ExerciseSet | None:
        """The set of that name (None or empty: the default); None when there is none."""
        if not name:
            return self.default
        return self._by_name.get(name)

    def of_stored(self, stored: str) -> ExerciseSet | None:
        """The set a stored submission was accepted for: by name, or by the resolved directory older versions stored."""
        found = self.get(stored)
        if found is not None:
            return found
        for candidate in self:
            if candidate.directory is not None and str(candidate.directory.resolve()) == stored:
                return candidate
        return None

    def unknown_message(self, name: str) -> str:
        """The sentence of a 422 for a set this server does not grade, listing those it does."""
        return f"unknown exercise set {name[:80]!r}; this server grades: {', '.join(self.names)}"


def set_name(directory: Path | None) -> str:
    """The name a set is served under: `builtin`, or the name of its directory (resolved, so `.` has one too)."""
    return BUILTIN if directory is None else directory.resolve().name
