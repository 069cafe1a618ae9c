"""A Markdown report for CI summaries (GitHub's step summary, merge-request notes): a table per submission,
then the checks that did not pass with their messages and hints, then what the program printed.

Messages and output can hold whatever the student's code raised or printed, so prose is escaped
(no links, HTML, emphasis or table breaks can come out of it) and multi-line text goes into code
fences longer than any run of backticks inside.
"""

from __future__ import annotations

import re

from grader.i18n import Lang
from grader.messages import tr
from grader.reporters.common import language, program_output, words
from grader.reporters.plain import plain as _plain
from grader.scorecard import CheckResult, ExerciseResult, Scorecard

_MARKS = {"passed": "✔", "failed": "✘", "error": "!"}
_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~&])")
_LINE_START = re.compile(r"^([-+=]|\d+[.)])")


def escape(text: str) -> str:
    """One line of prose with every character Markdown would act on escaped, newlines as spaces."""
    escaped = _SPECIAL.sub(r"\\\1", " ".join(_plain(text).split()))
    # A leading "-", "+", "=" or "1." would start a list or underline a heading.
    return _LINE_START.sub(lambda m: m.group()[:-1] + "\\" + m.group()[-1], escaped)


def fenced(text: str, info: str = "text") -> str:
    """`text` verbatim in a code fence no line of it can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{_plain(text).rstrip()}\n{fence}"


def _points(value: float) -> str:
    return f"{value:g}"


def _exercise_mark(exercise: ExerciseResult) -> str:
    graded = [c for c in exercise.checks if c.graded]
    if all(c.status == "passed" for c in graded):
        return _MARKS["passed"]
    return _MARKS["error"] if any(c.status == "error" for c in graded) else _MARKS["failed"]


def _table(scorecard: Scorecard, lang: Lang) -> list[str]:
    lines = [f"| | {tr(lang, 'ci_exercise')} | {tr(lang, 'ci_points')} | {tr(lang, 'ci_checks_passed')} |",
             "| :-: | --- | --: | --: |"]
    for exercise in scorecard.exercises:
        graded = [c for c in exercise.checks if c.graded]
        passed = sum(c.status == "passed" for c in graded)
        lines.append(f"| {_exercise_mark(exercise)} | **{escape(exercise.id)}** {escape(words(exercise.title, lang))} "
                     f"| {_points(exercise.score)}/{_points(exercise.max_score)} | {passed}/{len(graded)} |")
    return lines


def _where(lang: Lang, check: CheckResult) -> str:
    if check.line is None:
        return ""
    if check.cell is not None:
        return ", " + tr(lang, "ci_where_cell", cell=check.cell, line=check.line)
    return ", " + tr(lang, "ci_where_line", line=check.line)


def _text_block(text: str, indent: str) -> list[str]:
    if "\n" in text.strip():
        return [indent + line if line else line for line in fenced(text).splitlines()]
    return [indent + escape(text)]


def _check(lang: Lang, exercise: ExerciseResult, check: CheckResult) -> list[str]:
    points = tr(lang, "ci_total", score=_points(check.score), max_score=_points(check.max_score)) if check.graded else ""
    where = (points + _where(lang, check)).lstrip(", ")
    title = escape(f"{exercise.id} / {words(check.title, lang) or check.id}")
    mark = _MARKS[check.status] if check.graded else "·"
    lines = [f"- {mark} **{title}**" + (f" ({escape(where)})" if where else ""), ""]
    lines += _text_block(words(check.message, lang), "  ")
    if check.hint:
        lines += ["", "  **" + escape(tr(lang, "ci_hint", text="")).rstrip() + "** " + escape(words(check.hint, lang))]
    for tip in check.tips:
        lines += ["", "  " + escape(tr(lang, "ci_tip", text=words(tip, lang)))]
    lines.append("")
    return lines


def _section(scorecard: Scorecard, level: str, lang: Lang) -> list[str]:
    total = tr(lang, "ci_total", score=_points(scorecard.score), max_score=_points(scorecard.max_score))
    lines = [f"{level} {escape(tr(lang, 'ci_report_title', submission=scorecard.submission))} — {total}", ""]
    if scorecard.error:
        lines += [f"**{escape(tr(lang, 'ci_not_run'))}**", ""] + _text_block(words(scorecard.error, lang), "") + [""]
        if scorecard.error_hint:
            lines += [escape(tr(lang, "ci_hint", text=words(scorecard.error_hint, lang))), ""]
    lines += _table(scorecard, lang) + [""]
    failing = [(e, c) for e in scorecard.exercises for c in e.checks if c.graded and c.status != "passed"]
    # Tips, and what checks worth no points have to say (an explanation that is missing).
    advised = [(e, c) for e in scorecard.exercises for c in e.checks
               if (e, c) not in failing and (c.tips or (not c.graded and c.status != "passed"))]
    if failing and not scorecard.error:
        lines += [f"**{escape(tr(lang, 'ci_not_passed'))}**", ""]
        for exercise, check in failing:
            lines += _check(lang, exercise, check)
    elif not failing:
        lines += [escape(tr(lang, "ci_all_passed")), ""]
    if advised:
        lines += [f"**{escape(tr(lang, 'ci_tips'))}**", ""]
        for exercise, check in advised:
            lines += _check(lang, exercise, check)
    run = scorecard.run
    printed = program_output(run, lang) if run is not None else ""
    if run is not None and printed.strip():
        lines += [f"<details><summary>{escape(tr(lang, 'ci_printed', bytes=run.output_bytes))}</summary>", "",
                  fenced(printed), "", "</details>", ""]
    return lines


def render(scorecards: list[Scorecard], lang: Lang | None = None) -> str:
    """The Markdown report of one or several graded submissions, in `lang` (default: each scorecard's)."""
    if len(scorecards) == 1:
        return "\n".join(_section(scorecards[0], "##", language(scorecards[0], lang))).rstrip() + "\n"
    head: Lang = lang or (scorecards[0].lang if scorecards else "en")
    lines = [f"## {escape(tr(head, 'ci_batch_title', count=len(scorecards)))}", "",
             f"| | {tr(head, 'ci_submission')} | {tr(head, 'ci_points')} |", "| :-: | --- | --: |"]
    for card in scorecards:
        mark = _MARKS["passed" if card.passed else "failed"]
        lines.append(f"| {mark} | {escape(card.submission)} | {_points(card.score)}/{_points(card.max_score)} |")
    lines.append("")
    for card in scorecards:
        lines += _section(card, "###", language(card, lang))
    return "\n".join(lines).rstrip() + "\n"
