"""`gradient_consistency`: a hand-derived gradient must agree with autograd's gradient of the function."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from grader.checks.base import CheckContext, CheckKind, Verdict, call_problem, first_tensor_input
from grader.checks.values import as_float, type_name
from grader.i18n import msg
from grader.spec.models import IDENT, CheckBase, ExerciseBase


class GradientConsistencyCheck(CheckBase):
    """At every input, the student's hand-derived gradient equals autograd's gradient of their function.

    The grader computes autograd's gradient itself (call set with `grad: true`), so the student's
    function is differentiated as written, whatever it is.
    """

    kind: Literal["gradient_consistency"]
    calls: str = Field(pattern=IDENT)
    """Call set of the function, with `grad: true`."""
    against: str = Field(pattern=IDENT)
    """Call set of the hand-derived gradient, on the same inputs."""
    rtol: Annotated[float, Field(ge=0)] = 1e-6
    """Relative tolerance."""
    atol: Annotated[float, Field(ge=0)] = 1e-9
    """Absolute tolerance."""

    def call_names(self) -> list[str]:
        """Both call sets."""
        return [self.calls, self.against]

    def problems_in(self, exercise: ExerciseBase) -> list[tuple[tuple[str | int, ...], str]]:
        """Both call sets must exist, the first with `grad: true`, and draw the same inputs."""
        function, hand = exercise.calls.get(self.calls), exercise.calls.get(self.against)
        if function is None or hand is None:
            return []
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if not function.grad:
            problems.append((("calls",), f"call set {self.calls!r} needs `grad: true`"))
        if function.all_cases() != hand.all_cases() or function.samples != hand.samples:
            problems.append((("against",), f"call sets {self.calls!r} and {self.against!r} must have the same cases and samples"))
        return problems


def judge_gradient_consistency(check: GradientConsistencyCheck, ctx: CheckContext) -> Verdict:
    """Pair the calls by input; compare the hand gradient with autograd's at each point."""
    missing = ctx.missing_function(check.calls, check.against)
    if missing:
        return missing
    function, hand = ctx.function_of(check.calls), ctx.function_of(check.against)
    hand_views = {(v.planned.case, v.planned.sample, v.planned.repeat): v for v in ctx.calls(check.against)}
    compared = []
    for view in ctx.calls(check.calls):
        problem = call_problem(ctx, view)
        if problem:
            return problem
        report = view.report
        assert report is not None
        if report.grad_error == "not_tensor":
            return Verdict("failed", msg("grad_not_tensor", function=function, got=type_name(report.value)),
                           line=ctx.function_line(function))
        if report.grad_error in ("no_graph", "unused"):
            return Verdict("failed", msg("grad_no_graph", function=function), line=ctx.function_line(function))
        if report.grad_error == "failed" or report.grad is None:
            return Verdict("failed", msg("grad_failed", function=function, msg=report.grad_message or "?"),
                           line=ctx.function_line(function))
        partner = hand_views.get((view.planned.case, view.planned.sample, view.planned.repeat))
        if partner is None:
            continue
        problem = call_problem(ctx, partner)
        if problem:
            return problem
        assert partner.report is not None
        got = as_float(partner.report.value)
        if got is None:
            return Verdict("failed", msg("not_a_number", function=hand, got=type_name(partner.report.value)),
                           line=ctx.function_line(hand))
        expected = as_float(report.grad)
        x = first_tensor_input(view.planned)
        compared.append((float(np.ravel(x)[0]) if x is not None else float("nan"), got, expected))
    bad = [(x, g, e) for x, g, e in compared
           if e is None or not np.isfinite(g) or not abs(g - e) <= check.atol + check.rtol * abs(e)]
    points = sorted({round(x, 12) for x, _, _ in compared})
    details = {"points": len(points), "disagree_at": [x for x, _, _ in bad][:20]}
    if not bad:
        return Verdict("passed", msg("consistent", hand=hand, function=function, n=len(compared)), details=details)
    x, g, e = bad[0]
    return Verdict("failed", msg("inconsistent", hand=hand, function=function, bad=len(bad), n=len(compared),
                                 x=x, got=g, expected=e if e is not None else float("nan")),
                   hint=msg("inconsistent_hint"), line=ctx.function_line(hand), details=details)


KIND = CheckKind(GradientConsistencyCheck, judge_gradient_consistency)
