"""`short_answer`: collect a module-level string for the instructor; it earns no automatic points."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from grader.checks.base import CheckContext, CheckKind, Verdict
from grader.checks.values import type_name
from grader.i18n import Localized, msg
from grader.observations import StrValue
from grader.spec.models import IDENT, CheckBase


class ShortAnswerCheck(CheckBase):
    """The submission may define a string variable with an answer in words, shown to the instructor."""

    kind: Literal["short_answer"]
    variable: str = Field(pattern=IDENT)
    """The module-level name that holds the answer."""
    feedback: Localized | None = None
    """A fuller model answer, shown to the student once they have written their own."""

    @field_validator("points")
    @classmethod
    def _no_points(cls, value: float) -> float:
        if value != 0:
            raise ValueError("short answers are read by people and earn no automatic points: use points: 0")
        return value

    def attribute_names(self) -> list[str]:
        """The variable to read."""
        return [self.variable]


def judge_short_answer(check: ShortAnswerCheck, ctx: CheckContext) -> Verdict:
    """Passed (collected) when the variable is a non-empty string."""
    value = ctx.module.attributes.get(check.variable)
    if value is None:
        return Verdict("failed", msg("answer_missing", name=check.variable))
    if not isinstance(value, StrValue):
        return Verdict("failed", msg("answer_not_text", name=check.variable, got=type_name(value)))
    text = value.v.strip()
    if not text:
        return Verdict("failed", msg("answer_missing", name=check.variable))
    tips = (check.feedback,) if check.feedback else ()
    return Verdict("passed", msg("answer_collected", words=len(text.split())), tips=tips,
                   details={"answer": text, "answer_variable": check.variable})


KIND = CheckKind(ShortAnswerCheck, judge_short_answer)
