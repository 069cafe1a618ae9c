"""A child started as a fresh interpreter, where there is no fork to start one from a warm worker (Windows).

Started by the grader as `python -m grader.sandbox.spawned` in an empty working directory, with
pipes on its standard streams: stdin carries the grader's commands, stdout the observations and
stderr what the submission prints. Before any student code runs, the child moves the first two
to private descriptors and points its own stdin at the null device and stdout at stderr, so that
`print` and `input` never touch the conversation. Its first frame reports the isolation it set up.
"""

from __future__ import annotations

import os
import sys
import tempfile


def main() -> None:
    """Set up, report, then hand over to the runner. Never returns."""
    status = 71
    try:
        commands = os.dup(0)
        observations = os.dup(1)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(2, 1)
        from grader.sandbox.isolation import Isolation, Limits, apply_limits, own_session
        from grader.sandbox.platform import current
        from grader.sandbox.runner import child_environment, child_main
        from grader.sandbox.zygote import preload
        from grader.wire import write_frame

        platform = current()
        workdir = os.getcwd()
        preload()
        state = Isolation.for_platform(platform)
        if platform.sessions:
            state = own_session(state)
        limits = Limits(**{k: int(v) for k, v in (item.split("=") for item in sys.argv[1:] if "=" in item)})
        state = apply_limits(state, limits, None, None)
        write_frame(observations, {"type": "setup", "isolation": state.to_dict()})
        environment = child_environment(workdir)  # before clearing: it keeps what Windows needs
        os.environ.clear()
        os.environ.update(environment)
        tempfile.tempdir = None  # chosen again from TMPDIR: the warm worker may have cached its own
        # Line-buffered, and a student's odd string (a lone surrogate) prints escaped, as a notebook
        # shows it, instead of raising. (reconfigure() cannot change `errors` on a pipe: it seeks.)
        sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", buffering=1, closefd=False)
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", buffering=1, closefd=False)
        child_main(commands, observations, workdir)
    finally:
        os._exit(status)


if __name__ == "__main__":
    main()
