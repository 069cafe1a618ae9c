"""`autograd`: whether a student function differentiates with autograd (or, for hand derivations, must not)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from grader.checks.base import CheckContext, CheckKind, Verdict, function_names
from grader.i18n import msg
from grader.spec.models import IDENT, CheckBase


class AutogradCheck(CheckBase):
    """Autograd must run in every call (`expect: used`), or in none (`expect: not_used`).

    Every route counts: `Tensor.backward`, `torch.autograd.backward`, `torch.autograd.grad`, and
    what builds on them (`torch.func.grad`, `torch.autograd.functional`).
    """

    kind: Literal["autograd"]
    calls: Annotated[list[Annotated[str, Field(pattern=IDENT)]], Field(min_length=1)]
    """The call sets to watch."""
    expect: Literal["used", "not_used"] = "used"
    """Whether autograd must run in every call, or in none."""
    min_runs: Annotated[int, Field(ge=1)] = 1
    """With `used`: the fewest autograd runs each call must make (2 for "backward twice")."""
    create_graph: bool = False
    """With `used`: each call must differentiate at least once with `create_graph=True` (for higher derivatives)."""
    loop_tip_above: Annotated[int, Field(ge=2)] | None = None
    """With `used`: when a call runs autograd more often than this, add a tip (not a deduction) that one pass suffices."""


def judge_autograd(check: AutogradCheck, ctx: CheckContext) -> Verdict:
    """Count autograd runs per call, from what the child observed."""
    missing = ctx.missing_function(*check.calls)
    if missing:
        return missing
    functions = function_names(ctx, check.calls)
    counted = []
    for call_set in check.calls:
        for view in ctx.calls(call_set):
            if view.report is not None and view.report.events is not None:
                counted.append(view.report.events)
    if not counted:
        return Verdict("error", msg("no_observation", functions=functions))
    line = ctx.function_line(ctx.function_of(check.calls[0]))
    total = len(counted)
    if check.expect == "not_used":
        used = [e for e in counted if e.autograd_count > 0]
        if used:
            where = msg("on_calls", bad=len(used), total=total)
            return Verdict("failed", msg("autograd_forbidden_used", functions=functions, where=where), line=line)
        return Verdict("passed", msg("autograd_forbidden_ok", functions=functions))
    none = [e for e in counted if e.autograd_count == 0]
    if none:
        where = msg("on_calls", bad=len(none), total=total)
        return Verdict("failed", msg("autograd_missing", functions=functions, where=where),
                       hint=msg("finite_difference_hint"), line=line)
    few = [e for e in counted if e.autograd_count < check.min_runs]
    if few:
        where = msg("on_calls", bad=len(few), total=total)
        return Verdict("failed", msg("autograd_too_few", functions=functions, got=min(e.autograd_count for e in few),
                                     need=check.min_runs, where=where), line=line)
    if check.create_graph:
        flat = [e for e in counted if not any(a.create_graph for a in e.autograd)]
        if flat:
            where = msg("on_calls", bad=len(flat), total=total)
            return Verdict("failed", msg("autograd_no_create_graph", functions=functions, where=where),
                           hint=msg("create_graph_hint"), line=line)
        message = msg("autograd_create_graph_ok", functions=functions)
    else:
        message = msg("autograd_used", functions=functions)
    most = max(e.autograd_count for e in counted)
    tips = (msg("loop_tip", n=most),) if check.loop_tip_above and most > check.loop_tip_above else ()
    return Verdict("passed", message, tips=tips)


KIND = CheckKind(AutogradCheck, judge_autograd)
