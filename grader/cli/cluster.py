"""`grader worker ADDRESS`, and what `grade --cluster` and `grader serve --cluster` call to reach a cluster.

Dask is imported inside the commands (it is an optional extra: `autograd-grader[cluster]`), so
`grader --help` stays instant and works without it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from grader.cli.common import fail
from grader.cli.instructor import grader


def quiet_dask(level: int) -> None:
    """Only Dask's log records of `level` and above on stderr: it logs a lost scheduler with tracebacks, and
    what went wrong is said once, in the command's own words."""
    import logging

    try:
        import distributed  # noqa: F401 - its import sets up its loggers, which are adjusted here
    except ImportError:
        return
    for name in ["distributed", *logging.root.manager.loggerDict]:
        if name == "distributed" or name.startswith("distributed."):
            logger = logging.getLogger(name)
            logger.setLevel(level)
            for handler in logger.handlers:
                handler.setLevel(level)


def connect_or_fail(address: str, exercises_dir: Path | None, command: str) -> Any:
    """A `ClusterGrader` on the scheduler at `address`, grading against `exercises_dir` (default: built-in); exit 2 if it cannot."""
    import logging

    from grader.cluster import ClusterError
    from grader.spec.loader import builtin_exercises_dir

    quiet_dask(logging.CRITICAL)
    try:
        from grader.cluster.client import ClusterGrader

        return ClusterGrader(address, exercises_dir or builtin_exercises_dir())
    except ClusterError as exc:
        fail(f"{command}: {exc}")


def cluster_pool(address: str, exercises: list[Any], exercises_dir: Path | None, call_timeout: float,
                 total_timeout: float, figures: str, hide: tuple[str, ...], command: str = "grader serve") -> Any:
    """The service's pool on the cluster at `address` (`grader serve --cluster`); exit 2 when Dask is not installed.

    It does not wait for the scheduler: submissions are stored and queued, and graded once it answers.
    """
    from grader.cluster import ClusterError
    from grader.spec.loader import builtin_exercises_dir

    try:
        from grader.cluster.pool import ClusterPool

        return ClusterPool(address, exercises, exercises_dir or builtin_exercises_dir(), call_timeout, total_timeout,
                           figures, hide)
    except ClusterError as exc:
        fail(f"{command}: {exc}")


@click.command(short_help="Start a Dask worker that grades (one warm worker, torch imported once).",
                context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("address", envvar="GRADER_CLUSTER", metavar="ADDRESS")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=lambda: os.cpu_count() or 1, show_default="number of cores",
              help="Submissions this machine grades at the same time (the Dask worker's threads).")
@click.option("--memory", "memory_mb", type=click.IntRange(min=256), default=2048, show_default=True,
              help="Megabytes of memory a submission may use beyond the grader's own.")
@click.option("--namespaces", type=click.Choice(["auto", "user", "none"]), default="auto", show_default=True,
              help="Namespaces for the sandbox: auto (all the machine allows), user, or none (limits only).")
@click.option("--restart/--no-restart", default=True, show_default=True,
              help="Start the Dask worker again when it ends (it does when its scheduler goes away).")
@click.argument("dask_options", nargs=-1, type=click.UNPROCESSED, metavar="[DASK WORKER OPTIONS]...")
def worker(address: str, jobs: int, memory_mb: int, namespaces: str, restart: bool, dask_options: tuple[str, ...]) -> None:
    """Join the Dask cluster whose scheduler is at ADDRESS (tcp://HOST:8786, or GRADER_CLUSTER) as a grading worker.

    It is `dask worker ADDRESS --nthreads JOBS` with the grader's plugin in each worker process:
    a warm worker (torch imported once) starts with it, is started again if it dies, and grades
    every submission of `grade --cluster` and `grader serve --cluster` that lands here, each in
    its own sandboxed child as on one machine. Other options (--name, --memory-limit,
    --nworkers, --dashboard-address, TLS...) go to `dask worker` as they are. A Dask worker
    exits when its scheduler goes away; this command starts it again until stopped (Ctrl-C, SIGTERM).
    """
    from grader.cluster import ClusterError, require_dask, scheduler_address
    from grader.sandbox.platform import check_environment

    try:
        address = scheduler_address(address)
        require_dask()
    except ClusterError as exc:
        fail(f"grader worker: {exc}")
    if problem := check_environment():
        fail(f"grader worker: {problem}")
    from grader.cluster.worker import run_worker

    sys.exit(run_worker(address, jobs, memory_mb, namespaces, dask_options, restart=restart))


grader.add_command(worker)
