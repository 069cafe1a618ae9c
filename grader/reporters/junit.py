"""JUnit XML for GitLab, Jenkins and other CI test views: a testsuite per exercise, a testcase per check.

Checks that did not pass become `<failure>` elements, whether they failed (wrong answer) or
errored (the student's code raised, timed out, crashed or lacks the function); the `type`
attribute keeps that distinction. The Jenkins `junit-10.xsd` our tests validate against (the
copy pytest validates its own output with) declares no `<error>` child of `<testcase>`, and a
CI view that met an element it does not know would show the check as passed.
Checks worth no points stay passing testcases and carry their message in `system-out`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from grader.i18n import Lang
from grader.messages import tr
from grader.reporters.common import language, program_output, words
from grader.scorecard import CheckResult, ExerciseResult, Scorecard

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# Everything outside XML 1.0's Char production: C0 controls but tab/newline/CR, lone surrogates, U+FFFE/U+FFFF.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """`text` with terminal colours removed and every character XML forbids shown as an escape (NUL -> \\x00)."""
    return _NOT_XML.sub(lambda m: _visible(m.group()), _ANSI.sub("", text))


def _visible(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _seconds(value: float) -> str:
    # junit-10.xsd's SUREFIRE_TIME allows at most three decimals.
    return f"{max(0.0, value):.3f}"


def _points(value: float) -> str:
    return f"{value:g}"


def _where(scorecard: Scorecard, check: CheckResult, lang: Lang) -> str:
    if check.line is None:
        return scorecard.submission
    if check.cell is not None:
        return f"{scorecard.submission}, {tr(lang, 'ci_where_cell', cell=check.cell, line=check.line)}"
    return f"{scorecard.submission}:{check.line}"


def _body(scorecard: Scorecard, check: CheckResult, lang: Lang) -> str:
    lines = [_where(scorecard, check, lang), words(check.message, lang)]
    if check.hint:
        lines.append(tr(lang, "ci_hint", text=words(check.hint, lang)))
    lines.extend(tr(lang, "ci_tip", text=words(tip, lang)) for tip in check.tips)
    if check.status == "error" and scorecard.error:
        lines.append(words(scorecard.error, lang))
        if scorecard.error_hint:
            lines.append(tr(lang, "ci_hint", text=words(scorecard.error_hint, lang)))
    return xml_text("\n".join(lines))


def _fails(check: CheckResult) -> bool:
    return check.graded and check.status != "passed"


def _testcase(scorecard: Scorecard, exercise: ExerciseResult, check: CheckResult, lang: Lang) -> ET.Element:
    case = ET.Element("testcase", {"classname": exercise.id, "name": check.id, "time": _seconds(check.duration)})
    if _fails(check):
        failure = ET.SubElement(case, "failure", {"type": check.status, "message": xml_text(words(check.message, lang))})
        failure.text = _body(scorecard, check, lang)
    elif check.tips or not check.graded:
        ET.SubElement(case, "system-out").text = _body(scorecard, check, lang)
    return case


def _suite_name(scorecard: Scorecard, exercise: ExerciseResult, batch: bool) -> str:
    return xml_text(f"{scorecard.submission} :: {exercise.id}" if batch else exercise.id)


def _testsuite(scorecard: Scorecard, exercise: ExerciseResult, batch: bool, lang: Lang) -> ET.Element:
    failures = sum(_fails(c) for c in exercise.checks)
    suite = ET.Element("testsuite", {
        "name": _suite_name(scorecard, exercise, batch), "tests": str(len(exercise.checks)),
        "failures": str(failures), "errors": "0", "skipped": "0",
        "time": _seconds(sum(c.duration for c in exercise.checks)), "file": xml_text(scorecard.submission),
    })
    properties = ET.SubElement(suite, "properties")
    for name, value in (("title", words(exercise.title, lang)), ("score", _points(exercise.score)),
                        ("max_score", _points(exercise.max_score))):
        ET.SubElement(properties, "property", {"name": name, "value": xml_text(value)})
    suite.extend(_testcase(scorecard, exercise, check, lang) for check in exercise.checks)
    run = scorecard.run
    printed = program_output(run, lang) if run is not None else ""
    if printed:
        ET.SubElement(suite, "system-out").text = xml_text(printed)
    if scorecard.error:
        hint = f"\n{tr(lang, 'ci_hint', text=words(scorecard.error_hint, lang))}" if scorecard.error_hint else ""
        ET.SubElement(suite, "system-err").text = xml_text(words(scorecard.error, lang) + hint)
    return suite


def render(scorecards: list[Scorecard], lang: Lang | None = None) -> str:
    """The JUnit XML document of one or several graded submissions, in `lang` (default: each scorecard's)."""
    batch = len(scorecards) > 1
    suites = [_testsuite(card, exercise, batch, language(card, lang)) for card in scorecards for exercise in card.exercises]
    root = ET.Element("testsuites", {
        "name": "autograd-grader",
        "tests": str(sum(int(s.get("tests", "0")) for s in suites)),
        "failures": str(sum(int(s.get("failures", "0")) for s in suites)),
        "errors": "0",
        "time": _seconds(sum(float(s.get("time", "0")) for s in suites)),
    })
    root.extend(suites)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
