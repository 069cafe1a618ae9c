"""The judge: observations of one run + the exercises' checks -> results with points.

Runs in the trusted grader only, after the child is gone. Nothing the child said is a score:
every verdict comes from a check kind's judge function comparing observations with references.
It knows no language: results hold messages and spec texts, which reporters render.

Two rules hold for every kind, built-in or plugin, before its judge function is asked:

- A check whose calls all failed to return (raised, timed out, crashed) is `error`, never
  `passed`: nothing was answered. Kinds whose calls answer by raising (`raises`) are exempt.
- An absence check (`forbid_source`, `forbid_ops`, `autograd` with `expect: not_used`) earns
  points only alongside an answer: at least one call of the functions it is about must have
  returned something, a value other than None or a figure drawn. Not using cosine is worth
  nothing in a file that computes nothing.

Hints: the instructor's `hint:` is the hint of its check whenever the check fails (a wrong
answer); the grader's own hint then follows as a tip. When nothing was answered (`error`: a call
raised, timed out or crashed) and the grader can say why (`backward()` twice frees the graph),
that is the hint and the instructor's follows as a tip. `builtin_hints: false` (on the check, or
on the exercise for all its checks) drops the grader's hints and tips from the check altogether.
"""

from __future__ import annotations

from grader.checks import available_kinds
from grader.checks.base import (
    Attachment, CallView, CheckContext, References, Verdict, call_problem, function_names, how_it_ended, unimplemented,
    where,
)
from grader.hints import exception_hint
from grader.i18n import Msg, Text, msg
from grader.observations import StudentFrame
from grader.plan import Plan
from grader.sandbox.supervisor import RunRecord
from grader.observations import NoneValue
from grader.scorecard import CheckResult, ExerciseResult, TopLevelError, TraceFrame
from grader.source import Submission
from grader.spec.loader import LoadedExercise
from grader.spec.models import CheckBase

Attachments = dict[tuple[str, str], tuple[Attachment, ...]]


def import_verdict(run: RunRecord, call_timeout: float) -> Verdict | None:
    """The error every check gets when the submission could not be imported, or None."""
    module = run.module
    if module is None:
        if run.import_problem == "timeout":
            return Verdict("error", msg("import_timeout", timeout=call_timeout))
        if run.out_of_memory:
            return Verdict("error", msg("import_crashed", how=msg("ended_out_of_memory")), hint=msg("memory_hint"))
        return Verdict("error", msg("import_crashed", how=how_it_ended(run.import_problem)))
    if not module.ok and module.exception is not None:
        exc = module.exception
        hint = msg("exit_at_import_hint") if exc.type == "SystemExit" else exception_hint(exc)
        return Verdict("error", msg("import_raised", type=exc.type, msg=exc.message), hint=hint, line=exc.line,
                       traceback=tuple(exc.frames))
    return None


def top_level_errors(run: RunRecord, submission: Submission) -> list[TopLevelError]:
    """The top-level statements that raised, each with its line, hint and traceback, in the reader's terms."""
    module = run.module
    if module is None or not module.ok:
        return []
    found = []
    for exc in module.errors:
        hint = msg("exit_at_import_hint") if exc.type == "SystemExit" else exception_hint(exc)
        # The top-level statement itself: the outermost of the student's frames (a function it
        # called may have raised deeper down; the traceback shows that).
        first = exc.frames[0].line if exc.frames else None
        cell, line = submission.locate(first)
        place: Text = where(submission, first) if first is not None else "?"
        key = "top_level_stopped" if exc.type in ("SystemExit", "KeyboardInterrupt") else "top_level_raised"
        found.append(TopLevelError(message=msg(key, type=exc.type, msg=exc.message, where=place), hint=hint,
                                   line=line, cell=cell, traceback=student_traceback(tuple(exc.frames), submission)))
    if module.errors_total > len(module.errors):
        found.append(TopLevelError(message=msg("top_level_more", n=module.errors_total - len(module.errors))))
    return found


def student_traceback(frames: tuple[StudentFrame, ...], submission: Submission) -> list[TraceFrame]:
    """The student's frames with their lines mapped back to what they wrote (cells of a notebook)."""
    source = submission.source.splitlines()
    mapped = []
    for frame in frames:
        cell, line = submission.locate(frame.line)
        # The grader's own copy of the line: the file in the child is the student's to rewrite.
        text = source[frame.line - 1].strip() if 0 < frame.line <= len(source) else frame.text
        mapped.append(TraceFrame(line=line if line is not None else frame.line, cell=cell,
                                 function=frame.function, text=text))
    return mapped


