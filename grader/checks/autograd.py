"""`autograd`: whether a student function differentiates with autograd (or, for hand derivations, must not).

The child records every autograd run of a call with its route (`api`) and mode: reverse mode at
the engine (`backward`: Tensor.backward and torch.autograd.backward; `grad`: torch.autograd.grad;
`func` and `functional`: what builds on it, torch.func.grad/vjp/jacrev and
torch.autograd.functional), forward mode where its results come out (`jvp`: torch.func.jvp;
`unpack_dual`: torch.autograd.forward_ad; `jacfwd`: torch.func.jacfwd). `mode` chooses which of
those runs the check counts.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from grader.checks.base import CheckContext, CheckKind, Verdict, function_names
from grader.checks.diagnosis import looks_like_finite_differences
from grader.i18n import Msg, msg
from grader.observations import CallEvents
from grader.spec.models import IDENT, CheckBase, ExerciseBase

ROUTE_ORDER = ("backward", "grad", "func", "functional", "jvp", "unpack_dual", "jacfwd")
"""The routes as messages list them."""


class AutogradCheck(CheckBase):
    """Autograd must run in every call (`expect: used`), or in none (`expect: not_used`).

    Every route counts: `Tensor.backward`, `torch.autograd.backward`, `torch.autograd.grad`, what
    builds on them (`torch.func.grad`, `torch.autograd.functional`), and forward mode
    (`torch.func.jvp`, `torch.func.jacfwd`, `torch.autograd.forward_ad`); `mode` narrows them.
    """

    kind: Literal["autograd"]
    calls: Annotated[list[Annotated[str, Field(pattern=IDENT)]], Field(min_length=1)]
    """The call sets to watch."""
    expect: Literal["used", "not_used"] = "used"
    """Whether autograd must run in every call, or in none."""
    mode: Literal["any", "reverse", "forward"] = "any"
    """Which runs count: `reverse` (backward, torch.autograd.grad, torch.func.grad/vjp, autograd.functional), `forward` (torch.func.jvp, jacfwd, torch.autograd.forward_ad) or `any`; with `not_used`, the mode that must not run."""
    min_runs: Annotated[int, Field(ge=1)] = 1
    """With `used`: the fewest autograd runs (of `mode`) each call must make (2 for "backward twice"); at least 1."""
    create_graph: bool = False
    """With `used`: each call must differentiate at least once with `create_graph=True` (for higher derivatives; reverse mode only)."""
    loop_tip_above: Annotated[int, Field(ge=2)] | None = None
    """With `used`: when a call runs autograd more often than this, add a tip (not a deduction) that one pass suffices; at least 2, and at least `min_runs`."""

    def absence(self) -> bool:
        """`not_used` asks that autograd does not run."""
        return self.expect == "not_used"

    def problems_in(self, exercise: ExerciseBase) -> list[tuple[tuple[str | int, ...], str]]:
        """Fields that cannot apply as set: options of `used` under `not_used`, create_graph in forward mode, a tip below min_runs."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if self.expect == "not_used":
            for name in ("min_runs", "create_graph", "loop_tip_above"):
                if name in self.model_fields_set:
                    problems.append(((name,), f"`{name}` applies only to `expect: used`"))
        if self.create_graph and self.mode == "forward":
            problems.append((("create_graph",), "create_graph is about reverse mode (a graph of the backward pass); "
                                                "with `mode: forward` it can never hold"))
        if self.loop_tip_above is not None and self.loop_tip_above < self.min_runs:
            problems.append((("loop_tip_above",), f"must be at least min_runs ({self.min_runs}): every call needs that "
                                                  "many runs, so a tip below it would come with every correct answer"))
        return problems


def _runs(events: CallEvents, mode: str) -> int:
    """The runs of a call that the check counts (all of them for `any`)."""
    if mode == "any":
        return events.autograd_count
    return sum(1 for run in events.autograd if run.mode == mode)


