"""`grader`: the instructor's commands: validate, schema, selftest, new."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click

from grader import __version__
from grader.cli.common import EXIT_FAILED, EXIT_OK, fail, load_selected_exercises


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="grader")
def grader() -> None:
    """Instructor tools: validate, self-test and scaffold exercises; print the spec's JSON Schema."""


@grader.command(short_help="Check exercise specs; every problem with its line.")
@click.argument("specs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def validate(specs: tuple[Path, ...]) -> None:
    """Check exercise specs (YAML files or directories of them); report every problem with its line."""
    from grader.sandbox.supervisor import Sandbox
    from grader.spec.loader import SpecError, load_exercise, load_exercises

    problems = []
    count = 0
    # The reference code is imported where it runs when grading: in the trusted reference worker.
    with Sandbox() as sandbox:
        for spec in specs:
            try:
                count += len(load_exercises(spec, references=sandbox.references)) if spec.is_dir() \
                    else bool(load_exercise(spec, references=sandbox.references))
            except SpecError as exc:
                problems.extend(exc.issues)
    if problems:
        for issue in problems:
            click.echo(str(issue), err=True)
        fail(f"{len(problems)} problem(s) found.")
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
        fail(f"grader schema: cannot write {output}: {exc.strerror or exc}")
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
    from grader.sandbox.platform import check_environment
    from grader.sandbox.supervisor import Sandbox
    from grader.selftest import render, run_selftest

    if problem := check_environment():
        fail(f"grader selftest: {problem}")

    seed = seed if seed is not None else secrets.randbelow(2**31)
    with Sandbox() as sandbox:
        exercises = load_selected_exercises(directory, exercise_ids, "grader selftest", sandbox.references)
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
        fail(f"grader new: {exc}")
    for file in written:
        click.echo(f"{file.action}: {file.path}")
    click.echo(f"Next: edit {directory / exercise_id}/exercise.yaml, then run `grader validate {directory}` "
               f"and `grader selftest {directory}` (docs/authoring.md explains every field).")


