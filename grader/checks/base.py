"""What every check kind's judge function receives (`CheckContext`) and returns (`Verdict`).

A verdict speaks in messages (`msg(key, **params)` from grader.i18n) and spec texts (`Localized`),
never in sentences of one language: the context knows no language, and reporters render.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
import json
from typing import TYPE_CHECKING, Any, Callable, Literal, Protocol

import numpy as np
from pydantic import TypeAdapter

from grader.arguments import describe_argument
from grader.i18n import Lang, Msg, Text, msg
from grader.observations import CallOutcome, CallReport, ModuleReport, NdarrayValue, StudentFrame, TensorValue, Value
from grader.wire import encode_array
from grader.plan import Plan, PlannedCall
from grader.spec.models import CheckBase, ExerciseBase

if TYPE_CHECKING:
    from grader.source import Submission


class ReferenceFailure(Exception):
    """The instructor's reference code failed: the exercise is broken, not the submission."""


class References(Protocol):
    """Runs reference functions on plain-data arguments and answers in plain data (a trusted worker, or in-process)."""

    def call(self, module: str, function: str, args: list[dict[str, Any]]) -> dict[str, Any]:
        """`{"value": <encoded value>}` or `{"error": {type, message, line}}`."""

    def call_many(self, module: str, function: str, each: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
        """`call` on each argument list (one round trip to a worker): a reply per list, in order."""


_VALUE: TypeAdapter[Any] = TypeAdapter(Value)


@dataclass(frozen=True)
class Attachment:
    """A file a check wants kept for the student (a PNG of their figure); the CLI decides where."""

    kind: str
    name: str
    data: bytes
    description: Text
    render: Callable[[Lang], bytes] | None = None
    """Makes the bytes on demand instead of `data`, so that costly pictures are drawn only when kept,
    with their words in the language of whoever keeps them."""
    plain: Callable[[Lang], dict[str, Any]] | None = None
    """The picture as plain data (an overlay's curves), for whoever draws it another way (the web page's SVG)."""

    def content(self, lang: Lang) -> bytes:
        """The file's bytes, with any words in it in `lang`."""
        return self.render(lang) if self.render is not None else self.data


@dataclass(frozen=True)
class Verdict:
    """A judge function's finding on one check."""

    status: Literal["passed", "failed", "error"]
    message: Text
    hint: Text | None = None
    tips: tuple[Text, ...] = ()
    fraction: float | None = None
    """Share of the points earned; None means all for `passed`, none otherwise."""
    line: int | None = None
    """The line of the submission this verdict is about, when there is one."""
    details: dict[str, Any] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()
    traceback: tuple[StudentFrame, ...] = ()
    """When the student's code raised: their frames, outermost first (lines of the script the child ran)."""


@dataclass(frozen=True)
class CallView:
    """A planned call together with what happened when it was made."""

    planned: PlannedCall
    outcome: CallOutcome

    @property
    def report(self) -> CallReport | None:
        """The child's report, when the call finished (returned or raised)."""
        return self.outcome.report

    def describe(self) -> Msg:
        """`function(arguments)` in words, for messages."""
        return msg("call", function=self.planned.function, args=[describe_argument(a) for a in self.planned.args])


@dataclass
class CheckContext:
    """Everything a judge function may look at: the spec, the observations, references, the source."""

    exercise: ExerciseBase
    plan: Plan
    module: ModuleReport
    outcomes: dict[int, CallOutcome]
    submission: Submission
    references: References | None = None
    """Where the exercise's reference functions run (a trusted worker process); None when it has none."""
    reference_key: str = ""
    """The exercise's reference module as `references` knows it."""
    _references: dict[tuple[str, str, int, int], dict[str, Any]] = field(default_factory=dict)
    """Replies of the reference worker by (function, call set, case, sample), checked when used."""

    def calls(self, call_set: str) -> list[CallView]:
        """The calls made for a call set, in order, with their outcomes."""
        views = []
        for planned in self.plan.for_call_set(self.exercise.id, call_set):
            outcome = self.outcomes.get(planned.index) or CallOutcome(planned.index, "not_run", reason="not_reached")
            views.append(CallView(planned, outcome))
        return views

    def function_of(self, call_set: str) -> str:
        """The name of the student function a call set calls."""
        return self.exercise.calls[call_set].function

    def missing_function(self, *call_sets: str) -> Verdict | None:
        """An error verdict for the first of the call sets whose student function is missing or not callable."""
        for call_set in call_sets:
            name = self.function_of(call_set)
            described = self.module.functions.get(name)
            spec = self.exercise.functions[name]
            if described is None or not described.defined:
                return Verdict("error", msg("missing_function", name=name, signature=spec.signature, summary=spec.summary),
                               hint=self.stopped_hint())
            if not described.callable:
                return Verdict("error", msg("not_callable", name=name), line=described.line)
        return None

    def stopped_hint(self) -> Msg | None:
        """When the file stopped early (sys.exit at top level): a hint that names where, else None."""
        if self.module.stopped and self.module.errors and self.module.errors[-1].line:
            return msg("stopped_before_definition", where=self.where(self.module.errors[-1].line))
        return None

    def nothing_defined(self) -> Verdict | None:
        """An error verdict when the submission defines none of the exercise's functions (or None)."""
        names = list(self.exercise.functions)
        if names and not any((f := self.module.functions.get(n)) is not None and f.defined for n in names):
            spec = self.exercise.functions[names[0]]
            return Verdict("error", msg("missing_function", name=names[0], signature=spec.signature, summary=spec.summary))
        return None

    def where(self, line: int) -> Msg:
        """A line of the submission in words: `line 12`, or `cell 3, line 2` in a notebook."""
        return where(self.submission, line)

    def function_line(self, name: str) -> int | None:
        """Where the submission defines a function (a line of its own file)."""
        described = self.module.functions.get(name)
        return described.line if described else None

    def _replies(self, name: str, each: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
        """The reference worker's replies for a reference function on each of these (plain-data) argument lists."""
        if self.references is None:
            raise ReferenceFailure(f"{self.exercise.id}: no reference.py, but a check needs reference {name}()")
        try:
            return self.references.call_many(self.reference_key, name, each)
        except Exception as exc:  # noqa: BLE001 - the worker died or hung: the exercise cannot be judged
            raise ReferenceFailure(f"{self.exercise.id}: reference {name}() could not run: {exc}") from None

    def _reference(self, name: str, args: list[dict[str, Any]]) -> Value:
        """A reference function's value on these (plain-data) arguments, as plain data."""
        return self._value_of(name, self._replies(name, [args])[0])

    def _value_of(self, name: str, reply: dict[str, Any]) -> Value:
        """The value in a reply of the reference worker; ReferenceFailure when the reference raised or returned junk."""
        if "error" in reply:
            error = reply["error"] or {}
            line = f" (reference.py line {error['line']})" if error.get("line") else ""
            raise ReferenceFailure(f"{self.exercise.id}: reference {name}() raised {error.get('type')}: "
                                   f"{error.get('message')}{line}")
        try:
            return _VALUE.validate_json(json.dumps(reply.get("value"), allow_nan=False))
        except (ValueError, TypeError) as exc:
            raise ReferenceFailure(f"{self.exercise.id}: reference {name}() returned what cannot be compared: {exc}") from None

    def reference_value(self, name: str, call: PlannedCall) -> Value:
        """The reference function's result on exactly the arguments of a planned call (cached), as plain data.

        The first asked for fetches the results of every call of its call set in one round trip to
        the worker: checks ask for them one by one, and a round trip costs more than a reference.
        """
        key = (name, call.call_set, call.case, call.sample)
        if key not in self._references:
            wanted = {(name, c.call_set, c.case, c.sample): c for c in self.plan.for_call_set(self.exercise.id, call.call_set)}
            wanted = {k: c for k, c in wanted.items() if k not in self._references}
            wanted.setdefault(key, call)
            replies = self._replies(name, [list(c.args) for c in wanted.values()])
            self._references.update(zip(wanted, replies))
        return self._value_of(name, self._references[key])

    def reference_curve(self, name: str, x: np.ndarray) -> np.ndarray:
        """A reference function of one float64 tensor evaluated at these points (for plots), as float64."""
        value = self._reference(name, [{"kind": "tensor", "array": encode_array(np.asarray(x, dtype=np.float64), "float64"),
                                        "requires_grad": False}])
        if not isinstance(value, (TensorValue, NdarrayValue)):
            raise ReferenceFailure(f"{self.exercise.id}: reference {name}() must return a tensor of the x it is given")
        return np.asarray(value.array, dtype=np.float64).reshape(np.shape(x))


def where(submission: Submission, line: int) -> Msg:
    """A line of a submission in words: `line 12`, or `cell 3, line 2` in a notebook."""
    cell, within = submission.locate(line)
    return msg("where_cell", cell=cell, line=within) if cell is not None else msg("where_line", line=line)


def call_problem(ctx: CheckContext, view: CallView, allow_raise: bool = False) -> Verdict | None:
    """An error verdict when a call did not return a value (or, with allow_raise, did not finish)."""
    from grader.hints import exception_hint

    outcome = view.outcome
    call = view.describe()
    exc = outcome.report.exception if outcome.report else None
    if outcome.status == "raised" and exc is not None and exc.origin == "exercise":
        # The spec's input could not be built on this draw: nothing the student wrote ran, or is to blame.
        return Verdict("error", msg("call_input_failed", call=call, type=exc.type, msg=exc.message))
    if outcome.status == "returned" or (allow_raise and outcome.status == "raised"):
        return None
    if outcome.status == "raised" and outcome.report and outcome.report.exception:
        exc = outcome.report.exception
        said = msg("call_raised", call=call, type=exc.type, msg=exc.message) if exc.message.strip() \
            else msg("call_raised_bare", call=call, type=exc.type)
        return Verdict("error", said, hint=exception_hint(exc) or _source_hint(ctx, view, exc), line=exc.line,
                       traceback=tuple(exc.frames))
    if outcome.status == "timeout":
        if outcome.reason == "call_timeout":
            timeout = msg("seconds", n=float(outcome.detail or 0))
        else:
            timeout = msg(f"why_{outcome.reason or 'total_time'}")
        return Verdict("error", msg("call_timeout", call=call, timeout=timeout), hint=msg("timeout_hint"))
    if outcome.status == "crashed":
        if outcome.reason == "out_of_memory":
            return Verdict("error", msg("call_crashed", call=call, how=msg("ended_out_of_memory")), hint=msg("memory_hint"))
        return Verdict("error", msg("call_crashed", call=call, how=how_it_ended(outcome.detail)), hint=msg("exit_in_call_hint"))
    if outcome.status == "invalid":
        return Verdict("error", msg("call_invalid", call=call, detail=outcome.detail or "?"))
    if outcome.status == "missing":
        return ctx.missing_function(view.planned.call_set) or Verdict("error", msg("not_callable", name=view.planned.function))
    return Verdict("error", msg("call_not_run", call=call, why=msg(f"why_{outcome.reason or 'not_reached'}")))


def _source_hint(ctx: CheckContext, view: CallView, exc: Any) -> Msg | None:
    """What the source shows about an exception no message pattern explains: a loop of a fixed size, a name defined twice."""
    from grader.checks.diagnosis import loop_bound_hint, redefinition_hint

    return loop_bound_hint(ctx, view, exc=exc) or redefinition_hint(ctx, view.planned.function)


_SIGNAL = re.compile(r"^killed by (SIG[A-Z0-9]+|signal \d+)$")
_EXIT = re.compile(r"^exit status (-?\d+)$")


def how_it_ended(description: str | None) -> Msg:
    """How a child ended, in the reader's words, from the sandbox's description (`killed by SIGSEGV`, `exit status 3`)."""
    text = description or ""
    if match := _SIGNAL.match(text):
        return msg("ended_signal", signal=match.group(1).removeprefix("signal "))
    if match := _EXIT.match(text):
        return msg("ended_exit", code=int(match.group(1)))
    if text.startswith("invalid: "):
        return msg("ended_invalid", detail=text.removeprefix("invalid: "))
    return msg("ended_unknown")


def is_stub(view: CallView) -> bool:
    """Whether a call raised NotImplementedError: the function is still a starter file's stub."""
    report = view.report
    return view.outcome.status == "raised" and report is not None and report.exception is not None \
        and report.exception.type == "NotImplementedError"


def unimplemented(ctx: CheckContext, call_sets: list[str]) -> Verdict | None:
    """The error of the first call when every call of these call sets is a stub; None otherwise.

    Checks that judge side effects (no cosine called, no autograd used) would otherwise pass on
    a function that does nothing yet.
    """
    views = [view for call_set in call_sets for view in ctx.calls(call_set)]
    if views and all(is_stub(view) for view in views):
        return call_problem(ctx, views[0])
    return None


def first_tensor_input(call: PlannedCall) -> Any:
    """The first tensor argument of a call as a numpy array (for "at x=..." in messages), or None."""
    from grader.wire import decode_array

    for arg in call.args:
        if arg["kind"] == "tensor":
            return decode_array(arg["array"])
    return None


def function_names(ctx: CheckContext, call_sets: list[str]) -> list[str]:
    """The distinct student functions of some call sets, in order (a list parameter reads `a, b`)."""
    return list(dict.fromkeys(ctx.function_of(c) for c in call_sets))


@dataclass(frozen=True)
class CheckKind:
    """A check kind: its spec model and the function that judges it."""

    model: type[CheckBase]
    judge: Callable[[Any, CheckContext], Verdict]
