"""Command line: `grade` for students and course CI, `grader` for instructors.

The only module that reads argv and the environment, decides where output goes and which files
are written. Heavy imports (torch, the sandbox) happen inside commands, so `--help` is instant.
"""

from __future__ import annotations

import os
import secrets
import sys
import traceback
from pathlib import Path
from typing import Any, NoReturn

import click

from grader import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BUG = 0, 1, 2, 3
SUBMISSION_SUFFIXES = (".py", ".ipynb")


class UsageProblem(Exception):
    """Something the user typed or pointed at is wrong; exit 2 with this one-line message."""


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


def collect_submissions(paths: tuple[str, ...]) -> list[tuple[Path, str]]:
    """(path, name as displayed) of every submission: files as given, directories expanded."""
    found: list[tuple[Path, str]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            entries = sorted(p for p in path.iterdir()
                             if p.is_file() and p.suffix in SUBMISSION_SUFFIXES and not p.name.startswith("."))
            if not entries:
                raise UsageProblem(f"{raw}: no .py or .ipynb files in this directory")
            found.extend((p, str(p)) for p in entries)
        elif path.is_file():
            if path.suffix not in SUBMISSION_SUFFIXES:
                raise UsageProblem(f"{raw}: not a .py file or .ipynb notebook")
            found.append((path, raw))
        else:
            raise UsageProblem(f"{raw}: no such file or directory")
    return found


def _select(exercises: list[Any], wanted: tuple[str, ...]) -> list[Any]:
    if not wanted:
        return exercises
    by_id = {e.spec.id: e for e in exercises}
    unknown = [w for w in wanted if w not in by_id]
    if unknown:
        raise UsageProblem(f"unknown exercise {', '.join(map(repr, unknown))}; choose from: {', '.join(by_id)}")
    return [by_id[w] for w in wanted]


def _use_color(stream: Any) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("-e", "--exercise", "exercise_ids", multiple=True, metavar="ID", help="Grade only this exercise (repeatable).")
@click.option("--exercises", "exercises_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Grade against this directory of exercise specs instead of the built-in ones.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people; json prints only the scorecard on stdout.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
              help="Seconds allowed for importing the submission and for each call.")
@click.option("--total-timeout", type=click.FloatRange(min=1), default=120.0, show_default=True,
              help="Seconds allowed for one whole submission.")
@click.option("--seed", type=click.IntRange(min=0, max=2**63 - 1), help="Seed of the generated inputs (default: fresh each run).")
@click.option("--fail-under", type=float, metavar="SCORE", help="Exit 0 when every submission scores at least SCORE.")
@click.option("--lang", type=click.Choice(["en", "zh"]), help="Language of messages (default: from the locale).")
@click.option("--artifacts", "artifacts_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Save the figures your functions draw here (PNG).")
@click.option("--show-hidden", is_flag=True, help="Show the details of hidden checks (for instructors).")
@click.option("--memory", "memory_mb", type=click.IntRange(min=256), default=2048, show_default=True,
              help="Megabytes of memory the submission may use beyond the grader's own.")
@click.option("-q", "--quiet", is_flag=True, help="Text format: list only checks that did not pass.")
@click.version_option(__version__, prog_name="grade")
def grade(paths: tuple[str, ...], exercise_ids: tuple[str, ...], exercises_dir: Path | None, output_format: str,
          timeout: float, total_timeout: float, seed: int | None, fail_under: float | None, lang: str | None,
          artifacts_dir: Path | None, show_hidden: bool, memory_mb: int, quiet: bool) -> None:
    """Grade autograd exercises in PATH (a .py file, an .ipynb notebook, or a directory of them).

    Exit status: 0 every check passed, 1 something did not, 2 usage or spec error, 3 grader bug.
    """
    from grader.checks.base import ReferenceFailure
    from grader.grading import GradeOptions, grade_submission, save_attachments
    from grader.i18n import detect_lang
    from grader.reporters import json_report, text
    from grader.sandbox.isolation import Limits, make_undumpable
    from grader.sandbox.supervisor import Sandbox
    from grader.spec.loader import SpecError, builtin_exercises_dir, load_exercises

    try:
        submissions = collect_submissions(paths)
    except UsageProblem as exc:
        _fail(f"grade: {exc}")
    # Other processes of this user (a submission's children among them) may not read our memory.
    make_undumpable()
    language = lang or detect_lang()
    sandbox = Sandbox(Limits(memory_mb=memory_mb)).start()  # torch imports there while we load specs
    try:
        try:
            exercises = _select(load_exercises(exercises_dir or builtin_exercises_dir()), exercise_ids)
        except SpecError as exc:
            _fail(f"grade: invalid exercise spec:\n{exc}")
        except UsageProblem as exc:
            _fail(f"grade: {exc}")
        options = GradeOptions(
            seed=seed if seed is not None else secrets.randbelow(2**31), call_timeout=timeout,
            total_timeout=total_timeout, lang=language, show_hidden=show_hidden,  # type: ignore[arg-type]
            hide=tuple(str(p) for p in (artifacts_dir,) if p is not None),
        )
        scorecards = []
        for path, display in submissions:
            try:
                graded = grade_submission(path, exercises, sandbox, options, display)
            except ReferenceFailure as exc:
                _fail(f"grade: the exercise's reference code failed (fix the exercise, not the submission): {exc}")
            scorecard = save_attachments(graded, artifacts_dir) if artifacts_dir else graded.scorecard
            scorecards.append(scorecard)
            if output_format == "text":
                click.echo(text.render(scorecard, color=_use_color(sys.stdout), verbose=not quiet))
        if output_format == "json":
            click.echo(json_report.render(scorecards[0]) if len(paths) == 1 and len(scorecards) == 1 and Path(paths[0]).is_file()
                       else json_report.render_batch(scorecards), nl=False)
        elif len(scorecards) > 1:
            click.echo(text.render_summary(scorecards, color=_use_color(sys.stdout)), nl=False)
    finally:
        sandbox.close()
    if fail_under is not None:
        sys.exit(EXIT_OK if all(s.score >= fail_under for s in scorecards) else EXIT_FAILED)
    sys.exit(EXIT_OK if all(s.passed for s in scorecards) else EXIT_FAILED)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="grader")
def grader() -> None:
    """Instructor tools: check exercise specs and the grader's JSON Schema."""


@grader.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def validate(specs: tuple[Path, ...]) -> None:
    """Check exercise specs (YAML files or directories of them); report every problem with its line."""
    from grader.spec.loader import SpecError, load_exercise, load_exercises

    problems = []
    count = 0
    for spec in specs:
        try:
            count += len(load_exercises(spec)) if spec.is_dir() else bool(load_exercise(spec))
        except SpecError as exc:
            problems.extend(exc.issues)
    if problems:
        for issue in problems:
            click.echo(str(issue), err=True)
        _fail(f"{len(problems)} problem(s) found.")
    click.echo(f"{count} exercise spec(s) valid.")


def _run(command: click.Command) -> None:
    """Run a click command; any exception that escapes is a grader bug: traceback and exit 3."""
    try:
        command.main(standalone_mode=True)
    except SystemExit:
        raise
    except BaseException:  # noqa: BLE001 - the last line of defence
        traceback.print_exc()
        click.echo("This is a bug in the grader (exit 3); please report it with the output above.", err=True)
        sys.exit(EXIT_BUG)


def grade_main() -> None:
    """Console entry point of `grade`."""
    _run(grade)


def grader_main() -> None:
    """Console entry point of `grader`."""
    _run(grader)
