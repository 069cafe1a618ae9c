"""Grading one submission end to end: read it, run it in the sandbox, judge it, make the scorecard.

The scorecard is language-neutral; `GradeOptions.lang` only records the language asked for (the
reporters' default) and chooses the words of attachments when they are written.
"""

from __future__ import annotations

import json
import logging
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from grader import __version__
from grader.checks.ahead import ReferencesAhead
from grader.checks.base import Attachment, ReferenceFailure, References, where
from grader.hints import syntax_hint
from grader.i18n import Lang, Text, msg
from grader.judge import Attachments, import_verdict, judge_exercise, student_traceback, top_level_errors
from grader.names import file_stem
from grader.observations import ModuleReport
from grader.plan import Plan, build_plan
from grader.sandbox.supervisor import JobRequest, RunRecord, Sandbox
from grader.scorecard import Artifact, CheckResult, ExerciseResult, RunInfo, Scorecard
from grader.source import Submission, SubmissionError, load_submission
from grader.spec.loader import LoadedExercise

_log = logging.getLogger("grader")


@dataclass(frozen=True)
class GradeOptions:
    """How to grade: the seed, the limits, and who reads the result."""

    seed: int
    call_timeout: float = 5.0
    """Seconds for importing the submission and for each call."""
    total_timeout: float = 120.0
    """Seconds for the whole submission."""
    lang: Lang = "en"
    """The language the reader asked for: the scorecard's default for reporters (its texts are neutral)."""
    show_hidden: bool = False
    """Give the instructor's view (hidden checks in full) as `Graded.scorecard`; `Graded.full` has it always."""
    hide: tuple[str, ...] = ()
    """Paths the submission must not see, beyond the exercise directories."""
    keep_figures: bool = False
    """Render the figures a submission draws to PNG files (for --artifacts); costs time otherwise spared."""


@dataclass(frozen=True)
class Graded:
    """A scorecard and the files its checks want kept (figures), keyed by (exercise, check)."""

    scorecard: Scorecard
    attachments: Attachments = field(default_factory=dict)
    identity: str = ""
    """The submission's resolved path: what tells apart two submissions of the same name."""
    full: Scorecard | None = None
    """Hidden checks in full, for reporters that keep them from students themselves (Gradescope); default `scorecard`."""

    @property
    def instructor_view(self) -> Scorecard:
        """Every check's feedback, hidden ones included."""
        return self.full or self.scorecard


def _not_graded(exercises: list[LoadedExercise], submission: str, message: Text, lang: Lang,
                line: int | None = None, cell: int | None = None, hint: Text | None = None) -> Scorecard:
    results = [
        ExerciseResult(
            id=e.spec.id, title=e.spec.title, score=0.0, max_score=e.spec.max_score,
            checks=[CheckResult(id=c.id, kind=c.kind, title=c.title, status="error",
                                score=0.0, max_score=c.points, message=msg("not_imported"), line=line, cell=cell,
                                graded=c.points > 0, hidden=c.visibility == "hidden")
                    for c in e.spec.checks],
        )
        for e in exercises
    ]
    return Scorecard(submission=submission, score=0.0, max_score=sum(e.spec.max_score for e in exercises),
                     exercises=results, error=message, error_hint=hint, error_line=line, error_cell=cell, lang=lang,
                     grader_version=__version__)


def syntax_error_scorecard(exercises: list[LoadedExercise], submission: Submission, error: SyntaxError, lang: Lang) -> Scorecard:
    """Zero points, pointing at the line Python could not read (and at pasted curly quotes)."""
    line = error.lineno or 1
    cell, within = submission.locate(line)
    lines = submission.source.splitlines()
    # Our own copy of the line: Python fills `error.text` from the file on disk, which for a
    # notebook is JSON, not the cell.
    text = lines[line - 1] if 0 < line <= len(lines) else (error.text or "").rstrip("\n")
    offset = max(1, error.offset or 1)
    source = ""
    if text.strip():
        caret = " " * max(0, offset - 1 - (len(text) - len(text.lstrip())))
        source = f"\n    {text.strip()}\n    {caret}^"
    if cell is not None:
        message = msg("syntax_error_cell", msg=error.msg, cell=cell, line=within, source=source)
    else:
        message = msg("syntax_error", msg=error.msg, line=line, source=source)
    hint = syntax_hint(text, where(submission, line), error.msg)
    return _not_graded(exercises, submission.display, message, lang, within, cell, hint)


