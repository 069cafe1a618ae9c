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

import ipaddress

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


SCHEMES = ("tcp", "tls", "ws", "wss")
"""The protocols a scheduler address may name (Dask's others need extras that are not installed: ucx, or are in-process)."""


def scheduler_address(address: str) -> str:
    """`address` as Dask reads it (`tcp://` when no protocol is given); ClusterError with the expected form when malformed.

    Checked here so that a typo is one line and exit 2, not a traceback from deep in Dask or a
    ten-second wait for a host that cannot exist.
    """
    text = address.strip()
    scheme, separator, rest = text.partition("://")
    if not separator:
        scheme, rest = "tcp", text
    host, colon, port = rest.rpartition(":")
    if host.startswith("[") and host.endswith("]"):  # tcp://[::1]:8786
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            host = ""
    well_formed = (scheme in SCHEMES and colon and host and port.isdigit() and 0 < int(port) < 65536
                   and not any(c.isspace() or c in "/?#@" for c in rest))
    if not well_formed:
        raise ClusterError(f"{address!r} is not the address of a Dask scheduler: write tcp://HOST:PORT (the scheduler "
                           f"listens on port 8786 unless told otherwise), or tls://HOST:PORT")
    return f"{scheme}://{rest}"
