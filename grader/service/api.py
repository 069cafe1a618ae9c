"""The JSON API under /api/v1, and /healthz and /metrics beside it.

Public: submitting, reading a result (anyone who has its id: ids are 128 random bits), the
exercises and the starter file. Instructor endpoints need `Authorization: Bearer TOKEN` of an
instructor token (401 without one or with a wrong one, 403 with a student's).
"""

from __future__ import annotations

import csv
import io
import os
import re
import secrets
import shutil
import tempfile
import time
import urllib.parse
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from grader import __version__
from grader.service.app import ApiError, GraderJSON, Service, validation_problems
from grader.service.auth import Principal, verify
from grader.service.models import (
    CheckInfo, CheckStats, ClassStats, ExerciseInfo, ExerciseList, ExerciseSetInfo, FigureInfo, FunctionInfo, Health,
    HintCount, LangCode,
    Links, Problem, StudentInfo, StudentList, SubmissionList, SubmissionOut, SubmissionRequest, SubmissionSummary,
)
from grader.service.pool import SUFFIXES, disk_name
from grader.service.sets import ExerciseSet
from grader.store import NewSubmission, SubmissionRow

router = APIRouter()
service_router = APIRouter()

SET_QUERY = "The name of an exercise set (`GET /exercises` lists them; default: the server's first)."
MAX_WAIT_QUERY = 3600.0
"""The largest `?wait=` accepted at all; the server's `max_wait` bounds what is honoured."""
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": description} for status, description in {
        401: "no token, or a wrong one", 403: "a student's token on an instructor endpoint",
        404: "no such submission", 413: "the body is larger than the server accepts",
        415: "neither JSON nor a multipart upload", 422: "not a submission, or an invalid field",
        429: "too many submissions from this client; see Retry-After",
        503: "the queue is full; see Retry-After",
    }.items()
}


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: _ERRORS[status] for status in statuses}


def service_of(request: Request) -> Service:
    """The Service behind this app."""
    return request.app.state.service  # type: ignore[no-any-return]


# -- who is asking -------------------------------------------------------------------------------------

def bearer(request: Request) -> str | None:
    """The token of an `Authorization: Bearer` header; None without one; 401 for another scheme."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "use `Authorization: Bearer TOKEN` with a token from `grader token create`",
                       {"WWW-Authenticate": "Bearer"})
    return token.strip()


def caller(request: Request) -> Principal | None:
    """The token's owner; None without a token; 401 for a wrong or revoked token."""
    token = bearer(request)
    if token is None:
        return None
    who = verify(service_of(request).store, token)
    if who is None:
        service_of(request).metrics.reject("unauthorized")
        raise ApiError(401, "unauthorized", "this token is not valid (wrong, or revoked)", {"WWW-Authenticate": "Bearer"})
    return who


def instructor(request: Request) -> Principal:
    """Only an instructor's token passes (401 without a valid token, 403 with a student's)."""
    who = caller(request)
    if who is None:
        raise ApiError(401, "unauthorized", "this endpoint needs `Authorization: Bearer TOKEN` with an instructor's token",
                       {"WWW-Authenticate": "Bearer"})
    if who.role != "instructor":
        raise ApiError(403, "forbidden", f"this endpoint is for instructors; the token {who.token_id} is a student's")
    return who


def client_key(request: Request, who: Principal | None) -> str:
    """Whom a rate limit counts: the token, else the address the request came from."""
    if who is not None:
        return f"token:{who.token_id}"
    return f"address:{request.client.host if request.client else 'unknown'}"


def preferred_lang(request: Request) -> LangCode:
    """Chinese when Accept-Language prefers it to English, else English."""
    best: tuple[float, LangCode] = (0.0, "en")
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        lang: LangCode | None = "zh" if tag.lower().startswith("zh") else "en" if tag.lower().startswith("en") else None
        if lang is not None and quality > best[0]:
            best = (quality, lang)
    return best[1]


# -- reading a submission ------------------------------------------------------------------------------

