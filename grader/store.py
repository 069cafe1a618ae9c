"""The grading service's database: submissions, their results and figures, and access tokens.

The only module that writes SQL. It is an embedded SQLite file, so that a course needs no other
server; everything else talks to `Store`'s methods, so that a server database can take its place
behind the same methods later.

- WAL mode: readers (result pages, the gradebook) never wait for the writer, and the writer never
  waits for them. `synchronous=NORMAL` is WAL's documented trade-off: a commit is not fsynced, but
  it survives a crash of the process (kill -9 included), which is what "nothing accepted is ever
  lost" guards against; only a power cut or kernel crash may lose the last commits, and the
  database stays consistent even then. FULL would fsync on every submission and status change.
- One connection per thread (sqlite3 connections must not be shared between threads without a
  lock of their own), each waiting up to `BUSY_TIMEOUT_MS` for the write lock.
- Status changes and results are written by id and only from the state they leave (`queued` →
  `running` → `graded`/`failed`), so a result written twice, or late, changes nothing.
- A submission is committed before the service acknowledges it; on start, `recover` puts those
  left `queued` or `running` by a crash back in the queue, and fails those that were running
  during `max_attempts` crashes, rather than retrying them for ever.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 10_000
"""How long a connection waits for another's write to finish before giving up (milliseconds)."""

STATUSES = ("queued", "running", "graded", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS submissions (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    filename TEXT NOT NULL,
    source BLOB NOT NULL,
    sha256 TEXT NOT NULL,
    student TEXT,
    exercise_set TEXT NOT NULL,
    exercises TEXT NOT NULL,
    seed INTEGER NOT NULL,
    lang TEXT NOT NULL,
    client TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'graded', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    started REAL,
    finished REAL,
    grading_seconds REAL,
    score REAL,
    max_score REAL,
    scorecard TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS submissions_by_status ON submissions (status, created);
CREATE INDEX IF NOT EXISTS submissions_by_student ON submissions (student, created);
CREATE TABLE IF NOT EXISTS figures (
    submission TEXT NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    exercise TEXT NOT NULL,
    check_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    png BLOB NOT NULL,
    PRIMARY KEY (submission, name)
);
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('instructor', 'student')),
    name TEXT NOT NULL,
    created REAL NOT NULL,
    revoked REAL
);
"""

_SUMMARY_COLUMNS = ("id, created, filename, sha256, student, exercise_set, exercises, seed, lang, status, attempts, "
                    "started, finished, grading_seconds, score, max_score, error")


@dataclass(frozen=True)
class NewSubmission:
    """What is stored when a submission is accepted."""

    id: str
    filename: str
    """The safe display name (no directories, no control characters)."""
    source: bytes
    """The file's bytes exactly as uploaded (a `.py` may declare another encoding than UTF-8)."""
    student: str | None
    exercise_set: str
    """Which set of exercises the server grades against (its directory, or `builtin`)."""
    exercises: tuple[str, ...]
    """The exercise ids asked for (empty: all of the set)."""
    seed: int
    lang: str
    client: str = ""
    """Who sent it: `token:<id>` or `address:<ip>` (for rate limits and audits)."""
    created: float = field(default_factory=time.time)


@dataclass(frozen=True)
class SubmissionRow:
    """A stored submission; `source` and `scorecard` only when asked for."""

    id: str
    created: float
    filename: str
    sha256: str
    student: str | None
    exercise_set: str
    exercises: tuple[str, ...]
    seed: int
    lang: str
    status: str
    attempts: int
    started: float | None
    finished: float | None
    grading_seconds: float | None
    score: float | None
    max_score: float | None
    error: str | None
    scorecard: dict[str, Any] | None = None
    """The language-neutral scorecard (`Scorecard.model_dump(mode="json")`) once graded."""
    source: bytes | None = None


@dataclass(frozen=True)
class Figure:
    """A PNG kept with a graded submission: the student's own figure or an overlay."""

    name: str
    exercise: str
    check: str
    kind: str
    png: bytes


@dataclass(frozen=True)
class TokenRow:
    """An access token as stored: its public id, the hash of its secret, its role and owner."""

    id: str
    hash: str
    role: str
    name: str
    created: float
    revoked: float | None


