"""`compare`: a student function's results against a reference function's, on the same inputs."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from grader.checks.base import CheckContext, CheckKind, Verdict, call_problem, first_tensor_input
from grader.checks.diagnosis import Compared, diagnose, redefinition_hint
from grader.checks.values import Tolerance, compare_value, short, type_name
from grader.i18n import Localized, Msg, Text, msg
from grader.observations import BoolValue, FloatValue, IntValue, TensorValue
from grader.spec.models import IDENT, CheckBase


class CompareCheck(CheckBase):
    """Every call's result must equal the reference function's result on the same arguments."""

    kind: Literal["compare"]
    calls: str = Field(pattern=IDENT)
    """The call set whose results are judged."""
    reference: str = Field(pattern=IDENT)
    """The function of reference.py that computes the expected result from the same arguments."""
    rtol: Annotated[float, Field(ge=0)] = 1e-7
    """Relative tolerance for floating results."""
    atol: Annotated[float, Field(ge=0)] = 1e-10
    """Absolute tolerance for floating results."""
    exact_dtype: bool = True
    """Require the tensor dtype of the reference (float64 stays float64)."""
    outputs: list[str] | None = None
    """Names of the items of a returned tuple, for messages, e.g. `[y, dydx]`."""
    labels: list[Localized] | None = None
    """Names of the call set's cases, for messages, e.g. `[f, "f'", "f''"]`."""
    show_values: bool = False
    """List each case's result next to the expected one in the message (for small integer answers)."""

    def reference_names(self) -> list[str]:
        """The reference function this check calls."""
        return [self.reference]

    def reference_calls(self) -> list[tuple[str, str]]:
        """Its reference on each call of its call set."""
        return [(self.reference, self.calls)]


def judge_compare(check: CompareCheck, ctx: CheckContext) -> Verdict:
    """Compare each call's result with the reference; the first difference is the message.

    How the results differ (a multiple that grows from call to call, a weighting, a difference
    quotient's error) chooses the hint: see grader/checks/diagnosis.py.
    """
    missing = ctx.missing_function(check.calls)
    if missing:
        return missing
    views = ctx.calls(check.calls)
    tol = Tolerance(check.rtol, check.atol, check.exact_dtype)
    function = ctx.function_of(check.calls)
    compared: list[Compared] = []
    rows = []
    for view in views:
        problem = call_problem(ctx, view)
        if problem:
            return problem
        assert view.report is not None and view.report.value is not None
        expected = ctx.reference_value(check.reference, view.planned)
        got = view.report.value
        mismatch = compare_value(msg("the_result"), expected, got, tol, first_tensor_input(view.planned), check.outputs)
        if check.show_values and view.planned.repeat == 0:
            label: Text = check.labels[view.planned.case] if check.labels and view.planned.case < len(check.labels) \
                else view.describe()
            rows.append(msg("values_table", label=label, got=short(got), expected=_plain(expected)))
        compared.append(Compared(view, expected, got, mismatch))
    # The rows are data too: each in its JSON form, as details hold plain data.
    details = {"values": [row.model_dump(mode="json") for row in rows]} if rows else {}
    mismatches = [c for c in compared if c.mismatch is not None]
    if not mismatches:
        return Verdict("passed", msg("matches", call=function, n=len(views), table=_table(rows)), details=details)
    first = mismatches[0]
    assert first.mismatch is not None
    where = msg("on_calls", bad=len(mismatches), total=len(views))
    found = diagnose(ctx, compared, check.reference, tol, check.outputs)
    hint = found.hint or (msg(first.mismatch.hint_key) if first.mismatch.hint_key else None) \
        or redefinition_hint(ctx, function)
    what: Text = first.mismatch.message if found.fact is None else msg("what_and_fact", what=first.mismatch.message,
                                                                        fact=found.fact)
    return Verdict("failed", msg("differs", call=first.view.describe(), where=where, what=what, table=_table(rows)),
                   hint=hint, line=ctx.function_line(function), details=details)


def _table(rows: list[Msg]) -> Text:
    """The table of values that follows a message, one row a line, or nothing."""
    return msg("values_rows", rows=rows) if rows else ""


def _plain(expected: object) -> Text:
    """The reference's value in a table row: a number as written, anything else by its kind."""
    if isinstance(expected, TensorValue) and expected.array.size == 1:
        return f"{float(np.real(expected.array.reshape(()))):.6g}"
    if isinstance(expected, (IntValue, BoolValue)):
        return repr(expected.v)
    if isinstance(expected, FloatValue):
        return repr(expected.value)
    return type_name(expected)


KIND = CheckKind(CompareCheck, judge_compare)