async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed `limit` (never read whole first)."""
    declared = request.headers.get("content-length")
    too_large = ApiError(413, "too_large", f"the request is larger than this server accepts ({limit:,} bytes)")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise too_large
        except ValueError:
            raise ApiError(400, "bad_request", "Content-Length is not a number") from None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def display_name(raw: str) -> str:
    """A safe name to show and store: no directories, no control characters, at most 120 characters; 422 otherwise."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    if len(name) > 120:
        stem, suffix = os.path.splitext(name)
        name = stem[: 120 - len(suffix)] + suffix
    path = PurePosixPath(name)
    if not name or path.suffix not in SUFFIXES or not path.stem or name.startswith("."):
        raise ApiError(422, "not_a_submission", f"{name or raw[:120]!r}: not a .py file or .ipynb notebook")
    return name


class Incoming:
    """A submission as received, before it is stored."""

    def __init__(self, filename: str, source: bytes, options: dict[str, Any]) -> None:
        """`options`: the validated optional fields (exercises, seed, student, lang)."""
        self.filename = filename
        self.source = source
        self.options = options


async def parse_submission(request: Request, body: bytes, limit: int) -> Incoming:
    """A JSON body `{filename, source, ...}` or a multipart upload (`file` and optional fields); 415/422 otherwise."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        try:
            data = SubmissionRequest.model_validate_json(body)
        except ValidationError as exc:
            message, detail = validation_problems(exc.errors())
            raise ApiError(422, "invalid_request", message, detail=detail) from None
        options = data.model_dump(exclude={"filename", "source"})
        return Incoming(data.filename, data.source.encode("utf-8", "surrogatepass"), options)
    if kind == "multipart/form-data":
        return await _parse_form(request, body, limit)
    raise ApiError(415, "unsupported_media_type",
                   "send JSON {\"filename\": ..., \"source\": ...} or a multipart upload with the file in `file`")


async def _parse_form(request: Request, body: bytes, limit: int) -> Incoming:
    from starlette.datastructures import UploadFile
    from starlette.formparsers import MultiPartException

    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.request", "body": b"", "more_body": False}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    copy = Request(request.scope, replay)
    try:
        form = await copy.form(max_files=1, max_fields=20, max_part_size=limit)
    except MultiPartException as exc:
        raise ApiError(422, "invalid_request", f"the multipart upload cannot be read: {exc.message}") from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ApiError(422, "invalid_request", "a multipart upload carries the submission as a file in the field `file`")
    source = await upload.read()
    fields: dict[str, Any] = {}
    for name in ("seed", "student", "lang", "exercise_set"):
        value = form.get(name)
        if isinstance(value, str) and value != "":
            fields[name] = value
    exercises = [part.strip() for value in form.getlist("exercises") if isinstance(value, str)
                 for part in value.split(",") if part.strip()]
    if exercises:
        fields["exercises"] = exercises
    unknown = sorted(set(form.keys()) - {"file", "seed", "student", "lang", "exercises", "exercise_set"})
    if unknown:
        raise ApiError(422, "invalid_request", f"unknown field(s) {', '.join(unknown)}; the fields are file, exercises, "
                                               "seed, student, lang, exercise_set")
    try:
        validated = SubmissionRequest.model_validate({"filename": upload.filename or "", "source": "", **fields})
    except ValidationError as exc:
        message, detail = validation_problems(exc.errors())
        raise ApiError(422, "invalid_request", message, detail=detail) from None
    return Incoming(validated.filename, source, validated.model_dump(exclude={"filename", "source"}))


def unreadable(source: bytes, filename: str, lang: LangCode) -> str | None:
    """The message `grade` gives for a file that is not a submission (not text, a broken notebook), or None."""
    from grader.i18n import msg
    from grader.messages import render
    from grader.source import load_submission

    directory = tempfile.mkdtemp(prefix="grader-upload-")  # mode 0700: no other user reads it
    try:
        path = Path(directory) / disk_name(filename)
        path.write_bytes(source)
        submission = load_submission(path, filename)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    if submission.decode_error is None:
        return None
    return render(msg("not_text", msg=submission.decode_error), lang)


def exercise_set_of(service: Service, name: str | None) -> ExerciseSet:
    """The set named (None or empty: the default one); 422 naming the sets served when there is no such set."""
    found = service.all_sets.get(name)
    if found is None:
        raise ApiError(422, "unknown_exercise_set", service.all_sets.unknown_message(name or ""))
    return found


def _exercise_ids(chosen: ExerciseSet, wanted: list[str] | None) -> tuple[str, ...]:
    if not wanted:
        return ()
    known = chosen.ids()
    unknown = [w for w in wanted if w not in known]
    if unknown:
        raise ApiError(422, "unknown_exercise",
                       f"unknown exercise {', '.join(map(repr, unknown))} in the set {chosen.name!r}; "
                       f"choose from: {', '.join(known)}")
    return tuple(dict.fromkeys(wanted))


def _student(who: Principal | None, asked: str | None) -> str | None:
    name = asked.strip() if asked is not None else None
    if name is not None and (not name or not all(ch.isprintable() for ch in name)):
        raise ApiError(422, "invalid_request", "student: a name of printable characters")
    if who is not None and who.role == "student":
        if name is not None and name != who.name:
            raise ApiError(403, "forbidden", f"this token submits for the student {who.name!r} only")
        return who.name
    return name


# -- answers -------------------------------------------------------------------------------------------

def links(submission_id: str) -> Links:
    """The URLs of a submission (relative to the server)."""
    return Links(self=f"/api/v1/submissions/{submission_id}", page=f"/submissions/{submission_id}",
                 figures=f"/api/v1/submissions/{submission_id}/figures/")


def rendered(stored: dict[str, Any], lang: LangCode) -> dict[str, Any]:
    """A stored (language-neutral) scorecard as `grade --format json` prints it, in `lang`."""
    from grader.reporters.json_report import scorecard_data
    from grader.scorecard import Scorecard

    return scorecard_data(Scorecard.model_validate(stored), lang)


def submission_out(service: Service, row: SubmissionRow, lang: LangCode | None, form: str) -> SubmissionOut:
    """The API's view of a stored submission."""
    language: LangCode = lang or row.lang  # type: ignore[assignment]
    scorecard = None
    if row.scorecard is not None:
        scorecard = row.scorecard if form == "stored" else rendered(row.scorecard, language)
    figures = [FigureInfo(name=f.name, exercise=f.exercise, check=f.check, kind=f.kind,
                          url=f"/api/v1/submissions/{row.id}/figures/{f.name}")
               for f in (service.store.figures(row.id) if row.status == "graded" else [])
               if not f.kind.endswith("-data")]  # the pictures; an overlay's curves (for the page's SVG) stay by name
    return SubmissionOut(id=row.id, status=row.status, filename=row.filename, student=row.student,  # type: ignore[arg-type]
                         exercises=list(row.exercises), seed=row.seed, lang=language, created=row.created,
                         started=row.started, finished=row.finished, attempts=row.attempts, score=row.score,
                         max_score=row.max_score, scorecard=scorecard, error=row.error, figures=figures,
                         links=links(row.id), exercise_set=row.exercise_set)