@dataclass(frozen=True)
class Recovery:
    """What `recover` did on start: submissions queued again, and those given up on."""

    requeued: list[str]
    failed: list[str]


def sha256(data: bytes) -> str:
    """The hex SHA-256 of some bytes (submissions are found by it, tokens stored as it)."""
    return hashlib.sha256(data).hexdigest()


class Store:
    """The service's database. Thread-safe: every thread gets its own connection."""

    def __init__(self, path: Path) -> None:
        """Open (creating when needed) the database file at `path`; call `close` when done."""
        self.path = Path(path)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One script, one transaction (executescript commits whatever is open before it runs).
        self._db().executescript(f"BEGIN IMMEDIATE;{_SCHEMA}INSERT OR IGNORE INTO meta (key, value) "
                                 f"VALUES ('schema_version', '{SCHEMA_VERSION}');COMMIT;")
        version = int(self._db().execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"{self.path} was written by a newer grader (schema {version}; this one knows {SCHEMA_VERSION})")

    # -- connections -------------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE below), so a write never
            # starts as a read and then fails to upgrade its lock.
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                 check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    class _Tx:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __enter__(self) -> sqlite3.Connection:
            self.db.execute("BEGIN IMMEDIATE")
            return self.db

        def __exit__(self, kind: object, *rest: object) -> None:
            self.db.execute("COMMIT" if kind is None else "ROLLBACK")

    def _transaction(self) -> Store._Tx:
        return Store._Tx(self._db())

    def journal_mode(self) -> str:
        """The journal mode in force (`wal`)."""
        return str(self._db().execute("PRAGMA journal_mode").fetchone()[0])

    def close(self) -> None:
        """Close every thread's connection (the store must not be used afterwards)."""
        with self._lock:
            for db in self._connections:
                try:
                    db.close()
                except sqlite3.Error:
                    pass
            self._connections.clear()
        self._local = threading.local()

    # -- submissions -------------------------------------------------------------------------------

    def add_submission(self, new: NewSubmission) -> None:
        """Store an accepted submission as `queued`; committed when this returns."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO submissions (id, created, filename, source, sha256, student, exercise_set, exercises, seed,"
                " lang, client, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued')",
                (new.id, new.created, new.filename, new.source, sha256(new.source), new.student, new.exercise_set,
                 json.dumps(list(new.exercises)), new.seed, new.lang, new.client),
            )

    def get(self, submission_id: str, scorecard: bool = True, source: bool = False) -> SubmissionRow | None:
        """One submission, or None when there is no such id."""
        columns = _SUMMARY_COLUMNS + (", scorecard" if scorecard else "") + (", source" if source else "")
        row = self._db().execute(f"SELECT {columns} FROM submissions WHERE id = ?", (submission_id,)).fetchone()
        return None if row is None else _row(row, scorecard, source)

    def mark_running(self, submission_id: str) -> SubmissionRow | None:
        """`queued` → `running`, counting the attempt; the submission with its source, or None if it was not queued."""
        with self._transaction() as db:
            changed = db.execute("UPDATE submissions SET status = 'running', attempts = attempts + 1, started = ?"
                                 " WHERE id = ? AND status = 'queued'", (time.time(), submission_id)).rowcount
        return self.get(submission_id, scorecard=False, source=True) if changed else None

    def finish(self, submission_id: str, scorecard: dict[str, Any], figures: list[Figure], seconds: float) -> bool:
        """`running` → `graded` with its scorecard and figures; False (and nothing written) if it was not running."""
        with self._transaction() as db:
            changed = db.execute(
                "UPDATE submissions SET status = 'graded', finished = ?, grading_seconds = ?, score = ?, max_score = ?,"
                " scorecard = ?, error = NULL WHERE id = ? AND status = 'running'",
                (time.time(), seconds, scorecard.get("score"), scorecard.get("max_score"),
                 json.dumps(scorecard, ensure_ascii=False, allow_nan=True), submission_id),
            ).rowcount
            if changed:
                db.executemany("INSERT OR REPLACE INTO figures (submission, name, exercise, check_id, kind, png)"
                               " VALUES (?, ?, ?, ?, ?, ?)",
                               [(submission_id, f.name, f.exercise, f.check, f.kind, f.png) for f in figures])
        return bool(changed)

    def fail(self, submission_id: str, error: str, seconds: float | None = None) -> bool:
        """`queued` or `running` → `failed` with a reason; False if it had already finished."""
        with self._transaction() as db:
            return bool(db.execute(
                "UPDATE submissions SET status = 'failed', finished = ?, grading_seconds = ?, error = ?"
                " WHERE id = ? AND status IN ('queued', 'running')", (time.time(), seconds, error, submission_id),
            ).rowcount)

    def requeue(self, submission_id: str, uncount: bool = False) -> bool:
        """`running` → `queued` (a grading interrupted by a clean shutdown; `uncount` takes its attempt back)."""
        with self._transaction() as db:
            return bool(db.execute(
                "UPDATE submissions SET status = 'queued', started = NULL, attempts = attempts - ? "
                "WHERE id = ? AND status = 'running'", (1 if uncount else 0, submission_id),
            ).rowcount)

    def recover(self, max_attempts: int) -> Recovery:
        """On start: queue again what a crash left unfinished, oldest first; fail what crashed `max_attempts` times."""
        message = (f"grading stopped the server {max_attempts} times (it was running each time the service "
                   "stopped without finishing it); not retried")
        with self._transaction() as db:
            rows = db.execute("SELECT id, status, attempts FROM submissions WHERE status IN ('queued', 'running')"
                              " ORDER BY created, id").fetchall()
            failed = [sid for sid, status, attempts in rows if status == "running" and attempts >= max_attempts]
            requeued = [sid for sid, status, attempts in rows if sid not in set(failed)]
            now = time.time()
            db.executemany("UPDATE submissions SET status = 'failed', finished = ?, error = ? WHERE id = ?",
                           [(now, message, sid) for sid in failed])
            db.execute("UPDATE submissions SET status = 'queued', started = NULL WHERE status = 'running'")
        return Recovery(requeued, failed)

    def counts(self) -> dict[str, int]:
        """How many submissions are in each status."""
        found = dict(self._db().execute("SELECT status, COUNT(*) FROM submissions GROUP BY status").fetchall())
        return {status: int(found.get(status, 0)) for status in STATUSES}

    def figure(self, submission_id: str, name: str) -> bytes | None:
        """The PNG `name` of a submission, or None."""
        row = self._db().execute("SELECT png FROM figures WHERE submission = ? AND name = ?",
                                 (submission_id, name)).fetchone()
        return None if row is None else bytes(row[0])

    def figures(self, submission_id: str) -> list[Figure]:
        """The figures of a submission, without their bytes (`png` is empty), in name order."""
        rows = self._db().execute("SELECT name, exercise, check_id, kind FROM figures WHERE submission = ? ORDER BY name",
                                  (submission_id,)).fetchall()
        return [Figure(name, exercise, check, kind, b"") for name, exercise, check, kind in rows]

    def submissions(self, student: str | None = None, status: str | None = None, limit: int = 100,
                    offset: int = 0) -> list[SubmissionRow]:
        """Submissions, newest first, optionally of one student or in one status (without scorecards)."""
        where, args = _filters(student, status)
        rows = self._db().execute(f"SELECT {_SUMMARY_COLUMNS} FROM submissions {where} ORDER BY created DESC, id"
                                  " LIMIT ? OFFSET ?", (*args, limit, offset)).fetchall()
        return [_row(row, False, False) for row in rows]

    def find_submissions(self, student: str | None = None, status: str | None = None, exercise: str | None = None,
                         limit: int = 100, offset: int = 0) -> tuple[list[SubmissionRow], int]:
        """A page of submissions, newest first (without scorecards), and how many match in all.

        `student` matches anywhere in the name (ASCII letters case-insensitively); `exercise` keeps the
        submissions that asked for that exercise or for the whole set. For the instructor's search page.
        """
        clauses, args = [], []
        if student:
            clauses.append("instr(lower(student), lower(?)) > 0")
            args.append(student)
        if status is not None:
            clauses.append("status = ?")
            args.append(status)
        if exercise is not None:
            # `exercises` holds the JSON list written by add_submission: `[]` (every exercise) or quoted ids.
            clauses.append("(exercises = '[]' OR instr(exercises, ?) > 0)")
            args.append(json.dumps(exercise))
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        total = int(self._db().execute(f"SELECT COUNT(*) FROM submissions {where}", args).fetchone()[0])
        rows = self._db().execute(f"SELECT {_SUMMARY_COLUMNS} FROM submissions {where} ORDER BY created DESC, id"
                                  " LIMIT ? OFFSET ?", (*args, limit, offset)).fetchall()
        return [_row(row, False, False) for row in rows], total

    def students(self) -> list[tuple[str, int, int]]:
        """(student, submissions, graded) for every named student, by name."""
        rows = self._db().execute("SELECT student, COUNT(*), SUM(status = 'graded') FROM submissions"
                                  " WHERE student IS NOT NULL GROUP BY student ORDER BY student").fetchall()
        return [(student, int(total), int(graded or 0)) for student, total, graded in rows]

    def graded_per_student(self, pick: str, scorecard: bool = True,
                           exercise_sets: tuple[str, ...] | None = None) -> Iterator[SubmissionRow]:
        """One graded submission per student, with its scorecard: the `latest` or the `best` (highest score, then latest).

        Submissions without a student name each stand for themselves. `scorecard=False` leaves the
        scorecards out (reading them is most of the cost; the web pages keep summaries of their own).
        `exercise_sets`: only submissions of these sets (as stored: a name, or an older version's directory).
        """
        order = "created DESC" if pick == "latest" else "score DESC, created DESC"
        in_sets = ""
        if exercise_sets is not None:
            in_sets = f" AND exercise_set IN ({', '.join('?' * len(exercise_sets))})" if exercise_sets else " AND 0"
        columns = ", ".join(c.strip() for c in _SUMMARY_COLUMNS.split(","))
        query = (
            f"SELECT {_SUMMARY_COLUMNS}{', scorecard' if scorecard else ''} FROM ("
            f"  SELECT {columns}{', scorecard' if scorecard else ''},"
            f"  ROW_NUMBER() OVER (PARTITION BY COALESCE(student, 'submission:' || id) ORDER BY {order}, id)"
            f"   AS rank FROM submissions WHERE status = 'graded'{in_sets})"
            " WHERE rank = 1 ORDER BY student IS NULL, student, created"
        )
        for row in self._db().execute(query, tuple(exercise_sets or ())):
            yield _row(row, scorecard, False)

    # -- tokens ------------------------------------------------------------------------------------

    def add_token(self, token_id: str, secret_hash: str, role: str, name: str) -> None:
        """Store a new token (only the hash of its secret)."""
        with self._transaction() as db:
            db.execute("INSERT INTO tokens (id, hash, role, name, created) VALUES (?, ?, ?, ?, ?)",
                       (token_id, secret_hash, role, name, time.time()))

    def token(self, token_id: str) -> TokenRow | None:
        """A token by its public id (revoked ones too), or None."""
        row = self._db().execute("SELECT id, hash, role, name, created, revoked FROM tokens WHERE id = ?",
                                 (token_id,)).fetchone()
        return None if row is None else TokenRow(*row)

    def tokens(self) -> list[TokenRow]:
        """Every token, oldest first."""
        return [TokenRow(*row) for row in
                self._db().execute("SELECT id, hash, role, name, created, revoked FROM tokens ORDER BY created, id")]

    def revoke_token(self, token_id: str) -> bool:
        """Revoke a token; False when there is no such token or it was revoked already."""
        with self._transaction() as db:
            return bool(db.execute("UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL",
                                   (time.time(), token_id)).rowcount)


def _filters(student: str | None, status: str | None) -> tuple[str, tuple[Any, ...]]:
    clauses, args = [], []
    if student is not None:
        clauses.append("student = ?")
        args.append(student)
    if status is not None:
        clauses.append("status = ?")
        args.append(status)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", tuple(args)


def _row(row: tuple[Any, ...], scorecard: bool, source: bool) -> SubmissionRow:
    base = list(row[:17])
    base[6] = tuple(json.loads(base[6]))
    extra: dict[str, Any] = {}
    index = 17
    if scorecard:
        extra["scorecard"] = json.loads(row[index]) if row[index] is not None else None
        index += 1
    if source:
        extra["source"] = bytes(row[index])
    return SubmissionRow(*base, **extra)
