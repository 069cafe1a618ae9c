"""Batch grading: many submissions at once, each alone in its child, results in input order."""

from __future__ import annotations

import shutil

from conftest import EXAMPLES, en
from grader.batch import grade_many
from grader.grading import GradeOptions, grade_submission

TIMING_FIELDS = {"duration", "wall_time", "children", "max_rss_kb", "memory_peak_kb"}


def comparable(scorecard):
    """A scorecard as plain data without the fields that measure time."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in TIMING_FIELDS}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(scorecard.model_dump(mode="json"))


def test_batch_results_equal_single_results(tmp_path, sandbox, builtin):
    names = ["solution.py", "mistake_cosine.py", "mistake_one_path.py", "mistake_curly_quotes.py", "solution_notebook.ipynb"]
    paths = []
    for name in names:
        shutil.copyfile(EXAMPLES / name, tmp_path / name)
        paths.append(tmp_path / name)
    options = GradeOptions(seed=424242)
    alone = [comparable(grade_submission(p, builtin, sandbox, options, p.name).scorecard) for p in paths]
    together = [comparable(g.scorecard) for g in grade_many([(p, p.name) for p in paths], builtin, sandbox, options, jobs=2)]
    assert together == alone


def test_every_submission_appears_once_in_order(tmp_path, sandbox, builtin):
    paths = []
    for i in range(9):
        path = tmp_path / f"student_{i}.py"
        path.write_text(f"def f(a):\n    return a * {i}\n")
        paths.append(path)
    options = GradeOptions(seed=1)
    exercises = [e for e in builtin if e.spec.id == "vector-control-flow"]
    results = list(grade_many([(p, p.name) for p in paths], exercises, sandbox, options, jobs=3))
    assert [g.scorecard.submission for g in results] == [p.name for p in paths]


def test_a_hanging_submission_does_not_stall_the_others(tmp_path, sandbox, builtin):
    hang = tmp_path / "a_hang.py"
    hang.write_text("while True:\n    pass\n")
    quick = []
    for i in range(3):
        path = tmp_path / f"quick_{i}.py"
        path.write_text("def backward_twice(x):\n    return None\n")
        quick.append(path)
    finished = []
    options = GradeOptions(seed=2, call_timeout=5.0)
    exercises = [e for e in builtin if e.spec.id == "double-backward"]
    results = list(grade_many([(p, p.name) for p in [hang, *quick]], exercises, sandbox, options, jobs=2,
                              on_done=lambda graded, tally: finished.append(graded.scorecard.submission)))
    assert finished.index("a_hang.py") == 3  # the three quick ones finished while it hung
    assert en(results[0].scorecard.error) and "did not finish" in en(results[0].scorecard.error)
    assert all(r.scorecard.submission.startswith("quick") for r in results[1:])


def test_a_grader_bug_costs_one_submission_and_the_batch_goes_on(tmp_path, sandbox, builtin, monkeypatch):
    """An exception inside the judge for one submission: that one gets an internal error, the others their scores."""
    from grader.checks import BUILTIN_KINDS
    from grader.checks.base import CheckKind

    original = BUILTIN_KINDS["compare"]

    def judge(check, ctx):
        if "bomb" in ctx.submission.display:
            raise ZeroDivisionError("a bug in the judge")
        return original.judge(check, ctx)

    monkeypatch.setitem(BUILTIN_KINDS, "compare", CheckKind(original.model, judge))
    paths = []
    for name in ("first.py", "bomb.py", "last.py"):
        shutil.copyfile(EXAMPLES / "solution.py", tmp_path / name)
        paths.append(tmp_path / name)
    cards = [g.scorecard for g in grade_many([(p, p.name) for p in paths], builtin, sandbox, GradeOptions(seed=7), jobs=2)]
    assert [c.submission for c in cards] == ["first.py", "bomb.py", "last.py"]
    assert cards[0].score == cards[2].score == 50 and not cards[0].internal_error
    assert cards[1].score == 0 and "ZeroDivisionError: a bug in the judge" in cards[1].internal_error
    assert "bug in the grader" in en(cards[1].error) and "not your mistake" in en(cards[1].error)


def test_the_command_ends_with_exit_3_after_reporting_everyone(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from grader.checks import BUILTIN_KINDS
    from grader.checks.base import CheckKind
    from grader.cli import grade

    original = BUILTIN_KINDS["raises"]

    def judge(check, ctx):
        if "bomb" in ctx.submission.display:
            raise KeyError("broken")
        return original.judge(check, ctx)

    monkeypatch.setitem(BUILTIN_KINDS, "raises", CheckKind(original.model, judge))
    for name in ("bomb.py", "fine.py"):
        shutil.copyfile(EXAMPLES / "solution.py", tmp_path / name)
    result = CliRunner().invoke(grade, [str(tmp_path), "-e", "double-backward", "--seed", "3"])
    assert result.exit_code == 3
    assert "fine.py" in result.stdout and "10/10" in result.stdout  # reported before the run ends
    assert "the grader failed on" in result.stderr and "KeyError: 'broken'" in result.stderr