def summary(row: SubmissionRow) -> SubmissionSummary:
    """A submission in a list."""
    return SubmissionSummary(id=row.id, status=row.status, filename=row.filename, sha256=row.sha256,  # type: ignore[arg-type]
                             student=row.student, created=row.created, finished=row.finished, attempts=row.attempts,
                             score=row.score, max_score=row.max_score, links=links(row.id),
                             exercise_set=row.exercise_set)


def _finished(row: SubmissionRow | None) -> bool:
    return row is not None and row.status in ("graded", "failed")


async def _wait(service: Service, submission_id: str, seconds: float) -> None:
    seconds = min(seconds, service.config.max_wait)
    if seconds <= 0 or service.waiters is None:
        return

    async def finished() -> bool:
        return _finished(await run_in_threadpool(service.store.get, submission_id, False))

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not await finished():
        await service.waiters.wait(submission_id, deadline - time.monotonic(), finished)


# -- routes: submissions -------------------------------------------------------------------------------

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/SubmissionRequest"}},
            "multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary", "description": "the .py file or .ipynb notebook"},
                    "exercises": {"type": "string", "description": "exercise ids, comma-separated (or repeated)"},
                    "seed": {"type": "integer", "minimum": 0}, "student": {"type": "string"},
                    "lang": {"type": "string", "enum": ["en", "zh"]},
                    "exercise_set": {"type": "string", "description": "the set to grade against (GET /exercises)"},
                },
            }},
        },
    },
}


