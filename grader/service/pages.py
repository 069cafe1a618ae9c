"""Placeholders of the web pages (the next issue writes them): `/` and `/submissions/{id}`; `/instructor` stays free.

Tiny server-rendered pages, every text from a submission escaped, so that the permanent link in
`links.page` already leads somewhere.
"""

from __future__ import annotations

import html

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

_HEAD = "<!doctype html><html lang=en><meta charset=utf-8><title>{title}</title><body style=\"font:16px system-ui;max-width:40rem;margin:2rem auto\">"


@router.get("/", response_class=HTMLResponse)
def home() -> HTMLResponse:
    """What this server is and where its API is."""
    return HTMLResponse(_HEAD.format(title="autograd-grader") +
                        "<h1>autograd-grader</h1><p>Grades the autograd exercises of <i>Dive into Deep Learning</i>. "
                        "Submit with <code>grader submit FILE --server URL</code> or <code>POST /api/v1/submissions</code>; "
                        "the API is described at <a href=\"/docs\">/docs</a>; a starter file is at "
                        "<a href=\"/api/v1/starter.py\">/api/v1/starter.py</a>.</p></body></html>")


@router.get("/submissions/{submission_id}", response_class=HTMLResponse)
def submission_page(request: Request, submission_id: str) -> HTMLResponse:
    """A result's permanent link: its status and score, and where its JSON is."""
    row = request.app.state.service.store.get(submission_id[:64], scorecard=False)
    if row is None:
        return HTMLResponse(_HEAD.format(title="not found") + "<p>No such submission.</p></body></html>", status_code=404)
    score = f"{row.score:g}/{row.max_score:g}" if row.score is not None and row.max_score is not None else ""
    api = f"/api/v1/submissions/{html.escape(row.id)}"
    return HTMLResponse(_HEAD.format(title=html.escape(row.filename)) +
                        f"<h1>{html.escape(row.filename)}</h1><p>{html.escape(row.status)} {html.escape(score)}</p>"
                        f"<p>The scorecard: <a href=\"{api}\">{api}</a>.</p></body></html>")
