"""What the cluster tests run on Dask workers: a fault injected from outside the sandbox, and small probes.

Nothing a sandboxed submission does can end its Dask worker (tests/test_cluster.py checks that a
submission trying is graded like any other), so a worker crash is simulated here, from the
worker's side: `CrashOnKey` is a Dask worker plugin that ends its worker process the moment a task
whose key names a marked file starts. It exists only in the tests; the grader has no such hook.
"""

from __future__ import annotations

import os
import signal

from distributed import WorkerPlugin

from grader.cluster import PLUGIN_NAME


class CrashOnKey(WorkerPlugin):
    """Ends this Dask worker process (as the kernel's OOM killer would) when a task whose key contains `marker` starts."""

    name = "test-crash-on-key"

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def transition(self, key, start, finish, **kwargs) -> None:
        """Dask calls this on every task transition of the worker; `executing` is the moment the task starts."""
        if finish == "executing" and self.marker in str(key):
            os._exit(137)


def warm_worker_pid(dask_worker) -> int | None:
    """The process id of this Dask worker's warm worker (for client.run)."""
    sandbox, _ = dask_worker.plugins[PLUGIN_NAME].sandbox()
    sandbox.wait_ready()
    return sandbox.worker_pid


def kill_warm_worker(dask_worker) -> int | None:
    """SIGKILL this Dask worker's warm worker, as the OOM killer might (for client.run); its pid."""
    sandbox, _ = dask_worker.plugins[PLUGIN_NAME].sandbox()
    sandbox.wait_ready()
    pid = sandbox.worker_pid
    os.kill(pid, signal.SIGKILL)
    return pid


def restarts(dask_worker) -> int:
    """How many times this worker's plugin started a new warm worker (for client.run)."""
    return dask_worker.plugins[PLUGIN_NAME].restarts


def imports_torch(dask_worker) -> bool:
    """Whether this Dask worker process has imported torch (for client.run: it must not, its warm worker does)."""
    import sys

    return "torch" in sys.modules
