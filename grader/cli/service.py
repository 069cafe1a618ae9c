"""`grader serve`, `grader submit` and `grader token`: run the grading service, grade on it, manage its tokens.

`grader submit` talks HTTP with the standard library only and renders the stored,
language-neutral scorecard with the same reporter as `grade`, so its report and exit status are
those of `grade` on the same file with the same seed. Heavy modules (FastAPI, uvicorn, the
sandbox) are imported inside the commands, so `grader --help` stays instant.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, NoReturn

import click

from grader.cli.common import EXIT_BUG, EXIT_FAILED, EXIT_OK, EXIT_USAGE, fail, load_selected_exercises, use_color
from grader.cli.instructor import grader

DEFAULT_DB = "grader.db"
SUFFIXES = (".py", ".ipynb")


def _db_option(function: Any) -> Any:
    return click.option("--db", "db", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB,
                        envvar="GRADER_DB", show_default=True,
                        help="The service's SQLite database file (or GRADER_DB).")(function)


def _open_store(db: Path, command: str) -> Any:
    from grader.store import Store

    try:
        return Store(db)
    except Exception as exc:  # noqa: BLE001 - sqlite3 and OS errors alike: the path given is unusable
        fail(f"{command}: cannot open the database {db}: {exc}")


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket (bound here, so `--port 0` picks a free port and the real one can be printed)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        # With its protocol named, asyncio turns Nagle's algorithm off on every connection: a socket
        # of protocol 0 kept it on, and a reply's body then waited for the ACK of its headers, which
        # a kept-alive client delays by 40 ms.
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        fail(f"grader serve: cannot listen on {host}:{port}: {exc.strerror or exc}")
    sock.set_inheritable(True)
    return sock


def _set_directories(given: tuple[Path, ...], no_builtin: bool) -> list[Path | None]:
    """The sets' directories in order, the default first (the first DIR given; None, the built-in set, last
    unless --no-builtin); exit 2 on a clash of names."""
    from grader.service.sets import set_name

    if no_builtin and not given:
        fail("grader serve: --no-builtin needs at least one --exercises DIR (otherwise there is nothing to grade)")
    # A course's own set is the default, as `--exercises DIR` means for `grade`: the built-in one comes after it.
    directories: list[Path | None] = list(given) + ([] if no_builtin else [None])
    seen: dict[str, Path | None] = {}
    for directory in directories:
        name = set_name(directory)
        if name in seen:
            first = "the built-in set" if seen[name] is None else str(seen[name])
            fail(f"grader serve: two exercise sets would be named {name!r} ({first} and {directory}); a set is "
                 "served under its directory's name, so rename one directory (or give --no-builtin)")
        seen[name] = directory
    return directories


def _load_sets(directories: list[Path | None], references: Any) -> Any:
    """Every set loaded and checked (exit 2 with the spec errors of the first invalid one), as `ExerciseSets`."""
    from grader.service.sets import ExerciseSet, ExerciseSets, set_name

    loaded = []
    for directory in directories:
        # A missing or empty directory gets the loader's own message, as `grade --exercises DIR` gives it.
        exercises = load_selected_exercises(directory, (), "grader serve", references)
        loaded.append(ExerciseSet(set_name(directory), directory, exercises))
    return ExerciseSets(loaded)


@click.command(short_help="Run the grading service: submissions over HTTP, a gradebook.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port (0: any free one).")
@_db_option
@click.option("--exercises", "exercises_dirs", type=click.Path(file_okay=False, path_type=Path), multiple=True,
              metavar="DIR", help="Grade against this directory of exercise specs, served under its directory's "
                                  "name (repeatable; the first is the default set, the built-in one is offered too).")
@click.option("--no-builtin", is_flag=True, help="Do not also serve the built-in exercises (set `builtin`).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=lambda: os.cpu_count() or 1,
              show_default="number of cores", help="Submissions graded at the same time.")
@click.option("--queue-size", type=click.IntRange(min=1), default=200, show_default=True,
              help="Submissions that may wait; beyond, 503 with Retry-After.")
@click.option("--rate", "rate_per_minute", type=click.FloatRange(min=0), default=60, show_default=True,
              help="Submissions per minute per client (token, else address); 0: no limit.")
@click.option("--burst", type=click.IntRange(min=1), default=30, show_default=True,
              help="Submissions a client may make at once before --rate applies.")
@click.option("--max-upload", "max_upload_mb", type=click.FloatRange(min=0.001), default=8.0, show_default=True,
              help="Largest request body, in MiB (413 beyond).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
              help="Seconds for importing a submission and for each call.")
@click.option("--total-timeout", type=click.FloatRange(min=1), default=120.0, show_default=True,
              help="Seconds for one whole submission.")
@click.option("--memory", "memory_mb", type=click.IntRange(min=256), default=2048, show_default=True,
              help="Megabytes a submission may use beyond the grader's own.")
@click.option("--figures", type=click.Choice(["all", "drawn", "none"]), default="drawn", show_default=True,
              help="Figures kept: the student's PNGs (drawn, made in the sandbox), those and overlays of the expected "
                   "curves (all: matplotlib in this process, about 0.3 s CPU and 35 MB more), or none.")
@click.option("--require-token", is_flag=True, help="Only submissions with a token (student or instructor) are taken.")
@click.option("--cluster", metavar="ADDRESS", envvar="GRADER_CLUSTER",
              help="Grade on the workers of the Dask cluster whose scheduler is at ADDRESS, e.g. tcp://host:8786 "
                   "(or GRADER_CLUSTER); see docs/scaling.md.")
@click.option("--forwarded-allow-ips", metavar="IPS",
              help="Proxies whose X-Forwarded-For names the client (for rate limits), comma-separated.")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]), default="info",
              show_default=True)
def serve(host: str, port: int, db: Path, exercises_dirs: tuple[Path, ...], no_builtin: bool, jobs: int, queue_size: int,
          rate_per_minute: float, burst: int, max_upload_mb: float, timeout: float, total_timeout: float,
          memory_mb: int, figures: str, require_token: bool, cluster: str | None, forwarded_allow_ips: str | None,
          log_level: str) -> None:
    """Run the grading service: POST files to /api/v1/submissions, read results, keep a gradebook (see /docs).

    Everything is kept in the SQLite file --db; submissions left unfinished by a crash are graded
    on the next start. Stop it with Ctrl-C (or SIGTERM).
    """
    from grader.sandbox.isolation import protect_this_process
    from grader.sandbox.platform import check_environment

    # A cluster service grades one set for now: the course's own when one is given (as before), without
    # the built-in set beside it.
    directories = _set_directories(exercises_dirs, no_builtin or (cluster is not None and len(exercises_dirs) == 1))
    if cluster and len(directories) > 1:
        fail("grader serve: a cluster service grades one exercise set for now; give --cluster with one "
             "--exercises DIR, or none for the built-in set")
    if not cluster and (problem := check_environment()):  # on a cluster, the workers' machines sandbox
        fail(f"grader serve: {problem}")
    protect_this_process()
    store = _open_store(db, "grader serve")
    sock = _listen(host, port)
    from grader.sandbox.isolation import Limits
    from grader.sandbox.supervisor import Sandbox

    # Started first: the warm worker imports torch while this process loads the rest, and warms up
    # before it is ready, so that no submission after the start waits for that.
    # With --cluster the Dask workers grade and import the reference code; specs are checked here as YAML only.
    sandbox = None if cluster else Sandbox(Limits(memory_mb=memory_mb), warm_up="first").start()
    try:
        sets = _load_sets(directories, getattr(sandbox, "references", None))
    except SystemExit:
        if sandbox is not None:
            sandbox.close()
        raise
    exercises, exercises_dir, exercise_set = sets.default.exercises, sets.default.directory, sets.default.name

    import logging

    import uvicorn

    from grader.service.app import Service, create_app
    from grader.service.config import MiB, ServiceConfig
    from grader.service.pool import LocalPool

    config = ServiceConfig(db=db, exercises_dir=exercises_dir, jobs=jobs, queue_size=queue_size,
                           rate_per_minute=rate_per_minute, burst=burst, max_upload=int(max_upload_mb * MiB),
                           call_timeout=timeout, total_timeout=total_timeout, memory_mb=memory_mb,
                           figures=figures, require_token=require_token)  # type: ignore[arg-type]
    database = db.resolve()
    # The database and its WAL files are hidden from submissions (the sandbox also hides its own spool).
    hide = tuple(str(database) + suffix for suffix in ("", "-wal", "-shm"))
    if cluster:
        from grader.cli.cluster import cluster_pool

        pool = cluster_pool(cluster, exercises, exercises_dir, timeout, total_timeout, figures, hide)
    else:
        pool = LocalPool(exercises, jobs, timeout, total_timeout, memory_mb, figures, hide, sandbox, sets=sets)
    app = create_app(Service(config, store, exercises, exercise_set, pool, sets=sets))
    logging.getLogger("grader.service").setLevel(log_level.upper())
    bound = sock.getsockname()
    shown_host = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    click.echo(f"grader serve: http://{shown_host}:{bound[1]} (database {db}, {jobs} job(s), exercise sets: "
               f"{', '.join(sets.names)})",
               err=True)
    server = uvicorn.Server(uvicorn.Config(
        app, log_level=log_level, lifespan="on", proxy_headers=forwarded_allow_ips is not None,
        forwarded_allow_ips=forwarded_allow_ips, timeout_graceful_shutdown=5, server_header=False,
    ))
    server.run(sockets=[sock])
    sys.stdout.flush()
    sys.stderr.flush()
    # Without the interpreter's teardown: it would join grading threads that a closed pool left
    # waiting on their children's deadlines; everything is in the database already.
    os._exit(EXIT_OK if server.started else EXIT_BUG)


# -- grader submit -------------------------------------------------------------------------------------

class _Answer:
    """An HTTP answer: status, headers and the JSON body (or None)."""

    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status = status
        self.headers = headers
        try:
            self.data: Any = json.loads(body) if body else None
        except ValueError:
            self.data = None
        self.text = body.decode("utf-8", "replace")

    def message(self) -> str:
        """The server's sentence for an error answer."""
        if isinstance(self.data, dict) and isinstance(self.data.get("message"), str):
            return self.data["message"]
        return self.text.strip()[:500] or f"HTTP {self.status}"