@router.post("/submissions", status_code=202, response_model=SubmissionOut, openapi_extra=_UPLOAD_BODY,
             responses={200: {"model": SubmissionOut, "description": "graded within `?wait=`"},
                        **_errors(401, 403, 413, 415, 422, 429, 503)},
             summary="Submit a file to grade")
async def create_submission(
    request: Request,
    wait: float = Query(0.0, ge=0.0, le=MAX_WAIT_QUERY, description="Wait up to this many seconds (bounded by the "
                        "server) and answer 200 with the result if it is ready by then."),
) -> Response:
    """Store the submission, queue it, and answer 202 with its id and links (200 with the result after `?wait=`).

    The body is JSON `{"filename", "source", "exercises"?, "seed"?, "student"?, "lang"?, "exercise_set"?}` or a
    multipart upload with the file in `file` and the same optional fields. It is in the database before this answers.
    """
    service = service_of(request)
    who = await run_in_threadpool(caller, request)
    admit(service, request, who)
    try:
        body = await read_body(request, service.config.max_upload)
    except ApiError as exc:
        service.metrics.reject("too_large" if exc.status == 413 else "invalid")
        raise
    try:
        incoming = await parse_submission(request, body, service.config.max_upload)
    except ApiError:
        service.metrics.reject("invalid")
        raise
    submission_id = await accept_submission(service, request, who, incoming)
    await _wait(service, submission_id, wait)
    row = await run_in_threadpool(service.store.get, submission_id)
    assert row is not None
    out = await run_in_threadpool(submission_out, service, row, None, "rendered")
    status = 200 if _finished(row) and wait > 0 else 202
    return GraderJSON(out.model_dump(mode="json"), status_code=status, headers={"Location": out.links.self})


# The two halves of POST /submissions around reading the body, shared with the web page's form (pages.py).

def admit(service: Service, request: Request, who: Principal | None) -> None:
    """Refuse a submission before its body is read: 401 when the server wants a token, 429 over the rate."""
    if who is None and service.config.require_token:
        raise ApiError(401, "unauthorized", "this server grades only with a token (`Authorization: Bearer TOKEN`)",
                       {"WWW-Authenticate": "Bearer"})
    delay = service.limiter.take(client_key(request, who)) if service.limiter else 0.0
    if delay:
        service.metrics.reject("rate_limited")
        raise ApiError(429, "rate_limited", f"too many submissions from this client; try again in {delay:.0f} s",
                       {"Retry-After": str(service.limiter.retry_after(delay))})  # type: ignore[union-attr]


async def accept_submission(service: Service, request: Request, who: Principal | None, incoming: Incoming) -> str:
    """Check, store and queue a received submission; its id once it is in the database (ApiError 403/422/503 if not)."""
    try:
        filename = display_name(incoming.filename)
        options = incoming.options
        chosen = exercise_set_of(service, options.get("exercise_set"))
        exercises = _exercise_ids(chosen, options.get("exercises"))
        student = _student(who, options.get("student"))
    except ApiError:
        service.metrics.reject("invalid")
        raise
    lang: LangCode = options.get("lang") or preferred_lang(request)
    seed = options["seed"] if options.get("seed") is not None else secrets.randbelow(2**31)
    queue = service.queue
    if service.stopping or queue is None or not queue.reserve():
        service.metrics.reject("queue_full")
        retry = queue.retry_after() if queue is not None else 5
        raise ApiError(503, "queue_full", f"the grading queue is full; try again in {retry} s", {"Retry-After": str(retry)})
    submission_id = secrets.token_urlsafe(16)
    try:
        problem_text = await run_in_threadpool(unreadable, incoming.source, filename, lang)
        if problem_text is not None:
            service.metrics.reject("invalid")
            raise ApiError(422, "not_a_submission", problem_text)
        await run_in_threadpool(service.store.add_submission, NewSubmission(
            id=submission_id, filename=filename, source=incoming.source, student=student,
            exercise_set=chosen.name, exercises=exercises, seed=seed, lang=lang,
            client=client_key(request, who)))
    except BaseException:
        queue.release()
        raise
    queue.push(submission_id)
    service.metrics.accept()
    return submission_id


