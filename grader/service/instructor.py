"""The instructor's dashboard under /instructor: signing in with a token, the class at a glance, submissions, gradebook.

Every page and download here needs a signed-in session (grader/service/sessions.py: an `HttpOnly`,
`SameSite=Strict` cookie); without one a page answers 401 with the sign-in form. Every POST
carries a CSRF token (the session's own once signed in; the double-submit form cookie before)
and is refused with 403 without it. Filters are GET forms: they change nothing.
"""

from __future__ import annotations

import math
import re
import statistics
import urllib.parse
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from grader.service import analytics, charts
from grader.service.api import gradebook as gradebook_csv_of
from grader.service.api import read_body, service_of
from grader.service.app import ApiError
from grader.service.auth import verify
from grader.service.pages import unknown_set_text
from grader.service.sessions import SESSION_COOKIE, Session, Sessions, same_token
from grader.service.sets import ExerciseSet
from grader.service.views import points, when
from grader.service.web import Page, redirect, secure, with_query
from grader.store import STATUSES

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
"""Submissions per page of the table."""
_NEXT = re.compile(r"^/instructor(?:/[A-Za-z0-9._/-]*)?(?:\?[A-Za-z0-9._~%&=+-]*)?$")
"""Where signing in may lead back to: a page of the dashboard only (never another site)."""


def sessions_of(request: Request) -> Sessions:
    """The signed-in sessions of this server."""
    return request.app.state.sessions  # type: ignore[no-any-return]


def current_session(request: Request) -> Session | None:
    """The signed-in session of this browser, if its token still holds (a revoked token ends it)."""
    sessions = sessions_of(request)
    session = sessions.get(request.cookies.get(SESSION_COOKIE))
    if session is None:
        return None
    row = service_of(request).store.token(session.token_id)
    if row is None or row.revoked is not None:
        sessions.end_token(session.token_id)
        return None
    return session


def set_of(request: Request) -> ExerciseSet:
    """The exercise set the dashboard shows: `?set=` when the server grades it, else the default (first) set."""
    sets = service_of(request).all_sets
    return sets.get(request.query_params.get("set")) or sets.default


def unknown_set(request: Request) -> bool:
    """Whether `?set=` names a set this server does not grade (the page then says so, and shows the default)."""
    asked = request.query_params.get("set", "")
    return bool(asked) and service_of(request).all_sets.get(asked) is None


def graded_cards(request: Request, pick: str) -> list[tuple[Any, analytics.CardSummary]]:
    """One graded submission per student of the shown set (`latest` or `best`) with the summary of its scorecard."""
    store = service_of(request).store
    rows = store.graded_per_student(pick, scorecard=False, exercise_sets=set_of(request).stored_names())
    return request.app.state.summaries.of(store, rows)  # type: ignore[no-any-return]


def pick_of(request: Request) -> str:
    """`latest` or `best` from `?pick=` (latest by default)."""
    return "best" if request.query_params.get("pick") == "best" else "latest"


def sign_in_page(request: Request, page: Page, status: int, message: str = "", message_class: str = "problem",
                 next_url: str = "/instructor") -> Response:
    """The sign-in form (answered 401 where a page needed a session)."""
    headers = {"WWW-Authenticate": 'Bearer realm="grader instructor"'} if status == 401 else None
    return page.render("instructor/sign_in.html", status=status, headers=headers, message=message,
                       message_class=message_class, next=next_url)


def dashboard(request: Request, page: Page, session: Session, template: str, tab: str, **values: Any) -> Response:
    """A page of the dashboard, its forms carrying the session's CSRF token."""
    page.csrf, page.new_csrf = session.csrf, False
    shown = set_of(request)
    choices = [(s.name, s is shown) for s in service_of(request).all_sets]
    # Links keep the set shown; a server of one set keeps the URLs it always had.
    set_query = "&" + urllib.parse.urlencode({"set": shown.name}) if len(choices) > 1 else ""
    # A set this server does not grade (an old link, a typo): said, as the API's 422 says it, above the default set.
    problem = unknown_set_text(request, page) if unknown_set(request) else ""
    return page.render(template, status=422 if problem else 200, session_name=session.name, tab=tab,
                       pick=pick_of(request), set_name=shown.name, set_choices=choices, set_query=set_query,
                       set_problem=problem, **values)


def _guarded(request: Request) -> tuple[Page, Session | None, Response | None]:
    page = Page(request, "instructor")
    session = current_session(request)
    if session is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return page, None, sign_in_page(request, page, 401, page.t("page_sign_in_needed"), next_url=here)
    return page, session, None


# -- signing in and out --------------------------------------------------------------------------------

async def _form(request: Request) -> dict[str, str]:
    body = await read_body(request, 64 * 1024)
    fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=10)
    return {key: values[0] for key, values in fields.items()}


