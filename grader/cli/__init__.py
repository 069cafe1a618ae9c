"""Command line: `grade` for students and course CI, `grader` for instructors.

The only place that reads argv and the environment and decides where output goes and which files
are written. Heavy imports (torch, the sandbox) happen inside commands, so `--help` is instant.
"""

from __future__ import annotations

import os
import sys

import click

from grader.cli.common import EXIT_FAILED, EXIT_OK, run_command
from grader.cli.grade import grade
from grader.cli.instructor import grader
from grader.cli import service as _service  # noqa: F401 - registers `grader serve`, `submit` and `token`
from grader.cli import cluster as _cluster  # noqa: F401 - registers `grader worker`

__all__ = ["grade", "grade_main", "grader", "grader_main"]


def grade_main() -> None:
    """Console entry point of `grade`."""
    try:
        run_command(grade)
        code = EXIT_OK
    except SystemExit as exc:
        if isinstance(exc.code, int) or exc.code is None:
            code = exc.code or EXIT_OK
        else:
            click.echo(str(exc.code), err=True)
            code = EXIT_FAILED
    sys.stdout.flush()
    sys.stderr.flush()
    # Leave without the interpreter's teardown: unloading torch is a noticeable share of a short
    # grade, and by now every report is written and the sandbox is closed.
    os._exit(code)


def grader_main() -> None:
    """Console entry point of `grader`."""
    run_command(grader)