@router.get("/submissions/{submission_id}", response_model=SubmissionOut, response_class=GraderJSON,
            responses=_errors(404), summary="A submission's status and scorecard")
async def get_submission(
    request: Request, submission_id: str,
    lang: LangCode | None = Query(None, description="Language of the scorecard (default: the submitter's)."),
    form: Literal["rendered", "stored"] = Query("rendered", description="`rendered`: as `grade --format json`; "
                                                "`stored`: the language-neutral form (what `grader submit` renders)."),
    wait: float = Query(0.0, ge=0.0, le=MAX_WAIT_QUERY, description="Wait up to this many seconds for the result."),
) -> SubmissionOut:
    """Status (`queued`, `running`, `graded`, `failed`) and, once graded, the scorecard in the language asked for."""
    service = service_of(request)
    if not _ID.match(submission_id):
        raise ApiError(404, "not_found", f"no submission {submission_id[:80]!r}")
    await _wait(service, submission_id, wait)
    row = await run_in_threadpool(service.store.get, submission_id)
    if row is None:
        raise ApiError(404, "not_found", f"no submission {submission_id!r}")
    return await run_in_threadpool(submission_out, service, row, lang, form)


@router.get("/submissions/{submission_id}/figures/{name}", response_class=Response, responses={
    200: {"content": {"image/png": {}, "application/json": {}}, "description": "the PNG, or an overlay's curves as JSON"},
    **_errors(404)}, summary="A figure, as PNG (or the curves of an overlay, as JSON)")
def get_figure(request: Request, submission_id: str, name: str) -> Response:
    """A PNG kept with a graded submission (`figures[].url` of the submission lists them); `.json`: an overlay's curves."""
    png = service_of(request).store.figure(submission_id, name)
    if png is None:
        raise ApiError(404, "not_found", f"no figure {name[:120]!r} of submission {submission_id[:80]!r}")
    kind = "application/json" if name.endswith(".json") else "image/png"
    return Response(png, media_type=kind, headers={"Cache-Control": "public, max-age=31536000, immutable",
                                                          "X-Content-Type-Options": "nosniff"})


@router.get("/submissions/{submission_id}/source", response_class=Response, dependencies=[Depends(instructor)],
            responses={200: {"content": {"text/plain": {}}}, **_errors(401, 403, 404)},
            summary="A submission's file (instructors)")
def get_source(request: Request, submission_id: str) -> Response:
    """The file exactly as it was submitted."""
    row = service_of(request).store.get(submission_id, scorecard=False, source=True)
    if row is None or row.source is None:
        raise ApiError(404, "not_found", f"no submission {submission_id[:80]!r}")
    # Header values are Latin-1: an ASCII name here, the real one in filename* (RFC 6266).
    ascii_name = re.sub(r"[^A-Za-z0-9_.-]", "_", disk_name(row.filename))
    quoted = urllib.parse.quote(row.filename, safe="")
    return Response(row.source, media_type="application/octet-stream",
                    headers={"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"})


@router.get("/submissions", response_model=SubmissionList, dependencies=[Depends(instructor)],
            responses=_errors(401, 403), summary="Submissions, newest first (instructors)")
def list_submissions(
    request: Request,
    student: str | None = Query(None, max_length=100), status: Literal["queued", "running", "graded", "failed"] | None = None,
    limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0),
) -> SubmissionList:
    """Every submission, or one student's, or those in one status."""
    rows = service_of(request).store.submissions(student, status, limit, offset)
    return SubmissionList(submissions=[summary(r) for r in rows], limit=limit, offset=offset)


@router.get("/students", response_model=StudentList, dependencies=[Depends(instructor)],
            responses=_errors(401, 403), summary="Students and their scores (instructors)")
