"""The Dask worker plugin: one warm Sandbox per Dask worker, started with it, restarted if it dies, closed with it.

A Dask worker process then plays the part `grade` plays on one machine: it holds a `Sandbox`
(whose warm worker imported torch once; this process never imports torch), loads exercises from
the bundles it receives, and runs `grade_submission` for each task, several at a time when the
Dask worker has several threads (the Sandbox is thread-safe). Isolation and warm starts are
exactly those of one machine, because they are the same code.

Everything the plugin writes (submissions being graded, unpacked exercises) is in a private
directory of its own, hidden from submissions together with the Dask worker's own directory.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distributed import WorkerPlugin

from grader.cluster import PLUGIN_NAME
from grader.cluster.bundle import ExerciseBundle, unpack

if TYPE_CHECKING:
    from grader.sandbox.supervisor import Sandbox
    from grader.spec.loader import LoadedExercise

log = logging.getLogger("grader.cluster")

MAX_CACHED_BUNDLES = 8
"""Exercise sets kept loaded per worker (a service grades against one; a shared cluster may see a few)."""


def warm_worker_alive(sandbox: Sandbox) -> bool:
    """Whether a Sandbox's warm worker process still runs (True before it started, and where there is none)."""
    import psutil  # Dask depends on it; it tells a zombie from a live process without reaping it

    pid = sandbox.worker_pid
    if pid is None:
        return True
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class GraderPlugin(WorkerPlugin):
    """Starts one warm Sandbox when its Dask worker starts, restarts it if it dies, closes it at teardown."""

    name = PLUGIN_NAME

    def __init__(self, memory_mb: int = 2048, namespaces: str = "auto") -> None:
        """`memory_mb`: what each submission may use beyond the grader's own (`grade --memory`); `namespaces`: as Sandbox's."""
        self.memory_mb = memory_mb
        self.namespaces = namespaces
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._sandbox: Sandbox | None = None
        self._generation = 0
        self._spool: Path | None = None
        self._local_directory: str | None = None
        self._bundles: dict[str, list[LoadedExercise]] = {}
        self._bundle_locks: dict[str, Any] = {}
        self.restarts = 0
        """How many times the warm worker was started again after it died."""

    # The plugin travels to workers pickled: only its settings, never a running sandbox.
    def __getstate__(self) -> dict[str, Any]:
        return {"memory_mb": self.memory_mb, "namespaces": self.namespaces}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.memory_mb = state["memory_mb"]
        self.namespaces = state["namespaces"]
        self._reset()

    # -- life cycle (called by the Dask worker) ------------------------------------------------------

    def setup(self, worker: Any) -> None:
        """Start the warm worker without waiting for it: it imports torch while the Dask worker connects."""
        from grader.sandbox.isolation import protect_this_process

        # Other processes of this user (a submission's among them) may not read this one's memory:
        # it holds the exercises and judges the answers.
        protect_this_process()
        self._spool = Path(tempfile.mkdtemp(prefix="grader-worker-"))
        self._local_directory = getattr(worker, "local_directory", None)
        with self._lock:
            self._sandbox = self._new_sandbox()
        threading.Thread(target=self._warm, name="grader-warm-up", daemon=True).start()

    def teardown(self, worker: Any) -> None:
        """Close the warm worker (its children die with it) and remove the private directory."""
        with self._lock:
            sandbox, self._sandbox = self._sandbox, None
        if sandbox is not None:
            sandbox.close()
        if self._spool is not None:
            shutil.rmtree(self._spool, ignore_errors=True)

    def _new_sandbox(self) -> Sandbox:
        from grader.sandbox.isolation import Limits
        from grader.sandbox.supervisor import Sandbox

        return Sandbox(Limits(memory_mb=self.memory_mb), namespaces=self.namespaces).start()

    def _warm(self) -> None:
        with self._lock:
            sandbox = self._sandbox
        if sandbox is None:
            return
        try:
            sandbox.wait_ready()
        except Exception as exc:  # noqa: BLE001 - logged here; the first task meets it again and restarts
            with self._lock:
                current = self._sandbox is sandbox
            if current:  # not when the worker closed it under us (a worker stopping while it warmed up)
                log.error("the warm worker did not start: %s", exc)

    # -- what tasks use ----------------------------------------------------------------------------

    def sandbox(self) -> tuple[Sandbox, int]:
        """The live Sandbox and its generation (started again first if its warm worker died)."""
        with self._lock:
            sandbox, generation = self._sandbox, self._generation
        if sandbox is None:
            raise RuntimeError("the grader plugin is closed (its Dask worker is shutting down)")
        if not warm_worker_alive(sandbox):
            self.restart(generation, "its process was gone")
            return self.sandbox()
        return sandbox, generation

    def restart(self, generation: int, why: str) -> bool:
        """Replace the Sandbox of `generation` after its warm worker died (once, however many threads noticed)."""
        with self._lock:
            if generation != self._generation or self._sandbox is None:
                return False  # another thread restarted it already
            log.warning("the warm worker died (%s); starting a new one", why)
            old = self._sandbox
            try:
                old.close()
            except Exception:  # noqa: BLE001 - it is dead already; what matters is the new one
                pass
            fresh = self._new_sandbox()
            self._sandbox = fresh
            self._generation += 1
            self.restarts += 1
        fresh.wait_ready()
        return True

    def alive(self, generation: int) -> bool:
        """Whether the Sandbox of `generation` is still the current one and its warm worker runs."""
        with self._lock:
            sandbox, current = self._sandbox, self._generation
        return sandbox is not None and current == generation and warm_worker_alive(sandbox)

    @property
    def hidden(self) -> tuple[str, ...]:
        """Paths no submission may see: the plugin's private directory and the Dask worker's own."""
        return tuple(str(p) for p in (self._spool, self._local_directory) if p)

    def job_directory(self) -> Path:
        """A fresh private directory for one submission (the caller removes it)."""
        assert self._spool is not None, "setup() has not run"
        return Path(tempfile.mkdtemp(prefix="job-", dir=self._spool))

    def exercise_root(self, bundle: ExerciseBundle) -> Path:
        """Where this worker unpacked `bundle` (unpacking it the first time)."""
        assert self._spool is not None, "setup() has not run"
        root = self._spool / f"exercises-{bundle.digest[:32]}"
        with self._bundle_lock(bundle.digest):
            if not root.is_dir():
                staging = Path(tempfile.mkdtemp(prefix="unpacking-", dir=self._spool))
                unpack(bundle, staging / "set")
                (staging / "set").rename(root)
                shutil.rmtree(staging, ignore_errors=True)
        return root

    def exercises(self, bundle: ExerciseBundle) -> list[LoadedExercise]:
        """The exercises of `bundle`, unpacked and loaded once per worker; SpecError as `load_exercises` raises it.

        The reference code is imported in the sandbox's reference worker when loaded, as `grade`
        does, so that a broken reference.py is a spec error here too.
        """
        from grader.spec.loader import load_exercises

        with self._bundle_lock(bundle.digest):
            loaded = self._bundles.get(bundle.digest)
            if loaded is None:
                root = self.exercise_root(bundle)
                sandbox, _ = self.sandbox()
                loaded = load_exercises(root, references=sandbox.references)
                if len(self._bundles) >= MAX_CACHED_BUNDLES:
                    self._bundles.pop(next(iter(self._bundles)))
                self._bundles[bundle.digest] = loaded
        return loaded

    def _bundle_lock(self, digest: str) -> Any:
        # Re-entrant: exercises() holds it while exercise_root() takes it again.
        with self._lock:
            return self._bundle_locks.setdefault(digest, threading.RLock())
