"""`gradient_consistency`: a hand-derived gradient must agree with autograd's gradient of the function,
and that gradient must be the derivative of the function's own values.

Shapes. The child differentiates `g(x).sum()` with respect to the first tensor argument x: the
vector-Jacobian product vᵀJ with v all ones, shaped like x. That is exactly the elementwise
derivative when g is elementwise, and the gradient when g returns a scalar. The hand-derived
result is compared with it entry by entry when it is shaped like x (a number for a 0-d x), or,
when it is the whole Jacobian (shape `g(x).shape + x.shape`), after the same product (summing over
g's output dimensions). Anything else is a wrong shape.

Cross-check. Autograd differentiates what g's graph computes, which need not be what g returns (a
straight-through `f(x).detach() + h(x) - h(x).detach()` returns f but differentiates as h), so g
alone cannot vouch for g_grad. The plan calls g at two probes, x ± h·v (v of ±1 entries, h scaled
to x and its dtype), and the central difference (g(x+h·v) - g(x-h·v)) / 2h, summed, must match
autograd's directional derivative at x. Points where the two probes took different paths through
g's code, or where the one-sided differences disagree (a kink, such as relu at 0, or a jump), are
skipped: there the derivative of the values says nothing about either side.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from grader.checks.base import CallView, CheckContext, CheckKind, Verdict, call_problem, first_tensor_input
from grader.checks.control_flow import BRANCHING, reached_functions
from grader.checks.values import shape_text, type_name
from grader.i18n import Msg, Text, msg
from grader.observations import FloatValue, IntValue, NdarrayValue, TensorValue
from grader.plan import PROBE_SIGNS, probe_call_set
from grader.spec.models import IDENT, CheckBase, ExerciseBase

FD_TOLERANCE = {"float64": 1e-4, "float32": 1e-2}
"""Relative tolerance of the cross-check, by the dtype of x (16-bit inputs are not cross-checked)."""


class GradientConsistencyCheck(CheckBase):
    """At every input, the student's hand-derived gradient equals autograd's gradient of their function.

    The grader computes autograd's gradient itself (call set with `grad: true`), so the student's
    function is differentiated as written, whatever it is; and it checks that gradient against the
    function's own values (central differences away from branch points).
    """

    kind: Literal["gradient_consistency"]
    calls: str = Field(pattern=IDENT)
    """Call set of the function, with `grad: true`."""
    against: str = Field(pattern=IDENT)
    """Call set of the hand-derived gradient, on the same inputs (same cases and samples): a result shaped like x, or the whole Jacobian."""
    rtol: Annotated[float, Field(ge=0)] = 1e-6
    """Relative tolerance."""
    atol: Annotated[float, Field(ge=0)] = 1e-9
    """Absolute tolerance."""
    finite_differences: bool = True
    """Also check autograd's gradient of the function against its own values (a central difference at x ± h, away from branch points); costs two more calls per point."""

    def call_names(self) -> list[str]:
        """Both call sets."""
        return [self.calls, self.against]

    def probes(self) -> list[str]:
        """With `finite_differences`, the function's call set is also called at x ± h·v."""
        return [self.calls] if self.finite_differences else []

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


def as_array(value: Any) -> np.ndarray | None:
    """A returned number or array as float64 (a float for a 0-d x is a 0-d array), or None for anything else."""
    if isinstance(value, (TensorValue, NdarrayValue)) and value.array.dtype.kind in "fiu":
        return np.asarray(value.array, dtype=np.float64)
    if isinstance(value, (FloatValue, IntValue)):
        return np.asarray(value.value if isinstance(value, FloatValue) else float(value.v), dtype=np.float64)
    return None


def as_gradient(got: np.ndarray, out_shape: tuple[int, ...], x_shape: tuple[int, ...]) -> np.ndarray | None:
    """The hand result as the product vᵀJ (v all ones) shaped like x: as it is, or a Jacobian summed over g's outputs."""
    if got.shape == x_shape or (got.size == 1 and len(x_shape) == 0):
        return got.reshape(x_shape)
    if got.shape == tuple(out_shape) + tuple(x_shape):
        return got.sum(axis=tuple(range(len(out_shape)))) if out_shape else got
    return None


@dataclass(frozen=True)
class _Point:
    """One compared input: x, the hand result (as vᵀJ) and autograd's, and which call it was."""

    x: np.ndarray
    got: np.ndarray
    expected: np.ndarray
    call: int


