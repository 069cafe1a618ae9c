"""The API's request and response bodies: pydantic models, so that /docs documents every one of them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from grader.i18n import Localized

Status = Literal["queued", "running", "graded", "failed"]
LangCode = Literal["en", "zh"]
MAX_SEED = 2**63 - 1


class ApiModel(BaseModel):
    """Base of the API's models: unknown fields in a request are errors, not silently dropped."""

    # NaN and infinity stay numbers (a student's gradient can be either), written as grade --format json writes them.
    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")


class SubmissionRequest(ApiModel):
    """A submission as JSON: the file's name and its text (a notebook's JSON text for `.ipynb`)."""

    filename: str = Field(min_length=1, max_length=255, examples=["solution.py"])
    """The file's name; it must end in `.py` or `.ipynb`. Directories are dropped."""
    source: str
    """The file's content."""
    exercises: list[str] | None = Field(default=None, max_length=100)
    """Grade only these exercise ids (default: all of the server's set)."""
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    """Seed of the generated inputs (default: a fresh one); the same seed gives the same result as `grade --seed`."""
    student: str | None = Field(default=None, min_length=1, max_length=100)
    """Who submits (a student token fixes it to its own student)."""
    lang: LangCode | None = None
    """Language of the result when it is read without `?lang=` (default: from Accept-Language, else English)."""
    exercise_set: str | None = Field(default=None, min_length=1, max_length=255, examples=["builtin"])
    """The name of the exercise set to grade against (`GET /exercises` lists them; default: the server's first)."""


class Links(ApiModel):
    """Where to find a submission."""

    self: str
    """The API URL of the result."""
    page: str
    """The permanent link of its web page."""
    figures: str
    """The prefix of its figures' URLs (append a figure's name)."""


class FigureInfo(ApiModel):
    """A PNG kept with a graded submission."""

    name: str
    exercise: str
    check: str
    kind: str
    """`figure` (what the submission drew) or `overlay` (it, beside the expected curves)."""
    url: str


class SubmissionOut(ApiModel):
    """A submission and, once graded, its scorecard."""

    id: str
    status: Status
    filename: str
    student: str | None = None
    exercises: list[str] = []
    """The exercise ids asked for (empty: all)."""
    seed: int
    lang: LangCode
    """The language of `scorecard` in this answer."""
    created: float
    """When it was accepted (Unix time)."""
    started: float | None = None
    finished: float | None = None
    attempts: int = 0
    """How many times grading it started (more than one only after the service stopped during it)."""
    score: float | None = None
    max_score: float | None = None
    scorecard: dict[str, Any] | None = None
    """The same JSON as `grade --format json` (null until graded); with `?form=stored`, the language-neutral
    stored form that `grader.scorecard.Scorecard` validates."""
    error: str | None = None
    """Why it could not be graded (status `failed`: a fault of the grader, not of the submission)."""
    figures: list[FigureInfo] = []
    links: Links
    exercise_set: str = ""
    """The name of the exercise set it was graded against (as stored when it was accepted)."""


class SubmissionSummary(ApiModel):
    """A submission in a list: no scorecard."""

    id: str
    status: Status
    filename: str
    sha256: str
    student: str | None = None
    created: float
    finished: float | None = None
    attempts: int = 0
    score: float | None = None
    max_score: float | None = None
    links: Links
    exercise_set: str = ""
    """The name of its exercise set."""


class SubmissionList(ApiModel):
    """A page of submissions, newest first."""

    submissions: list[SubmissionSummary]
    limit: int
    offset: int


class StudentInfo(ApiModel):
    """A student's submissions, counted."""

    student: str
    submissions: int
    graded: int
    latest: float | None = None
    best: float | None = None


class StudentList(ApiModel):
    """Every named student."""

    students: list[StudentInfo]


class FunctionInfo(ApiModel):
    """A function an exercise asks for."""

    name: str
    signature: str
    summary: Localized


class CheckInfo(ApiModel):
    """A check of an exercise (hidden checks are listed too: their existence is no secret)."""

    id: str
    kind: str
    title: Localized | None = None
    points: float
    hidden: bool


class ExerciseInfo(ApiModel):
    """An exercise of the server's set, in both languages."""

    id: str
    title: Localized
    description: Localized | None = None
    max_score: float
    functions: list[FunctionInfo]
    checks: list[CheckInfo]


class ExerciseSetInfo(ApiModel):
    """An exercise set the server grades against."""

    name: str
    """What `exercise_set` and `?set=` take: `builtin`, or the name of its directory."""
    default: bool
    """Whether a submission that names no set is graded against it."""
    exercises: list[str]
    """Its exercise ids, in grading order."""


class ExerciseList(ApiModel):
    """One set's exercises, in grading order (`?set=`; default: the server's first set), and every set served."""

    exercise_set: str
    """The name of the set listed in `exercises`."""
    exercises: list[ExerciseInfo]
    sets: list[ExerciseSetInfo] = []
    """Every set the server grades against, the default first."""


class HintCount(ApiModel):
    """A hint and how many of the class were given it."""

    hint: str
    hint_id: str | None = None
    count: int


class CheckStats(ApiModel):
    """How the class did on one check."""

    exercise: str
    check: str
    graded: bool
    hidden: bool
    total: int
    passed: int
    failed: int
    error: int
    fail_share: float
    """Share of the class that did not pass (failed or error)."""
    top_hints: list[HintCount]


class ClassStats(ApiModel):
    """Per-check statistics over one graded submission per student."""

    pick: Literal["latest", "best"]
    exercise_set: str = ""
    """The set counted (`?set=`; default: the server's first)."""
    students: int
    """How many submissions were counted (one per student; unnamed submissions count one each)."""
    lang: LangCode
    checks: list[CheckStats]


class Health(ApiModel):
    """Whether the service can take work."""

    ok: bool
    queued: int
    running: int
    slots: int
    isolation: str
    version: str


class Problem(ApiModel):
    """Every error answer: a status, a short code and a sentence that says what to do."""

    status: int
    error: str
    """A short code: `not_found`, `invalid_request`, `not_a_submission`, `too_large`, `rate_limited`, `queue_full`,
    `unauthorized`, `forbidden`, ..."""
    message: str
    detail: list[dict[str, Any]] | None = None
    """For `invalid_request`: each problem with its location."""
