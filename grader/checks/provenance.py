"""`returns_gradient`: what a function returns must be a gradient autograd itself produced in that call.

The child notes every gradient autograd produces during a call (`.grad` after `backward()`, the
results of `torch.autograd.grad`, of `torch.func` transforms and of forward-mode AD) and reports,
for each tensor returned, whether it equals one of them bit for bit (through view, clone, detach,
reshape or `.numpy()`). This check reads that report. It tells a derivative read from autograd
from one computed beside a throwaway `backward()` (a shifted sine, a hand formula).

What it proves is equality of values with an autograd result of the call, observed in the
student's own process: not that the student's code path used it. `torch.cos(x)` returned beside
`torch.sin(x).sum().backward()` is bitwise equal to autograd's gradient (autograd computes cos
too), which is what checks forbidding cos are for.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from grader.checks.base import CheckContext, CheckKind, Verdict, call_problem
from grader.checks.values import type_name
from grader.i18n import Msg, Text, msg
from grader.observations import ProvenanceItem, SequenceValue
from grader.spec.models import IDENT, CheckBase, ExerciseBase

Path = Annotated[list[Annotated[int, Field(ge=0, le=63)]], Field(max_length=1)]

ROUTES = {"backward": "backward()", "grad": "torch.autograd.grad", "forward": "forward-mode AD"}
"""How each route autograd took reads in messages (others are `torch.func.<name>`)."""


class ReturnsGradientCheck(CheckBase):
    """Each call must return, at every path of `outputs`, a gradient autograd produced during that call."""

    kind: Literal["returns_gradient"]
    calls: Annotated[list[Annotated[str, Field(pattern=IDENT)]], Field(min_length=1)]
    """The call sets to judge."""
    outputs: Annotated[list[Path], Field(min_length=1)] = [[]]
    """Which returned items must be autograd's: `[]` for the value itself, `[1]` for the second item of a tuple."""
    names: list[str] | None = None
    """How each of `outputs` is called in messages, e.g. `[dydx]` (default: the result, or result[1])."""
    after_create_graph: bool = False
    """The gradient must come after a run with `create_graph=True` in the same call (a second derivative)."""

    def problems_in(self, exercise: ExerciseBase) -> list[tuple[tuple[str | int, ...], str]]:
        """`names` must name each of `outputs`."""
        if self.names is not None and len(self.names) != len(self.outputs):
            return [(("names",), f"gives {len(self.names)} names for {len(self.outputs)} outputs")]
        return []


def _name(check: ReturnsGradientCheck, index: int, path: list[int]) -> Text:
    if check.names is not None:
        return check.names[index]
    return msg("item_of", name=msg("the_result"), i=path[0]) if path else msg("the_result")


def _route(item: ProvenanceItem) -> str:
    route = item.route or "?"
    return ROUTES.get(route, f"torch.{route}" if route.startswith("func.") else route)


def _returned_at(value: object, path: list[int]) -> object:
    if not path:
        return value
    if isinstance(value, SequenceValue) and path[0] < len(value.items):
        return value.items[path[0]]
    return None


def judge_returns_gradient(check: ReturnsGradientCheck, ctx: CheckContext) -> Verdict:
    """Read, for every call and every path of `outputs`, whether the child saw autograd produce that very value."""
    missing = ctx.missing_function(*check.calls)
    if missing:
        return missing
    function = ctx.function_of(check.calls[0])
    line = ctx.function_line(function)
    total = 0
    problems: list[tuple[int, str, dict[str, object], Msg | None]] = []  # (output, message key, its data, hint)
    routes: list[str] = []
    for call_set in check.calls:
        for view in ctx.calls(call_set):
            problem = call_problem(ctx, view)
            if problem:
                return problem
            report = view.report
            assert report is not None
            if report.provenance is None:
                return Verdict("error", msg("no_observation", functions=[function]))
            total += 1
            runs = report.events.autograd_count if report.events else 0
            for index, path in enumerate(check.outputs):
                name = _name(check, index, path)
                item = next((p for p in report.provenance if p.path == path), None)
                if item is None:
                    got = _returned_at(report.value, path)
                    what = type_name(got) if got is not None else msg("type_none")
                    problems.append((index, "provenance_not_tensor", {"name": name, "got": what}, None))
                elif not item.autograd and runs == 0:
                    problems.append((index, "provenance_no_run", {"name": name}, None))
                elif not item.autograd:
                    # Autograd ran, yet what came back is none of its results: computed beside it.
                    problems.append((index, "provenance_not_autograd", {"name": name, "runs": runs},
                                     msg("provenance_hint", name=name)))
                elif check.after_create_graph and not item.after_create_graph:
                    problems.append((index, "provenance_not_second", {"name": name, "route": _route(item)},
                                     msg("create_graph_hint")))
                elif _route(item) not in routes:
                    routes.append(_route(item))
    if total == 0:
        return Verdict("error", msg("no_observation", functions=[function]))
    if problems:
        index, key, params, hint = problems[0]
        # One entry per (call, output) that failed: the first failing output's entries count its calls.
        where = msg("on_calls", bad=sum(1 for p in problems if p[0] == index and p[1] == key), total=total)
        return Verdict("failed", msg(key, where=where, **params), hint=hint, line=line)
    names = [_name(check, i, p) for i, p in enumerate(check.outputs)]
    key = "provenance_ok_second" if check.after_create_graph else "provenance_ok"
    return Verdict("passed", msg(key, names=names, function=function, routes=routes))


KIND = CheckKind(ReturnsGradientCheck, judge_returns_gradient)
"""The `returns_gradient` kind."""
