"""Access tokens: made by `grader token create`, stored hashed, checked in constant time.

A token reads `grader_<id>_<secret>`. The id is public (it names the token in lists, logs and
rate limits) and finds the row; only SHA-256 of the secret is stored, and the hash of what a
client presents is compared with `hmac.compare_digest`. A plain hash (not a slow password hash)
is enough because the secret is 256 random bits, not something a person chose: there is nothing
to guess from the hash. Roles: `instructor` (every endpoint) and `student` (submits as the student
it names, never reads the instructor endpoints).
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Literal

from grader.store import Store, TokenRow, sha256

Role = Literal["instructor", "student"]
ROLES: tuple[Role, ...] = ("instructor", "student")
PREFIX = "grader"
_TOKEN = re.compile(r"^grader_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})$")
_NOBODY = sha256(b"no such token")
"""Compared against when the id is unknown, so that a miss costs the same as a wrong secret."""


@dataclass(frozen=True)
class Principal:
    """Who a valid token belongs to."""

    token_id: str
    role: Role
    name: str


def create_token(store: Store, role: Role, name: str) -> tuple[str, str]:
    """Make and store a new token; (its id, the whole token). The token is shown once and never stored."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    store.add_token(token_id, sha256(secret.encode()), role, name)
    return token_id, f"{PREFIX}_{token_id}_{secret}"


def verify(store: Store, token: str) -> Principal | None:
    """The owner of a presented token, or None when it is malformed, unknown, wrong or revoked."""
    match = _TOKEN.match(token.strip())
    token_id, secret = (match.group(1), match.group(2)) if match else ("", token)
    row: TokenRow | None = store.token(token_id) if match else None
    expected = row.hash if row is not None else _NOBODY
    presented = sha256(secret.encode("utf-8", "replace"))
    if not hmac.compare_digest(presented, expected) or row is None or row.revoked is not None:
        return None
    return Principal(row.id, row.role, row.name)  # type: ignore[arg-type]
