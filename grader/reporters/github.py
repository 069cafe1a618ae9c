"""GitHub Actions: annotations on the student's lines, fencing of untrusted output, and the Classroom result.

- `annotations`: `::error file=…,line=…,title=…::message` for each graded check that did not pass
  (`warning` for checks worth no points, `notice` for tips), at the student's line; a notebook's
  lines are inside cells, which GitHub cannot point at, so those annotate the file and name the cell.
- `fence`: text that holds anything the submission controls, between `::stop-commands::TOKEN` and
  `::TOKEN::`, so a printed `::error::` or `::add-mask::` is shown, not obeyed.
- `classroom_result`: the base64 `result` output that GitHub Classroom's grading reporter sums: a test per
  point, so that every total the reporter prints is the grader's (`point_unit`).
"""

from __future__ import annotations

import base64
import json
import math
import shlex

from grader.i18n import Lang
from grader.messages import tr
from grader.reporters.common import language, words
from grader.reporters.plain import plain as _plain
from grader.scorecard import CheckResult, ExerciseResult, Scorecard

_STATUS = {"passed": "pass", "failed": "fail", "error": "error"}


def escape_data(text: str) -> str:
    """The message part of a workflow command: `%`, CR and LF encoded, as the runner decodes them."""
    return _plain(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A `key=value` property of a workflow command: like data, plus `:` and `,`."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, **properties: object) -> str:
    """One workflow command line, e.g. `::error file=a.py,line=3,title=T::message`."""
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items() if value is not None)
    return f"::{level} {props}::{escape_data(message)}" if props else f"::{level}::{escape_data(message)}"


def _points(value: float) -> str:
    return f"{value:g}"


def _location(scorecard: Scorecard, line: int | None, cell: int | None) -> dict[str, object]:
    # GitHub counts lines of the file; a notebook's line is inside a cell, so only the file is named.
    return {"file": scorecard.submission, "line": line if cell is None else None}


def _message(check: CheckResult, lang: Lang) -> str:
    lines = [words(check.message, lang)]
    if check.cell is not None and check.line is not None:
        lines.insert(0, f"({tr(lang, 'ci_where_cell', cell=check.cell, line=check.line)})")
    if check.hint:
        lines.append(tr(lang, "ci_hint", text=words(check.hint, lang)))
    return "\n".join(lines)


def _check_annotations(scorecard: Scorecard, exercise: ExerciseResult, check: CheckResult, lang: Lang) -> list[str]:
    where = _location(scorecard, check.line, check.cell)
    name = words(check.title, lang) or check.id
    found = []
    if check.status != "passed" and check.graded:
        title = tr(lang, "ci_check_title", exercise=exercise.id, check=name,
                   score=_points(check.score), max_score=_points(check.max_score))
        found.append(command("error", _message(check, lang), **where, title=title))
    elif check.status != "passed":
        found.append(command("warning", _message(check, lang), **where,
                             title=tr(lang, "ci_not_graded", exercise=exercise.id, check=name)))
    for tip in check.tips:
        found.append(command("notice", words(tip, lang), **where,
                             title=tr(lang, "ci_check_tip", exercise=exercise.id, check=name)))
    return found


def annotations(scorecard: Scorecard, lang: Lang | None = None) -> str:
    """Workflow commands that annotate the student's file, one line each ("" when there is nothing to say)."""
    lang = language(scorecard, lang)
    if scorecard.error:
        # Every check then says "not run": one annotation at the cause says it all.
        hint = f"\n{tr(lang, 'ci_hint', text=words(scorecard.error_hint, lang))}" if scorecard.error_hint else ""
        message = words(scorecard.error, lang) + hint
        line = command("error", message, **_location(scorecard, scorecard.error_line, scorecard.error_cell),
                       title=tr(lang, "ci_not_run"))
        return line + "\n"
    lines = [a for e in scorecard.exercises for c in e.checks for a in _check_annotations(scorecard, e, c, lang)]
    return "".join(line + "\n" for line in lines)


def fence(text: str, token: str) -> str:
    """`text` between `::stop-commands::token` and `::token::`: the runner obeys no command inside."""
    if len(token) < 16 or not token.isalnum():
        raise ValueError("the stop-commands token must be a long random alphanumeric string")
    if token in text:
        raise ValueError("the stop-commands token occurs in the text it fences")
    return f"::stop-commands::{token}\n{text.rstrip(chr(10))}\n::{token}::\n"