def list_students(request: Request) -> StudentList:
    """Every named student: how many submissions, how many graded, the latest and the best score."""
    store = service_of(request).store
    latest = {r.student: r.score for r in store.graded_per_student("latest") if r.student is not None}
    best = {r.student: r.score for r in store.graded_per_student("best") if r.student is not None}
    return StudentList(students=[StudentInfo(student=s, submissions=n, graded=g, latest=latest.get(s), best=best.get(s))
                                 for s, n, g in store.students()])


@router.get("/gradebook.csv", response_class=PlainTextResponse, dependencies=[Depends(instructor)],
            responses={200: {"content": {"text/csv": {}}}, **_errors(401, 403)}, summary="The gradebook (instructors)")
def gradebook(request: Request, pick: Literal["latest", "best"] = "latest",
              exercise_set: str | None = Query(None, alias="set", description=SET_QUERY)) -> Response:
    """One row per student of one exercise set: the `latest` or `best` graded submission, its score and each exercise's."""
    from grader.reporters.csv_report import cell

    service = service_of(request)
    chosen = exercise_set_of(service, exercise_set)
    # Summaries of the scorecards, kept between requests (parsing every scorecard's JSON is most of the cost).
    cards = request.app.state.summaries.of(service.store, service.store.graded_per_student(
        pick, scorecard=False, exercise_sets=chosen.stored_names()))
    exercise_ids = chosen.ids()
    for _, card in cards:
        for exercise in card.exercises:
            if exercise.id not in exercise_ids:
                exercise_ids.append(exercise.id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "submission", "file", "submitted", "score", "max_score", *exercise_ids])
    for row, card in cards:
        scores = {e.id: f"{e.score:g}" for e in card.exercises}
        submitted = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(row.created))
        writer.writerow([cell(row.student or ""), row.id, cell(row.filename), submitted, f"{row.score or 0:g}",
                         f"{row.max_score or 0:g}", *(scores.get(e, "") for e in exercise_ids)])
    # The default set keeps the file name it always had; another set's name goes in, made safe for a header.
    named = "" if chosen is service.all_sets.default else re.sub(r"[^A-Za-z0-9_.-]", "_", chosen.name)[:60] + "-"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename=\"gradebook-{named}{pick}.csv\""})


@router.get("/stats", response_model=ClassStats, dependencies=[Depends(instructor)], responses=_errors(401, 403),
            summary="How the class does on each check (instructors)")
def class_stats(request: Request, pick: Literal["latest", "best"] = "latest", lang: LangCode = "en",
                hints: int = Query(5, ge=0, le=50),
                exercise_set: str | None = Query(None, alias="set", description=SET_QUERY)) -> ClassStats:
    """Per check, over one graded submission per student of one set: how many passed, failed or erred, the frequent hints."""
    service = service_of(request)
    chosen = exercise_set_of(service, exercise_set)
    rows = list(service.store.graded_per_student(pick, exercise_sets=chosen.stored_names()))
    order: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        if row.scorecard is None:
            continue
        data = rendered(row.scorecard, lang)
        for exercise in data["exercises"]:
            for check in exercise["checks"]:
                entry = order.setdefault((exercise["id"], check["id"]), {
                    "graded": check.get("graded", True), "hidden": check.get("hidden", False),
                    "passed": 0, "failed": 0, "error": 0, "hints": Counter()})
                entry[check["status"]] += 1
                if check["status"] != "passed" and check.get("hint"):
                    entry["hints"][(check["hint"], check.get("hint_id"))] += 1
    checks = []
    for (exercise_id, check_id), entry in order.items():
        total = entry["passed"] + entry["failed"] + entry["error"]
        checks.append(CheckStats(
            exercise=exercise_id, check=check_id, graded=entry["graded"], hidden=entry["hidden"], total=total,
            passed=entry["passed"], failed=entry["failed"], error=entry["error"],
            fail_share=round((total - entry["passed"]) / total, 4) if total else 0.0,
            top_hints=[HintCount(hint=hint, hint_id=hint_id, count=n)
                       for (hint, hint_id), n in entry["hints"].most_common(hints)]))
    return ClassStats(pick=pick, exercise_set=chosen.name, students=len(rows), lang=lang, checks=checks)


