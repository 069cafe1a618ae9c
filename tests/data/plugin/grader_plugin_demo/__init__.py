"""A check-kind plugin for autograd-grader: `all_finite`, every result free of NaN and infinity."""

from typing import Literal

import numpy as np
from pydantic import Field

from grader.checks.base import CheckContext, CheckKind, Verdict, call_problem
from grader.i18n import Msg
from grader.observations import TensorValue
from grader.spec.models import IDENT, CheckBase

# A plugin keeps its own sentences, in every language it speaks; the grader's reporters choose the
# reader's language when they render them (a verdict holds the template and its data, not the text).
MESSAGES = {
    "ok": {"en": "{function} returned only finite numbers on {n} calls.",
           "zh": "{function} 在 {n} 次调用中只返回了有限的数值。"},
    "not_finite": {"en": "{call} returned {bad} NaN or infinite entries out of {size}.",
                   "zh": "{call} 返回的 {size} 个元素中有 {bad} 个是 NaN 或无穷大。"},
    "not_tensor": {"en": "{call} did not return a tensor.", "zh": "{call} 没有返回张量。"},
}


def say(key: str, **params: object) -> Msg:
    """One of this plugin's messages, with an id analytics can count (`all_finite.<key>`)."""
    return Msg.inline(MESSAGES[key], f"all_finite.{key}", **params)


class AllFiniteCheck(CheckBase):
    """Every call of a call set must return a tensor whose entries are all finite."""

    kind: Literal["all_finite"]
    calls: str = Field(pattern=IDENT)
    """The call set whose results are inspected."""


def judge_all_finite(check: AllFiniteCheck, ctx: CheckContext) -> Verdict:
    """Fail at the first call whose result holds a NaN or an infinity."""
    missing = ctx.missing_function(check.calls)
    if missing:
        return missing
    views = ctx.calls(check.calls)
    for view in views:
        problem = call_problem(ctx, view)
        if problem:
            return problem
        value = view.report.value
        if not isinstance(value, TensorValue):
            return Verdict("failed", say("not_tensor", call=view.describe()))
        bad = int(value.array.size - np.isfinite(value.array).sum())
        if bad:
            return Verdict("failed", say("not_finite", call=view.describe(), bad=bad, size=int(value.array.size)),
                           line=ctx.function_line(ctx.function_of(check.calls)))
    return Verdict("passed", say("ok", function=ctx.function_of(check.calls), n=len(views)))


KIND = CheckKind(AllFiniteCheck, judge_all_finite)
