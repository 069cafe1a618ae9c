"""`grade`: the command students and course CI run."""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import click

from grader import __version__
from grader.cli import ci
from grader.cli.common import EXIT_BUG, EXIT_FAILED, EXIT_OK, UsageProblem, fail, load_selected_exercises, say, use_color
from grader.i18n import msg
from grader.cli.progress import Progress
from grader.names import display_name

SUBMISSION_SUFFIXES = (".py", ".ipynb")


def collect_submissions(paths: tuple[str, ...]) -> list[tuple[Path, str]]:
    """(path, name as displayed) of every submission: files as given, directories expanded."""
    found: list[tuple[Path, str]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            entries = sorted(p for p in path.iterdir()
                             if p.is_file() and p.suffix in SUBMISSION_SUFFIXES and not p.name.startswith("."))
            if not entries:
                raise UsageProblem(msg("usage_empty_directory", path=raw))
            found.extend((p, display_name(str(p))) for p in entries)
        elif path.is_file():
            if path.suffix not in SUBMISSION_SUFFIXES:
                raise UsageProblem(msg("usage_not_a_submission", path=raw))
            found.append((path, display_name(raw)))
        else:
            raise UsageProblem(msg("usage_no_such_path", path=raw))
    return found


def _write_starter(target: str, paths: tuple[str, ...], exercise_ids: tuple[str, ...], exercises_dir: Path | None,
                   lang: str | None) -> NoReturn:
    """`grade --starter [PATH]`: stubs for the selected exercises to PATH (never over a file) or stdout; exit 0."""
    from grader.i18n import detect_lang
    from grader.starter import function_count, next_step, render_starter

    if paths:
        usage_error(lang, "usage_starter_and_paths", path=paths[0])
    path = Path(target)
    if target != "-" and path.suffix != ".py":
        usage_error(lang, "usage_starter_not_py", path=target)
    if target != "-" and path.exists():
        usage_error(lang, "usage_starter_exists", path=target)
    language = lang or detect_lang()
    specs = [e.spec for e in load_selected_exercises(exercises_dir, exercise_ids, "grade", lang=lang)]
    # Students run the file against the same exercises: the command it names carries --exercises DIR.
    directory = str(exercises_dir) if exercises_dir is not None else None
    if target == "-":
        click.echo(render_starter(specs, language, exercises_dir=directory), nl=False)  # type: ignore[arg-type]
        sys.exit(EXIT_OK)
    try:
        with path.open("x", encoding="utf-8") as out:
            out.write(render_starter(specs, language, path.name, exercises_dir=directory))  # type: ignore[arg-type]
    except FileExistsError:
        usage_error(lang, "usage_starter_exists", path=target)
    except OSError as exc:
        usage_error(lang, "usage_cannot_write", path=target, reason=exc.strerror or str(exc))
    click.echo(next_step(language, "starter_written", directory, path=target,  # type: ignore[arg-type]
                         functions=function_count(specs), exercises=len(specs)))
    sys.exit(EXIT_OK)


def _check_fail_under(fail_under: float | None, exercises: list[Any], lang: str | None) -> None:
    """A `--fail-under` no submission could reach (or below zero) is a usage error: exit 2, saying the range."""
    if fail_under is None:
        return
    most = sum(e.spec.max_score for e in exercises)
    if not 0 <= fail_under <= most:
        usage_error(lang, "fail_under_above_max", score=fail_under, max=most)


def usage_error(lang: str | None, key: Any, **params: object) -> NoReturn:
    """`grade: ...` on stderr in the reader's language (a catalogue key with its parameters, or a message); exit 2."""
    text = msg(key, **params) if isinstance(key, str) else key
    fail(say(lang, msg("grade_usage_prefix", text=text)))


def _private_paths(submissions: list[tuple[Path, str]], artifacts_dir: Path | None) -> tuple[str, ...]:
    """What no submission may see: every submission's folder (not only its own), outputs, CI runner files."""
    folders = {str(path.resolve().parent) for path, _ in submissions}
    outputs = [str(artifacts_dir.resolve())] if artifacts_dir else []
    return tuple(sorted(folders)) + tuple(outputs) + tuple(ci.runner_paths())


def report_width() -> int | None:
    """The columns to wrap the text report to: COLUMNS when set, the terminal's on a terminal, else None (no wrapping)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def _grade_all(submissions: list[tuple[Path, str]], exercises: list[Any], sandbox: Any, options: Any, jobs: int,
               artifacts_dir: Path | None, output_format: str, quiet: bool, progress: Progress | None,
               ) -> tuple[list[Any], list[Any]]:
    """Grade every submission; in text format print each scorecard as soon as its turn comes.

    Returns the scorecards as the reader may see them and, beside them, the instructor's view of each
    (hidden checks in full) for reporters that keep hidden checks from students themselves.
    """
    if getattr(sandbox, "is_cluster", False):  # `--cluster`: a ClusterGrader; the same contract, on Dask workers
        from grader.cluster.client import grade_many
    else:
        from grader.batch import grade_many
    from grader.checks.base import ReferenceFailure
    from grader.cluster import ClusterError
    from grader.grading import save_attachments
    from grader.reporters import text

    scorecards, instructor_views = [], []
    width = report_width()
    try:
        for graded in grade_many(submissions, exercises, sandbox, options, jobs, on_done=progress.update if progress else None):
            scorecard = save_attachments(graded, artifacts_dir, options.lang) if artifacts_dir else graded.scorecard
            scorecards.append(scorecard)
            instructor_views.append(graded.instructor_view)
            if output_format == "text":
                if progress:
                    progress.clear()
                click.echo(ci.fenced_for_ci(text.render(scorecard, color=use_color(sys.stdout), verbose=not quiet,
                                                        lang=options.lang, width=width)))
    except ReferenceFailure as exc:
        usage_error(options.lang, "usage_reference_failed", error=str(exc))
    except ClusterError as exc:  # the cluster failed us: neither the student's fault nor a grader bug (exit 2)
        fail(f"grade: {exc}")
    return scorecards, instructor_views


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, metavar="PATH...")
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
              help="Save the figures your functions draw here (PNG), each beside an overlay of the expected curves.")
@click.option("--show-hidden", is_flag=True, help="Show the details of hidden checks (for instructors).")
@click.option("--junit-xml", type=click.Path(dir_okay=False, path_type=Path), metavar="PATH",
              help="Also write JUnit XML here (GitLab, Jenkins): a testsuite per exercise, a testcase per check.")
@click.option("--gradescope", "gradescope_path", type=click.Path(dir_okay=False, path_type=Path), metavar="PATH",
              help="Also write Gradescope's results.json here (one submission).")
@click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False, path_type=Path), metavar="PATH",
              help="Also write a Markdown report here (it goes to $GITHUB_STEP_SUMMARY too when that is set).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), metavar="PATH",
              help="Also write a CSV gradebook here: a row per submission, a column per exercise.")
@click.option("--memory", "memory_mb", type=click.IntRange(min=256), default=2048, show_default=True,
              help="Megabytes of memory the submission may use beyond the grader's own.")
@click.option("-q", "--quiet", is_flag=True, help="Text format: list only checks that did not pass.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=lambda: os.cpu_count() or 1, show_default="number of cores",
              help="Submissions graded at the same time.")
@click.option("--cluster", metavar="ADDRESS", envvar="GRADER_CLUSTER",
              help="Grade on the workers of the Dask cluster whose scheduler is at ADDRESS, e.g. tcp://host:8786 "
                   "(or GRADER_CLUSTER); see docs/scaling.md.")
@click.option("--starter", "starter_path", is_flag=False, flag_value="-", metavar="[PATH]",
              help="Write a starter file (a stub for every function of the selected exercises) to PATH, "
                   "or to stdout without PATH, and exit without grading.")
@click.version_option(__version__, prog_name="grade")
def grade(paths: tuple[str, ...], exercise_ids: tuple[str, ...], exercises_dir: Path | None, output_format: str,
          timeout: float, total_timeout: float, seed: int | None, fail_under: float | None, lang: str | None,
          artifacts_dir: Path | None, show_hidden: bool, memory_mb: int, quiet: bool, jobs: int, starter_path: str | None,
          junit_xml: Path | None, gradescope_path: Path | None, markdown_path: Path | None, csv_path: Path | None,
          cluster: str | None = None) -> None:
    """Grade autograd exercises in PATH (a .py file, an .ipynb notebook, or a directory of them).

    Exit status: 0 every check passed, 1 something did not, 2 usage or spec error, 3 grader bug.
    """
    if starter_path is not None:
        _write_starter(starter_path, paths, exercise_ids, exercises_dir, lang)
    if not paths:
        usage_error(lang, "usage_no_paths")
    try:
        submissions = collect_submissions(paths)
    except UsageProblem as exc:
        usage_error(lang, exc.text)
    if gradescope_path and len(submissions) != 1:
        usage_error(lang, "usage_gradescope_one", n=len(submissions))
    from grader.sandbox.isolation import Limits, protect_this_process
    from grader.sandbox.platform import check_environment
    from grader.sandbox.supervisor import Sandbox

    if not cluster and (problem := check_environment()):  # on a cluster, the workers' machines sandbox
        fail(f"grade: {problem}")

    # Other processes of this user (a submission's children among them) may not read our memory.
    protect_this_process()
    # Started first: the warm worker imports torch while this process loads the rest. With --cluster,
    # the Dask workers' warm workers grade (and import the reference code): nothing heavy starts here.
    if cluster:
        from grader.cli.cluster import connect_or_fail

        sandbox = connect_or_fail(cluster, exercises_dir, "grade")
    else:
        sandbox = Sandbox(Limits(memory_mb=memory_mb), warm_up="soon" if len(submissions) > 1 else "never").start()
    try:
        from grader.grading import GradeOptions
        from grader.i18n import detect_lang

        exercises = load_selected_exercises(exercises_dir, exercise_ids, "grade", sandbox.references, lang=lang)
        _check_fail_under(fail_under, exercises, lang)
        options = GradeOptions(
            seed=seed if seed is not None else secrets.randbelow(2**31), call_timeout=timeout,
            total_timeout=total_timeout, lang=lang or detect_lang(), show_hidden=show_hidden,  # type: ignore[arg-type]
            hide=_private_paths(submissions, artifacts_dir), keep_figures=artifacts_dir is not None,
        )
        progress = Progress(len(submissions), options.lang) if len(submissions) > 1 else None
        started = time.monotonic()
        scorecards, instructor_views = _grade_all(submissions, exercises, sandbox, options, jobs, artifacts_dir, output_format, quiet,
                                progress)
    finally:
        sandbox.close()
    from grader.reporters import json_report, text

    if output_format == "json":
        single = len(paths) == 1 and len(scorecards) == 1 and Path(paths[0]).is_file()
        click.echo(json_report.render(scorecards[0], options.lang) if single
                   else json_report.render_batch(scorecards, options.lang), nl=False)
    elif len(scorecards) > 1:
        click.echo(text.render_summary(scorecards, color=use_color(sys.stdout), width=report_width()), nl=False)
    if progress:
        # The one-line summary closes the batch: after the table, as the README says.
        progress.finish(scorecards, time.monotonic() - started, report_width())
    # Gradescope shows hidden tests only once grades are published (their visibility says so): it gets
    # them in full, so that `run_autograder` needs no --show-hidden to keep them from students meanwhile.
    ci.write_reports(scorecards, output_format, fail_under, junit_xml, gradescope_path, markdown_path, csv_path,
                     options.lang, gradescope_card=instructor_views[0] if instructor_views else None)
    failed_inside = [card for card in scorecards if card.internal_error]
    if failed_inside:
        # Every other submission was graded and reported; the run still ends as a grader bug.
        for card in failed_inside:
            said = say(options.lang, msg("grade_usage_prefix", text=msg("grader_failed_on", submission=card.submission)))
            click.echo(f"{said}\n{card.internal_error}", err=True)
        sys.exit(EXIT_BUG)
    if fail_under is not None:
        sys.exit(EXIT_OK if all(s.score >= fail_under for s in scorecards) else EXIT_FAILED)
    sys.exit(EXIT_OK if all(s.passed for s in scorecards) else EXIT_FAILED)