def _branches(ctx: CheckContext, function: str) -> bool:
    """Whether the function (or a helper of the submission it calls) has an if, while, for or conditional expression."""
    try:
        nodes = reached_functions(ctx.submission.tree, function)
    except (SyntaxError, RecursionError, ValueError):
        return True
    return any(isinstance(n, BRANCHING) for node in nodes for n in ast.walk(node))


def _mismatch(check: GradientConsistencyCheck, points: list[_Point]) -> list[tuple[_Point, tuple[int, ...]]]:
    """The points where the hand result differs from autograd's, each with its first differing entry."""
    bad = []
    for point in points:
        wrong = ~(np.abs(point.got - point.expected) <= check.atol + check.rtol * np.abs(point.expected))
        wrong |= ~np.isfinite(point.got)
        if wrong.any():
            bad.append((point, tuple(int(i) for i in np.argwhere(wrong)[0]) if wrong.ndim else ()))
    return bad


def judge_gradient_consistency(check: GradientConsistencyCheck, ctx: CheckContext) -> Verdict:
    """Pair the calls by input; compare the hand gradient with autograd's at each point, then autograd's with g's values."""
    missing = ctx.missing_function(check.calls, check.against)
    if missing:
        return missing
    function, hand = ctx.function_of(check.calls), ctx.function_of(check.against)
    hand_views = {(v.planned.case, v.planned.sample, v.planned.repeat): v for v in ctx.calls(check.against)}
    points: list[_Point] = []
    views = ctx.calls(check.calls)
    for number, view in enumerate(views, start=1):
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
        expected = as_array(report.grad)
        if report.grad_error == "failed" or expected is None:
            return Verdict("failed", msg("grad_failed", function=function, msg=report.grad_message or "?"),
                           line=ctx.function_line(function))
        partner = hand_views.get((view.planned.case, view.planned.sample, view.planned.repeat))
        if partner is None:
            continue
        problem = call_problem(ctx, partner)
        if problem:
            return problem
        assert partner.report is not None
        x = first_tensor_input(view.planned)
        x = np.asarray(x if x is not None else np.float64("nan"), dtype=np.float64)
        raw = as_array(partner.report.value)
        if raw is None:
            return Verdict("failed", msg("grad_hand_not_array", function=hand, got=type_name(partner.report.value),
                                         shape=shape_text(x.shape)), line=ctx.function_line(hand))
        out = as_array(report.value)
        got = as_gradient(raw, out.shape if out is not None else (), x.shape)
        if got is None:
            jacobian = (out.shape if out is not None else ()) + x.shape
            return Verdict("failed", msg("grad_hand_shape", function=hand, g=function, got=shape_text(raw.shape),
                                         shape=shape_text(x.shape), jacobian=shape_text(jacobian)),
                           line=ctx.function_line(hand))
        points.append(_Point(x, got, expected.reshape(x.shape) if expected.size == x.size else expected, number))
    details: dict[str, Any] = {"points": len(points)}
    bad = _mismatch(check, points)
    if bad:
        details["disagree_at"] = [float(np.ravel(p.x)[0]) if p.x.size else float("nan") for p, _ in bad][:20]
        point, index = bad[0]
        hint = msg("inconsistent_hint") if _branches(ctx, function) else msg("inconsistent_hint_smooth")
        if point.x.ndim == 0:
            message = msg("inconsistent", hand=hand, function=function, bad=len(bad), n=len(points), x=float(point.x),
                          got=float(point.got), expected=float(point.expected))
        else:
            message = msg("inconsistent_entries", hand=hand, function=function, bad=len(bad), n=len(points),
                          where=msg("at_index_x", index=shape_text(index), x=float(point.x[index])), call=point.call,
                          got=float(point.got[index]), expected=float(point.expected[index]))
        return Verdict("failed", message, hint=hint, line=ctx.function_line(hand), details=details)
    if not check.finite_differences:
        return Verdict("passed", msg("consistent", hand=hand, function=function, n=len(points)), details=details)
    checked, skipped, wrong = _cross_check(ctx, check, views)
    details.update({"finite_difference_points": checked, "finite_difference_skipped": skipped})
    if wrong is not None:
        return Verdict("failed", wrong, hint=msg("fd_hint"), line=ctx.function_line(function), details=details)
    return Verdict("passed", msg("consistent_fd", hand=hand, function=function, n=len(points), checked=checked),
                   details=details)