def _request(method: str, url: str, body: bytes | None, headers: dict[str, str], timeout: float) -> _Answer:
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - the URL is the user's server
            return _Answer(answer.status, answer.headers, answer.read())
    except urllib.error.HTTPError as error:
        return _Answer(error.code, error.headers, error.read())


def _multipart(path: Path, data: bytes, fields: list[tuple[str, str]]) -> tuple[bytes, str]:
    """A multipart/form-data body with the file in `file`, and its content type."""
    import secrets

    boundary = "grader-" + secrets.token_hex(16)
    name = path.name.replace("\\", "_").replace('"', "_").replace("\r", "").replace("\n", "")
    parts = []
    for key, value in fields:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _fail_submit(path: str, message: str, code: int) -> NoReturn:
    fail(f"grader submit: {path}: {message}", code)


@click.command(short_help="Grade a file on a grading server; the same report as grade.")
@click.argument("path", metavar="FILE")
@click.option("--server", envvar="GRADER_SERVER", metavar="URL", help="The grading server (or GRADER_SERVER).")
@click.option("--token", envvar="GRADER_TOKEN", help="An access token, when the server wants one (or GRADER_TOKEN).")
@click.option("-e", "--exercise", "exercise_ids", multiple=True, metavar="ID", help="Grade only this exercise (repeatable).")
@click.option("--seed", type=click.IntRange(min=0, max=2**63 - 1), help="Seed of the generated inputs (default: fresh).")
@click.option("--lang", type=click.Choice(["en", "zh"]), help="Language of messages (default: from the locale).")
@click.option("--student", help="Who submits (a student token fixes it).")
@click.option("--exercise-set", metavar="NAME", help="The server's exercise set to grade against (default: its first; "
                                                      "GET /api/v1/exercises lists them).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people; json prints only the scorecard on stdout.")
