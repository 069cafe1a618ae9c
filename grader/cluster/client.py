"""The grader's side of a Dask cluster: `grade DIR --cluster ADDRESS`.

`ClusterGrader` is what `grade` holds instead of a local Sandbox: a Dask client, the exercise
bundle it ships to workers, and a `references` loader that imports the reference code on a worker
(so that a broken reference.py is the same spec error, with the same file and line, as locally).
`grade_many` has the contract of `grader.batch.grade_many`: every submission queued at once,
results yielded in the order given, `on_done(graded, tally)` as each one finishes.

Submissions travel as bytes with their file name and come back as scorecard JSON, validated here
(`Scorecard.model_validate`). Faults:

- a worker that dies while grading: Dask runs its tasks again on the others; each task has one
  key and one future, so a submission is in the output once whatever happened under it;
- a submission whose workers die again and again: after the scheduler's `allowed-failures`,
  Dask gives up on it (`KilledWorker`), and it gets a zero-point scorecard that says so, its
  `internal_error` naming the cause for the instructor (`grade` then exits 3, after the others);
- the scheduler going away: Dask cancels every future; the batch stops with a `ClusterError`
  (`grade` exits 2 with its message), never with a wrong or a missing scorecard.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from grader.cluster import ClusterError, require_dask, scheduler_address
from grader.cluster.bundle import BundleError, ExerciseBundle, pack

if TYPE_CHECKING:
    from grader.batch import Tally
    from grader.grading import GradeOptions, Graded
    from grader.scorecard import Scorecard
    from grader.spec.loader import LoadedExercise

CONNECT_TIMEOUT = 10.0
"""Seconds to reach the scheduler (and, after losing it, to get it back before the client gives up)."""
WORKER_WAIT = 60.0
"""Seconds to wait for the first worker when a cluster has none."""
NO_WORKERS_TIMEOUT = 300.0
"""Seconds a batch waits with no worker at all in the cluster before it gives up."""
POLL = 1.0
"""Seconds between looks at the cluster while a batch waits for its next result."""


def task_key(index: int, display: str, token: str) -> str:
    """The Dask key of one submission's task: one group (`grade`) on the dashboard, the file's name readable."""
    safe = "".join(c if c.isalnum() or c in "._" else "_" for c in Path(display).name)[:60]
    return f"grade-{index}-{token}-{safe}"


def job_payload(name: str, display: str, source: bytes, exercise_ids: tuple[str, ...], options: GradeOptions,
                figures: str, plain: bool = False) -> dict[str, Any]:
    """A job as plain data (`grader.cluster.tasks.grade_job` reads it); `plain`: the overlays' curves back too."""
    fields = dataclasses.asdict(options)
    fields["hide"] = list(fields.get("hide", ()))
    return {"name": name, "display": display, "source": source, "exercises": list(exercise_ids),
            "options": fields, "figures": figures, "plain": plain}


def lost_scorecard(exercises: list[LoadedExercise], display: str, tries: int | None, lang: str,
                   detail: str) -> Scorecard:
    """Zero points and no blame: the Dask workers grading this submission died again and again, and Dask gave up."""
    from grader.grading import internal_error_scorecard
    from grader.i18n import msg

    card = internal_error_scorecard(exercises, display, detail, lang)  # type: ignore[arg-type]
    return card.model_copy(update={"error": msg("cluster_worker_lost", tries=tries or 0),
                                   "error_hint": msg("cluster_worker_lost_hint")})


def lost_detail(display: str, exc: BaseException) -> str:
    """What the instructor reads in `internal_error` when Dask gave up on a submission."""
    tries = getattr(exc, "allowed_failures", None)
    worker = getattr(getattr(exc, "last_worker", None), "address", None)
    return (f"The Dask workers grading {display} died {tries + 1 if tries is not None else 'several'} times "
            f"(the last one: {worker or 'unknown'}); the scheduler gave up on it (distributed.scheduler.allowed-failures"
            f"{f' = {tries}' if tries is not None else ''}). A sandboxed submission cannot do that by itself: look in "
            f"the workers' logs for the out-of-memory killer, a machine going away or a crash of the grader.\n{exc}")


def attachments_from(result: dict[str, Any]) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Graded.attachments rebuilt from a task's result: files already rendered on the worker."""
    from grader.checks.base import Attachment
    from grader.scorecard import Artifact

    found: dict[tuple[str, str], list[Any]] = {}
    for item in result.get("attachments", ()):
        description = Artifact.model_validate({"kind": item["kind"], "path": "", "description": item["description"]}).description
        found.setdefault((item["exercise"], item["check"]), []).append(
            Attachment(kind=item["kind"], name=item["name"], data=bytes(item["data"]), description=description))
    return {key: tuple(files) for key, files in found.items()}


