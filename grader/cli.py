"""Command line: `grade` for students and course CI, `grader` for instructors.

The only module that reads argv and the environment, decides where output goes and which files
are written. Heavy imports (torch, the sandbox) happen inside commands, so `--help` is instant.
"""

from __future__ import annotations

import os
import secrets
import sys
import threading
import time
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


def _write_starter(target: str, paths: tuple[str, ...], exercise_ids: tuple[str, ...], exercises_dir: Path | None,
                   lang: str | None) -> NoReturn:
    """`grade --starter [PATH]`: stubs for the selected exercises to PATH (never over a file) or stdout; exit 0."""
    from grader.i18n import detect_lang
    from grader.messages import tr
    from grader.spec.loader import SpecError, builtin_exercises_dir, load_exercises
    from grader.starter import function_count, render_starter

    if paths:
        _fail(f"grade: --starter writes a starter file and grades nothing; give either --starter [PATH] or {paths[0]} to grade")
    path = Path(target)
    if target != "-" and path.suffix != ".py":
        _fail(f"grade: {target}: a starter file is Python; give a name that ends in .py")
    if target != "-" and path.exists():
        _fail(f"grade: {target} already exists and is left as it is; choose another name for the starter file")
    language = lang or detect_lang()
    try:
        specs = [e.spec for e in _select(load_exercises(exercises_dir or builtin_exercises_dir()), exercise_ids)]
    except SpecError as exc:
        _fail(f"grade: invalid exercise spec:\n{exc}")
    except UsageProblem as exc:
        _fail(f"grade: {exc}")
    if target == "-":
        click.echo(render_starter(specs, language), nl=False)  # type: ignore[arg-type]
        sys.exit(EXIT_OK)
    try:
        with path.open("x", encoding="utf-8") as out:
            out.write(render_starter(specs, language, path.name))  # type: ignore[arg-type]
    except FileExistsError:
        _fail(f"grade: {target} already exists and is left as it is; choose another name for the starter file")
    except OSError as exc:
        _fail(f"grade: cannot write {target}: {exc.strerror}")
    click.echo(tr(language, "starter_written", path=target, functions=function_count(specs), exercises=len(specs)))  # type: ignore[arg-type]
    sys.exit(EXIT_OK)


def _use_color(stream: Any) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


# Chosen once per run and never printed inside the fence, so a submission cannot end it early.
_STOP_COMMANDS_TOKEN = secrets.token_hex(16)


def _in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def _fenced_for_ci(report: str) -> str:
    """A text report as printed on stdout: in GitHub Actions, fenced so that student text runs no workflow command."""
    if not _in_github_actions():
        return report
    from grader.reporters import github

    return github.fence(report, _STOP_COMMANDS_TOKEN)


def _write_text(path: Path, content: str, append: bool = False) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a" if append else "w", encoding="utf-8", errors="replace", newline="") as out:
            out.write(content)
    except OSError as exc:
        _fail(f"grade: cannot write {path}: {exc.strerror or exc}")


def _write_reports(scorecards: list[Any], output_format: str, fail_under: float | None, junit_xml: Path | None,
                   gradescope_path: Path | None, markdown_path: Path | None, csv_path: Path | None) -> None:
    """Write the report files asked for, and in CI the step summary, the Classroom result and annotations.

    Annotations go to stdout in text mode; with `--format json` they go to stderr, which the GitHub
    runner reads for workflow commands too, so that stdout stays one JSON document.
    """
    from grader.reporters import csv_report, github, gradescope, junit, markdown

    if junit_xml:
        _write_text(junit_xml, junit.render(scorecards))
    if gradescope_path:
        _write_text(gradescope_path, gradescope.render(scorecards[0]))
    if markdown_path:
        _write_text(markdown_path, markdown.render(scorecards))
    if csv_path:
        _write_text(csv_path, csv_report.render(scorecards))
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        _write_text(Path(os.environ["GITHUB_STEP_SUMMARY"]), markdown.render(scorecards) + "\n", append=True)
    if os.environ.get("GITHUB_OUTPUT"):
        _write_text(Path(os.environ["GITHUB_OUTPUT"]), f"result={github.classroom_result(scorecards, fail_under)}\n", append=True)
    if _in_github_actions():
        click.echo("".join(github.annotations(card) for card in scorecards), nl=False, err=output_format == "json")


