"""Shared fixtures: one warm sandbox for the whole session, the built-in exercises, grading helpers.

Scorecards and verdicts hold messages, not sentences: `en(text)` and `zh(text)` render one the
way reporters do, for assertions on what a reader sees.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.grading import GradeOptions, Graded, grade_submission
from grader.messages import render
from grader.sandbox.supervisor import Sandbox
from grader.scorecard import Scorecard
from grader.spec.loader import LoadedExercise, builtin_exercises_dir, load_exercises

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "submissions_example"
DATA = Path(__file__).resolve().parent / "data"


def en(text):
    """A scorecard's or verdict's text (message, localized text or plain string) as an English reader sees it."""
    return render(text, "en")


def zh(text):
    """A scorecard's or verdict's text as a Chinese reader sees it."""
    return render(text, "zh")


@pytest.fixture(scope="session")
def sandbox():
    """A warm worker shared by every test that grades something."""
    with Sandbox() as box:
        yield box


@pytest.fixture(scope="session")
def builtin() -> list[LoadedExercise]:
    """The five built-in exercises."""
    return load_exercises(builtin_exercises_dir())


@pytest.fixture
def grade_source(tmp_path, sandbox, builtin):
    """Grade Python source given as a string; returns the Graded result."""

    def grade(source: str, exercises: list[LoadedExercise] | None = None, name: str = "submission.py",
              seed: int = 1234, timeout: float = 5.0, total_timeout: float = 60.0, lang: str = "en",
              keep_figures: bool = False) -> Graded:
        path = tmp_path / name
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        options = GradeOptions(seed=seed, call_timeout=timeout, total_timeout=total_timeout, lang=lang,  # type: ignore[arg-type]
                               keep_figures=keep_figures)
        return grade_submission(path, exercises if exercises is not None else builtin, sandbox, options)

    return grade


def _user_namespaces_work() -> bool:
    """Whether this account can make the namespaces the sandbox uses (root always can)."""
    if os.geteuid() == 0:
        return True
    probe = ("import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
             "raise SystemExit(0 if libc.unshare(0x10000000) == 0 else 1)\n")  # CLONE_NEWUSER
    return subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0


NAMESPACES_HERE = _user_namespaces_work()
"""True when this account can create namespaces: as root, or where unprivileged user namespaces are allowed."""
needs_namespaces = pytest.mark.skipif(
    not NAMESPACES_HERE,
    reason="this account cannot create namespaces (forbidden here); the grader then runs without them, "
           "as tests/test_accounts.py checks, and the root and ordinary-user runs of CI cover this test",
)


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `grade ...` (or `grader ...` when the first argument is "grader") as a user would."""
    command = "grader" if args and args[0] == "grader" else "grade"
    arguments = list(args[1:] if command == "grader" else args)
    script = Path(sys.executable).parent / command
    # The tests must behave the same inside a CI job: no annotations, no writes to the job's files.
    # Nor may the terminal the suite runs in change the report: COLUMNS makes `grade` wrap it.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_")) and k != "COLUMNS"}
    full_env = {**inherited, **(env or {})}
    return subprocess.run([str(script), *arguments], cwd=cwd or ROOT, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


EXAMPLE_SEED = 20261126
"""The seed every example submission is graded with (their `expect:` lines hold for it)."""


@dataclass(frozen=True)
class ExampleCards:
    """Every file of submissions_example/ graded once: scorecards by file name, and how to grade them again."""

    seed: int
    cards: dict[str, Scorecard]
    exercises: list[LoadedExercise]
    environment: dict[str, str]
    """An environment for running `grade` on them as a user would (no CI variables, no COLUMNS)."""


@pytest.fixture(scope="session")
def example_cards(sandbox, builtin) -> ExampleCards:
    """The example submissions, graded once for every test that reads their scorecards."""
    files = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".py", ".ipynb"))
    cards = {p.name: grade_submission(p, builtin, sandbox, GradeOptions(seed=EXAMPLE_SEED),
                                      display=f"submissions_example/{p.name}").scorecard for p in files}
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_")) and k != "COLUMNS"}
    return ExampleCards(EXAMPLE_SEED, cards, builtin, environment)


def by_id(graded: Graded) -> dict[str, dict[str, object]]:
    """{exercise id: {check id: CheckResult}} of a graded submission."""
    return {e.id: {c.id: c for c in e.checks} for e in graded.scorecard.exercises}


@pytest.fixture
def only(builtin):
    """The built-in exercises with these ids."""
    return lambda *ids: [e for e in builtin if e.spec.id in ids]
