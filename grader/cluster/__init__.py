"""Grading on a Dask cluster: the same `grade_submission`, run on other machines' warm workers.

    grader (client.py, pool.py)  --source bytes, options, exercise bundle-->  Dask scheduler
        --> Dask worker: plugin.py (one warm Sandbox per Dask worker) + tasks.py (grade one job)
        --> scorecard JSON and rendered figures (plain data)  --> back to the grader, in input order

- `plugin.py`: the `WorkerPlugin` that starts one warm worker (torch imported once) per Dask
  worker, restarts it when it dies and closes it with the Dask worker.
- `tasks.py`: the functions that run on Dask workers (grade a job, import reference code).
- `bundle.py`: an exercise directory as data (relative path -> bytes, keyed by a content hash),
  so that workers need no shared file system.
- `client.py`: `grade DIR --cluster ADDRESS` (`grade_many` with the contract of
  `grader.batch.grade_many`); `pool.py`: the service's `Pool` on a cluster.
- `worker.py`: `grader worker ADDRESS`, Dask's own worker with the plugin.

Importing this package imports no Dask (so `grade` without `--cluster` never needs it): the
modules that use Dask import it themselves, and `ClusterError` lives here.
"""

from __future__ import annotations

PLUGIN_NAME = "grader-warm-worker"
"""The name the plugin has on every Dask worker (`worker.plugins[PLUGIN_NAME]`)."""

EXTRA_HINT = "pip install 'autograd-grader[cluster]' (from a checkout: pip install -e '.[cluster]')"
"""What to type when Dask is missing."""


class ClusterError(Exception):
    """The cluster could not do its part (unreachable scheduler, no workers, lost connection): not the student's fault."""


def require_dask() -> None:
    """Raise ClusterError with the install command when Dask distributed is not installed."""
    try:
        import distributed  # noqa: F401 - only whether it imports
    except ImportError:
        raise ClusterError(f"grading on a cluster needs Dask distributed: {EXTRA_HINT}") from None
