"""The ASGI application: its lifespan (pool, queue, recovery), error answers, and the routes it mounts.

`create_app` builds a FastAPI app around a `Service`: the store, the loaded exercises, the pool,
the queue, the rate limiter and the metrics. `grader serve` makes the app and runs it under
uvicorn; everything the app needs is given to it, nothing is read from the environment here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from grader import __version__
from grader.service.config import ServiceConfig
from grader.service.metrics import Metrics
from grader.service.pool import Pool
from grader.service.queue import GradingQueue
from grader.service.ratelimit import RateLimiter
from grader.service.analytics import Summaries
from grader.service.sessions import Sessions
from grader.service.sets import ExerciseSet, ExerciseSets
from grader.store import Store

if TYPE_CHECKING:
    from grader.spec.loader import LoadedExercise

log = logging.getLogger("grader.service")


class GraderJSON(JSONResponse):
    """JSON as `grade --format json` writes it: UTF-8 text, and NaN/Infinity kept (a student's gradient can be either)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """The body: compact JSON, non-ASCII as is, non-finite numbers as NaN/Infinity."""
        return json.dumps(content, ensure_ascii=False, allow_nan=True, separators=(",", ":")).encode("utf-8")


class ApiError(Exception):
    """An error answer: its status, a short code, a sentence, and any headers (Retry-After)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None,
                 detail: list[dict[str, Any]] | None = None) -> None:
        """See `grader.service.models.Problem` for what the client receives."""
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.detail = detail


def problem(status: int, code: str, message: str, headers: dict[str, str] | None = None,
            detail: list[dict[str, Any]] | None = None) -> GraderJSON:
    """An error answer in the one shape every error has (`Problem`)."""
    body: dict[str, Any] = {"status": status, "error": code, "message": message}
    if detail is not None:
        body["detail"] = detail
    return GraderJSON(body, status_code=status, headers=headers)


def validation_problems(errors: list[Any]) -> tuple[str, list[dict[str, Any]]]:
    """A sentence and plain details from pydantic's errors, without echoing the input (it may be a whole file)."""
    detail = [{"loc": [str(part) for part in error.get("loc", ())], "msg": str(error.get("msg", "")),
               "type": str(error.get("type", ""))} for error in errors]
    parts = [f"{'.'.join(d['loc']) or 'body'}: {d['msg']}" for d in detail]
    return "; ".join(parts) or "the request is not valid", detail


class Waiters:
    """Requests waiting (`?wait=S`) for submissions to finish; woken from the pool's threads."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Waiters live on `loop` (the server's event loop)."""
        self.loop = loop
        self._events: dict[str, list[asyncio.Event]] = {}

    def notify(self, submission_id: str) -> None:
        """Wake whoever waits for this submission (safe from any thread)."""
        try:
            self.loop.call_soon_threadsafe(self._wake, submission_id)
        except RuntimeError:
            pass  # the loop is closed: the server is stopping

    def _wake(self, submission_id: str) -> None:
        for event in self._events.pop(submission_id, []):
            event.set()

    async def wait(self, submission_id: str, timeout: float, finished: Any) -> None:
        """Return when `finished()` (a coroutine function) says so, when notified, or after `timeout` seconds."""
        if timeout <= 0:
            return
        event = asyncio.Event()
        self._events.setdefault(submission_id, []).append(event)
        try:
            if await finished():
                return
            await asyncio.wait_for(event.wait(), timeout)
        except (asyncio.TimeoutError, TimeoutError):
            pass
        finally:
            waiting = self._events.get(submission_id)
            if waiting is not None and event in waiting:
                waiting.remove(event)
                if not waiting:
                    del self._events[submission_id]


@dataclass
class Service:
    """Everything a request may need, made once per process."""

    config: ServiceConfig
    store: Store
    exercises: list[LoadedExercise]
    """The default set's exercises (the first set's)."""
    exercise_set: str
    """The default set's name."""
    pool: Pool
    metrics: Metrics = field(default_factory=Metrics)
    limiter: RateLimiter | None = None
    queue: GradingQueue | None = None
    waiters: Waiters | None = None
    stopping: bool = False
    sets: ExerciseSets | None = None
    """Every set served, the default first (None: only `exercises`, under the name `exercise_set`)."""

    def __post_init__(self) -> None:
        if self.limiter is None:
            self.limiter = RateLimiter(self.config.rate_per_minute, self.config.burst)
        if self.sets is None:
            self.sets = ExerciseSets([ExerciseSet(self.exercise_set, self.config.exercises_dir, self.exercises)])

    @property
    def all_sets(self) -> ExerciseSets:
        """Every set served, the default first."""
        assert self.sets is not None  # made in __post_init__
        return self.sets


def create_app(service: Service) -> FastAPI:
    """The ASGI app serving `service`; its lifespan starts the pool and the queue and stops them."""
    from grader.service import api, docs_page, instructor, pages
    from grader.service.web import SECURITY_HEADERS, SecurityHeaders, error_page, html_wanted

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        service.waiters = Waiters(loop)
        await run_in_threadpool(service.pool.start)
        service.queue = GradingQueue(service.store, service.pool, service.config.queue_size, service.metrics,
                                     on_finished=service.waiters.notify)
        await run_in_threadpool(service.queue.start, service.config.max_attempts)
        log.info("grading on %d slot(s), isolation %s", service.pool.slots, service.pool.isolation().get("level"))
        # The dashboard's first load after a start would read every counted scorecard: do it now, aside.
        threading.Thread(target=app.state.summaries.warm, args=(service.store,), name="warm-summaries",
                         daemon=True).start()
        try:
            yield
        finally:
            service.stopping = True
            await run_in_threadpool(service.queue.stop, service.config.shutdown_grace)
            await run_in_threadpool(service.pool.close)
            service.store.close()

    app = FastAPI(
        title="autograd-grader",
        version=__version__,
        summary="Grades the autograd exercises of Dive into Deep Learning: submit a file, get its scorecard.",
        lifespan=lifespan,
        default_response_class=GraderJSON,
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    app.state.sessions = Sessions()
    app.state.summaries = Summaries()
    app.add_middleware(SecurityHeaders)

    # A browser asking for a page gets an HTML error page; everyone else the JSON problem.
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        if html_wanted(request):
            return error_page(request, exc.status, exc.message)
        return problem(exc.status, exc.code, exc.message, exc.headers, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        service.metrics.reject("invalid")
        message, detail = validation_problems(list(exc.errors()))
        if html_wanted(request):
            return error_page(request, 422, message)
        return problem(422, "invalid_request", message, detail=detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> GraderJSON:
        code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_") if exc.status_code in HTTPStatus._value2member_map_ else "error"
        message = exc.detail if isinstance(exc.detail, str) and exc.detail != HTTPStatus(exc.status_code).phrase else {
            404: f"nothing at {request.url.path}; the API is under /api/v1 (see /docs)",
            405: f"{request.method} is not allowed on {request.url.path} (see /docs)",
        }.get(exc.status_code, str(exc.detail))
        if html_wanted(request):
            return error_page(request, exc.status_code, message)
        return problem(exc.status_code, code, message, dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> Response:
        log.exception("a bug in the grading service while answering %s %s", request.method, request.url.path)
        if html_wanted(request):
            response = error_page(request, 500, "a bug in the grading service; the server log has its traceback")
        else:
            response = problem(500, "internal_error", "a bug in the grading service; the server log has its traceback")
        # This handler answers outside the middleware that adds the security headers: add them here.
        for name, value in SECURITY_HEADERS:
            response.headers[name.decode()] = value.decode()
        return response

    app.include_router(api.router, prefix="/api/v1")
    app.include_router(api.service_router)
    app.include_router(docs_page.router)
    app.include_router(pages.router)
    app.include_router(instructor.router)
    return app