@click.option("--fail-under", type=float, metavar="SCORE", help="Exit 0 when the score reaches SCORE.")
@click.option("-q", "--quiet", is_flag=True, help="Text format: list only checks that did not pass.")
@click.option("--wait", "wait_seconds", type=click.FloatRange(min=1), default=600, show_default=True,
              help="Seconds to wait for the result (and for a busy server).")
def submit(path: str, server: str | None, token: str | None, exercise_ids: tuple[str, ...], seed: int | None,
           lang: str | None, student: str | None, exercise_set: str | None, output_format: str, fail_under: float | None,
           quiet: bool, wait_seconds: float) -> None:
    """Send FILE to a grading server, wait for its result, print it as `grade` does, exit as `grade` does.

    Exit status: 0 every check passed, 1 something did not, 2 usage error or unreachable
    server, 3 a bug in the grader.
    """
    from grader.i18n import detect_lang

    if not server:
        fail("grader submit: give the server with --server URL (or set GRADER_SERVER)")
    file = Path(path)
    if file.is_dir():
        fail(f"grader submit: {path}: a directory; submit one .py file or .ipynb notebook at a time")
    if not file.is_file():
        fail(f"grader submit: {path}: no such file or directory")
    if file.suffix not in SUFFIXES:
        fail(f"grader submit: {path}: not a .py file or .ipynb notebook")
    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"grader submit: {path}: {exc.strerror or exc}")
    language = lang or detect_lang()
    base = server.rstrip("/")
    if not urllib.parse.urlsplit(base).scheme:
        base = "http://" + base
    headers = {"Accept": "application/json", "User-Agent": "grader-submit"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    fields = [("lang", language)] + [("exercises", e) for e in exercise_ids]
    fields += [("seed", str(seed))] if seed is not None else []
    fields += [("student", student)] if student else []
    fields += [("exercise_set", exercise_set)] if exercise_set else []
    body, content_type = _multipart(file, data, fields)
    deadline = time.monotonic() + wait_seconds
    answer = _call(path, "POST", f"{base}/api/v1/submissions", body, {**headers, "Content-Type": content_type}, deadline)
    if answer.status == 422 and isinstance(answer.data, dict) and answer.data.get("error") == "not_a_submission":
        _fail_submit(path, answer.message(), EXIT_FAILED)  # what `grade` reports as an ungradable file
    if answer.status not in (200, 202) or not isinstance(answer.data, dict) or "id" not in answer.data:
        _fail_submit(path, answer.message(), EXIT_BUG if answer.status >= 500 else EXIT_USAGE)
    result_url = f"{base}/api/v1/submissions/{urllib.parse.quote(answer.data['id'])}"
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            _fail_submit(path, f"no result after {wait_seconds:g} s; it is still at {result_url}", EXIT_USAGE)
        query = urllib.parse.urlencode({"form": "stored", "wait": f"{min(30.0, max(1.0, left)):.0f}"})
        answer = _call(path, "GET", f"{result_url}?{query}", None, headers, deadline)
        if answer.status != 200 or not isinstance(answer.data, dict):
            _fail_submit(path, answer.message(), EXIT_BUG if answer.status >= 500 else EXIT_USAGE)
        if answer.data.get("status") == "failed":
            _fail_submit(path, f"the server could not grade it: {answer.data.get('error')}", EXIT_BUG)
        if answer.data.get("status") == "graded" and answer.data.get("scorecard") is not None:
            break
    _report(path, answer.data["scorecard"], language, output_format, quiet, fail_under)


def _call(path: str, method: str, url: str, body: bytes | None, headers: dict[str, str], deadline: float) -> _Answer:
    """One request, retried after Retry-After while the server is busy (429, 503) and time is left."""
    while True:
        try:
            answer = _request(method, url, body, headers, timeout=max(5.0, min(90.0, deadline - time.monotonic() + 5)))
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            _fail_submit(path, f"cannot reach the grading server at {url.split('/api/')[0]}: {reason}", EXIT_USAGE)
        if answer.status not in (429, 503):
            return answer
        try:
            pause = float(answer.headers.get("Retry-After", "5"))
        except ValueError:
            pause = 5.0
        if time.monotonic() + pause > deadline:
            _fail_submit(path, answer.message(), EXIT_USAGE)
        click.echo(f"grader submit: {answer.message()}", err=True)
        time.sleep(pause)


def _report(path: str, stored: dict[str, Any], lang: str, output_format: str, quiet: bool,
            fail_under: float | None) -> NoReturn:
    """Print the scorecard as `grade` would for `path`, and exit with `grade`'s status."""
    from grader.cli import ci
    from grader.reporters import json_report, text
    from grader.scorecard import Scorecard

    # The report names the file as the user typed it, as `grade` does.
    card = Scorecard.model_validate(stored).model_copy(update={"submission": path})
    if output_format == "json":
        click.echo(json_report.render(card, lang), nl=False)  # type: ignore[arg-type]
    else:
        click.echo(ci.fenced_for_ci(text.render(card, color=use_color(sys.stdout), verbose=not quiet,
                                                lang=lang)))  # type: ignore[arg-type]
    if fail_under is not None:
        sys.exit(EXIT_OK if card.score >= fail_under else EXIT_FAILED)
    sys.exit(EXIT_OK if card.passed else EXIT_FAILED)


# -- grader token --------------------------------------------------------------------------------------

@click.group(short_help="Access tokens of a grading service.")
def token() -> None:
    """Create, list and revoke the access tokens of a grading service's database."""


@token.command("create", short_help="Make a token; it is printed once.")
@_db_option
@click.option("--role", type=click.Choice(["instructor", "student"]), required=True,
              help="instructor: every endpoint; student: submits as NAME only.")
@click.option("--name", help="Who holds it (for a student token: the student's name in the gradebook).")
def token_create(db: Path, role: str, name: str | None) -> None:
    """Make a token and print it on stdout (only its hash is stored: keep it, it cannot be shown again)."""
    from grader.service.auth import create_token

    if role == "student" and not name:
        fail("grader token create: a student token needs --name STUDENT (the name it submits as)")
    store = _open_store(db, "grader token create")
    token_id, secret = create_token(store, role, name or role)  # type: ignore[arg-type]
    click.echo(secret)
    click.echo(f"token {token_id} ({role}, {name or role}) stored in {db}; it is shown only now", err=True)


@token.command("list", short_help="The tokens of a database (never their secrets).")
@_db_option
def token_list(db: Path) -> None:
    """One line per token: id, role, name, created, and whether it was revoked."""
    store = _open_store(db, "grader token list")
    for row in store.tokens():
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(row.created))
        state = "revoked " + time.strftime("%Y-%m-%d %H:%M", time.localtime(row.revoked)) if row.revoked else "active"
        click.echo(f"{row.id}  {row.role:<10}  {row.name}  {created}  {state}")


@token.command("revoke", short_help="Revoke a token by its id.")
@click.argument("token_id", metavar="ID")
@_db_option
def token_revoke(token_id: str, db: Path) -> None:
    """Revoke the token ID (the 12 hex digits after `grader_`); it stops working at once."""
    store = _open_store(db, "grader token revoke")
    if not store.revoke_token(token_id):
        fail(f"grader token revoke: no active token {token_id!r} in {db} (see grader token list)")
    click.echo(f"token {token_id} revoked")


grader.add_command(serve)
grader.add_command(submit)
grader.add_command(token)
