"""The scorecard: frozen results of grading one submission, the single input of every reporter."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

Status = Literal["passed", "failed", "error"]


class ResultModel(BaseModel):
    """Base of result models: frozen and closed."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Artifact(ResultModel):
    """A file the grader wrote for the student or instructor (a PNG of a figure)."""

    kind: str
    path: str
    description: str


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

    message: str
    hint: str | None = None
    line: int | None = None
    cell: int | None = None
    traceback: list[TraceFrame] = []


class CheckResult(ResultModel):
    """The verdict on one check."""

    id: str
    kind: str
    title: str | None = None
    status: Status
    score: float
    max_score: float
    message: str
    hint: str | None = None
    tips: list[str] = []
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
    artifacts: list[Artifact] = []
    traceback: list[TraceFrame] = []
    """When the student's code raised: their frames only, outermost first, ending at their line."""


class ExerciseResult(ResultModel):
    """The results of one exercise's checks."""

    id: str
    title: str
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
    """What the submission printed, truncated."""
    output_bytes: int = 0
    withheld_output_bytes: int = 0
    """Bytes printed during calls only hidden checks judge, left out of `output`."""
    max_rss_kb: int = 0
    """Peak resident memory of the submission's process (the largest, if it ran in several)."""


class Scorecard(ResultModel):
    """Everything about one graded submission."""

    schema_version: int = SCHEMA_VERSION
    submission: str
    score: float
    max_score: float
    exercises: list[ExerciseResult]
    error: str | None = None
    """Why the submission could not be graded at all (a syntax error), shown above the exercises."""
    error_hint: str | None = None
    error_line: int | None = None
    error_cell: int | None = None
    error_traceback: list[TraceFrame] = []
    """When importing the submission raised: the student's frames, outermost first."""
    top_level_errors: list[TopLevelError] = []
    """Top-level statements that raised while the rest of the file still ran (a failing demo line)."""
    run: RunInfo | None = None
    lang: str = "en"
    grader_version: str = ""
    answers: dict[str, str] = Field(default_factory=dict)
    """Short answers collected for the instructor, by variable name."""

    @property
    def passed(self) -> bool:
        """True when every graded check passed."""
        return all(c.status == "passed" for e in self.exercises for c in e.checks if c.graded)
