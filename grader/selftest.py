"""Self-test of exercises: each one's solution must score full marks, each mutant must fail as declared.

Layout of an exercise folder:

    my-exercise/
      exercise.yaml
      reference.py
      solution.py            every check passes
      mutants/
        uses_cos.py          first line `# fails: no-cosine, autograd`: exactly those checks do not pass

A mutant is a deliberately wrong submission. Its declaration line `# fails: ID, ID` (anywhere in the
file, once; conventionally the first line) names the checks it must not pass; every other check of
the exercise must pass. That proves each check catches the mistake it is there for, and only that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from grader.checks.base import ReferenceFailure
from grader.grading import GradeOptions, grade_submission
from grader.i18n import Text
from grader.messages import render as render_text
from grader.sandbox.supervisor import Sandbox
from grader.scorecard import CheckResult
from grader.source import SubmissionError
from grader.spec.loader import SPEC_FILE, LoadedExercise

SOLUTION_FILE = "solution.py"
"""The exercise's model solution, beside its exercise.yaml."""
MUTANTS_DIR = "mutants"
"""The folder of deliberately wrong submissions, beside its exercise.yaml."""
DECLARATION = re.compile(r"^#\s*fails:(?P<ids>.*)$", re.MULTILINE)
"""A mutant's line naming the checks it must not pass: `# fails: values, autograd`."""


@dataclass(frozen=True)
class FileResult:
    """How one solution or mutant scored, and what was not as required."""

    path: Path
    role: Literal["solution", "mutant"]
    declared: tuple[str, ...]
    """The checks a mutant declares it fails (empty for the solution)."""
    score: float
    max_score: float
    problems: tuple[str, ...]
    """Everything that differs from what is required, one sentence each; empty when all is as required."""

    @property
    def ok(self) -> bool:
        """True when the file scored as required."""
        return not self.problems


