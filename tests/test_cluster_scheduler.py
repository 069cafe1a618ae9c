"""A cluster made as docs/scaling.md makes one: `dask scheduler` and `grader worker`, each a process of its own.

The scheduler is killed (SIGKILL) and started again on the same port: a batch of `grade
--cluster` in progress fails with a clear message (exit 2); `grader serve --cluster` grades right
after a quick restart, and through a longer absence keeps what it is sent (stored, queued, /healthz
503) and grades it once the scheduler is back; `grader worker` rejoins by itself.
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
    port = free_port()
    done = run_cli(str(tmp_path / "solution.py"), "--cluster", f"tcp://127.0.0.1:{port}", timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"grade: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}: nothing listens on port {port} of 127.0.0.1; "
        "is it running (`dask scheduler`), and is the address right?"]


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


def settled(http, ids: list[str], timeout: float = 300) -> list[dict]:
    """The submissions' states once each is graded or failed (or as they are when `timeout` runs out)."""
    deadline = time.monotonic() + timeout
    while True:
        states = [http.get(f"/api/v1/submissions/{i}").json() for i in ids]
        if all(state["status"] in ("graded", "failed") for state in states) or time.monotonic() > deadline:
            return states
        time.sleep(1)


def test_the_service_keeps_its_queue_while_the_scheduler_is_away_and_resumes(tmp_path, cluster):
    """`grader serve --cluster`: submissions taken while the scheduler is gone are stored, wait, and are graded once it is back."""
    from service_support.server import Server

    cluster.wait_for_worker()  # `grader worker` rejoins a scheduler that came back (after the test before)
    server = Server(tmp_path / "service", "--cluster", cluster.address, "--rate", "0").start()
    try:
        with server.client() as http:
            before = http.post("/api/v1/submissions", params={"wait": 120},
                               json={"filename": "solution.py", "source": (EXAMPLES / "solution.py").read_text(), "seed": 1})
            assert before.json()["status"] == "graded", before.text
            # A quick restart (systemd's Restart=always): Dask's client reconnects by itself, and what it
            # held (the exercise bundle) went with the old scheduler; a submission right after is graded.
            cluster.kill_scheduler()
            cluster.start_scheduler()
            quick = http.post("/api/v1/submissions",
                              json={"filename": "solution.py", "source": (EXAMPLES / "solution.py").read_text(), "seed": 2})
            assert quick.status_code == 202, quick.text
            # Polled, not `?wait=`: the server honours at most 60 s, and the worker may take longer to rejoin here.
            assert settled(http, [quick.json()["id"]])[0]["status"] == "graded"
            # A longer absence: submissions are taken and kept, and graded once the scheduler is back.
            cluster.kill_scheduler()
            taken = [http.post("/api/v1/submissions", json={"filename": name, "source": (EXAMPLES / name).read_text(),
                                                            "seed": 1}) for name in ("mistake_cosine.py", "solution_notebook.ipynb")]
            assert [answer.status_code for answer in taken] == [202, 202], [answer.text for answer in taken]
            ids = [answer.json()["id"] for answer in taken]
            deadline = time.monotonic() + 60
            while http.get("/healthz").status_code != 503 and time.monotonic() < deadline:
                time.sleep(0.5)  # the pool notices the lost scheduler (Dask's client tries to reconnect first)
            assert http.get("/healthz").status_code == 503
            time.sleep(3)
            assert [http.get(f"/api/v1/submissions/{i}").json()["status"] for i in ids] in (
                ["queued", "queued"], ["running", "queued"], ["queued", "running"], ["running", "running"])  # kept, not failed
            cluster.start_scheduler()
            states = settled(http, ids)
            assert [state["status"] for state in states] == ["graded", "graded"], states
            assert [state["scorecard"]["score"] for state in states] == [45, 50]
            assert http.get("/healthz").status_code == 200
    finally:
        server.stop()