class _Progress:
    """A progress line on stderr while a batch runs (only on a terminal), and a summary at the end."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.live = sys.stderr.isatty() and os.environ.get("TERM") != "dumb"
        self.lock = threading.Lock()
        self.shown = False

    def update(self, graded: Any, tally: Any) -> None:
        """Redraw the line after one more submission finished (called from grading threads)."""
        if not self.live:
            return
        width = 24
        filled = width * tally.done // max(1, tally.total)
        line = (f"\r[{'#' * filled}{'.' * (width - filled)}] {tally.done}/{tally.total} graded, "
                f"{tally.full_marks} full marks, {tally.not_run} not run")
        with self.lock:
            sys.stderr.write(line)
            sys.stderr.flush()
            self.shown = True

    def clear(self) -> None:
        """Erase the line before other output is printed."""
        with self.lock:
            if self.shown:
                sys.stderr.write("\r\x1b[K")
                sys.stderr.flush()

    def finish(self, scorecards: list[Any], seconds: float) -> None:
        """Replace the line with a one-line summary of the batch."""
        self.clear()
        full = sum(s.max_score > 0 and s.score >= s.max_score for s in scorecards)
        not_run = sum(s.error is not None for s in scorecards)
        click.echo(f"Graded {len(scorecards)} submissions in {seconds:.1f} s: {full} with full marks, "
                   f"{len(scorecards) - full - not_run} with points lost, {not_run} not run.", err=True)


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
@click.option("--starter", "starter_path", is_flag=False, flag_value="-", metavar="[PATH]",
              help="Write a starter file (a stub for every function of the selected exercises) to PATH, "
                   "or to stdout without PATH, and exit without grading.")
@click.version_option(__version__, prog_name="grade")
def grade(paths: tuple[str, ...], exercise_ids: tuple[str, ...], exercises_dir: Path | None, output_format: str,
          timeout: float, total_timeout: float, seed: int | None, fail_under: float | None, lang: str | None,
          artifacts_dir: Path | None, show_hidden: bool, memory_mb: int, quiet: bool, jobs: int, starter_path: str | None,
          junit_xml: Path | None, gradescope_path: Path | None, markdown_path: Path | None, csv_path: Path | None) -> None:
    """Grade autograd exercises in PATH (a .py file, an .ipynb notebook, or a directory of them).

    Exit status: 0 every check passed, 1 something did not, 2 usage or spec error, 3 grader bug.
    """
    from grader.batch import grade_many
    from grader.checks.base import ReferenceFailure
    from grader.grading import GradeOptions, save_attachments
    from grader.i18n import detect_lang
    from grader.reporters import json_report, text
    from grader.sandbox.isolation import Limits, make_undumpable
    from grader.sandbox.supervisor import Sandbox
    from grader.spec.loader import SpecError, builtin_exercises_dir, load_exercises

    if starter_path is not None:
        _write_starter(starter_path, paths, exercise_ids, exercises_dir, lang)
    if not paths:
        _fail("grade: give a .py file, an .ipynb notebook or a directory to grade "
              "(or --starter [PATH] to write a starter file); see grade --help")
    try:
        submissions = collect_submissions(paths)
    except UsageProblem as exc:
        _fail(f"grade: {exc}")
    if gradescope_path and len(submissions) != 1:
        _fail(f"grade: --gradescope writes the results of one submission, and {len(submissions)} were given; grade one file")
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
        progress = _Progress(len(submissions)) if len(submissions) > 1 else None
        started = time.monotonic()
        try:
            for graded in grade_many(submissions, exercises, sandbox, options, jobs,
                                     on_done=progress.update if progress else None):
                scorecard = save_attachments(graded, artifacts_dir) if artifacts_dir else graded.scorecard
                scorecards.append(scorecard)
                if output_format == "text":
                    if progress:
                        progress.clear()
                    click.echo(_fenced_for_ci(text.render(scorecard, color=_use_color(sys.stdout), verbose=not quiet)))
        except ReferenceFailure as exc:
            _fail(f"grade: the exercise's reference code failed (fix the exercise, not the submission): {exc}")
        if progress:
            progress.finish(scorecards, time.monotonic() - started)
        if output_format == "json":
            click.echo(json_report.render(scorecards[0]) if len(paths) == 1 and len(scorecards) == 1 and Path(paths[0]).is_file()
                       else json_report.render_batch(scorecards), nl=False)
        elif len(scorecards) > 1:
            click.echo(text.render_summary(scorecards, color=_use_color(sys.stdout)), nl=False)
    finally:
        sandbox.close()
    _write_reports(scorecards, output_format, fail_under, junit_xml, gradescope_path, markdown_path, csv_path)
    if fail_under is not None:
        sys.exit(EXIT_OK if all(s.score >= fail_under for s in scorecards) else EXIT_FAILED)
    sys.exit(EXIT_OK if all(s.passed for s in scorecards) else EXIT_FAILED)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="grader")
def grader() -> None:
    """Instructor tools: validate, self-test and scaffold exercises; print the spec's JSON Schema."""


