"""`raises`: a student function must let a specific exception propagate."""

from __future__ import annotations

import builtins
import difflib
import re
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from grader.checks.base import CheckContext, CheckKind, Verdict, call_problem
from grader.hints import exception_hint
from grader.i18n import msg
from grader.spec.models import IDENT, CheckBase


_BUILTIN_EXCEPTIONS = sorted(n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException))
"""Python's own exception classes (torch raises these: RuntimeError, ValueError, TypeError, ...)."""


class RaisesCheck(CheckBase):
    """Every call must raise the given exception type, with a message matching `match`."""

    answers_by_raising: ClassVar[bool] = True
    kind: Literal["raises"]
    calls: str = Field(pattern=IDENT)
    """The call set whose calls must raise."""
    exception: str = Field(pattern=IDENT)
    """Name of the exception class, e.g. `RuntimeError`."""
    match: str | None = None
    """Regular expression searched for in the exception's message."""
    origin: Literal["any", "library", "autograd"] = "any"
    """`library`: the exception must come from a library (torch), not from the student's own `raise`;
    `autograd`: it must come out of an autograd run (`backward()`, `torch.autograd.grad`) of that call."""

    @field_validator("exception")
    @classmethod
    def _not_a_misspelt_builtin(cls, value: str) -> str:
        # A name close to a builtin exception but not one is a typo (RunTimeError): no call could
        # ever raise it. Other names may be a library's or the student's own classes.
        close = difflib.get_close_matches(value, _BUILTIN_EXCEPTIONS, n=1, cutoff=0.88)
        if value not in _BUILTIN_EXCEPTIONS and close:
            raise ValueError(f"{value!r} is not an exception class Python defines (did you mean {close[0]!r}?)")
        return value

    @field_validator("match")
    @classmethod
    def _is_regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return value


def judge_raises(check: RaisesCheck, ctx: CheckContext) -> Verdict:
    """Pass when every call raised the expected exception for the expected reason."""
    missing = ctx.missing_function(check.calls)
    if missing:
        return missing
    function = ctx.function_of(check.calls)
    views = ctx.calls(check.calls)
    message = ""
    for view in views:
        problem = call_problem(ctx, view, allow_raise=True)
        if problem:
            return problem
        report = view.report
        assert report is not None
        call = view.describe()
        exc = report.exception
        if report.outcome == "returned" or exc is None:
            return Verdict("failed", msg("raises_returned", call=call, type=check.exception), line=ctx.function_line(function))
        if exc.type != check.exception:
            return Verdict("failed", msg("raises_wrong_type", call=call, got=exc.type, msg=exc.message, type=check.exception),
                           hint=exception_hint(exc), line=exc.line, traceback=tuple(exc.frames))
        if check.match and not re.search(check.match, exc.message):
            return Verdict("failed", msg("raises_wrong_message", call=call, type=exc.type, pattern=check.match,
                                         msg=exc.message), line=exc.line)
        if check.origin in ("library", "autograd") and exc.origin == "submission":
            return Verdict("failed", msg("raises_own_raise", call=call, type=exc.type,
                                         where=ctx.where(exc.line) if exc.line else "?"), line=exc.line,
                           traceback=tuple(exc.frames))
        if check.origin == "autograd" and exc.origin != "autograd":
            return Verdict("failed", msg("raises_not_autograd", call=call, type=exc.type), line=exc.line,
                           hint=msg("raises_not_autograd_hint"), traceback=tuple(exc.frames))
        message = msg("raises_ok", call=call, type=exc.type, msg=exc.message.splitlines()[0] if exc.message else "")
    return Verdict("passed", message)


KIND = CheckKind(RaisesCheck, judge_raises)
