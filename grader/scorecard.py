"""The scorecard: frozen results of grading one submission, the single input of every reporter.

It is language-neutral: every text in it is a message id with its data (`Msg`), a spec text in
both languages (`Localized`) or plain text the student wrote, rendered by reporters in the
reader's language. `card.model_dump(mode="json")` is its stored form, and validates back to it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from grader.i18n import Lang, Localized, Text, msg

SCHEMA_VERSION = 2
"""2: texts are messages (ids and parameters) and localized texts instead of sentences in one language."""

Status = Literal["passed", "failed", "error"]


class ResultModel(BaseModel):
    """Base of result models: frozen and closed."""

    # Non-finite numbers (in messages and details) are kept as JSON's NaN/Infinity, as Python's json writes them.
    model_config = ConfigDict(extra="forbid", frozen=True, ser_json_inf_nan="constants")


class Artifact(ResultModel):
    """A file the grader wrote for the student or instructor (a PNG of a figure)."""

    kind: str
    path: str
    description: Text


class TraceFrame(ResultModel):
    """One frame of the student's own code on the way to an exception."""

    line: int
    """The line in the submission as the student wrote it (within `cell` for notebooks)."""
    cell: int | None = None
    """For notebooks: the code cell (counting from 1) that `line` is in."""
    function: str
    """The function the frame is in (`<module>` at import time)."""
    text: str
    """The source text of that line."""


class TopLevelError(ResultModel):
    """A top-level statement of the submission that raised; the statements after it still ran."""

    message: Text
    hint: Text | None = None
    line: int | None = None
    cell: int | None = None
    traceback: list[TraceFrame] = []


class CheckResult(ResultModel):
    """The verdict on one check."""

    id: str
    kind: str
    title: Localized | None = None
    status: Status
    score: float
    max_score: float
    message: Text
    hint: Text | None = None
    """What to change: a message the judge chose, or the check's own `hint:` from the spec."""
    tips: list[Text] = []
    """Advice that costs nothing (a slow but correct approach)."""
    line: int | None = None
    """The student's line this result points at, in the submission as the student wrote it."""
    cell: int | None = None
    """For notebooks: the code cell (counting from 1) that `line` is in."""
    duration: float = 0.0
    """Seconds of the student's code this check judged, by the grader's clock."""
    hidden: bool = False
    graded: bool = True
    """False for checks worth no points (feedback and answers for the instructor)."""
    details: dict[str, Any] = {}
    """Plain data about the finding (counts, lines); a message in it is in its JSON form."""
    artifacts: list[Artifact] = []
    traceback: list[TraceFrame] = []
    """When the student's code raised: their frames only, outermost first, ending at their line."""

    def withheld(self) -> CheckResult:
        """This check as students see it while it is hidden: its status and points, none of its feedback."""
        if not self.hidden:
            return self
        return self.model_copy(update={
            "message": msg("hidden_check"), "hint": None, "tips": [], "line": None, "cell": None,
            "details": {}, "artifacts": [], "traceback": []})


class ExerciseResult(ResultModel):
    """The results of one exercise's checks."""

    id: str
    title: Localized
    score: float
    max_score: float
    checks: list[CheckResult]


class RunInfo(ResultModel):
    """How the submission was run."""

    seed: int
    isolation: dict[str, Any]
    wall_time: float
    children: int = 1
    output: str = ""
    """What the submission printed, truncated (without what it printed during calls only hidden checks judge)."""
    hidden_output: str = ""
    """What it printed during calls only hidden checks judge, kept only when hidden checks are shown."""
    output_bytes: int = 0
    withheld_output_bytes: int = 0
    """Bytes printed during calls only hidden checks judge, left out of `output`."""
    max_rss_kb: int = 0
    """Peak resident memory of the submission's process (the largest, if it ran in several)."""
    memory_peak_kb: int | None = None
    """Peak memory of the whole submission, every process and shared page together (where a cgroup measured it)."""
    out_of_memory: bool = False
    """A process of the submission was killed for going over the memory limit."""


class Scorecard(ResultModel):
    """Everything about one graded submission."""

    schema_version: int = SCHEMA_VERSION
    submission: str
    score: float
    max_score: float
    exercises: list[ExerciseResult]
    error: Text | None = None
    """Why the submission could not be graded at all (a syntax error), shown above the exercises."""
    error_hint: Text | None = None
    error_line: int | None = None
    error_cell: int | None = None
    error_traceback: list[TraceFrame] = []
    """When importing the submission raised: the student's frames, outermost first."""
    internal_error: str | None = None
    """When the grader itself failed on this submission (a bug): the traceback, for the instructor and the bug report."""
    top_level_errors: list[TopLevelError] = []
    """Top-level statements that raised while the rest of the file still ran (a failing demo line)."""
    run: RunInfo | None = None
    lang: Lang = "en"
    """The language asked for when grading: what reporters render in unless told otherwise."""
    grader_version: str = ""
    answers: dict[str, str] = Field(default_factory=dict)
    """Short answers collected for the instructor, by variable name."""

    def for_students(self, withheld_output_bytes: int | None = None) -> Scorecard:
        """The scorecard students may see: hidden checks without their feedback, nothing printed during them.

        `withheld_output_bytes`: how much was printed during hidden calls (default: what `hidden_output` holds).
        """
        exercises = [e.model_copy(update={"checks": [c.withheld() for c in e.checks]}) for e in self.exercises]
        run = self.run
        if run is not None and (run.hidden_output or withheld_output_bytes):
            withheld = withheld_output_bytes if withheld_output_bytes is not None else len(run.hidden_output.encode())
            run = run.model_copy(update={"hidden_output": "", "withheld_output_bytes": withheld})
        return self.model_copy(update={"exercises": exercises, "run": run})

    @property
    def passed(self) -> bool:
        """True when every graded check passed."""
        return all(c.status == "passed" for e in self.exercises for c in e.checks if c.graded)