@grader.command(short_help="Check exercise specs; every problem with its line.")
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


@grader.command(short_help="Print the JSON Schema of exercise specs.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the schema to this file instead of stdout.")
@click.option("--builtin-only", is_flag=True,
              help="Only the built-in check kinds, not those of installed plugins (how exercises/schema.json is made).")
def schema(output: Path | None, builtin_only: bool) -> None:
    """Print the JSON Schema of exercise specs, for editors (`# yaml-language-server: $schema=...`)."""
    from grader.checks import BUILTIN_KINDS
    from grader.schema import render_schema

    text = render_schema(BUILTIN_KINDS if builtin_only else None)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(f"grader schema: cannot write {output}: {exc.strerror or exc}")
    click.echo(f"wrote {output}", err=True)


@grader.command(short_help="Solutions pass, mutants fail as declared.")
@click.argument("directory", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-e", "--exercise", "exercise_ids", multiple=True, metavar="ID", help="Test only this exercise (repeatable).")
@click.option("--seed", type=click.IntRange(min=0, max=2**63 - 1), help="Seed of the generated inputs (default: fresh each run).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
              help="Seconds allowed for importing each file and for each call.")
def selftest(directory: Path | None, exercise_ids: tuple[str, ...], seed: int | None, timeout: float) -> None:
    """Grade each exercise's solution.py (must pass every check) and mutants/*.py (must fail as declared).

    DIRECTORY holds exercise folders (default: the built-in exercises). A mutant declares the checks
    it must not pass in a line `# fails: CHECK_ID, ...`; all its other checks must pass.
    Exit status: 0 all as declared, 1 some file or exercise is not, 2 invalid spec or usage error.
    """
    from grader.sandbox.supervisor import Sandbox
    from grader.selftest import render, run_selftest
    from grader.spec.loader import SpecError, builtin_exercises_dir, load_exercises

    try:
        exercises = _select(load_exercises(directory or builtin_exercises_dir()), exercise_ids)
    except SpecError as exc:
        _fail(f"grader selftest: invalid exercise spec:\n{exc}")
    except UsageProblem as exc:
        _fail(f"grader selftest: {exc}")
    seed = seed if seed is not None else secrets.randbelow(2**31)
    with Sandbox() as sandbox:
        results = run_selftest(exercises, sandbox, seed, call_timeout=timeout)
    click.echo(render(results, seed), nl=False)
    sys.exit(EXIT_OK if all(r.ok for r in results) else EXIT_FAILED)


@grader.command(short_help="Create a new exercise folder to edit.")
@click.argument("exercise_id", metavar="ID")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="Where to create the exercise folder ID/ (and schema.json for editors).")
def new(exercise_id: str, directory: Path) -> None:
    """Create a new exercise folder DIR/ID that passes `grader selftest DIR` as generated."""
    from grader.scaffold import ScaffoldError, scaffold_exercise

    try:
        written = scaffold_exercise(directory, exercise_id)
    except (ScaffoldError, OSError) as exc:
        _fail(f"grader new: {exc}")
    for file in written:
        click.echo(f"{file.action}: {file.path}")
    click.echo(f"Next: edit {directory / exercise_id}/exercise.yaml, then run `grader validate {directory}` "
               f"and `grader selftest {directory}` (docs/authoring.md explains every field).")


def _run(command: click.Command) -> None:
    """Run a click command; any exception that escapes is a grader bug: traceback and exit 3."""
    try:
        command.main(standalone_mode=True)
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - the last line of defence
        # A broken check-kind plugin is the user's setup, not our bug. Looked up lazily: importing
        # grader.checks here would slow down `--help`, and a PluginError implies it was imported.
        plugin_error = getattr(sys.modules.get("grader.checks"), "PluginError", None)
        if plugin_error is not None and isinstance(exc, plugin_error):
            _fail(f"{command.name}: {exc}")
        traceback.print_exc()
        click.echo("This is a bug in the grader (exit 3); please report it with the output above.", err=True)
        sys.exit(EXIT_BUG)


def grade_main() -> None:
    """Console entry point of `grade`."""
    try:
        _run(grade)
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
    _run(grader)