def routes(events: list[CallEvents]) -> list[Msg]:
    """Which routes autograd ran by, in words (`autograd.grad (reverse mode)`), in a fixed order."""
    seen = {(run.api, run.mode) for e in events for run in e.autograd}
    ordered = sorted(seen, key=lambda item: ROUTE_ORDER.index(item[0]) if item[0] in ROUTE_ORDER else len(ROUTE_ORDER))
    return [msg("route_in_mode", route=msg(f"route_{api}"), mode=msg(f"mode_{mode}")) for api, mode in ordered]


def _loop_tip(events: CallEvents, n: int) -> Msg:
    """The tip for a call that ran autograd n times, about the route it took: backward(), grad, or forward mode."""
    apis = [run.api for run in events.autograd]
    if apis and all(run.mode == "forward" for run in events.autograd):
        return msg("loop_tip_forward", n=n)
    if apis and sum(apis.count(api) for api in ("grad", "func", "functional")) > apis.count("backward"):
        return msg("loop_tip_grad", n=n)
    return msg("loop_tip", n=n)


def judge_autograd(check: AutogradCheck, ctx: CheckContext) -> Verdict:
    """Count autograd runs per call (of the mode asked for), from what the child observed."""
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
    mode = check.mode
    if check.expect == "not_used":
        used = [e for e in counted if _runs(e, mode) > 0]
        if used:
            where = msg("on_calls", bad=len(used), total=total)
            if mode == "any":
                said = msg("autograd_forbidden_used_routes", functions=functions, where=where, routes=routes(used))
            else:
                said = msg("autograd_forbidden_mode_used", functions=functions, where=where, routes=routes(used),
                           mode=msg(f"mode_{mode}"))
            return Verdict("failed", said, line=line)
        if mode != "any":
            # The other mode may have run: "did not use autograd" would be untrue.
            return Verdict("passed", msg("autograd_forbidden_mode_ok", functions=functions, mode=msg(f"mode_{mode}")))
        return Verdict("passed", msg("autograd_forbidden_ok", functions=functions))
    none = [e for e in counted if _runs(e, mode) == 0]
    if none:
        where = msg("on_calls", bad=len(none), total=total)
        other = [e for e in none if e.autograd_count > 0]
        if other and mode != "any":
            # Autograd ran, in the other mode: say which routes, and how to take the one asked for.
            return Verdict("failed", msg("autograd_wrong_mode", functions=functions, where=where, routes=routes(other),
                                         mode=msg(f"mode_{mode}")), hint=msg(f"{mode}_mode_hint"), line=line)
        if mode == "forward":
            return Verdict("failed", msg("autograd_missing_forward", functions=functions, where=where),
                           hint=msg("forward_mode_hint"), line=line)
        # Finite differences are named only when the values show a difference quotient's error.
        hint = "finite_difference_hint" if looks_like_finite_differences(ctx, check.calls) else "use_autograd_hint"
        return Verdict("failed", msg("autograd_missing", functions=functions, where=where), hint=msg(hint), line=line)
    few = [e for e in counted if _runs(e, mode) < check.min_runs]
    if few:
        where = msg("on_calls", bad=len(few), total=total)
        return Verdict("failed", msg("autograd_too_few", functions=functions, got=min(_runs(e, mode) for e in few),
                                     need=check.min_runs, where=where), line=line)
    if check.create_graph:
        flat = [e for e in counted if not any(a.create_graph for a in e.autograd)]
        if flat:
            where = msg("on_calls", bad=len(flat), total=total)
            return Verdict("failed", msg("autograd_no_create_graph", functions=functions, where=where),
                           hint=msg("create_graph_hint"), line=line)
        message = msg("autograd_create_graph_ok_routes", functions=functions, routes=routes(counted))
    else:
        message = msg("autograd_used_routes", functions=functions, routes=routes(counted))
    busiest = max(counted, key=lambda e: _runs(e, mode))
    most = _runs(busiest, mode)
    tips = (_loop_tip(busiest, most),) if check.loop_tip_above and most > check.loop_tip_above else ()
    return Verdict("passed", message, tips=tips)


KIND = CheckKind(AutogradCheck, judge_autograd)