@router.post("/instructor/sign-in")
async def sign_in(request: Request) -> Response:
    """Check the token typed in and start a session (a new session id each time: no fixation)."""
    page = Page(request, "instructor")
    form = await _form(request)
    next_url = form.get("next", "/instructor")
    next_url = next_url if _NEXT.match(next_url) else "/instructor"
    if page.new_csrf or not same_token(form.get("csrf"), page.csrf):
        return sign_in_page(request, page, 403, page.t("page_csrf_rejected"), next_url=next_url)
    who = await run_in_threadpool(verify, service_of(request).store, form.get("token", ""))
    if who is None:
        return sign_in_page(request, page, 401, page.t("page_sign_in_wrong"), next_url=next_url)
    if who.role != "instructor":
        return sign_in_page(request, page, 403, page.t("page_sign_in_student"), next_url=next_url)
    old = request.cookies.get(SESSION_COOKIE)
    sessions_of(request).end(old)
    session = sessions_of(request).create(who.token_id, who.name)
    response = redirect(next_url, page)
    response.set_cookie(SESSION_COOKIE, session.id, httponly=True, samesite="strict", secure=secure(request),
                        path="/")
    return response


@router.post("/instructor/sign-out")
async def sign_out(request: Request) -> Response:
    """End the session (the form carries its CSRF token)."""
    page = Page(request, "instructor")
    form = await _form(request)
    session = current_session(request)
    if session is not None:
        if not same_token(form.get("csrf"), session.csrf):
            return page.error(403, "page_error_title", page.t("page_csrf_rejected"))
        sessions_of(request).end(session.id)
    response = sign_in_page(request, page, 200, page.t("page_signed_out"), "notice")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- the class at a glance -----------------------------------------------------------------------------

def _share(fraction: float, lang: Any) -> str:
    from grader.messages import tr

    return tr(lang, "page_share", percent=100 * fraction)


def overview_view(request: Request, page: Page, pick: str) -> dict[str, Any]:
    """Numbers, charts and tables of the class view, in the page's language."""
    order = set_of(request).ids()
    summary = analytics.overview(graded_cards(request, pick), order, pick)
    lang = page.lang
    view: dict[str, Any] = {"students": summary.students, "counted": page.t("page_counted", n=summary.students)}
    if not summary.students:
        return view
    view["mean"] = page.t("page_mean", mean=statistics.fmean(summary.scores), max=summary.max_score,
                          median=statistics.median(summary.scores))

    def distribution(scores: list[float], max_score: float) -> dict[str, Any]:
        bins = charts.score_bins(scores, max_score)
        caption = page.t("page_distribution_caption", n=len(scores))
        return {"svg": charts.histogram(bins, caption, page.t("page_distribution_axis")), "bins": bins,
                "caption": caption}

    def failing_url(exercise: str, check: str) -> str:
        query = {"failing": f"{exercise}/{check}", "pick": pick}
        if len(service_of(request).all_sets) > 1:
            query["set"] = set_of(request).name
        return "/instructor/submissions?" + urllib.parse.urlencode(query)

    def hints(check: analytics.CheckSummary) -> list[dict[str, Any]]:
        return [{"text": text, "count": count} for text, count in check.top_hints(lang)]

    view["total_chart"] = distribution(summary.scores, summary.max_score)
    view["most_failed"] = [{"exercise": c.exercise, "check": c.check,
                            "title": analytics.localized(c.title, lang, c.check), "share": _share(c.fail_share, lang),
                            "failing_url": failing_url(c.exercise, c.check), "hints": hints(c)}
                           for c in summary.most_failed()]
    exercises = []
    for index, exercise in enumerate(summary.exercises):
        checks = []
        for c in exercise.checks.values():
            checks.append({"check": c.check, "title": analytics.localized(c.title, lang, c.check), "hidden": c.hidden,
                           "graded": c.graded, "share": _share(c.fail_share, lang),
                           "counts": page.t("page_counts", passed=c.passed, failed=c.failed, error=c.error),
                           "hints": hints(c), "failing": c.total > c.passed,
                           "failing_url": failing_url(c.exercise, c.check),
                           "anchor": re.sub(r"[^A-Za-z0-9_-]", "-", f"{c.exercise}--{c.check}")})
        bars = [charts.Bar(c["check"], float(exercise.checks[c["check"]].fail_share), c["share"]) for c in checks]
        exercises.append({"id": exercise.id, "title": analytics.localized(exercise.title, lang, exercise.id),
                          "chart": distribution(exercise.scores, exercise.max_score),
                          "bars": charts.share_bars(bars, page.t("page_fail_rates_caption")),
                          "bars_caption": page.t("page_fail_rates_caption"), "checks": checks, "index": index})
    view["exercises"] = exercises
    return view


@router.get("/instructor")
async def overview(request: Request) -> Response:
    """The class at a glance (or the sign-in form, answered 200 here: it is the dashboard's front door)."""
    page = Page(request, "instructor")
    session = current_session(request)
    if session is None:
        return sign_in_page(request, page, 200)
    view = await run_in_threadpool(overview_view, request, page, pick_of(request))
    return dashboard(request, page, session, "instructor/overview.html", "overview", view=view)


# -- submissions ---------------------------------------------------------------------------------------