def _answered(view: CallView) -> bool:
    """Whether a call returned an answer: a value other than None, or a figure it drew."""
    report = view.report
    if view.outcome.status != "returned" or report is None:
        return False
    drew = bool(report.events and report.events.figures)
    return drew or not (report.value is None or isinstance(report.value, NoneValue))


def answer_problem(check: CheckBase, ctx: CheckContext) -> Verdict | None:
    """The verdict when a check has nothing to judge: every call failed to return, or (absence checks) none answered."""
    if not check.answers_by_raising:
        views = [view for name in check.call_names() for view in ctx.calls(name)]
        if views and not any(view.outcome.status == "returned" for view in views):
            return call_problem(ctx, views[0])
    if check.absence():
        call_sets = [name for name in check.answer_call_sets(ctx.exercise) if name in ctx.exercise.calls]
        views = [view for name in call_sets for view in ctx.calls(name)]
        if not views:
            return None  # nothing was called: nothing to go on either way (the kind's judge says what it can)
        if not any(view.outcome.status == "returned" for view in views):
            return call_problem(ctx, next(v for v in views if v.outcome.status != "returned"))
        if not any(_answered(view) for view in views):
            functions = function_names(ctx, call_sets)
            return Verdict("failed", msg("absence_no_answer", functions=functions),
                           line=ctx.function_line(functions[0]) if functions else None)
    return None


def _hints(check: CheckBase, verdict: Verdict, ran: bool, builtin: bool = True) -> tuple[Text | None, list[Text]]:
    """The hint and tips a check shows: the instructor's hint first, the grader's own unless switched off (`builtin`: the exercise's switch)."""
    hint, tips = verdict.hint, list(verdict.tips)
    if not (check.builtin_hints and builtin):
        hint, tips = None, []
    # The spec's hint is about the check's own mistake; it says nothing to a file that did not run.
    if check.hint is not None and verdict.status != "passed" and ran:
        if verdict.status == "error" and hint is not None:
            # Nothing was answered (a call raised, hung, crashed): the grader's explanation of why is
            # about this very failure, which the instructor's hint, about a wrong answer, is not.
            tips.insert(0, check.hint)
        else:
            if hint is not None:
                tips.insert(0, hint)  # what the grader recognised still helps, below the instructor's word
            hint = check.hint
    return hint, tips


def judge_exercise(
    loaded: LoadedExercise, submission: Submission, plan: Plan, run: RunRecord,
    failed_import: Verdict | None, references: References | None = None,
) -> tuple[ExerciseResult, Attachments]:
    """Judge every check of one exercise, hidden ones in full; `references` runs its reference code (a trusted worker).

    What students may see of hidden checks is `Scorecard.for_students()`'s business, not the judge's.
    """
    spec = loaded.spec
    kinds = available_kinds()
    context = None
    if failed_import is None and run.module is not None:
        context = CheckContext(spec, plan, run.module, run.calls, submission, references, loaded.reference_key)
    results: list[CheckResult] = []
    attachments: Attachments = {}
    not_run = Verdict("error", msg("not_imported"), line=failed_import.line) if failed_import else None
    for check in spec.checks:
        verdict = not_run if context is None else (
            unimplemented(context, check.call_names()) or answer_problem(check, context)
            or kinds[check.kind].judge(check, context))
        assert verdict is not None
        hint, tips = _hints(check, verdict, context is not None, spec.builtin_hints)
        earned = verdict.fraction if verdict.fraction is not None else (1.0 if verdict.status == "passed" else 0.0)
        duration = sum(
            run.calls[c.index].wall_time
            for name in check.call_names() for c in plan.for_call_set(spec.id, name) if c.index in run.calls
        )
        cell, line = submission.locate(verdict.line)
        results.append(CheckResult(
            id=check.id, kind=check.kind, title=check.title,
            status=verdict.status, score=round(check.points * earned, 6), max_score=check.points,
            message=verdict.message, hint=hint, tips=tips, line=line, cell=cell,
            duration=round(duration, 4), hidden=check.visibility == "hidden", graded=check.points > 0,
            details=verdict.details, traceback=student_traceback(verdict.traceback, submission),
        ))
        if verdict.attachments:
            attachments[(spec.id, check.id)] = verdict.attachments
    result = ExerciseResult(
        id=spec.id, title=spec.title, score=round(sum(r.score for r in results), 6),
        max_score=spec.max_score, checks=results,
    )
    return result, attachments
