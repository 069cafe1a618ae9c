"""Benchmark: grade a class of submissions in one batch vs one process per submission.

Builds a class of N submissions from submissions_example/ (right and wrong mixed), then prints:
  - batch throughput (one warm worker, --jobs children at a time) and one-process-per-submission
    throughput (`grade FILE` run afresh for each, as many at a time as --jobs), and their ratio;
  - latency of `grade solution.py` against `python -c "import torch"` on the same machine;
  - peak memory of the warm worker and of each child, and the grader's own memory over the batch;
  - with --cluster: the same class graded on a Dask LocalCluster (one worker with --jobs threads, as
    `grader worker --jobs N` runs on a machine) and with the local pool, alternately (--rounds), and
    the scheduler's own cost per task on 10,000 tiny tasks (--cluster ADDRESS: that cluster instead).
Every figure is measured in this one run, so ratios compare like with like on a noisy machine.

    python bench/grade_class.py --count 200 --jobs 2 --sample 8 [--cluster [ADDRESS] --rounds 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "submissions_example"
BIN = Path(sys.executable).parent


def build_class(directory: Path, count: int) -> list[Path]:
    """N submissions cycling through the examples, each under its own name."""
    sources = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".py", ".ipynb"))
    paths = []
    for i in range(count):
        source = sources[i % len(sources)]
        target = directory / f"student_{i:04d}_{source.stem}{source.suffix}"
        shutil.copyfile(source, target)
        paths.append(target)
    return paths


def best_of(command: list[str], repeat: int) -> float:
    """The fastest of `repeat` runs of a command, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return min(times)


