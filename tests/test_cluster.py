"""Grading on a Dask cluster: a LocalCluster of two worker processes on 127.0.0.1, each with the grader's plugin.

Results are compared with local grading (the session's warm sandbox, the same seed); a worker
process is killed in the middle of a batch; a submission's workers are made to die until Dask
gives up on it; a warm worker is killed under its Dask worker. The scheduler going away, the
service's pool riding it out and `grader worker` are in tests/test_cluster_scheduler.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path

import dask
import pytest
from distributed import Client, LocalCluster

from cluster_support import faults
from conftest import EXAMPLES, en, run_cli
from grader.batch import grade_many as local_grade_many
from grader.cluster.client import Batch, ClusterGrader, grade_many
from grader.cluster.plugin import GraderPlugin
from grader.grading import GradeOptions, grade_submission
from grader.spec.loader import builtin_exercises_dir

TIMING_FIELDS = {"duration", "wall_time", "children", "max_rss_kb", "memory_peak_kb"}
MACHINE_FIELDS = {"isolation"}
"""Decided by the machine at that moment, not by grading (another grader on the machine can sweep job cgroups)."""
SCHEDULER_SETTINGS = {"distributed.scheduler.allowed-failures": 2, "distributed.scheduler.worker-saturation": 1.0}
"""What docs/scaling.md recommends: three tries for a task whose workers die; nothing queued on a busy worker."""
TEST_SETTINGS = {"distributed.deploy.lost-worker-timeout": "10 minutes"}
"""A LocalCluster closes the nanny of a worker that has not come back 15 s after it died: on a loaded
machine a restarted worker (Dask, the grader, a warm worker) can take longer, and the cluster would
stay one worker short for every later test. Its nanny brings it back; give it the time."""
MIXED = ["solution.py", "mistake_cosine.py", "mistake_one_path.py", "mistake_curly_quotes.py", "solution_notebook.ipynb"]


def comparable(card: dict) -> dict:
    """A scorecard's JSON form without what measures time or depends on the machine's state."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in TIMING_FIELDS | MACHINE_FIELDS}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(card)


def copies(directory: Path, names: list[str], prefix: str = "") -> list[tuple[Path, str]]:
    """The example files copied into `directory` (under `prefix + name`), as (path, display name)."""
    directory.mkdir(parents=True, exist_ok=True)
    found = []
    for name in names:
        target = directory / f"{prefix}{name}"
        shutil.copyfile(EXAMPLES / name, target)
        found.append((target, target.name))
    return found


@pytest.fixture(scope="module")
def cluster():
    """Two Dask worker processes with one thread each, on 127.0.0.1, each with the grader's plugin (a warm worker)."""
    with dask.config.set({**SCHEDULER_SETTINGS, **TEST_SETTINGS}):
        local = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                             dashboard_address=None, plugins={GraderPlugin()})
        try:
            yield local
        finally:
            local.close()


@pytest.fixture(scope="module")
def on_cluster(cluster):
    """The grader's connection to the cluster, grading against the built-in exercises."""
    grader = ClusterGrader(cluster.scheduler_address, builtin_exercises_dir())
    yield grader
    grader.close()


@pytest.fixture
def dask_client(cluster):
    """A plain Dask client of the cluster (for probes and for killing things); waits until both workers are up."""
    with Client(cluster.scheduler_address, set_as_default=False) as client:
        client.wait_for_workers(2, timeout=300)
        yield client


def test_results_equal_local_batch_grading(tmp_path, sandbox, builtin, on_cluster):
    submissions = copies(tmp_path, MIXED)
    options = GradeOptions(seed=424242)
    here = list(local_grade_many(submissions, builtin, sandbox, options, jobs=2))
    finished = []
    remote = list(grade_many(submissions, builtin, on_cluster, options, on_done=lambda g, tally: finished.append(tally.done)))
    assert [g.scorecard.submission for g in remote] == [name for _, name in submissions]
    assert [comparable(g.scorecard.model_dump(mode="json")) for g in remote] == \
        [comparable(g.scorecard.model_dump(mode="json")) for g in here]
    assert sorted(finished) == list(range(1, len(submissions) + 1))  # the progress line saw each once
    # The same isolation as on this machine: the workers' children are the same sandbox.
    assert [g.scorecard.run and g.scorecard.run.isolation["level"] for g in remote] == \
        [g.scorecard.run and g.scorecard.run.isolation["level"] for g in here]
    assert all(g.identity == str(path.resolve()) for g, (path, _) in zip(remote, submissions))