def _total(value: Any) -> float | None:
    array = as_array(value)
    return float(array.sum()) if array is not None and np.all(np.isfinite(array)) else None


def _probe_views(ctx: CheckContext, call_set: str) -> dict[str, dict[tuple[int, int], CallView]]:
    """The probes of a call set by sign, then by (case, sample)."""
    found: dict[str, dict[tuple[int, int], CallView]] = {}
    for sign in PROBE_SIGNS:
        planned = ctx.plan.for_call_set(ctx.exercise.id, probe_call_set(call_set, sign))
        found[sign] = {(p.case, p.sample): CallView(p, ctx.outcomes[p.index]) for p in planned if p.index in ctx.outcomes}
    return found


def _cross_check(ctx: CheckContext, check: GradientConsistencyCheck, views: list[CallView]) -> tuple[int, int, Msg | None]:
    """(points cross-checked, points skipped, the first disagreement as a message or None)."""
    function, hand = ctx.function_of(check.calls), ctx.function_of(check.against)
    probes = _probe_views(ctx, check.calls)
    checked = skipped = 0
    for number, view in enumerate(views, start=1):
        if view.planned.repeat != 0 or view.report is None:
            continue
        plus, minus = (probes[sign].get((view.planned.case, view.planned.sample)) for sign in PROBE_SIGNS)
        found = _difference(view, plus, minus)
        if found is None:
            skipped += 1
            continue
        central, directional, step, x = found
        checked += 1
        if central is not None:
            at: Text = msg("fd_at_x", x=float(x)) if x.ndim == 0 else msg("fd_at_call", call=number)
            return checked, skipped, msg("fd_disagrees", function=function, hand=hand, where=at, fd=central,
                                         ad=directional, h=step)
    return checked, skipped, None


def _difference(view: CallView, plus: CallView | None, minus: CallView | None
                ) -> tuple[float | None, float, float, np.ndarray] | None:
    """None when the point is skipped; else (the central difference when it disagrees with autograd, else None,
    autograd's directional derivative, the step h, x)."""
    if plus is None or minus is None or plus.report is None or minus.report is None or view.report is None:
        return None
    if plus.outcome.status != "returned" or minus.outcome.status != "returned":
        return None
    x = first_tensor_input(view.planned)
    x_plus, x_minus = first_tensor_input(plus.planned), first_tensor_input(minus.planned)
    gradient = as_array(view.report.grad)
    dtype = next((a["array"]["dtype"] for a in view.planned.args if a["kind"] == "tensor"), None)
    tau = FD_TOLERANCE.get(str(dtype))
    center, high, low = _total(view.report.value), _total(plus.report.value), _total(minus.report.value)
    if x is None or x_plus is None or x_minus is None or gradient is None or tau is None \
            or center is None or high is None or low is None:
        return None
    if (plus.report.events and plus.report.events.arcs) != (minus.report.events and minus.report.events.arcs):
        return None  # a branch of g's code lies between x - h and x + h
    x, x_plus, x_minus = (np.asarray(a, dtype=np.float64) for a in (x, x_plus, x_minus))
    step = float(np.max(np.abs(x_plus - x), initial=0.0))
    if step == 0.0 or gradient.size != x.size:
        return None
    gradient = gradient.reshape(x.shape)
    scale = float(np.abs(gradient).sum())
    # Rounding of the sums, as a rate: a few epsilons of the dtype per summed value, over h.
    eps = float(np.finfo(np.float64 if dtype == "float64" else np.float32).eps)
    noise = 8 * eps * (abs(center) + abs(high) + abs(low) + 1e-300) / step
    forward, backward = (high - center) / step, (center - low) / step
    if abs(forward - backward) > tau * (abs(forward) + abs(backward) + scale) + 2 * noise:
        return None  # a kink or a jump at x: the two sides have different slopes
    central = (high - low) / (2 * step)
    directional = float((gradient * (x_plus - x_minus)).sum()) / (2 * step)
    agrees = abs(central - directional) <= tau * (abs(central) + abs(directional) + scale) + noise
    return (None if agrees else central), directional, step, x


KIND = CheckKind(GradientConsistencyCheck, judge_gradient_consistency)