def rss_mb(pid: int, field: str = "VmHWM") -> float:
    """A memory figure of a live process from /proc, in MB (VmHWM: peak resident set)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def batch(paths: list[Path], jobs: int, seed: int) -> dict[str, object]:
    """Grade the class in this process with one warm worker; collect throughput and memory."""
    from grader.batch import grade_many
    from grader.grading import GradeOptions
    from grader.sandbox.supervisor import Sandbox
    from grader.spec.loader import builtin_exercises_dir, load_exercises

    exercises = load_exercises(builtin_exercises_dir())
    with Sandbox() as sandbox:
        sandbox.wait_ready()
        worker = sandbox.worker_pid
        grader_rss = []
        child_peaks = []
        submissions = [(p, p.name) for p in paths]
        start = time.perf_counter()
        scores = []
        for i, graded in enumerate(grade_many(submissions, exercises, sandbox, GradeOptions(seed=seed), jobs)):
            scores.append((graded.scorecard.submission, graded.scorecard.score))
            peak = graded.scorecard.run.max_rss_kb if graded.scorecard.run and hasattr(graded.scorecard.run, "max_rss_kb") else None
            if peak:
                child_peaks.append(peak / 1024)
            if i % max(1, len(paths) // 10) == 0:
                grader_rss.append(rss_mb(os.getpid(), "VmRSS"))
        seconds = time.perf_counter() - start
        worker_peak = rss_mb(worker) if worker else float("nan")
    return {"seconds": seconds, "per_submission": seconds / len(paths), "worker_peak_mb": worker_peak, "scores": scores,
            "child_peak_mb": max(child_peaks) if child_peaks else None,
            "child_median_mb": statistics.median(child_peaks) if child_peaks else None,
            "grader_rss_mb": grader_rss}


def one_process_each(paths: list[Path], jobs: int, seed: int) -> float:
    """Seconds per submission when every submission starts `grade` afresh, `jobs` at a time."""
    def run(path: Path) -> None:
        subprocess.run([str(BIN / "grade"), str(path), "--seed", str(seed), "--format", "json"], capture_output=True, check=False)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(run, paths))
    return (time.perf_counter() - start) / len(paths)


def on_cluster(paths: list[Path], jobs: int, seed: int, address: str | None, tiny: int, rounds: int) -> dict[str, object]:
    """Grade the class on a Dask cluster (a LocalCluster of one worker with `jobs` threads unless `address`) and
    with the local pool, alternately, `rounds` times; then time `tiny` tasks that do nothing: the scheduler's cost.

    Alternating rounds compare like with like on a machine whose load changes from minute to minute
    (a shared 2-core machine's does): each round's pair ran under about the same load.
    """
    import dask
    from distributed import LocalCluster

    from grader.cluster.client import ClusterGrader, grade_many
    from grader.cluster.plugin import GraderPlugin
    from grader.cluster.tasks import echo
    from grader.grading import GradeOptions
    from grader.spec.loader import builtin_exercises_dir, load_exercises

    started = time.perf_counter()
    local = None
    if address is None:
        with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
            local = LocalCluster(n_workers=1, threads_per_worker=jobs, processes=True, host="127.0.0.1",
                                 dashboard_address=None, plugins={GraderPlugin()})
        address = local.scheduler_address
    pairs: list[tuple[float, float]] = []
    same = True
    try:
        cluster = ClusterGrader(address, builtin_exercises_dir())  # returns once a worker's warm worker is ready
        ready = time.perf_counter() - started
        exercises = load_exercises(builtin_exercises_dir(), references=cluster.references)
        cluster.bundle_future().result()
        submissions = [(p, p.name) for p in paths]
        for _ in range(rounds):
            here = batch(paths, jobs, seed)
            start = time.perf_counter()
            scores = [(g.scorecard.submission, g.scorecard.score)
                      for g in grade_many(submissions, exercises, cluster, GradeOptions(seed=seed))]
            pairs.append((float(here["seconds"]), time.perf_counter() - start))  # type: ignore[arg-type]
            same = same and scores == here["scores"]
            print(f"  round {len(pairs)}: local pool {pairs[-1][0]:.1f} s, cluster {pairs[-1][1]:.1f} s, "
                  f"{pairs[-1][1] / pairs[-1][0]:.2f}x (load average {os.getloadavg()[0]:.1f})", flush=True)
        client = cluster.client
        threads = sum(w["nthreads"] for w in client.scheduler_info()["workers"].values())
        client.gather(client.map(echo, range(min(tiny, 100)), pure=False))  # the function is known to the workers
        start = time.perf_counter()
        # Submitted, run and their results gathered: what each grading task costs beyond the grading.
        assert client.gather(client.map(echo, range(tiny), pure=False)) == list(range(tiny))
        tiny_seconds = time.perf_counter() - start
        cluster.close()
    finally:
        if local is not None:
            local.close()
    return {"pairs": pairs, "ready": ready, "same": same, "threads": threads, "local": local is not None,
            "tiny_seconds": tiny_seconds, "tiny": tiny}


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200, help="submissions in the class")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="submissions graded at once")
    parser.add_argument("--sample", type=int, default=8, help="submissions graded one process each")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cluster", nargs="?", const="local", metavar="ADDRESS",
                        help="also grade the class on a Dask cluster: a LocalCluster, or the scheduler at ADDRESS")
    parser.add_argument("--tiny-tasks", type=int, default=10_000, help="tiny tasks that measure the scheduler (--cluster)")
    parser.add_argument("--rounds", type=int, default=3, help="local pool / cluster rounds, alternating (--cluster)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        paths = build_class(Path(tmp), args.count)
        print(f"machine: {os.cpu_count()} cores, {os.uname().machine}, Python {sys.version.split()[0]}")
        torch_import = best_of([sys.executable, "-c", "import torch"], 3)
        single = best_of([str(BIN / "grade"), str(EXAMPLES / "solution.py"), "--seed", "1"], 3)
        print(f"latency: import torch {torch_import:.2f} s; grade solution.py {single:.2f} s; ratio {single / torch_import:.2f}x")
        result = batch(paths, args.jobs, args.seed)
        each = one_process_each(paths[: args.sample], args.jobs, args.seed)
        per = result["per_submission"]
        print(f"batch: {args.count} submissions in {result['seconds']:.1f} s, --jobs {args.jobs}: "
              f"{per:.3f} s per submission, {1 / per:.1f} per second")
        print(f"one process per submission ({args.sample} of them, {args.jobs} at a time): {each:.2f} s per submission")
        print(f"speed-up of the batch: {each / per:.1f}x")
        print(f"memory: warm worker peak {result['worker_peak_mb']:.0f} MB; child peak "
              f"{result['child_peak_mb'] or float('nan'):.0f} MB (median {result['child_median_mb'] or float('nan'):.0f} MB); "
              f"grader RSS over the batch {', '.join(f'{m:.0f}' for m in result['grader_rss_mb'])} MB")
        print(f"this process's peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        if args.cluster:
            print(f"cluster: the class graded {args.rounds} times on each side, alternately:")
            remote = on_cluster(paths, args.jobs, args.seed, None if args.cluster == "local" else args.cluster,
                                args.tiny_tasks, args.rounds)
            where = (f"a LocalCluster (1 worker x {remote['threads']} threads)" if remote["local"]
                     else f"{args.cluster} ({remote['threads']} threads)")
            pairs = remote["pairs"]
            here, there = (sum(p[i] for p in pairs) / (len(pairs) * args.count) for i in (0, 1))
            ratios = sorted(p[1] / p[0] for p in pairs)
            print(f"cluster: {args.count} submissions x {len(pairs)} on {where}: {there:.3f} s per submission, "
                  f"{1 / there:.1f} per second; local pool in the same rounds {here:.3f} s; {there / here:.2f}x the local "
                  f"pool (rounds {', '.join(f'{r:.2f}' for r in ratios)}; target: at most 1.2x); scores "
                  f"{'identical' if remote['same'] else 'DIFFERENT'} to the local pool's")
            print(f"cluster start (scheduler, worker, warm worker ready): {remote['ready']:.1f} s, not counted above")
            tiny = remote["tiny_seconds"]
            print(f"scheduler overhead: {remote['tiny']} tiny tasks in {tiny:.1f} s: {1000 * tiny / remote['tiny']:.2f} ms "
                  f"per task, {remote['tiny'] / tiny:.0f} tasks per second")


if __name__ == "__main__":
    main()