def test_figures_come_back_rendered_as_locally(tmp_path, sandbox, builtin, on_cluster):
    """With --artifacts, the PNGs (the student's figure and the overlay) are rendered on the worker and sent back."""
    (path, name), = copies(tmp_path, ["solution.py"])
    options = GradeOptions(seed=5, keep_figures=True)
    exercises = [e for e in builtin if e.spec.id == "sin-derivative-plot"]
    local = grade_submission(path, exercises, sandbox, options, name)
    (remote,) = grade_many([(path, name)], exercises, on_cluster, options)
    assert set(remote.attachments) == set(local.attachments) and remote.attachments
    for key, files in local.attachments.items():
        assert [(a.kind, a.name) for a in remote.attachments[key]] == [(a.kind, a.name) for a in files]
        assert all(a.content("en").startswith(b"\x89PNG") for a in remote.attachments[key])
        assert [en(a.description) for a in remote.attachments[key]] == [en(a.description) for a in files]


def test_grade_dir_on_the_cluster_prints_what_local_grade_prints(tmp_path, cluster):
    copies(tmp_path / "class", ["solution.py", "mistake_cosine.py", "mistake_missing_module.py"])
    here = run_cli(str(tmp_path / "class"), "--format", "json", "--seed", "77")
    # GRADER_CLUSTER does what --cluster does (the other tests here pass --cluster).
    there = run_cli(str(tmp_path / "class"), "--format", "json", "--seed", "77",
                    env={"GRADER_CLUSTER": cluster.scheduler_address, "PYTHONPROFILEIMPORTTIME": "1"})
    assert there.returncode == here.returncode == 1, there.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in there.stderr.splitlines() if line.startswith("import time:")]
    assert "grader.cluster.client" in imported and not [m for m in imported if m.split(".")[0] == "torch"]
    assert comparable(json.loads(there.stdout)) == comparable(json.loads(here.stdout))
    cards = json.loads(there.stdout)["submissions"]
    assert [Path(card["submission"]).name for card in cards] == ["mistake_cosine.py", "mistake_missing_module.py", "solution.py"]
    def levels(cards):
        return [((card.get("run") or {}).get("isolation") or {}).get("level") for card in cards]

    assert levels(cards) == levels(json.loads(here.stdout)["submissions"]) and all(levels(cards))


def test_a_broken_reference_is_the_same_spec_error_as_locally(tmp_path, cluster):
    exercises = tmp_path / "exercises"
    shutil.copytree(builtin_exercises_dir() / "double-backward", exercises / "double-backward")
    (exercises / "double-backward" / "reference.py").write_text("import torch\n\nraise ValueError('broken on purpose')\n")
    (path, _), = copies(tmp_path / "class", ["solution.py"])
    here = run_cli(str(path), "--exercises", str(exercises))
    there = run_cli(str(path), "--exercises", str(exercises), "--cluster", cluster.scheduler_address)
    assert here.returncode == there.returncode == 2
    assert "broken on purpose" in there.stderr and str(exercises / "double-backward" / "reference.py") in there.stderr
    assert there.stderr == here.stderr