def nothing_listens(address: str) -> str | None:
    """Why no scheduler can be at `address` right now (no such host, connection refused), or None when one may be.

    Dask keeps trying a refused connection until its timeout; a typo in a host name or a port is
    said at once instead. Anything slower (a firewall that drops packets) is left to Dask's timeout.
    """
    import socket

    host, _, port = address.partition("://")[2].rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=2.0):
            return None
    except (socket.gaierror, UnicodeError) as exc:
        return f"no host named {host} ({exc})"
    except ConnectionRefusedError:
        return f"nothing listens on port {port} of {host}"
    except OSError:
        return None  # a timeout or an unreachable network: Dask's own wait decides


class RemoteReferences:
    """The `ReferenceLoader` that `load_exercises` takes: the reference worker of a worker of the cluster.

    It answers as `grader.sandbox.references.ReferenceWorker` does, for what checking specs asks
    (`load`, `resolve`, `inputs`); each request is one small task.
    """

    def __init__(self, cluster: ClusterGrader) -> None:
        self.cluster = cluster

    def request(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send one request that names no file and wait for its answer."""
        from grader.cluster.tasks import reference_request

        return self.cluster.client.submit(reference_request, request, pure=False).result()

    def resolve(self, names: list[str]) -> dict[str, Any]:
        """Whether each qualified name exists and its calls can be observed (`{"names": {name: None | problem}}`)."""
        return self.request({"op": "resolve", "names": list(names)})

    def inputs(self, args: list[dict[str, Any]], on: list[list[dict[str, Any]] | None] | None = None) -> dict[str, Any]:
        """Build each argument once, calling function arguments on `on[i]` (`{"errors": [None | error]}`)."""
        return self.request({"op": "inputs", "args": list(args), "on": list(on or [])})

    def load(self, modules: dict[str, Path]) -> dict[str, Any]:
        """`{"functions": {key: [names]}, "errors": {key: {type, message, line}}}`, with this machine's file names."""
        from grader.cluster.tasks import load_references

        root = self.cluster.root
        relative: dict[str, str] = {}
        errors: dict[str, dict[str, Any]] = {}
        for key, path in modules.items():
            try:
                relative[key] = Path(path).resolve().relative_to(root).as_posix()
            except ValueError:
                errors[key] = {"type": "FileNotFoundError", "line": None,
                               "message": f"{path} is outside {root}, and the cluster receives only that directory"}
        reply: dict[str, Any] = {"functions": {}, "errors": {}}
        if relative:
            reply = self.cluster.client.submit(load_references, self.cluster.bundle_future(), relative,
                                               pure=False).result()
        there = str(reply.get("root") or "")
        for key, error in (reply.get("errors") or {}).items():
            message = str(error.get("message", ""))
            errors[key] = {**error, "message": message.replace(there, str(root)) if there else message}
        return {"functions": reply.get("functions") or {}, "errors": errors}


class ClusterGrader:
    """A connection to a Dask cluster that grades there: what `grade --cluster` holds in place of a Sandbox."""

    is_cluster = True
    """What tells `grade` to use this module's `grade_many` instead of `grader.batch`'s."""

    def __init__(self, address: str, exercises_root: Path, connect_timeout: float = CONNECT_TIMEOUT,
                 worker_wait: float = WORKER_WAIT) -> None:
        """Connect to the scheduler at `address` and check that a worker can grade; ClusterError otherwise.

        `exercises_root`: the directory of exercise specs to grade against, shipped to the workers.
        """
        self.address = scheduler_address(address)
        require_dask()
        from distributed import Client

        self.root = Path(exercises_root).resolve()
        self._bundle: ExerciseBundle | None = None
        self._bundle_future: Any = None
        self._bundle_sends = 0
        self._lock = threading.Lock()
        refused = nothing_listens(self.address)
        if refused:
            raise ClusterError(f"cannot reach the Dask scheduler at {self.address}: {refused}; is it running "
                               "(`dask scheduler`), and is the address right?")
        try:
            self.client = Client(self.address, timeout=connect_timeout, set_as_default=False)
        except Exception as exc:  # noqa: BLE001 - whatever Dask raises for it (timeouts, refused, TLS), it is unreachable
            raise ClusterError(f"cannot reach the Dask scheduler at {self.address}: {exc}; is it running "
                               "(`dask scheduler`), and is the address right?") from None
        try:
            self.workers = self._check_workers(worker_wait)
        except BaseException:
            self.close()
            raise
        self.references = RemoteReferences(self)
        """Imports reference code on a worker (`load_exercises(..., references=...)`)."""

    def _check_workers(self, wait: float) -> dict[str, Any]:
        """One worker's description (version, isolation); ClusterError when none comes or it cannot grade."""
        from grader import __version__
        from grader.cluster.tasks import describe_worker

        try:
            self.client.wait_for_workers(1, timeout=wait)
        except TimeoutError:
            raise ClusterError(f"the Dask cluster at {self.address} has no workers after {wait:g} s; add one with "
                               f"`grader worker {self.address}`") from None
        try:
            described = self.client.submit(describe_worker, pure=False).result(timeout=max(wait, 180.0))
        except Exception as exc:  # noqa: BLE001 - whatever kept the worker from answering, it cannot grade
            raise ClusterError(f"the Dask workers at {self.address} cannot run the grader ({type(exc).__name__}: {exc}); "
                               "install the same autograd-grader there, with the cluster extra") from None
        if described.get("version") != __version__:
            raise ClusterError(f"the Dask worker {described.get('worker')} runs autograd-grader {described.get('version')} "
                               f"and this is {__version__}: install the same version everywhere, or results could differ")
        return described

    @property
    def bundle(self) -> ExerciseBundle:
        """The exercise directory as data (packed on first use, then kept)."""
        with self._lock:
            if self._bundle is None:
                try:
                    self._bundle = pack(self.root)
                except BundleError as exc:
                    raise ClusterError(str(exc)) from None
            return self._bundle

    def bundle_future(self) -> Any:
        """The bundle as a Dask future that grading tasks depend on, so that each worker fetches it once.

        A task (not scattered data), so that Dask makes it again if every worker holding it dies;
        keyed by the content hash, so that clients grading against the same set share it.
        """
        from grader.cluster.tasks import echo

        bundle = self.bundle
        with self._lock:
            if self._bundle_future is None or self._bundle_future.status in ("cancelled", "lost", "error"):
                # A fresh key when sent again: the client would hand back the cancelled future of a key it knows.
                self._bundle_sends += 1
                self._bundle_future = self.client.submit(echo, bundle, key=f"grader-exercises-{bundle.digest[:32]}-"
                                                                          f"{self._bundle_sends}",
                                                         pure=False)
            return self._bundle_future

    def watch(self, since: float) -> float:
        """Raise ClusterError when the scheduler is gone, or the cluster has had no worker since `since` for too long.

        Returns the new `since`: now when there are workers, else `since` unchanged.
        """
        if self.client.status not in ("running", "connecting", "newly-created"):
            raise ClusterError(f"the connection to the Dask scheduler at {self.address} was closed")
        try:
            workers = self.client.scheduler_info().get("workers", {})
        except Exception:  # noqa: BLE001 - no information now is not a verdict
            return since
        now = time.monotonic()
        if workers:
            return now
        if now - since > NO_WORKERS_TIMEOUT:
            raise ClusterError(f"the Dask cluster at {self.address} has had no worker for {NO_WORKERS_TIMEOUT:g} s")
        return since

    def close(self) -> None:
        """Drop the connection (the cluster and its workers go on)."""
        try:
            self.client.close(timeout=5)
        except Exception:  # noqa: BLE001 - closing a client whose scheduler is gone may complain; nothing to save
            pass


class Batch:
    """One batch on the cluster: a future per submission, results as they land, in input order on request."""

    def __init__(self, cluster: ClusterGrader, submissions: list[tuple[Path, str]], exercises: list[LoadedExercise],
                 options: GradeOptions, on_done: Callable[[Graded, Tally], None] | None = None) -> None:
        """Queue every submission at once (read here, graded there)."""
        from grader.batch import Tally
        from grader.cluster.tasks import grade_job
        from grader.grading import grade_submission
        from grader.source import SubmissionError, read_file

        self.cluster = cluster
        self.submissions = submissions
        self.exercises = exercises
        self.options = options
        self.on_done = on_done
        self.tally = Tally(len(submissions))
        self.outcomes: list[Future[Graded]] = [Future() for _ in submissions]
        self.placed: dict[int, tuple[str, int]] = {}
        """Where each result was graded: (worker address, its process id), by index."""
        self.keys: dict[int, str] = {}
        self._futures: dict[int, Any] = {}
        ids = tuple(e.spec.id for e in exercises)
        figures = "all" if options.keep_figures else "none"
        token = secrets.token_hex(4)
        payloads, indices = [], []
        for index, (path, display) in enumerate(submissions):
            try:
                data = read_file(path)
            except OSError:
                # Graded here as `grade` grades it: the same reading fails the same way, and the
                # scorecard that says why needs no sandbox.
                try:
                    self._finish(index, grade_submission(path, exercises, None, options, display))  # type: ignore[arg-type]
                except SubmissionError as exc:
                    self.outcomes[index].set_exception(exc)
                continue
            payloads.append(job_payload(path.name, display, data, ids, options, figures))
            indices.append(index)
            self.keys[index] = task_key(index, display, token)
        if payloads:
            bundle = cluster.bundle_future()
            futures = cluster.client.map(grade_job, [bundle] * len(payloads), payloads,
                                         key=[self.keys[i] for i in indices], pure=False)
            for index, future in zip(indices, futures):
                self._futures[index] = future
                future.add_done_callback(lambda done, index=index: self._landed(index, done))

    def _landed(self, index: int, future: Any) -> None:
        """A task finished, failed or was cancelled: turn it into this submission's outcome (in Dask's callback thread)."""
        from distributed.client import FutureCancelledError
        from distributed.scheduler import KilledWorker

        from grader.checks.base import ReferenceFailure
        from grader.grading import Graded, internal_error_scorecard
        from grader.scorecard import Scorecard

        path, display = self.submissions[index]
        try:
            try:
                result = future.result()
            except FutureCancelledError:
                self.outcomes[index].set_exception(ClusterError(self._lost_message("the connection was lost")))
                return
            except Exception as exc:  # noqa: BLE001 - sorted below: Dask giving up, or a grader bug on the worker
                if isinstance(exc, KilledWorker):
                    card = lost_scorecard(self.exercises, display, exc.allowed_failures + 1, self.options.lang,
                                          lost_detail(display, exc))
                else:
                    import traceback

                    details = "".join(traceback.format_exception(exc))
                    card = internal_error_scorecard(self.exercises, display, f"on a Dask worker:\n{details}",
                                                    self.options.lang)
                self._finish(index, Graded(card, identity=str(path.resolve())))
                return
            # Forgotten by the cluster at once: a result kept on a worker would be graded again if that worker died.
            self._release(index, future)
            if "reference_failure" in result:
                self.outcomes[index].set_exception(ReferenceFailure(result["reference_failure"]))
                return
            graded = Graded(Scorecard.model_validate(result["scorecard"]), attachments_from(result),
                            identity=str(path.resolve()))
            self.placed[index] = (str(result.get("worker")), int(result.get("pid", 0)))
            self._finish(index, graded)
        except BaseException as exc:  # noqa: BLE001 - whatever went wrong here is this outcome's, not the callback thread's
            if not self.outcomes[index].done():
                self.outcomes[index].set_exception(exc)

    def _release(self, index: int, future: Any) -> None:
        self._futures.pop(index, None)
        try:
            future.release()
        except Exception:  # noqa: BLE001 - a client that is closing has released it already
            pass

    def _finish(self, index: int, graded: Graded) -> None:
        if self.outcomes[index].done():
            return  # one outcome per submission, whatever Dask reports afterwards
        self.outcomes[index].set_result(graded)
        snapshot = self.tally.add(graded)
        if self.on_done is not None:
            self.on_done(graded, snapshot)

    def _lost_message(self, why: str) -> str:
        done = sum(1 for outcome in self.outcomes if outcome.done() and outcome.exception() is None)
        return (f"lost the Dask scheduler at {self.cluster.address} with {done} of {len(self.outcomes)} submissions "
                f"graded ({why}); none was reported twice or made up, and the batch is incomplete: "
                "grade it again when the scheduler is back")

    def results(self) -> Iterator[Graded]:
        """Each submission's Graded, in the order given; raises ClusterError when the cluster is lost."""
        since = time.monotonic()
        for outcome in self.outcomes:
            while True:
                try:
                    yield outcome.result(timeout=POLL)
                    break
                except TimeoutError:
                    try:
                        since = self.cluster.watch(since)
                    except ClusterError as exc:
                        raise ClusterError(self._lost_message(str(exc))) from None

    def cancel(self) -> None:
        """Cancel what has not finished (the batch was abandoned); safe to call twice or after the scheduler left."""
        pending = [f for f in list(self._futures.values()) if not f.done()]
        if pending and self.cluster.client.status == "running":
            try:
                self.cluster.client.cancel(pending)
            except Exception:  # noqa: BLE001 - cancelling is a courtesy to the cluster
                pass


def grade_many(submissions: list[tuple[Path, str]], exercises: list[LoadedExercise], cluster: ClusterGrader,
               options: GradeOptions, jobs: int = 0, on_done: Callable[[Graded, Tally], None] | None = None) -> Iterator[Graded]:
    """Grade every submission on the cluster; yield results in the order given (`grader.batch.grade_many`'s contract).

    `jobs` is not used: how many run at once is the cluster's (its workers' threads).
    """
    del jobs
    batch = Batch(cluster, submissions, exercises, options, on_done)
    try:
        yield from batch.results()
    finally:
        batch.cancel()