def _row(row: Any, lang: Any, page: Page) -> dict[str, Any]:
    score = f"{points(row.score)}/{points(row.max_score)}" if row.score is not None and row.max_score is not None else ""
    return {"submitted": when(row.created), "student": row.student or "", "filename": row.filename,
            "page_url": f"/submissions/{row.id}", "source_url": f"/instructor/source/{row.id}",
            "status": page.t(f"page_status_{row.status}_word"), "score": score,
            "exercises": ", ".join(row.exercises) or page.t("page_all_exercises")}


def submissions_view(request: Request, page: Page) -> dict[str, Any]:
    """The table of submissions: filtered by student, exercise and status, or those failing one check."""
    service = service_of(request)
    query = request.query_params
    # Every set's exercise ids: the table lists the submissions of every set.
    exercise_ids = list(dict.fromkeys(i for chosen in service.all_sets for i in chosen.ids()))
    student = query.get("student", "").strip()[:100]
    exercise = query.get("exercise", "") if query.get("exercise", "") in exercise_ids else ""
    status = query.get("status", "") if query.get("status", "") in STATUSES else ""
    try:
        number = max(1, int(query.get("page", "1")))
    except ValueError:
        number = 1
    view: dict[str, Any] = {"student": student, "exercise": exercise, "status": status, "exercise_ids": exercise_ids,
                            "statuses": [(s, page.t(f"page_status_{s}_word")) for s in STATUSES], "failing": "",
                            "page": number, "pages": 1, "newer_url": "", "older_url": ""}
    failing = query.get("failing", "")
    if "/" in failing:
        exercise_id, check_id = failing.split("/", 1)
        pick = pick_of(request)
        rows = [r for r, card in graded_cards(request, pick) if analytics.fails(card, exercise_id, check_id)]
        view["failing"] = page.t("page_failing_filter", exercise=exercise_id, check=check_id,
                                 pick=page.t(f"page_pick_{pick}"))
        total = len(rows)
        rows = rows[(number - 1) * PAGE_SIZE: number * PAGE_SIZE]
    else:
        rows, total = service.store.find_submissions(student or None, status or None, exercise or None, PAGE_SIZE,
                                                     (number - 1) * PAGE_SIZE)
    view["rows"] = [_row(r, page.lang, page) for r in rows]
    view["found"] = page.t("page_found", n=total)
    view["pages"] = max(1, math.ceil(total / PAGE_SIZE))
    if number > 1:
        view["newer_url"] = with_query(request, page=str(number - 1))
    if number < view["pages"]:
        view["older_url"] = with_query(request, page=str(number + 1))
    return view


@router.get("/instructor/submissions")
async def submissions(request: Request) -> Response:
    """Every submission, newest first, searchable; or, from the class view, those failing one check."""
    page, session, refused = _guarded(request)
    if session is None:
        return refused  # type: ignore[return-value]
    view = await run_in_threadpool(submissions_view, request, page)
    return dashboard(request, page, session, "instructor/submissions.html", "submissions", view=view)


@router.get("/instructor/source/{submission_id}")
async def source(request: Request, submission_id: str) -> Response:
    """A submission's file as it was sent (a download, never shown as a page)."""
    page, session, refused = _guarded(request)
    if session is None:
        return refused  # type: ignore[return-value]
    from grader.service.api import get_source

    try:
        return await run_in_threadpool(get_source, request, submission_id[:64])
    except ApiError:
        return page.render("not_found.html", status=404)


# -- the gradebook -------------------------------------------------------------------------------------

def gradebook_view(request: Request, page: Page, pick: str) -> dict[str, Any]:
    """One graded submission per student of the shown set, each exercise's points."""
    exercise_ids = set_of(request).ids()
    rows = []
    for row, card in graded_cards(request, pick):
        scores = {e.id: points(e.score) for e in card.exercises}
        rows.append({"student": row.student or "", "filename": row.filename, "page_url": f"/submissions/{row.id}",
                     "submitted": when(row.created), "total": f"{points(row.score or 0)}/{points(row.max_score or 0)}",
                     "scores": [scores.get(e, "") for e in exercise_ids]})
    return {"rows": rows, "exercise_ids": exercise_ids, "counted": page.t("page_counted", n=len(rows))}


@router.get("/instructor/gradebook")
async def gradebook(request: Request) -> Response:
    """The gradebook as a table, latest or best per student, and its CSV."""
    page, session, refused = _guarded(request)
    if session is None:
        return refused  # type: ignore[return-value]
    view = await run_in_threadpool(gradebook_view, request, page, pick_of(request))
    return dashboard(request, page, session, "instructor/gradebook.html", "gradebook", view=view)


@router.get("/instructor/gradebook.csv")
async def gradebook_csv(request: Request) -> Response:
    """The same CSV as `GET /api/v1/gradebook.csv`, for a signed-in browser."""
    page, session, refused = _guarded(request)
    if session is None:
        return refused  # type: ignore[return-value]
    # The set asked for, as the API takes it: a set this server does not grade is its 422, not the default's CSV.
    asked = request.query_params.get("set") or None
    response = await run_in_threadpool(gradebook_csv_of, request, pick_of(request), asked)  # type: ignore[arg-type]
    response.headers["Cache-Control"] = "no-store"
    return response
