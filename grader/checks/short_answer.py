"""`short_answer`: collect a module-level string for the instructor; it earns no automatic points."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from grader.checks.base import CheckContext, CheckKind, Verdict
from grader.checks.values import type_name
from grader.i18n import Localized, msg
from grader.observations import StrValue
from grader.spec.models import IDENT, CheckBase, ExerciseBase, undeclared_variable


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

    def problems_in(self, exercise: ExerciseBase) -> list[tuple[tuple[str | int, ...], str]]:
        """The variable must be declared under `variables`: starter files tell students its name from there."""
        if self.variable in exercise.variables:
            return []
        return [(("variable",), undeclared_variable(self.variable, exercise))]


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
    # The model answer comes as such: introduced, so that no label has to say what it is.
    tips = (msg("answer_feedback", text=check.feedback),) if check.feedback else ()
    count, unit = answer_length(text)
    return Verdict("passed", msg(f"answer_collected_{unit}", n=count), tips=tips,
                   details={"answer": text, "answer_variable": check.variable})


# Chinese, Japanese and Korean ideographs: text written in them has no spaces between words.
_IDEOGRAPH = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def answer_length(text: str) -> tuple[int, Literal["words", "chars"]]:
    """How long an answer is, counted as its own language counts: words, or for Chinese characters.

    Chinese is counted as a word processor counts it (字数): each character, plus each word of
    Latin script in between (`create_graph=True`).
    """
    ideographs = len(_IDEOGRAPH.findall(text))
    latin_words = sum(1 for word in _IDEOGRAPH.sub(" ", text).split() if re.search(r"[^\W_]", word))
    if ideographs > latin_words:
        return ideographs + latin_words, "chars"
    return len(text.split()), "words"


KIND = CheckKind(ShortAnswerCheck, judge_short_answer)
