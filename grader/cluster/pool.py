"""The service's `Pool` on a Dask cluster: `grader serve --cluster ADDRESS`.

The queue (grader/service/queue.py) hands a `Job` to `submit` and waits on the future; this pool
sends the job to the cluster as a task and completes the future with the `Outcome` built from the
task's result. What it adds to one batch's client is staying power:

- the scheduler going away cancels every Dask future; the jobs stay in this pool (the database
  still says `running`), and a watcher thread connects again (every few seconds, for as long as
  the service runs) and sends them again. Their futures complete when the cluster is back, so the
  service keeps its queue and resumes by itself; a restart of the service in the meantime finds
  them in the database (`Store.recover`), as after any crash;
- a worker dying under a job is Dask's to handle (run it elsewhere); a job whose workers die
  again and again is given a scorecard that says so, once Dask gives up on it;
- `slots` follows the cluster: the threads of its workers, refreshed by the watcher.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.cluster import ClusterError, require_dask, scheduler_address
from grader.cluster.bundle import BundleError, ExerciseBundle, pack
from grader.service.pool import Job, Outcome, disk_name
from grader.store import Figure

if TYPE_CHECKING:
    from grader.spec.loader import LoadedExercise

log = logging.getLogger("grader.service")

RECONNECT_EVERY = 3.0
"""Seconds between attempts to reach a scheduler that is gone, and between looks at the cluster's size."""
CONNECT_TIMEOUT = 5.0