def request_for(exercises: list[LoadedExercise], submission: Submission, options: GradeOptions) -> JobRequest:
    """What the child needs to know: the source, which names to look up, what to watch."""
    functions = sorted({name for e in exercises for name in e.spec.functions})
    attributes = sorted({name for e in exercises for name in e.spec.attribute_names()})
    watch = sorted({name for e in exercises for check in e.spec.checks for name in check.watched()})
    hide = tuple(str(e.directory) for e in exercises) + (str(submission.path.resolve().parent),) + options.hide
    return JobRequest(source=submission.source, filename=submission.child_filename, functions=tuple(functions),
                      attributes=tuple(attributes), watch=tuple(watch), seed=options.seed, hide=tuple(dict.fromkeys(hide)))


def grade_submission(path: Path, exercises: list[LoadedExercise], sandbox: Sandbox, options: GradeOptions,
                     display: str | None = None) -> Graded:
    """Grade one submission. Raises SubmissionError only when the file does not exist.

    A bug of the grader met while grading it costs this submission only: its scorecard says the
    grader failed (`internal_error` holds the traceback, for the instructor), and a batch goes on.
    A broken exercise (`ReferenceFailure`) is not the submission's: it propagates.
    """
    try:
        graded = _grade(path, exercises, sandbox, options, display)
    except (SubmissionError, ReferenceFailure):
        raise
    except Exception:  # noqa: BLE001 - the guard around one submission: whatever broke, the batch goes on
        # The innermost frames say what broke; a recursion's thousands of frames would bury the log.
        details = traceback.format_exc()[-20_000:]
        _log.error("grading %s failed inside the grader:\n%s", display or path, details)
        return Graded(internal_error_scorecard(exercises, display or str(path), details, options.lang),
                      identity=str(path.resolve()))
    return replace(graded, identity=str(path.resolve()))


def internal_error_scorecard(exercises: list[LoadedExercise], submission: str, details: str, lang: Lang) -> Scorecard:
    """Zero points and no blame: the grader itself failed on this submission (the traceback kept for the instructor)."""
    card = _not_graded(exercises, submission, msg("internal_error"), lang, hint=msg("internal_error_hint"))
    return card.model_copy(update={"internal_error": details[-20_000:]})


def _grade(path: Path, exercises: list[LoadedExercise], sandbox: Sandbox, options: GradeOptions,
           display: str | None = None) -> Graded:
    submission = load_submission(path, display)
    lang = options.lang
    if submission.decode_error:
        return Graded(_not_graded(exercises, submission.display, msg("not_text", msg=submission.decode_error), lang))
    try:
        submission.tree  # noqa: B018 - parsing is the point: Python's own verdict on the syntax
    except SyntaxError as error:
        return Graded(syntax_error_scorecard(exercises, submission, error, lang))
    except (RecursionError, MemoryError, ValueError) as error:
        unparsable = msg("syntax_error", msg=type(error).__name__, line=1, source="")
        return Graded(_not_graded(exercises, submission.display, unparsable, lang))
    plans: list[Plan] = []
    references = ReferencesAhead(sandbox.references)

    def plan_for(module: ModuleReport) -> list[dict[str, Any]]:
        plans.append(build_plan([e.spec for e in exercises], module, options.seed, render_figures=options.keep_figures))
        references.start(exercises, plans[0])  # while the child makes the calls
        return [call.wire() for call in plans[0].calls]

    run = sandbox.run(request_for(exercises, submission, options), plan_for, options.call_timeout, options.total_timeout)
    plan = plans[0] if plans else Plan(())
    return judge_run(exercises, submission, plan, run, options, references)


