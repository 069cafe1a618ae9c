"""The report people read in a terminal: per exercise its points, then each check, message and hint.

Given a `width` (the CLI passes the terminal's), every line is wrapped to it: continuation lines
keep the line's indentation, Chinese text breaks between characters (never before closing
punctuation), East Asian wide characters count as two columns, and a score stays on the line of
what it scores. Without a width (a file, a pipe) lines are left whole.
"""

from __future__ import annotations

import re
import unicodedata
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

_GLUE = "\ue000"
"""A space the wrapper never breaks at (between a title and its score); printed as a space."""


def labels_for(lang: str) -> dict[str, str]:
    """The report's own words in a language (from the message catalogue)."""
    return {key: MESSAGES[f"report_{key}"].get(lang) or MESSAGES[f"report_{key}"]["en"] for key in LABEL_KEYS}


def _points(value: float) -> str:
    return f"{value:g}"


def clean(text: str) -> str:
    """Student-controlled text with terminal control sequences removed."""
    return plain(text).replace(_GLUE, " ")


class _Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, style: str) -> str:
        return f"\x1b[{_COLORS[style]}m{text}\x1b[0m" if self.color else text


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line else line for line in text.splitlines())


# -- wrapping -----------------------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# An escape sequence, a run of spaces, one wide character, or a run of anything else.
_TOKEN = re.compile(r"\x1b\[[0-9;]*m| +|[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff"
                    r"\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]"
                    r"|[^ \x1b\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf"
                    r"\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]+")
_NO_BREAK_BEFORE = set("，。、；：！？）】》」』”’,.;:!?)]%")
"""Punctuation that must not start a line (it closes or ends what comes before it)."""
_NO_BREAK_AFTER = set("（【《「『“‘([")
"""Punctuation that must not end a line (it opens what comes after it)."""
_INDENT = re.compile(r"^ *(?:\| |(?:\x1b\[[0-9;]*m)?[✔✘!·](?:\x1b\[[0-9;]*m)? )?")
"""What continuation lines line up under: the indentation, then a `| ` they repeat or a mark they skip."""


def display_width(text: str) -> int:
    """Columns a terminal gives the text: East Asian wide and full-width characters take two; colours none."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 0 if unicodedata.combining(c) else 1
               for c in _ANSI.sub("", text))


def _tokens(text: str) -> list[str]:
    """The pieces a line may break between: words, spaces, single wide characters.

    A colour sequence stays with the text it colours, and glued text with both its neighbours.
    """
    tokens: list[str] = []
    pending = ""
    for token in _TOKEN.findall(text):
        if token.startswith("\x1b"):
            if token == "\x1b[0m" and tokens and not tokens[-1].startswith(" "):
                tokens[-1] += token
            else:
                pending += token
            continue
        token, pending = pending + token, ""
        if tokens and (token.startswith(_GLUE) or tokens[-1].endswith(_GLUE)) and not token.startswith(" "):
            tokens[-1] += token
        else:
            tokens.append(token)
    if pending:
        tokens.append(pending)
    return _expressions(tokens)


_OPERATORS = {"*", "**", "+", "-", "/", "//", "@", "%", "=", "==", "!=", "<", ">", "<=", ">="}
"""Operators that code puts between spaces: a line does not break beside them (`(y * v).sum()` stays whole)."""


def _expressions(tokens: list[str]) -> list[str]:
    """Words joined by a spaced operator (`x = x.detach()`, `(y * v).sum()`) made one token, so code is not split."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        if (tokens[i] in _OPERATORS and len(out) >= 2 and out[-1] == " " and out[-2].isascii()
                and not out[-2].startswith(" ") and i + 2 < len(tokens) and tokens[i + 1] == " "
                and tokens[i + 2].isascii() and not tokens[i + 2].startswith((" ", "\x1b"))):
            out[-2:] = [out[-2] + " " + tokens[i] + " " + tokens[i + 2]]
            i += 3
            continue
        out.append(tokens[i])
        i += 1
    return out


def _split_long(token: str, room: int) -> list[str]:
    """A token wider than a whole line, cut into pieces that fit (a long path or URL)."""
    pieces, current = [], ""
    for char in token:
        if current and display_width(current + char) > room:
            pieces.append(current)
            current = ""
        current += char
    return pieces + ([current] if current else [])


def _words(row: list[str]) -> int:
    return sum(1 for token in row if not token.startswith(" "))


def _drop_spaces(row: list[str]) -> None:
    while row and row[-1].startswith(" "):
        row.pop()


def wrap_line(line: str, width: int) -> list[str]:
    """One line wrapped to `width` columns; continuation lines keep its indentation (repeating a `| ` prefix,
    lining up after a check's mark)."""
    if display_width(line) <= width:
        return [line]
    indent = _INDENT.match(line).group()  # type: ignore[union-attr]
    following = indent if indent.endswith("| ") else " " * display_width(indent)
    room = max(10, width - display_width(indent))
    rows: list[list[str]] = [[]]
    for token in _tokens(line[len(indent):]):
        if token.startswith(" "):
            if rows[-1]:
                rows[-1].append(token)
            continue
        for piece in _split_long(token, room) if display_width(token) > room else [token]:
            row = rows[-1]
            if not _words(row) or sum(display_width(t) for t in row) + display_width(piece) <= room:
                row.append(piece)
                continue
            spaced = row[-1].startswith(" ")
            _drop_spaces(row)
            carried: list[str] = []
            # Punctuation that closes must not start the new line: the word before it comes along
            # (and the one before that, when it is closing punctuation too: `），`).
            first = piece
            while not spaced and _ANSI.sub("", first)[:1] in _NO_BREAK_BEFORE and _words(row) > 1:
                first = row.pop()
                carried.insert(0, first)
                spaced = bool(row) and row[-1].startswith(" ")
                _drop_spaces(row)
            # Punctuation that opens must not end the old one: it goes along too.
            if row and _ANSI.sub("", row[-1])[-1:] in _NO_BREAK_AFTER and _words(row) > 1:
                carried.insert(0, row.pop())
                _drop_spaces(row)
            rows.append(carried + [piece])
    out = []
    for row in rows:
        _drop_spaces(row)
        if row:
            out.append((following if out else indent) + "".join(row))
    return out or [line]


