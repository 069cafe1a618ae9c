"""Every file in submissions_example/ is graded and must score what its `expect:` line says."""

from __future__ import annotations

import re

import pytest

from conftest import EXAMPLES, en
from grader.grading import GradeOptions, grade_submission

EXPECT = re.compile(r"expect: score=(?P<score>[\d.]+)(?: lost=(?P<lost>[\w,-]+))?")
FILES = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".py", ".ipynb"))


def expectation(path):
    match = EXPECT.search(path.read_text(encoding="utf-8"))
    assert match, f"{path.name} has no `expect: score=N [lost=ids]` line"
    lost = match.group("lost")
    return float(match.group("score")), set(lost.split(",")) if lost else set()


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_example_scores_as_declared(path, sandbox, builtin):
    score, lost = expectation(path)
    scorecard = grade_submission(path, builtin, sandbox, GradeOptions(seed=20261126)).scorecard
    assert scorecard.score == score, [(c.id, en(c.message)) for e in scorecard.exercises for c in e.checks if c.status != "passed"]
    for exercise in scorecard.exercises:
        if "all" in lost or exercise.id in lost:
            assert exercise.score < exercise.max_score, exercise.id
        else:
            assert exercise.score == exercise.max_score, [(c.id, en(c.message)) for c in exercise.checks if c.status != "passed"]


def test_there_is_one_example_per_kind_of_outcome():
    names = {p.stem for p in FILES}
    assert "solution" in names and "solution_notebook" in names
    assert sum(n.startswith("mistake_") for n in names) >= 13