def test_a_worker_killed_mid_batch_loses_nothing_and_repeats_nothing(tmp_path, sandbox, builtin, on_cluster, dask_client):
    names = ["solution.py", "mistake_cosine.py", "solution_other_styles.py", "mistake_one_path.py"] * 2
    submissions = copies(tmp_path, names[:4], "a_") + copies(tmp_path, names[4:], "b_")
    options = GradeOptions(seed=31337)
    local = [comparable(g.scorecard.model_dump(mode="json"))
             for g in local_grade_many(submissions, builtin, sandbox, options, jobs=2)]
    pids = dask_client.run(os.getpid)
    warm = dask_client.run(faults.warm_worker_pid)
    batch = Batch(on_cluster, submissions, builtin, options)
    results, killed, was_running = [], None, []
    for graded in batch.results():
        results.append(graded)
        if killed is None:
            busy = {address: keys for address, keys in dask_client.processing().items() if keys}
            victim = next(iter(busy))
            killed, was_running = pids[victim], [k for k in busy[victim] if str(k).startswith("grade-")]
            os.kill(killed, signal.SIGKILL)
    assert was_running, "the killed worker was grading something"
    assert [g.scorecard.submission for g in results] == [name for _, name in submissions]  # each once, in order
    assert [comparable(g.scorecard.model_dump(mode="json")) for g in results] == local
    by_key = {key: index for index, key in batch.keys.items()}
    for key in was_running:  # graded again, on another worker
        assert batch.placed[by_key[key]][1] != killed
    victim_zygote = warm[next(a for a, p in pids.items() if p == killed)]
    deadline = time.monotonic() + 30
    while Path(f"/proc/{victim_zygote}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)  # the warm worker of a killed Dask worker ends by itself (its control socket closed)
    assert not Path(f"/proc/{victim_zygote}").exists()


def test_a_submission_whose_workers_keep_dying_fails_after_three_tries(tmp_path, cluster, dask_client):
    copies(tmp_path / "class", ["solution.py", "mistake_cosine.py"])
    shutil.copyfile(EXAMPLES / "solution.py", tmp_path / "class" / "crash_worker.py")
    dask_client.register_plugin(faults.CrashOnKey("crash_worker"))
    try:
        done = run_cli(str(tmp_path / "class"), "--seed", "8", "--format", "json", "--cluster", cluster.scheduler_address,
                       timeout=600)
    finally:
        dask_client.unregister_worker_plugin(faults.CrashOnKey.name)
    assert done.returncode == 3, done.stderr  # the others graded and reported; the run ends as a grader fault
    cards = {card["submission"].rsplit("/", 1)[-1]: card for card in json.loads(done.stdout)["submissions"]}
    assert list(cards) == ["crash_worker.py", "mistake_cosine.py", "solution.py"]
    crashed = cards["crash_worker.py"]
    assert crashed["score"] == 0 and crashed["error_id"] == "cluster_worker_lost", crashed
    assert "stopped 3 times while grading this submission" in crashed["error"]
    assert "died 3 times" in done.stderr and "crash_worker.py" in done.stderr
    assert cards["solution.py"]["score"] == 50 and cards["mistake_cosine.py"]["score"] == 45


def test_a_submission_cannot_kill_its_dask_worker(tmp_path, builtin, on_cluster, dask_client):
    """What a sandboxed child can reach: its own pid namespace. Its worker survives and it is graded as usual."""
    path = tmp_path / "kill_parents.py"
    path.write_text("import os, signal\n"
                    "for target in (1, -1, os.getppid()):\n"
                    "    try:\n        os.kill(target, signal.SIGKILL)\n"
                    "    except Exception as exc:\n        print(type(exc).__name__)\n"
                    "def backward_twice(x):\n    return None\n")
    pids = dask_client.run(os.getpid)
    warm = dask_client.run(faults.warm_worker_pid)
    exercises = [e for e in builtin if e.spec.id == "double-backward"]
    (graded,) = grade_many([(path, path.name)], exercises, on_cluster, GradeOptions(seed=3))
    # A scorecard like any other (its last kill, of its own process group, ends its own import).
    assert graded.scorecard.internal_error is None and graded.scorecard.max_score == 10
    assert dask_client.run(os.getpid) == pids  # both Dask workers are the same processes
    assert set(dask_client.run(faults.imports_torch).values()) == {False}  # only their warm workers import it
    assert dask_client.run(faults.warm_worker_pid) == warm  # and so are their warm workers


def test_the_plugin_restarts_a_warm_worker_that_died(tmp_path, sandbox, builtin, on_cluster, dask_client):
    before = dask_client.run(faults.restarts)
    killed = dask_client.run(faults.kill_warm_worker)
    time.sleep(0.5)
    submissions = copies(tmp_path, ["solution.py", "mistake_cosine.py", "solution_notebook.ipynb"])
    options = GradeOptions(seed=99)
    local = [comparable(g.scorecard.model_dump(mode="json")) for g in local_grade_many(submissions, builtin, sandbox, options, 2)]
    remote = [comparable(g.scorecard.model_dump(mode="json")) for g in grade_many(submissions, builtin, on_cluster, options)]
    assert remote == local
    after = dask_client.run(faults.restarts)
    assert sum(after.values()) > sum(before.values())
    now = dask_client.run(faults.warm_worker_pid)
    assert not set(now.values()) & set(killed.values())


def test_the_service_pool_grades_on_the_cluster_as_locally(tmp_path, sandbox, builtin, cluster):
    from grader.cluster.pool import ClusterPool
    from grader.service.pool import Job

    pool = ClusterPool(cluster.scheduler_address, builtin, builtin_exercises_dir(), 5.0, 60.0, "drawn")
    pool.start()
    try:
        assert pool.healthy() and pool.slots == 2 and pool.isolation().get("platform") == "linux"
        source = (EXAMPLES / "solution.py").read_bytes()
        outcome = pool.submit(Job("job-1", "solution.py", source, (), 2024, "zh")).result(timeout=300)
    finally:
        pool.close()
    (path, name), = copies(tmp_path, ["solution.py"])
    local = grade_submission(path, builtin, sandbox, GradeOptions(seed=2024, lang="zh", keep_figures=True), name)
    assert comparable(outcome.scorecard) == comparable(local.scorecard.model_dump(mode="json"))
    drawn = sorted(f"{e}.{c}.{a.name}" for (e, c), files in local.attachments.items() for a in files if a.kind == "figure")
    pictures = [f for f in outcome.figures if not f.kind.endswith("-data")]
    assert sorted(f.name for f in pictures) == drawn and drawn
    assert all(f.png.startswith(b"\x89PNG") for f in pictures)
    # The overlay's curves come back as data, as the local pool keeps them: the result page's SVG.
    from grader.grading import plain_attachments

    expected = {f"{e}.{c}.{n}": json.loads(d) for e, c, _, n, d in plain_attachments(local, "zh")}
    came = {f.name: json.loads(f.png) for f in outcome.figures if f.kind == "overlay-data"}
    assert came.keys() == expected.keys() and expected
    assert came == expected  # the same curves, window and words (in the submitter's language)
