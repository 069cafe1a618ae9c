"""`grader worker ADDRESS`: Dask's own `dask worker`, with the grader's plugin preloaded in each worker process.

A thin wrapper: it runs `dask worker ADDRESS --nthreads J --preload grader.cluster.worker ...`
(every option of `dask worker` passes through), and this module is the preload. Dask imports it
in each worker process and calls `dask_setup`, which adds the `GraderPlugin` before the worker
takes tasks, so its warm worker imports torch while the worker registers with the scheduler.
Dask's nanny restarts a worker process that dies, and the new process runs the preload again.

One thing is added around it: a Dask worker (nanny and all) exits when it loses its scheduler,
so `grader worker` starts it again, every few seconds, until it is stopped. A machine added with
one command then stays in the cluster through a restart of the scheduler (under systemd or
compose, `Restart=always` does the same for a plain `dask worker`).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from typing import Any

import click

from grader.cluster.plugin import GraderPlugin
from grader.sandbox.isolation import NAMESPACE_MODES

log = logging.getLogger("grader.cluster")

RESTART_PAUSE = 3.0
"""Seconds between the end of a Dask worker and the next start (the scheduler may be restarting)."""
QUICK_FAILURE = 10.0
"""A first run that fails sooner than this is a usage error (a wrong option), not a lost scheduler: no restart."""


@click.command(context_settings={"ignore_unknown_options": False})
@click.option("--grader-memory", "memory_mb", type=click.IntRange(min=256), default=2048, show_default=True,
              help="Megabytes a submission may use beyond the grader's own.")
@click.option("--grader-namespaces", "namespaces", type=click.Choice(NAMESPACE_MODES), default="auto", show_default=True)
async def dask_setup(worker: Any, memory_mb: int, namespaces: str) -> None:
    """Dask's preload hook: add the grader plugin (one warm Sandbox) to this worker."""
    await worker.plugin_add(GraderPlugin(memory_mb=memory_mb, namespaces=namespaces))


def dask_worker_argv(address: str, jobs: int, memory_mb: int, namespaces: str, extra: tuple[str, ...]) -> list[str]:
    """The arguments of `dask worker` that `grader worker` stands for."""
    return [address, "--nthreads", str(jobs), *extra, "--preload", __name__,
            "--grader-memory", str(memory_mb), "--grader-namespaces", namespaces]


def run_worker(address: str, jobs: int, memory_mb: int, namespaces: str, extra: tuple[str, ...],
               restart: bool = True) -> int:
    """Run `dask worker` with the grader's preload, again whenever it ends, until stopped; returns an exit status."""
    command = [sys.executable, "-m", "distributed.cli.dask_worker",
               *dask_worker_argv(address, jobs, memory_mb, namespaces, extra)]
    stopping: list[int] = []
    process: subprocess.Popen[bytes] | None = None

    def stop(signum: int, frame: Any) -> None:
        stopping.append(signum)
        if process is not None and process.poll() is None:
            process.send_signal(signum)  # Dask's worker closes gracefully on SIGINT and SIGTERM

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        first = True
        while True:
            started = time.monotonic()
            process = subprocess.Popen(command)
            code = process.wait()
            if stopping:
                return 0
            if not restart or (first and code != 0 and time.monotonic() - started < QUICK_FAILURE):
                return code
            first = False
            click.echo(f"grader worker: the Dask worker ended (exit status {code}; the scheduler at {address} may be "
                       f"restarting); starting it again in {RESTART_PAUSE:g} s", err=True)
            if _sleep(RESTART_PAUSE, stopping):
                return 0
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _sleep(seconds: float, stopping: list[int]) -> bool:
    """Sleep, waking early when a stop was asked for; whether it was."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not stopping:
        time.sleep(0.1)
    return bool(stopping)
