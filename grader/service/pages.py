"""The reader's pages: `/` (paste or upload an answer), the form's POST, and a result's permanent page; static files.

Without script, the form posts to `/submissions` and is answered `303 See Other` to the result's
page (`links.page` of the API), which reloads itself (`<noscript>` refresh) until the result is
there. With script, static/grader.js waits on the API instead and swaps the result into the page
without reloading. The form goes through the API's own checks (`api.admit`, `api.accept_submission`):
the same limits, the same 413/422/429/503, shown as a page that keeps what the reader typed.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from grader.service.api import Incoming, accept_submission, admit, caller, read_body, service_of
from grader.service.app import ApiError
from grader.service.models import MAX_SEED, SubmissionRequest
from grader.service.sessions import same_token
from grader.service.sets import ExerciseSet
from grader.service.views import result_view
from grader.service.web import STATIC_DIR, Page, redirect, static_version

router = APIRouter(include_in_schema=False)

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_STATIC = {path.name: path for path in STATIC_DIR.iterdir() if path.is_file()}
"""The files under static/, by name: nothing else is served from there (no paths, no listing)."""
_MEDIA = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
PASTED_NAME = "solution.py"
"""The file name of pasted code."""


@router.get("/static/{name}")
def static(request: Request, name: str) -> Response:
    """A stylesheet, the script or the icon; cached for good when asked for by its current version."""
    path = _STATIC.get(name)
    if path is None:
        raise ApiError(404, "not_found", f"no file {name[:80]!r} under /static")
    current = request.query_params.get("v") == static_version(name)
    cache = "public, max-age=31536000, immutable" if current else "no-cache"
    return FileResponse(path, media_type=_MEDIA.get(path.suffix, "application/octet-stream"),
                        headers={"Cache-Control": cache})


@router.get("/favicon.ico")
def favicon() -> Response:
    """The icon where browsers look for it without asking the page (the same SVG as the page's `<link rel=icon>`)."""
    return FileResponse(_STATIC["favicon.svg"], media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


def exercise_choices(chosen: ExerciseSet, page: Page, checked: list[str]) -> list[dict[str, Any]]:
    """A set's exercises for the form: id, title, points, functions, whether ticked."""
    out = []
    for loaded in chosen.exercises:
        spec = loaded.spec
        out.append({"id": spec.id, "title": spec.title.get(page.lang),
                    "points": f"{spec.max_score:g} {page.t('report_points')}", "checked": spec.id in checked,
                    "functions": [{"name": name, "signature": f.signature, "summary": f.summary.get(page.lang)}
                                  for name, f in spec.functions.items()]})
    return out


def home_page(request: Request, page: Page, status: int = 200, errors: list[str] | None = None,
              values: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Response:
    """The reader's form for one set (`values["exercise_set"]`, else the default), filled with what they sent."""
    values = values or {}
    service = service_of(request)
    sets = service.all_sets
    chosen = sets.get(values.get("exercise_set")) or sets.default
    base = str(request.base_url).rstrip("/")
    # A server of one set keeps the starter's URL it always had.
    starter = urllib.parse.urlencode({"lang": page.lang, **({"set": chosen.name} if len(sets) > 1 else {})})
    return page.render("home.html", status=status, headers=headers, errors=errors or [],
                       exercise_set=chosen.name, set_choices=[(s.name, s is chosen) for s in sets],
                       exercises=exercise_choices(chosen, page, values.get("exercises", [])),
                       code=values.get("code", ""), student=values.get("student", ""), seed=values.get("seed", ""),
                       token_field=service.config.require_token, starter_url=f"/api/v1/starter.py?{starter}",
                       server_url=base, cli_set="" if chosen is sets.default else chosen.name)


def unknown_set_text(request: Request, page: Page) -> str:
    """The page's sentence for a set this server does not grade, naming those it does."""
    return page.t("page_err_unknown_set", sets=", ".join(service_of(request).all_sets.names))


@router.get("/")
def home(request: Request) -> Response:
    """The reader's page: choose the set and exercises, paste code or upload a file, optionally a student id; the starter."""
    page = Page(request, "home")
    # The set chooser is a GET form (`?set=`), so that choosing a set works without script.
    asked = request.query_params.get("set", "")
    if asked and service_of(request).all_sets.get(asked) is None:
        return home_page(request, page, 422, [unknown_set_text(request, page)])
    return home_page(request, page, values={"exercise_set": asked})


async def read_form(request: Request, body: bytes, limit: int) -> FormData:
    """The form in a body already read (multipart, or URL-encoded when it has no file); 422 when unreadable."""
    from starlette.formparsers import MultiPartException

    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.request", "body": b"", "more_body": False}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        return await Request(request.scope, replay).form(max_files=1, max_fields=30, max_part_size=limit)
    except MultiPartException as exc:
        raise ApiError(422, "invalid_request", exc.message) from None


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def incoming_from(form: FormData, lang: str) -> Incoming:
    """The submission in the form: the uploaded file when one was chosen, else the pasted code."""
    upload = form.get("file")
    source: bytes = b""
    filename = ""
    if isinstance(upload, UploadFile) and upload.filename:
        source, filename = await upload.read(), upload.filename
    if not source:
        code = form.get("code")
        source = code.encode("utf-8", "surrogatepass") if isinstance(code, str) else b""
        filename = PASTED_NAME
    if not source.strip():
        raise ApiError(422, "invalid_request", "page_err_no_code")
    fields: dict[str, Any] = {"filename": filename, "source": "", "lang": lang}
    if _field(form, "exercise_set"):
        fields["exercise_set"] = _field(form, "exercise_set")
    exercises = [v for v in form.getlist("exercises") if isinstance(v, str) and v]
    if exercises:
        fields["exercises"] = exercises
    if _field(form, "student"):
        fields["student"] = _field(form, "student")
    seed = _field(form, "seed")
    if seed:
        if not seed.isdigit() or int(seed) > MAX_SEED:
            raise ApiError(422, "invalid_request", "page_err_seed")
        fields["seed"] = int(seed)
    try:
        validated = SubmissionRequest.model_validate(fields)
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ApiError(422, "invalid_request", detail) from None
    return Incoming(validated.filename, source, validated.model_dump(exclude={"filename", "source"}))


def _catalogue_or_text(page: Page, message: str) -> str:
    """An ApiError's message: a key of the page catalogue (worded in the page's language), or the API's sentence."""
    if message == "page_err_seed":
        return page.t(message, max=MAX_SEED)
    return page.t(message) if message.startswith("page_err_") else message


@router.post("/submissions")
async def submit_form(request: Request) -> Response:
    """The form's POST: the submission stored and queued, then 303 to its page; or the form again, with the reason."""
    page = Page(request, "home")
    service = service_of(request)
    values: dict[str, Any] = {}
    try:
        body = await read_body(request, service.config.max_upload)
        form = await read_form(request, body, service.config.max_upload)
        values = {"code": form.get("code") if isinstance(form.get("code"), str) else "",
                  "student": _field(form, "student"), "seed": _field(form, "seed"),
                  "exercise_set": _field(form, "exercise_set"),
                  "exercises": [v for v in form.getlist("exercises") if isinstance(v, str)]}
        if page.new_csrf or not same_token(_field(form, "csrf"), page.csrf):
            return home_page(request, page, 403, [page.t("page_err_csrf")], values)
        token = _field(form, "token")
        who = await run_in_threadpool(caller_from_token, request, token) if token else await run_in_threadpool(caller, request)
        admit(service, request, who)
        incoming = await incoming_from(form, page.lang)
        submission_id = await accept_submission(service, request, who, incoming)
    except ApiError as exc:
        text = unknown_set_text(request, page) if exc.code == "unknown_exercise_set" else _catalogue_or_text(page, exc.message)
        return home_page(request, page, exc.status, [text], values,
                         headers={k: v for k, v in exc.headers.items() if k.lower() == "retry-after"})
    return redirect(f"/submissions/{submission_id}", page)


def caller_from_token(request: Request, token: str) -> Any:
    """The owner of a token typed into the form (401 when it is not valid)."""
    from grader.service.auth import verify

    who = verify(service_of(request).store, token)
    if who is None:
        raise ApiError(401, "unauthorized", "this token is not valid (wrong, or revoked)")
    return who


@router.get("/submissions/{submission_id}")
async def submission_page(request: Request, submission_id: str) -> Response:
    """A result's permanent page, in the reader's language (the stored scorecard rendered, not graded again)."""
    page = Page(request, "home")
    service = service_of(request)
    row = await run_in_threadpool(service.store.get, submission_id) if _ID.match(submission_id) else None
    if row is None:
        return page.render("not_found.html", status=404)
    view = await run_in_threadpool(result_view, service.store, row, page.lang)
    return page.render("result.html", view=view)
