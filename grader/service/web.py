"""What every web page shares: templates, the reader's language, the form cookie, security headers, error pages.

Templates are Jinja2 with autoescaping on: everything a template prints is escaped unless it is
`Markup` made here (the SVG charts, whose own texts are escaped in grader/service/charts.py).
Words come from the catalogue through `t(key, **params)` in the page's language; the language is
`?lang=` when given (remembered in a cookie), else the cookie, else the browser's Accept-Language.
"""

from __future__ import annotations

import hashlib
import urllib.parse
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grader.i18n import LANGS, Lang
from grader.messages import tr
from grader.service.sessions import FORM_COOKIE, new_form_token

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
LANG_COOKIE = "grader_lang"
LANG_NAMES: dict[Lang, str] = {"en": "English", "zh": "中文"}
"""Each language named in itself, as language switches do (data, not words of the catalogue)."""
HTML_LANG: dict[Lang, str] = {"en": "en", "zh": "zh-Hans"}

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
])
"""Only this server's own files run or style a page; no inline script or style (so injected markup does nothing)."""
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


class SecurityHeaders:
    """ASGI middleware: every answer carries the headers above (JSON too: a browser may be pointed at it)."""

    def __init__(self, app: ASGIApp) -> None:
        """Wrap `app`."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the headers to the response's start message; pass everything else through."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (name, value) for name, value in SECURITY_HEADERS if name not in names]
            await send(message)

        await self.app(scope, receive, sending)


@lru_cache(maxsize=None)
def static_version(name: str) -> str:
    """A short hash of a static file, put into its URL so that browsers may cache it for good."""
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    """The URL of a file under static/ (with its version)."""
    return f"/static/{name}?v={static_version(name)}"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.globals["static"] = static_url
    return env


templates = Jinja2Templates(env=_environment())


def choose_lang(request: Request) -> tuple[Lang, bool]:
    """The page's language, and whether it was chosen by `?lang=` just now (then it is remembered)."""
    from grader.service.api import preferred_lang

    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked, True  # type: ignore[return-value]
    remembered = request.cookies.get(LANG_COOKIE)
    if remembered in LANGS:
        return remembered, False  # type: ignore[return-value]
    return preferred_lang(request), False


def with_query(request: Request, **changes: str | None) -> str:
    """This page's path and query with some parameters changed (None removes one)."""
    query = dict(request.query_params)
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    encoded = urllib.parse.urlencode(query)
    return request.url.path + (f"?{encoded}" if encoded else "")


def secure(request: Request) -> bool:
    """Whether the browser reached us over HTTPS (then cookies are `Secure`)."""
    return request.url.scheme == "https"


def form_token(request: Request) -> tuple[str, bool]:
    """The visitor's form token (double-submit CSRF) and whether it is new (then the answer sets its cookie)."""
    token = request.cookies.get(FORM_COOKIE)
    if token and 20 <= len(token) <= 100:
        return token, False
    return new_form_token(), True


class Page:
    """One page being answered: its language and the values every template needs."""

    def __init__(self, request: Request, section: str) -> None:
        """For `request`, in the site's `section` (`home` or `instructor`, marked in the navigation)."""
        self.request = request
        self.section = section
        self.lang, self.lang_chosen = choose_lang(request)
        self.csrf, self.new_csrf = form_token(request)

    def t(self, key: str, **params: Any) -> str:
        """A catalogue text in the page's language."""
        return tr(self.lang, key, **params)

    def context(self, **values: Any) -> dict[str, Any]:
        """What base.html needs, and `values`."""
        languages = [(code, LANG_NAMES[code], with_query(self.request, lang=code)) for code in LANGS]
        return {"request": self.request, "t": self.t, "lang": self.lang, "html_lang": HTML_LANG[self.lang],
                "languages": languages, "section": self.section, "csrf": self.csrf, **values}

    def render(self, template: str, status: int = 200, headers: dict[str, str] | None = None, **values: Any) -> Response:
        """The template filled in, with the cookies this page sets."""
        response = templates.TemplateResponse(self.request, template, self.context(**values), status_code=status,
                                              headers={"Cache-Control": "no-store", **(headers or {})})
        self.cookies(response)
        return response

    def cookies(self, response: Response) -> None:
        """Set the language and form cookies on `response` when they are new."""
        if self.lang_chosen:
            response.set_cookie(LANG_COOKIE, self.lang, max_age=365 * 86400, samesite="lax", httponly=True,
                                secure=secure(self.request))
        if self.new_csrf:
            response.set_cookie(FORM_COOKIE, self.csrf, samesite="strict", httponly=True, secure=secure(self.request))

    def error(self, status: int, title_key: str, message: str) -> Response:
        """A clear error page (never a traceback)."""
        return self.render("error.html", status=status, title=self.t(title_key), message=message)


def html_wanted(request: Request) -> bool:
    """Whether the client is a browser asking for a page (not the API's JSON)."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def error_page(request: Request, status: int, message: str) -> Response:
    """An HTML error page for a browser, for errors raised outside the pages' own routes (an unknown URL)."""
    page = Page(request, "home")
    key = "page_not_found_title" if status == 404 else "page_error_title"
    text = page.t("page_not_found_text") if status == 404 else message
    return page.error(status, key, text)


def redirect(url: str, page: Page | None = None) -> Response:
    """A 303 See Other to `url` (after a POST, the browser GETs it)."""
    response = HTMLResponse("", status_code=303, headers={"Location": url, "Cache-Control": "no-store"})
    if page is not None:
        page.cookies(response)
    return response