def judge_run(exercises: list[LoadedExercise], submission: Submission, plan: Plan, run: RunRecord,
              options: GradeOptions, references: References | None = None) -> Graded:
    """The scorecard of a finished run; `references` answers for the exercises' reference code."""
    failed_import = import_verdict(run, options.call_timeout)
    results, attachments = [], {}
    for loaded in exercises:
        result, found = judge_exercise(loaded, submission, plan, run, failed_import, references)
        results.append(result)
        attachments.update(found)
    answers = {
        str(check.details["answer_variable"]): str(check.details["answer"])
        for result in results for check in result.checks if "answer" in check.details and "answer_variable" in check.details
    }
    cell, line = submission.locate(failed_import.line) if failed_import else (None, None)
    scorecard = Scorecard(
        submission=submission.display,
        score=round(sum(r.score for r in results), 6),
        max_score=round(sum(r.max_score for r in results), 6),
        exercises=results,
        error=failed_import.message if failed_import else None,
        error_hint=failed_import.hint if failed_import else None,
        error_line=line, error_cell=cell,
        error_traceback=student_traceback(failed_import.traceback, submission) if failed_import else [],
        top_level_errors=top_level_errors(run, submission),
        run=RunInfo(seed=options.seed, isolation=run.isolation.to_dict(), wall_time=round(run.wall_time, 3),
                    children=run.children, output=run.output.text(), hidden_output=run.private_output.text(),
                    output_bytes=run.output.total,
                    max_rss_kb=run.max_rss_kb, memory_peak_kb=run.memory_peak_kb, out_of_memory=run.out_of_memory),
        lang=options.lang, grader_version=__version__, answers=answers,
    )
    if options.show_hidden:
        return Graded(scorecard, attachments, full=scorecard)
    # Hidden calls receive the hidden inputs: a submission that prints its arguments would show them.
    hidden = {(e.id, c.id) for e in results for c in e.checks if c.hidden}
    shown = {key: files for key, files in attachments.items() if key not in hidden}
    return Graded(scorecard.for_students(run.private_output.total), shown, full=scorecard)


FIGURE_CHOICES = ("none", "drawn", "all")
"""Which attachments a grading keeps (a service's `--figures`, a cluster job's): none, the student's own
figures, or those and the overlays."""


def kept_attachments(graded: Graded, figures: str) -> list[tuple[str, str, Attachment]]:
    """(exercise, check, attachment) of each attachment kept under `figures` (one of FIGURE_CHOICES)."""
    if figures not in FIGURE_CHOICES:
        raise ValueError(f"figures must be one of {', '.join(FIGURE_CHOICES)}, not {figures!r}")
    return [(exercise, check, attachment) for (exercise, check), attachments in graded.attachments.items()
            for attachment in attachments
            if figures == "all" or (figures == "drawn" and attachment.kind == "figure")]


def plain_attachments(graded: Graded, lang: Lang) -> list[tuple[str, str, str, str, bytes]]:
    """(exercise, check, kind, file name, JSON) of each attachment that is also plain data (an overlay's curves), in
    `lang`: what the result page draws as SVG without matplotlib. One that cannot be made is logged and left out."""
    found = []
    for (exercise, check), attachments in graded.attachments.items():
        for attachment in attachments:
            if attachment.plain is None:
                continue
            try:
                data = json.dumps(attachment.plain(lang), allow_nan=False, separators=(",", ":")).encode()
            except Exception:  # noqa: BLE001 - a picture is never worth the scorecard: grade without it
                _log.exception("%s: the plain data of %s could not be made", graded.scorecard.submission, attachment.name)
                continue
            found.append((exercise, check, f"{attachment.kind}-data", f"{Path(attachment.name).stem}.json", data))
    return found


def save_attachments(graded: Graded, directory: Path, lang: Lang | None = None) -> Scorecard:
    """Write a graded submission's attachments under `directory`, their words in `lang` (default: the
    scorecard's); the scorecard names the files."""
    words = lang or graded.scorecard.lang
    stem = file_stem(graded.scorecard.submission, graded.identity or graded.scorecard.submission)
    exercises = []
    for exercise in graded.scorecard.exercises:
        checks = []
        for check in exercise.checks:
            files: list[Attachment] = list(graded.attachments.get((exercise.id, check.id), ()))
            artifacts = list(check.artifacts)
            for attachment in files:
                target = directory / stem / f"{exercise.id}.{check.id}.{attachment.name}"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(attachment.content(words))
                artifacts.append(Artifact(kind=attachment.kind, path=str(target), description=attachment.description))
            checks.append(check.model_copy(update={"artifacts": artifacts}) if files else check)
        exercises.append(exercise.model_copy(update={"checks": checks}))
    return graded.scorecard.model_copy(update={"exercises": exercises})
