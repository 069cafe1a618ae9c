"""`compare`: a student function's results against a reference function's, on the same inputs."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from grader.checks.base import CallView, CheckContext, CheckKind, Verdict, call_problem, first_tensor_input
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


def _accumulation_ratio(views: list[CallView]) -> float | None:
    """When a repeated call returned a multiple of the first call's (correct) result: that multiple."""
    by_draw: dict[tuple[int, int], list[CallView]] = {}
    for view in views:
        by_draw.setdefault((view.planned.case, view.planned.sample), []).append(view)
    for group in by_draw.values():
        if len(group) < 2:
            continue
        first, second = group[0].report, group[1].report
        if not (first and second and isinstance(first.value, TensorValue) and isinstance(second.value, TensorValue)):
            continue
        a, b = first.value.array.astype(np.float64), second.value.array.astype(np.float64)
        if a.shape != b.shape or not np.any(np.abs(a) > 1e-8):
            continue
        ratios = b[np.abs(a) > 1e-8] / a[np.abs(a) > 1e-8]
        if np.allclose(ratios, ratios.flat[0], rtol=1e-6) and abs(ratios.flat[0] - 1) > 1e-6:
            return float(np.round(ratios.flat[0], 6))
    return None


def judge_compare(check: CompareCheck, ctx: CheckContext) -> Verdict:
    """Compare each call's result with the reference; the first difference is the message."""
    missing = ctx.missing_function(check.calls)
    if missing:
        return missing
    views = ctx.calls(check.calls)
    tol = Tolerance(check.rtol, check.atol, check.exact_dtype)
    function = ctx.function_of(check.calls)
    mismatches = []
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
        if mismatch:
            mismatches.append((view, mismatch))
    # The rows are data too: each in its JSON form, as details hold plain data.
    details = {"values": [row.model_dump(mode="json") for row in rows]} if rows else {}
    if not mismatches:
        return Verdict("passed", msg("matches", call=function, n=len(views), table=_table(rows)), details=details)
    view, mismatch = mismatches[0]
    where = msg("on_calls", bad=len(mismatches), total=len(views))
    hint = None
    ratio = _accumulation_ratio(views)
    if ratio is not None:
        hint = msg("accumulated_hint", ratio=ratio)
    elif mismatch.hint_key:
        hint = msg(mismatch.hint_key)
    elif mismatch.kind == "values" and _without_autograd(view):
        hint = msg("finite_difference_hint")  # close but not exact, and autograd never ran
    return Verdict("failed", msg("differs", call=view.describe(), where=where, what=mismatch.message, table=_table(rows)),
                   hint=hint, line=ctx.function_line(function), details=details)


def _table(rows: list[Msg]) -> Text:
    """The table of values that follows a message, one row a line, or nothing."""
    return msg("values_rows", rows=rows) if rows else ""


def _without_autograd(view: CallView) -> bool:
    events = view.report.events if view.report else None
    return events is not None and events.autograd_count == 0


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