def wrap(text: str, width: int | None) -> str:
    """Every line of `text` wrapped to `width` columns (unchanged without a width); glue becomes spaces."""
    if width is None:
        return text.replace(_GLUE, " ")
    return "\n".join(piece.replace(_GLUE, " ") for line in text.split("\n") for piece in wrap_line(line, width))


# -- the report -------------------------------------------------------------------------------------

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


def _glued(text: str, after: str) -> str:
    """`text`, then two spaces and `after` that a wrapped line never separates from its last word."""
    return f"{text}{_GLUE}{_GLUE}{after}"


def _check_lines(check: CheckResult, style: _Style, labels: dict[str, str], file: str, lang: Lang) -> list[str]:
    mark = style(_MARKS[check.status], check.status) if check.graded else style("·", "dim")
    points = f"{_points(check.score)}/{_points(check.max_score)}" if check.graded else labels["ungraded"]
    name = clean(words(check.title, lang)) if check.title is not None else check.id
    lines = [f"    {mark} " + _glued(name, style(points, "dim"))]
    lines.append(_indent(clean(words(check.message, lang)), "        "))
    if check.traceback:
        lines.append(_indent("\n".join(traceback_lines(check.traceback, file, labels)), "        "))
    if check.hint:
        lines.append(_indent(f"{labels['hint']}{labels['colon']}{clean(words(check.hint, lang))}", "        "))
    for tip in check.tips:
        lines.append(_indent(f"{labels['tip']}{labels['colon']}{clean(words(tip, lang))}", "        "))
    for artifact in check.artifacts:
        description = clean(words(artifact.description, lang))
        lines.append(f"        {labels['file']}{labels['colon']}{artifact.path}  {tr(lang, 'report_aside', text=description)}")
    return lines


def _isolation_level(level: object, lang: Lang) -> str:
    key = f"isolation_level_{str(level).replace('-', '_')}"
    return tr(lang, key) if key in MESSAGES else str(level)


def render(scorecard: Scorecard, color: bool = False, verbose: bool = True, lang: Lang | None = None,
           width: int | None = None) -> str:
    """A scorecard as text in `lang` (default: the scorecard's); `verbose=False` lists only checks that did not pass.

    With `width`, every line is wrapped to that many columns (see the module's docstring).
    """
    lang = language(scorecard, lang)
    labels = labels_for(lang)
    style = _Style(color)
    total = f"{_points(scorecard.score)}/{_points(scorecard.max_score)} {labels['points']}"
    head = _glued(style(scorecard.submission, "bold"), style(total, "passed" if scorecard.passed else "failed"))
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
        title = f"{style(exercise.id, 'bold')}  {clean(words(exercise.title, lang))}"
        lines.append(f"{mark} " + _glued(title, f"{_points(exercise.score)}/{_points(exercise.max_score)}"))
        for check in exercise.checks:
            if verbose or check.status != "passed" or check.tips:
                lines.extend(_check_lines(check, style, labels, scorecard.submission, lang))
    run = scorecard.run
    if scorecard.answers:
        lines.append("")
        lines.append(labels["answers"] + labels["colon"].rstrip())
        for name, answer in scorecard.answers.items():
            lines.append(_indent(f"{name}{labels['colon']}{clean(answer)}", "  "))
    printed = program_output(run, lang) if run is not None else ""
    if run is not None and printed.strip():
        lines.append("")
        lines.append(tr(lang, "report_printed_bytes", n=run.output_bytes))
        lines.append(_indent(clean(printed.rstrip()), "  | "))
    if run is not None and run.withheld_output_bytes:
        lines.append(style(tr(lang, "hidden_output_withheld", n=run.withheld_output_bytes), "dim"))
    if run is not None:
        lines.append("")
        level = run.isolation.get("level")
        # The command in it must stay whole on a wrapped line, to be copied as it is.
        footer = tr(lang, "report_footer", seed=run.seed, level=_isolation_level(level, lang)).replace("--seed ", "--seed" + _GLUE)
        lines.append(style(footer, "dim"))
        missing = [tr(lang, f"isolation_{name}") for name in run.isolation.get("missing") or []
                   if f"isolation_{name}" in MESSAGES]
        if level != "namespaces":
            said = missing or [_isolation_level(level, lang)]
            lines.append(style(tr(lang, "report_weaker_than_full", missing=said), "failed"))
    return wrap("\n".join(lines), width) + "\n"


def render_summary(scorecards: list[Scorecard], color: bool = False, width: int | None = None) -> str:
    """One line per submission, for batches (wrapped to `width` like the reports, when given)."""
    style = _Style(color)
    widest = max((display_width(s.submission) for s in scorecards), default=0)
    lines = []
    for card in scorecards:
        mark = style(_MARKS["passed" if card.passed else "failed"], "passed" if card.passed else "failed")
        padding = " " * (widest - display_width(card.submission))
        lines.append(f"{mark} {card.submission}{padding}  {_points(card.score)}/{_points(card.max_score)}")
    return wrap("\n".join(lines), width) + "\n"