class ClusterPool:
    """Grades the service's jobs on a Dask cluster's workers (one warm worker each, as `grader worker` starts them)."""

    def __init__(self, address: str, exercises: list[LoadedExercise], exercises_root: Path, call_timeout: float,
                 total_timeout: float, figures: str, hide: tuple[str, ...] = (),
                 reconnect_every: float = RECONNECT_EVERY) -> None:
        """`exercises`: as the service loaded them (for ids and for scorecards made here); `exercises_root`: shipped to workers."""
        self.address = scheduler_address(address)  # a malformed one stops `grader serve` at once; an absent one is waited for
        require_dask()
        self.exercises = exercises
        self.root = Path(exercises_root).resolve()
        self.call_timeout = call_timeout
        self.total_timeout = total_timeout
        self.figures = figures
        self.hide = tuple(hide)
        self.reconnect_every = reconnect_every
        self.slots = 1
        """Jobs graded at once: the cluster's worker threads (at least 1), as last seen."""
        self._bundle: ExerciseBundle | None = None
        self._client: Any = None
        self._bundle_future: Any = None
        self._lock = threading.Lock()
        self._jobs: dict[str, tuple[Job, Future[Outcome]]] = {}
        self._sent: dict[str, Any] = {}
        self._sends = 0
        """Tasks sent so far: part of every key. A Dask client hands back its old future for a key it
        still knows, so a job (or the bundle) sent again under the same key after a lost scheduler
        would come back cancelled at once, again and again."""
        self._isolation: dict[str, Any] = {}
        self._closed = threading.Event()
        self._watcher: threading.Thread | None = None
        self.reconnects = 0
        """How many times the pool connected again after losing the scheduler."""

    # -- Pool -------------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect if the scheduler answers (else keep trying in the background: jobs wait, stored); start the watcher."""
        try:
            self._bundle = pack(self.root)
        except BundleError as exc:
            raise ClusterError(str(exc)) from None
        try:
            self._connect()
        except Exception as exc:  # noqa: BLE001 - the service starts anyway and grades once the cluster is there
            log.warning("the Dask scheduler at %s does not answer (%s); submissions are kept and graded when it does",
                        self.address, exc)
        self._watcher = threading.Thread(target=self._watch, name="cluster-watch", daemon=True)
        self._watcher.start()

    def isolation(self) -> dict[str, Any]:
        """The isolation of a worker's warm worker, as seen when the pool connected ({} before that)."""
        return dict(self._isolation)

    def healthy(self) -> bool:
        """Connected to the scheduler, and the cluster has at least one worker."""
        client = self._client
        if client is None or client.status != "running":
            return False
        try:
            return bool(client.scheduler_info().get("workers"))
        except Exception:  # noqa: BLE001 - no answer is not healthy
            return False

    def submit(self, job: Job) -> Future[Outcome]:
        """Grade `job` on the cluster; the future completes when it is graded, however long the cluster is away."""
        future: Future[Outcome] = Future()
        with self._lock:
            self._jobs[job.id] = (job, future)
        self._send(job.id)
        return future

    def close(self) -> None:
        """Stop: jobs still waiting end with an error (the queue puts them back in the database as queued)."""
        self._closed.set()
        with self._lock:
            jobs, self._jobs = self._jobs, {}
            client, self._client = self._client, None
        for _, future in jobs.values():
            if not future.done():
                future.set_exception(RuntimeError("the grading pool is closed"))
        if client is not None:
            try:
                client.close(timeout=5)
            except Exception:  # noqa: BLE001 - the scheduler may be gone already
                pass

    # -- the connection -----------------------------------------------------------------------------

    def _connect(self) -> None:
        from distributed import Client

        from grader.cluster.tasks import echo

        client = Client(self.address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        assert self._bundle is not None
        with self._lock:
            self._sends += 1
            key = f"grader-exercises-{self._bundle.digest[:32]}-{self._sends}"
        bundle = client.submit(echo, self._bundle, key=key, pure=False)
        with self._lock:
            old, self._client, self._bundle_future = self._client, client, bundle
        if old is not None and old is not client:
            try:
                old.close(timeout=1)
            except Exception:  # noqa: BLE001 - an old client of a scheduler that went away
                pass
        self._refresh()
        self._describe()

    def _describe(self) -> None:
        """Ask a worker for its isolation, once there is one (it is only a description: scorecards say what each job had)."""
        from grader.cluster.tasks import describe_worker

        client = self._client
        if self._isolation or client is None or not client.scheduler_info().get("workers"):
            return
        try:
            self._isolation = dict(client.submit(describe_worker, pure=False).result(timeout=60).get("isolation") or {})
        except Exception as exc:  # noqa: BLE001 - asked again by the watcher
            log.warning("could not ask a Dask worker for its isolation: %s", exc)

    def _refresh(self) -> None:
        """Slots from the cluster's current worker threads."""
        client = self._client
        try:
            workers = client.scheduler_info().get("workers", {}) if client is not None else {}
        except Exception:  # noqa: BLE001 - keep the last figure
            return
        self.slots = max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))

    def _watch(self) -> None:
        """Connect again after losing the scheduler, send again what was lost with it, keep `slots` current."""
        while not self._closed.wait(self.reconnect_every):
            client = self._client
            if client is None or client.status in ("closed", "closing", "failed"):
                try:
                    self._connect()
                    self.reconnects += 1
                    log.info("connected again to the Dask scheduler at %s", self.address)
                except Exception as exc:  # noqa: BLE001 - not back yet: try again later
                    log.debug("the Dask scheduler at %s is still away: %s", self.address, exc)
                    continue
            elif client.status != "running":
                continue  # Dask's own client is reconnecting
            self._refresh()
            self._describe()
            with self._lock:
                unsent = [job_id for job_id in self._jobs if job_id not in self._sent]
            for job_id in unsent:
                self._send(job_id)

    # -- one job ------------------------------------------------------------------------------------

    def _payload(self, job: Job) -> dict[str, Any]:
        from grader.cluster.client import job_payload
        from grader.grading import GradeOptions

        options = GradeOptions(seed=job.seed, call_timeout=self.call_timeout, total_timeout=self.total_timeout,
                               lang=job.lang, hide=self.hide, keep_figures=self.figures != "none")  # type: ignore[arg-type]
        return job_payload(disk_name(job.filename), job.filename, job.source, tuple(job.exercises), options, self.figures,
                           plain=self.figures != "none")

    def _send(self, job_id: str) -> None:
        """Send one job to the cluster, unless the connection is down (the watcher sends it once it is up)."""
        from grader.cluster.tasks import echo, grade_job

        with self._lock:
            entry = self._jobs.get(job_id)
            client, bundle = self._client, self._bundle_future
            if entry is None or job_id in self._sent or client is None or client.status != "running":
                return
            job, _ = entry
            try:
                if bundle is None or bundle.status in ("cancelled", "lost", "error"):
                    # Dask's client reconnected by itself (a quick restart of the scheduler), and the
                    # bundle went with the old scheduler: send it again, under a key of its own.
                    assert self._bundle is not None
                    self._sends += 1
                    bundle = client.submit(echo, self._bundle, pure=False,
                                           key=f"grader-exercises-{self._bundle.digest[:32]}-{self._sends}")
                    self._bundle_future = bundle
                self._sends += 1
                # Never sent twice at once (only once the last one was cancelled), so one outcome per job.
                task = client.submit(grade_job, bundle, self._payload(job), key=f"grade-{job.id}-{self._sends}",
                                     pure=False)
            except Exception as exc:  # noqa: BLE001 - the connection broke just now: the watcher sends it again
                log.info("could not send job %s to the cluster (%s); it waits", job.id, exc)
                return
            self._sent[job_id] = task
        task.add_done_callback(lambda done: self._landed(job_id, done))

    def _landed(self, job_id: str, task: Any) -> None:
        """A task finished, failed or was cancelled (Dask's callback thread)."""
        from distributed.client import FutureCancelledError
        from distributed.scheduler import KilledWorker

        with self._lock:
            if self._sent.get(job_id) is task:
                del self._sent[job_id]
            entry = self._jobs.get(job_id)
        if entry is None:
            return
        job, future = entry
        try:
            try:
                result = task.result()
            except FutureCancelledError:
                # The scheduler went away (or the pool is closing): the job stays; the watcher sends it again.
                log.warning("lost the Dask scheduler while grading job %s; it is sent again when it is back", job_id)
                return
            except KilledWorker as exc:
                outcome = self._lost(job, exc)
            else:
                task.release()  # forgotten by the cluster: a result kept on a worker would be graded again if it died
                if "reference_failure" in result:
                    raise RuntimeError(f"the exercise's reference code failed: {result['reference_failure']}")
                outcome = self._outcome(result)
        except BaseException as exc:  # noqa: BLE001 - a fault of the grader fails this job, not the service
            self._settle(job_id, future, exception=exc)
            return
        self._settle(job_id, future, outcome=outcome)

    def _settle(self, job_id: str, future: Future[Outcome], outcome: Outcome | None = None,
                exception: BaseException | None = None) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)
        if future.done():
            return
        if exception is not None:
            future.set_exception(exception)
        else:
            future.set_result(outcome)  # type: ignore[arg-type]

    def _outcome(self, result: dict[str, Any]) -> Outcome:
        from grader.scorecard import Scorecard

        card = Scorecard.model_validate(result["scorecard"])  # validated on arrival, stored in its own JSON form
        figures = tuple(Figure(f"{a['exercise']}.{a['check']}.{a['name']}", a["exercise"], a["check"], a["kind"], bytes(a["data"]))
                        for a in (*result.get("plain", ()), *result.get("attachments", ())))
        return Outcome(card.model_dump(mode="json"), figures, float(result.get("seconds", 0.0)))

    def _lost(self, job: Job, exc: Exception) -> Outcome:
        from grader.cluster.client import lost_detail, lost_scorecard

        by_id = {e.spec.id: e for e in self.exercises}
        exercises = [by_id[w] for w in job.exercises if w in by_id] if job.exercises else list(self.exercises)
        tries = getattr(exc, "allowed_failures", -1) + 1
        card = lost_scorecard(exercises, job.filename, tries, job.lang, lost_detail(job.filename, exc))
        log.error("job %s: the Dask workers grading it died %d times; marked not graded", job.id, tries)
        return Outcome(card.model_dump(mode="json"), (), 0.0)

    def pending(self) -> int:
        """Jobs handed to the pool and not yet settled (waiting for the cluster or being graded)."""
        with self._lock:
            return len(self._jobs)
