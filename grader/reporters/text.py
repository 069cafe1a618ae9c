"""The report people read in a terminal: per exercise its points, then each check, message and hint."""

from __future__ import annotations

from itertools import groupby

from grader.i18n import Lang
from grader.messages import MESSAGES, tr
from grader.reporters.common import language, program_output, words
from grader.reporters.plain import plain
from grader.scorecard import CheckResult, Scorecard, TraceFrame

_MARKS = {"passed": "✔", "failed": "✘", "error": "!"}
_COLORS = {"passed": "32", "failed": "31", "error": "33", "dim": "2", "bold": "1"}

LABEL_KEYS = ("points", "hint", "tip", "printed", "seed", "isolation", "weaker", "file", "answers", "ungraded",
              "reproduce", "traceback", "frame", "frame_cell", "repeated", "colon")


def labels_for(lang: str) -> dict[str, str]:
    """The report's own words in a language (from the message catalogue)."""
    return {key: MESSAGES[f"report_{key}"].get(lang) or MESSAGES[f"report_{key}"]["en"] for key in LABEL_KEYS}


def _points(value: float) -> str:
    return f"{value:g}"


def clean(text: str) -> str:
    """Student-controlled text with terminal control sequences removed."""
    return plain(text)


class _Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, style: str) -> str:
        return f"\x1b[{_COLORS[style]}m{text}\x1b[0m" if self.color else text


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line else line for line in text.splitlines())


_SHOWN_REPEATS = 3
"""Identical frames in a row (a recursion) shown before the rest are counted, as Python does."""


def traceback_lines(frames: list[TraceFrame], file: str, labels: dict[str, str]) -> list[str]:
    """The student's frames as Python prints a traceback, outermost first, ending at their line."""
    lines = [labels["traceback"]]
    for _, run in groupby(frames, key=lambda f: (f.line, f.cell, f.function)):
        same = list(run)
        for frame in same[:_SHOWN_REPEATS]:
            template = labels["frame_cell"] if frame.cell is not None else labels["frame"]
            lines.append("  " + template.format(file=clean(file), cell=frame.cell, line=frame.line,
                                                function=clean(frame.function)))
            if frame.text:
                lines.append("    " + clean(frame.text))
        if len(same) > _SHOWN_REPEATS:
            lines.append("  " + labels["repeated"].format(n=len(same) - _SHOWN_REPEATS))
    return lines


def _check_lines(check: CheckResult, style: _Style, labels: dict[str, str], file: str, lang: Lang) -> list[str]:
    mark = style(_MARKS[check.status], check.status) if check.graded else style("·", "dim")
    points = f"{_points(check.score)}/{_points(check.max_score)}" if check.graded else labels["ungraded"]
    lines = [f"    {mark} {check.id}  {style(points, 'dim')}"]
    lines.append(_indent(clean(words(check.message, lang)), "        "))
    if check.traceback:
        lines.append(_indent("\n".join(traceback_lines(check.traceback, file, labels)), "        "))
    if check.hint:
        lines.append(_indent(f"{labels['hint']}{labels['colon']}{clean(words(check.hint, lang))}", "        "))
    for tip in check.tips:
        lines.append(_indent(f"{labels['tip']}{labels['colon']}{clean(words(tip, lang))}", "        "))
    for artifact in check.artifacts:
        description = clean(words(artifact.description, lang))
        lines.append(f"        {labels['file']}{labels['colon']}{artifact.path}  ({description})")
    return lines


def render(scorecard: Scorecard, color: bool = False, verbose: bool = True, lang: Lang | None = None) -> str:
    """A scorecard as text in `lang` (default: the scorecard's); `verbose=False` lists only checks that did not pass."""
    lang = language(scorecard, lang)
    labels = labels_for(lang)
    style = _Style(color)
    total = f"{_points(scorecard.score)}/{_points(scorecard.max_score)} {labels['points']}"
    head = style(scorecard.submission, "bold") + "  " + style(total, "passed" if scorecard.passed else "failed")
    lines = [head]
    if scorecard.error:
        lines.append(_indent(clean(words(scorecard.error, lang)), "  "))
    if scorecard.error_traceback:
        lines.append(_indent("\n".join(traceback_lines(scorecard.error_traceback, scorecard.submission, labels)), "  "))
    if scorecard.error_hint:
        lines.append(_indent(f"{labels['hint']}{labels['colon']}{clean(words(scorecard.error_hint, lang))}", "  "))
    for problem in scorecard.top_level_errors:
        lines.append(_indent(clean(words(problem.message, lang)), "  "))
        if problem.traceback:
            lines.append(_indent("\n".join(traceback_lines(problem.traceback, scorecard.submission, labels)), "    "))
        if problem.hint:
            lines.append(_indent(f"{labels['hint']}{labels['colon']}{clean(words(problem.hint, lang))}", "    "))
    for exercise in scorecard.exercises:
        status = "passed" if exercise.score >= exercise.max_score else ("failed" if exercise.score > 0 else "error")
        mark = style(_MARKS[status if status != "error" else "failed"], status)
        lines.append("")
        lines.append(f"{mark} {style(exercise.id, 'bold')}  {words(exercise.title, lang)}  "
                     f"{_points(exercise.score)}/{_points(exercise.max_score)}")
        for check in exercise.checks:
            if verbose or check.status != "passed" or check.tips:
                lines.extend(_check_lines(check, style, labels, scorecard.submission, lang))
    run = scorecard.run
    if scorecard.answers:
        lines.append("")
        lines.append(labels["answers"] + labels["colon"].rstrip())
        for name, answer in scorecard.answers.items():
            lines.append(_indent(f"{name}: {clean(answer)}", "  "))
    printed = program_output(run, lang) if run is not None else ""
    if run is not None and printed.strip():
        lines.append("")
        lines.append(f"{labels['printed']} ({run.output_bytes} bytes):")
        lines.append(_indent(clean(printed.rstrip()), "  | "))
    if run is not None and run.withheld_output_bytes:
        lines.append(style(tr(lang, "hidden_output_withheld", n=run.withheld_output_bytes), "dim"))
    if run is not None:
        lines.append("")
        footer = f"{labels['seed']} {run.seed} ({labels['reproduce']} {run.seed}) · {labels['isolation']}{labels['colon']}{run.isolation.get('level')}"
        lines.append(style(footer, "dim"))
        missing = [tr(lang, f"isolation_{name}") for name in run.isolation.get("missing") or []
                   if f"isolation_{name}" in MESSAGES]
        if run.isolation.get("level") != "namespaces":
            lines.append(style(f"{labels['weaker']}{labels['colon']}{'; '.join(missing) or run.isolation.get('level')}", "failed"))
    return "\n".join(lines) + "\n"


def render_summary(scorecards: list[Scorecard], color: bool = False) -> str:
    """One line per submission, for batches."""
    style = _Style(color)
    width = max((len(s.submission) for s in scorecards), default=0)
    lines = []
    for card in scorecards:
        mark = style(_MARKS["passed" if card.passed else "failed"], "passed" if card.passed else "failed")
        lines.append(f"{mark} {card.submission.ljust(width)}  {_points(card.score)}/{_points(card.max_score)}")
    return "\n".join(lines) + "\n"