# -- routes: exercises ---------------------------------------------------------------------------------

@router.get("/exercises", response_model=ExerciseList, responses=_errors(422),
            summary="The exercises of a set this server grades, and its sets")
def list_exercises(request: Request,
                   exercise_set: str | None = Query(None, alias="set", description=SET_QUERY)) -> ExerciseList:
    """Ids, titles, the functions to write with their signatures, and the checks, in both languages; every set's name."""
    service = service_of(request)
    chosen = exercise_set_of(service, exercise_set)
    exercises = []
    for loaded in chosen.exercises:
        spec = loaded.spec
        exercises.append(ExerciseInfo(
            id=spec.id, title=spec.title, description=spec.description, max_score=spec.max_score,
            functions=[FunctionInfo(name=name, signature=f.signature, summary=f.summary) for name, f in spec.functions.items()],
            checks=[CheckInfo(id=c.id, kind=c.kind, title=c.title, points=c.points, hidden=c.visibility == "hidden")
                    for c in spec.checks]))
    sets = [ExerciseSetInfo(name=s.name, default=s is service.all_sets.default, exercises=s.ids())
            for s in service.all_sets]
    return ExerciseList(exercise_set=chosen.name, exercises=exercises, sets=sets)


@router.get("/starter.py", response_class=PlainTextResponse,
            responses={200: {"content": {"text/x-python": {}}}, **_errors(422)}, summary="A starter file")
def starter(request: Request, lang: LangCode = "en",
            exercise: list[str] = Query([], description="Only these exercise ids (repeatable)."),
            exercise_set: str | None = Query(None, alias="set", description=SET_QUERY)) -> Response:
    """Stubs of every function a set's exercises ask for, with their docstrings (as `grade --starter`)."""
    from grader.starter import render_starter

    chosen = exercise_set_of(service_of(request), exercise_set)
    wanted = _exercise_ids(chosen, exercise)
    by_id = {e.spec.id: e.spec for e in chosen.exercises}
    specs = [by_id[w] for w in wanted] if wanted else [e.spec for e in chosen.exercises]
    # A course's set: the starter's "run grade ..." line names it as `--exercises NAME` (its directory's name).
    directory = None if chosen.directory is None else chosen.name
    return Response(render_starter(specs, lang, exercises_dir=directory), media_type="text/x-python; charset=utf-8",
                    headers={"Content-Disposition": "inline; filename=\"solution.py\""})


def torch_loaded() -> bool:
    """Whether this (serving) process has torch: imported, or its library mapped (it must never have either)."""
    import sys

    if "torch" in sys.modules:
        return True
    try:
        # Readable by the process itself even when it is not dumpable (other processes may not read it then).
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            return "libtorch" in maps.read()
    except OSError:
        return False


# -- routes: operations --------------------------------------------------------------------------------

@service_router.get("/healthz", response_model=Health, responses={503: {"model": Health}}, summary="Liveness")
def healthz(request: Request) -> Response:
    """200 when the service can take and grade work, 503 while it stops or when its pool is broken."""
    service = service_of(request)
    queue = service.queue
    ok = queue is not None and not service.stopping and service.pool.healthy()
    body = Health(ok=ok, queued=queue.depth if queue else 0, running=queue.running if queue else 0,
                  slots=service.pool.slots, isolation=str(service.pool.isolation().get("level", "unknown")),
                  version=__version__)
    return GraderJSON(body.model_dump(), status_code=200 if ok else 503)


@service_router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics",
                    responses={200: {"content": {"text/plain": {}}}})
def metrics(request: Request) -> Response:
    """Queue depth, submissions by status, graded and failed counts, latency histograms, the isolation level."""
    service = service_of(request)
    queue = service.queue
    text = service.metrics.render(queue.depth if queue else 0, queue.running if queue else 0, service.pool.slots,
                                  service.store.counts(), service.pool.isolation(), service.pool.healthy(),
                                  torch_loaded())
    return Response(text, media_type="text/plain; version=0.0.4; charset=utf-8")