@dataclass(frozen=True)
class ExerciseSelftest:
    """The self-test of one exercise: its files' results and problems of the exercise as a whole."""

    exercise: str
    directory: Path
    files: tuple[FileResult, ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when the exercise has a solution and every file scored as required."""
        return not self.problems and all(f.ok for f in self.files)


def declared_failures(source: str) -> list[str] | None:
    """The check ids of a mutant's `# fails:` line, or None when it has no such line (or several)."""
    found = DECLARATION.findall(source)
    if len(found) != 1:
        return None
    return [part.strip() for part in found[0].split(",") if part.strip()]


def _english(text: Text | None) -> str:
    """A scorecard's text as the self-test report shows it: in English."""
    return render_text(text, "en") or ""


def _summary(check: CheckResult) -> str:
    text = _english(check.message).strip().replace("\n", "\n    ")
    return f"{check.id} {check.status}: {text}" if text else f"{check.id} {check.status}"


def _grade(path: Path, loaded: LoadedExercise, sandbox: Sandbox,
           options: GradeOptions) -> tuple[list[CheckResult], float, float, list[str]]:
    """The check results of one file graded against one exercise, and why it could not run (if so)."""
    try:
        card = grade_submission(path, [loaded], sandbox, options).scorecard
    except SubmissionError as exc:
        return [], 0.0, loaded.spec.max_score, [f"cannot be read: {exc}"]
    checks = card.exercises[0].checks if card.exercises else []
    problems = [f"did not run: {_english(card.error)}"] if card.error else []
    return checks, card.score, card.max_score, problems


def check_solution(path: Path, loaded: LoadedExercise, sandbox: Sandbox, options: GradeOptions) -> FileResult:
    """The solution must pass every check (and so score full marks)."""
    checks, score, max_score, problems = _grade(path, loaded, sandbox, options)
    if not problems:
        problems = [f"must pass every check, but {_summary(c)}" for c in checks if c.status != "passed"]
    return FileResult(path, "solution", (), score, max_score, tuple(problems))


def check_mutant(path: Path, loaded: LoadedExercise, sandbox: Sandbox, options: GradeOptions) -> FileResult:
    """A mutant must fail exactly the checks it declares and pass all others."""
    ids = [c.id for c in loaded.spec.checks]
    try:
        declared = declared_failures(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return FileResult(path, "mutant", (), 0.0, loaded.spec.max_score, (f"cannot be read: {exc}",))
    if not declared:
        return FileResult(path, "mutant", (), 0.0, loaded.spec.max_score, (
            f"needs exactly one line `# fails: CHECK_ID, ...` naming the checks it must not pass "
            f"(this exercise's checks: {', '.join(ids)})",))
    unknown = [d for d in declared if d not in ids]
    if unknown:
        return FileResult(path, "mutant", tuple(declared), 0.0, loaded.spec.max_score, (
            f"`# fails:` names {', '.join(map(repr, unknown))}, which this exercise does not have "
            f"(its checks: {', '.join(ids)})",))
    checks, score, max_score, problems = _grade(path, loaded, sandbox, options)
    if not problems:
        for check in checks:
            if check.id in declared and check.status == "passed":
                said = _english(check.message).strip().splitlines()[0]
                problems.append(f"is declared to fail {check.id}, but it passed: {said}")
            elif check.id not in declared and check.status != "passed":
                problems.append(f"is not declared to fail {check.id}, but {_summary(check)}")
    return FileResult(path, "mutant", tuple(declared), score, max_score, tuple(problems))


def selftest_exercise(loaded: LoadedExercise, sandbox: Sandbox, options: GradeOptions) -> ExerciseSelftest:
    """Grade an exercise's solution and mutants against that exercise alone."""
    directory = loaded.directory
    if loaded.path.name != SPEC_FILE:
        return ExerciseSelftest(loaded.spec.id, directory, (), (
            f"{loaded.path.name} is not in a folder of its own: self-tests need {loaded.spec.id}/{SPEC_FILE} "
            f"with {SOLUTION_FILE} and {MUTANTS_DIR}/ beside it",))
    problems: list[str] = []
    files: list[FileResult] = []
    try:
        solution = directory / SOLUTION_FILE
        if solution.is_file():
            files.append(check_solution(solution, loaded, sandbox, options))
        else:
            problems.append(f"has no {SOLUTION_FILE}: write one beside {SPEC_FILE} that passes every check")
        files.extend(check_mutant(m, loaded, sandbox, options) for m in sorted((directory / MUTANTS_DIR).glob("*.py")))
    except ReferenceFailure as exc:
        problems.append(f"its reference code failed: {exc}")
    return ExerciseSelftest(loaded.spec.id, directory, tuple(files), tuple(problems))


def run_selftest(exercises: list[LoadedExercise], sandbox: Sandbox, seed: int,
                 call_timeout: float = 5.0) -> list[ExerciseSelftest]:
    """Self-test every exercise on one sandbox, with the inputs of one seed; hidden checks are shown."""
    options = GradeOptions(seed=seed, call_timeout=call_timeout, lang="en", show_hidden=True)
    return [selftest_exercise(loaded, sandbox, options) for loaded in exercises]


def _relative(path: Path, directory: Path) -> str:
    try:
        return str(path.relative_to(directory))
    except ValueError:
        return str(path)


def render(results: list[ExerciseSelftest], seed: int) -> str:
    """The self-test report for people: one line per exercise and file, then what went wrong."""
    lines: list[str] = []
    for result in results:
        lines.append(f"{'✔' if result.ok else '✘'} {result.exercise}  ({result.directory})")
        lines.extend(f"    ✘ {result.exercise} {problem}" for problem in result.problems)
        for file in result.files:
            name = _relative(file.path, result.directory)
            points = f"{file.score:g}/{file.max_score:g}"
            what = "every check passes" if file.role == "solution" else f"fails {', '.join(file.declared) or '?'}"
            if file.ok:
                lines.append(f"    ✔ {name}  {points}  {what}")
            else:
                lines.append(f"    ✘ {name}  {points}")
                lines.extend(f"        {name} {problem}".replace("\n", "\n        ") for problem in file.problems)
    bad = [r for r in results if not r.ok]
    count = sum(len(r.files) for r in results)
    lines.append("")
    if bad:
        lines.append(f"{len(bad)} of {len(results)} exercise(s) not as declared; reproduce with --seed {seed}.")
    else:
        lines.append(f"{len(results)} exercise(s), {count} file(s): all as declared (seed {seed}).")
    return "\n".join(lines) + "\n"
