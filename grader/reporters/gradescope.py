"""Gradescope's `results.json`: one test per check, with its points, status, feedback and visibility.

Hidden checks get `after_published`: students see neither them nor (Gradescope's rule when any
test is not visible) their total until the instructor publishes grades, and then they see the real
feedback. So `grade --gradescope` always gives this reporter the instructor's view (hidden checks in
full: Gradescope does the hiding, no `--show-hidden` needed), and the summary shown to students at
once states the total only when no check is hidden and never holds what was printed during hidden calls.
"""

from __future__ import annotations

import json

from grader.i18n import Lang
from grader.messages import tr
from grader.reporters.common import language, words
from grader.reporters.plain import plain as _plain
from grader.scorecard import CheckResult, ExerciseResult, Scorecard


def _points(value: float) -> str:
    return f"{value:g}"


def _where(lang: Lang, check: CheckResult) -> str | None:
    if check.line is None:
        return None
    if check.cell is not None:
        return tr(lang, "ci_where_cell", cell=check.cell, line=check.line)
    return tr(lang, "ci_where_line", line=check.line)


def _output(lang: Lang, check: CheckResult) -> str:
    lines = [words(check.message, lang)]
    if check.hint:
        lines.append(tr(lang, "ci_hint", text=words(check.hint, lang)))
    lines.extend(tr(lang, "ci_tip", text=words(tip, lang)) for tip in check.tips)
    where = _where(lang, check)
    if where:
        lines.append(f"({where})")
    return _plain("\n".join(lines))


def _test(lang: Lang, exercise: ExerciseResult, check: CheckResult, number: str) -> dict[str, object]:
    return {
        "name": _plain(f"{exercise.id} / {words(check.title, lang) or check.id}"),
        "number": number,
        "score": check.score if check.graded else 0.0,
        "max_score": check.max_score if check.graded else 0.0,
        "status": "passed" if check.status == "passed" else "failed",
        "output": _output(lang, check),
        "tags": [exercise.id, check.id],
        "visibility": "after_published" if check.hidden else "visible",
    }


def _summary(scorecard: Scorecard, lang: Lang) -> str:
    lines = []
    if scorecard.error:
        lines.append(words(scorecard.error, lang))
        if scorecard.error_hint:
            lines.append(tr(lang, "ci_hint", text=words(scorecard.error_hint, lang)))
    hidden = any(c.hidden for e in scorecard.exercises for c in e.checks)
    if hidden:
        lines.append(tr(lang, "ci_hidden_total"))
    else:
        lines.append(tr(lang, "ci_total", score=_points(scorecard.score), max_score=_points(scorecard.max_score)))
    run = scorecard.run
    # The top-level output is shown to students at once: never what was printed during hidden
    # checks, whose inputs it may hold (their tests carry their own, later, visibility).
    printed = run.output if run is not None else ""
    if run is not None and printed.strip():
        lines += ["", tr(lang, "ci_printed", bytes=run.output_bytes) + ":", printed.rstrip()]
    return _plain("\n".join(lines))


def results(scorecard: Scorecard, lang: Lang | None = None) -> dict[str, object]:
    """The `results.json` object of one graded submission, in `lang` (default: the scorecard's)."""
    lang = language(scorecard, lang)
    tests = [
        _test(lang, exercise, check, f"{i}.{j}")
        for i, exercise in enumerate(scorecard.exercises, 1)
        for j, check in enumerate(exercise.checks, 1)
    ]
    return {
        # Whole seconds, as Gradescope's own examples give it.
        "execution_time": round(scorecard.run.wall_time) if scorecard.run else 0,
        "output": _summary(scorecard, lang),
        "output_format": "text",
        "test_output_format": "text",
        # What run_autograder prints may hold the details of hidden checks.
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {
            "submission": _plain(scorecard.submission),
            "seed": scorecard.run.seed if scorecard.run else None,
            "grader_version": scorecard.grader_version,
        },
    }


def render(scorecard: Scorecard, lang: Lang | None = None) -> str:
    """`results.json` of one graded submission, as text."""
    return json.dumps(results(scorecard, lang), ensure_ascii=False, indent=2) + "\n"