MAX_TESTS = 500
"""The most tests a Classroom result lists: beyond that, one test per check (see `point_unit`)."""
_UNITS = (1.0, 0.5, 0.25, 0.1)


def point_unit(scorecards: list[Scorecard]) -> float | None:
    """The points each Classroom test is worth, so that every check becomes a whole number of equal tests.

    GitHub Classroom's reporter sums the tests' scores for the grade it records, but its own table
    shows the share of passing tests times `max_score`: the two agree only when every test is
    worth the same. So a check of 4 points is 4 tests of 1 point, of which as many pass as it
    earned. None when no unit divides every check's points and score within MAX_TESTS tests.
    """
    values = [v for card in scorecards for e in card.exercises for c in e.checks if c.graded
              for v in (c.max_score, c.score)]
    for base in _UNITS:
        counts = [v / base for v in values]
        if all(abs(n - round(n)) < 1e-9 for n in counts):
            whole = [int(round(n)) for n in counts]
            unit = base * (math.gcd(*whole) or 1)
            if sum(c.max_score for card in scorecards for e in card.exercises for c in e.checks if c.graded) / unit <= MAX_TESTS:
                return unit
            return None
    return None


def _tests(scorecard: Scorecard, exercise: ExerciseResult, check: CheckResult, batch: bool, lang: Lang,
           unit: float | None) -> list[dict[str, object]]:
    """The Classroom tests of one check: one, or (with a unit) one per `unit` points, the earned ones passing."""
    name = f"{exercise.id} / {words(check.title, lang) or check.id}"
    seed = f" --seed {scorecard.run.seed}" if scorecard.run else ""
    hint = f"\n{tr(lang, 'ci_hint', text=words(check.hint, lang))}" if check.hint else ""
    message = words(check.message, lang) + hint
    base = {
        "test_code": _plain(f"grade {shlex.quote(scorecard.submission)} -e {exercise.id}{seed}"),
        "filename": _plain(scorecard.submission),
        # Classroom's reporter reads 0 as "no line"; a notebook's lines are inside cells.
        "line_no": check.line if check.cell is None and check.line is not None else 0,
    }
    full = _plain(f"{scorecard.submission}: {name}" if batch else name)
    if unit is None:
        return [{"name": full, "status": _STATUS[check.status], "score": check.score, "message": _plain(message),
                 **base, "duration": check.duration}]
    count = max(1, int(round(check.max_score / unit)))
    earned = int(round(check.score / unit))
    tests = []
    for i in range(1, count + 1):
        passed = i <= earned
        # The reporter prints the message of every test that did not pass: the first lost point
        # carries it, and each one after it points back there rather than repeating it.
        text = message if passed or i == earned + 1 else tr(lang, "ci_same_check", name=name)
        tests.append({
            "name": full if count == 1 else _plain(tr(lang, "ci_point_of", name=full, i=i, n=count)),
            # A point not earned is not a pass, even of a check that passed with partial credit.
            "status": "pass" if passed else "fail" if check.status == "passed" else _STATUS[check.status],
            "score": unit if passed else 0.0,
            "message": _plain(text),
            **base,
            "duration": check.duration if i == 1 else 0.0,
        })
    return tests


def classroom_payload(scorecards: list[Scorecard], fail_under: float | None = None,
                      lang: Lang | None = None) -> dict[str, object]:
    """The Classroom result object: `status` follows the grade command's exit status (`error`: a submission did not run).

    Tests are worth `point_unit` points each, so that the reporter's table and the points it sends
    both add up to the grader's total.
    """
    if any(card.error for card in scorecards):
        status = "error"
    elif fail_under is not None:
        status = "pass" if all(card.score >= fail_under for card in scorecards) else "fail"
    else:
        status = "pass" if all(card.passed for card in scorecards) else "fail"
    batch = len(scorecards) > 1
    unit = point_unit(scorecards)
    return {
        "version": 1,
        "status": status,
        "max_score": sum(card.max_score for card in scorecards),
        "tests": [test for card in scorecards for e in card.exercises for c in e.checks if c.graded
                  for test in _tests(card, e, c, batch, language(card, lang), unit)],
    }


def classroom_result(scorecards: list[Scorecard], fail_under: float | None = None, lang: Lang | None = None) -> str:
    """The base64 JSON that a grading step sets as its `result` output, for `autograding-grading-reporter`."""
    payload = json.dumps(classroom_payload(scorecards, fail_under, lang), ensure_ascii=False, separators=(",", ":"))
    return base64.b64encode(payload.encode("utf-8")).decode("ascii")
