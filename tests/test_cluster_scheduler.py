"""A cluster made as docs/scaling.md makes one: `dask scheduler` and `grader worker`, each a process of its own.

The scheduler is killed (SIGKILL) and started again on the same port: a batch of `grade
--cluster` in progress fails with a clear message (exit 2), the service's pool keeps its job and
grades it once the scheduler is back, and `grader worker` rejoins by itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cluster_support.processes import Process, free_port, grader_worker, scheduler
from conftest import EXAMPLES, run_cli
from grader.spec.loader import builtin_exercises_dir

SLOW_SOLUTION = "import time\ntime.sleep(1.5)\n" + (EXAMPLES / "solution.py").read_text(encoding="utf-8")
"""The full solution, taking a second and a half more to import: a batch of them lasts long enough to be interrupted."""


class Cluster:
    """A scheduler on a fixed port (so that it can come back at the same address) and one `grader worker`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.scheduler: Process | None = None
        self.worker: Process | None = None

    def start_scheduler(self) -> None:
        """Start (or start again) the scheduler."""
        self.scheduler = scheduler(self.port, self.directory / "scheduler.log")

    def kill_scheduler(self) -> None:
        """SIGKILL the scheduler."""
        assert self.scheduler is not None
        self.scheduler.kill()

    def wait_for_worker(self, timeout: float = 300) -> None:
        """Until a worker has joined the scheduler and its warm worker is ready."""
        from distributed import Client

        from grader.cluster.tasks import describe_worker

        with Client(self.address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(1, timeout=timeout)
            client.submit(describe_worker, pure=False).result(timeout=timeout)

    def stop(self) -> None:
        """Stop the worker and the scheduler with everything they started."""
        for process in (self.worker, self.scheduler):
            if process is not None:
                process.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and a `grader worker --jobs 1` that joined it."""
    instance = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        instance.start_scheduler()
        instance.worker = grader_worker(instance.address, instance.directory / "worker.log", jobs=1)
        instance.wait_for_worker()
        yield instance
    finally:
        instance.stop()


def test_an_unreachable_scheduler_is_a_clear_usage_error(tmp_path):
    shutil.copyfile(EXAMPLES / "solution.py", tmp_path / "solution.py")
    done = run_cli(str(tmp_path / "solution.py"), "--cluster", f"tcp://127.0.0.1:{free_port()}", timeout=120)
    assert done.returncode == 2
    assert "grade: cannot reach the Dask scheduler at tcp://127.0.0.1:" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("command", [("grade", "solution.py", "--cluster"), ("grader", "worker"),
                                     ("grader", "serve", "--port", "0", "--db", "service.db", "--cluster")])
def test_a_malformed_address_is_one_line_and_exit_2(tmp_path, command):
    shutil.copyfile(EXAMPLES / "solution.py", tmp_path / "solution.py")
    arguments = command[1:] if command[0] == "grade" else command  # run_cli runs `grade` unless told `grader`
    done = run_cli(*arguments, "http://127.0.0.1:8786", cwd=tmp_path, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"{command[0] if command[0] == 'grade' else 'grader ' + command[1]}: 'http://127.0.0.1:8786' is not the address "
        "of a Dask scheduler: write tcp://HOST:PORT (the scheduler listens on port 8786 unless told otherwise), "
        "or tls://HOST:PORT"]


def test_losing_the_scheduler_mid_batch_fails_the_batch_with_a_clear_message(tmp_path, cluster):
    directory = tmp_path / "class"
    directory.mkdir()
    for i in range(6):
        (directory / f"student_{i}.py").write_text(SLOW_SOLUTION, encoding="utf-8")
    command = [str(Path(sys.executable).parent / "grade"), str(directory), "--seed", "1", "-q", "--cluster", cluster.address]
    # Unbuffered: each report reaches the pipe when it is printed, so the scheduler dies mid-batch.
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    grading = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    try:
        assert grading.stdout is not None
        seen = []
        for line in grading.stdout:  # the first report is printed: the batch is under way
            seen.append(line)
            if "student_0.py" in line:
                break
        cluster.kill_scheduler()
        rest, errors = grading.communicate(timeout=120)
    finally:
        if grading.poll() is None:
            grading.kill()
        try:
            cluster.start_scheduler()  # for the tests after this one
        except RuntimeError:
            pass
    assert grading.returncode == 2, errors
    assert "grade: lost the Dask scheduler at " + cluster.address in errors and "of 6 submissions graded" in errors
    assert "Traceback" not in errors
    printed = "".join(seen) + rest
    for i in range(6):  # none reported twice (some not at all: the run says it is incomplete)
        assert printed.count(f"student_{i}.py  ") <= 1


def test_the_service_pool_keeps_a_job_while_the_scheduler_is_away(cluster):
    from grader.cluster.pool import ClusterPool
    from grader.service.pool import Job
    from grader.spec.loader import load_exercises

    cluster.wait_for_worker()  # `grader worker` rejoins a scheduler that came back
    builtin = load_exercises(builtin_exercises_dir())
    pool = ClusterPool(cluster.address, builtin, builtin_exercises_dir(), 5.0, 60.0, "none", reconnect_every=1.0)
    pool.start()
    try:
        first = pool.submit(Job("before", "solution.py", (EXAMPLES / "solution.py").read_bytes(), (), 1, "en"))
        assert first.result(timeout=300).scorecard["score"] == 50
        cluster.kill_scheduler()
        time.sleep(2)
        waiting = pool.submit(Job("during", "mistake_cosine.py", (EXAMPLES / "mistake_cosine.py").read_bytes(), (), 1, "en"))
        time.sleep(5)
        assert not waiting.done() and not pool.healthy() and pool.pending() == 1  # kept, not failed
        cluster.start_scheduler()
        outcome = waiting.result(timeout=300)
        assert outcome.scorecard["score"] == 45 and outcome.scorecard["submission"] == "mistake_cosine.py"
        assert pool.reconnects >= 1 and pool.healthy()
    finally:
        pool.close()
