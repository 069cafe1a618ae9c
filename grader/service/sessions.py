"""Sign-in sessions of the instructor's pages, and the CSRF tokens of every form that changes something.

An instructor signs in once with a token from `grader token create --role instructor`; the page
then keeps a session id in a cookie (`HttpOnly`: no script reads it; `SameSite=Strict`: no other
site's page sends it; `Secure` over HTTPS). The token itself never goes into a cookie, and the
session refers to the token by its public id, so revoking the token (`grader token revoke`) ends
every session made with it at the next request.

Sessions live in this process's memory, not in the database: they are short-lived, a restart of
the server signs everyone out (the token signs them in again), and nothing about them has to
survive a crash. Their number is bounded, oldest dropped first.

CSRF: every POST form carries a token that a page of another site cannot know. Signed in, it is
the session's own (a synchronizer token); before signing in (the reader's submission form, the
sign-in form itself) it is the value of a cookie of its own that the form repeats (a double-submit
cookie, `HttpOnly` and `SameSite=Strict` as well). Both are compared in constant time.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

SESSION_COOKIE = "grader_session"
FORM_COOKIE = "grader_form"
"""The cookie whose value the forms of a visitor who is not signed in repeat (double-submit CSRF)."""
IDLE_SECONDS = 4 * 3600.0
"""A session not used for this long ends."""
LIFETIME_SECONDS = 12 * 3600.0
"""A session ends this long after signing in, however busy (a forgotten browser on a lab machine)."""
MAX_SESSIONS = 10_000


@dataclass
class Session:
    """One signed-in browser: whose token, the form token of its pages, when it started and was last used."""

    id: str
    token_id: str
    name: str
    csrf: str
    started: float
    used: float


class Sessions:
    """The signed-in sessions of one server (thread-safe; pages run in a thread pool)."""

    def __init__(self, idle: float = IDLE_SECONDS, lifetime: float = LIFETIME_SECONDS,
                 capacity: int = MAX_SESSIONS) -> None:
        """Sessions end after `idle` seconds unused or `lifetime` seconds in all; at most `capacity` at once."""
        self.idle = idle
        self.lifetime = lifetime
        self.capacity = capacity
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def create(self, token_id: str, name: str, now: float | None = None) -> Session:
        """A new session for the owner of the token `token_id` (a fresh id: no session fixation)."""
        now = time.time() if now is None else now
        session = Session(secrets.token_urlsafe(32), token_id, name, secrets.token_urlsafe(32), now, now)
        with self._lock:
            self._sessions[session.id] = session
            while len(self._sessions) > self.capacity:
                self._sessions.popitem(last=False)
        return session

    def get(self, session_id: str | None, now: float | None = None) -> Session | None:
        """The live session with this id (its use noted), or None: unknown, idle too long, or too old."""
        if not session_id:
            return None
        now = time.time() if now is None else now
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if now - session.used > self.idle or now - session.started > self.lifetime:
                del self._sessions[session_id]
                return None
            session.used = now
            self._sessions.move_to_end(session_id)
            return session

    def end(self, session_id: str | None) -> None:
        """End a session (signing out); nothing happens for an unknown id."""
        with self._lock:
            self._sessions.pop(session_id or "", None)

    def end_token(self, token_id: str) -> int:
        """End every session made with the token `token_id` (it was revoked); how many there were."""
        with self._lock:
            ended = [key for key, session in self._sessions.items() if session.token_id == token_id]
            for key in ended:
                del self._sessions[key]
        return len(ended)

    def __len__(self) -> int:
        """How many sessions are held (live or not yet noticed to have expired)."""
        with self._lock:
            return len(self._sessions)


def new_form_token() -> str:
    """A fresh value for the form cookie of a visitor who is not signed in."""
    return secrets.token_urlsafe(32)


def same_token(presented: str | None, expected: str | None) -> bool:
    """Whether a form's CSRF token is the one expected (constant time; never true when either is missing)."""
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode("utf-8", "replace"), expected.encode("utf-8", "replace"))
