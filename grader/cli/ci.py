"""Output for course CI: report files, GitHub step summaries, Classroom results, annotations."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from grader.cli.common import fail, say

if TYPE_CHECKING:
    from grader.i18n import Lang

# Chosen once per run and never printed inside the fence, so a submission cannot end it early.
STOP_COMMANDS_TOKEN = secrets.token_hex(16)
# Files through which a GitHub Actions step talks to its runner; a submission must not reach them.
RUNNER_FILES = ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STATE")


def in_github_actions() -> bool:
    """Whether this runs as a GitHub Actions step."""
    return os.environ.get("GITHUB_ACTIONS") == "true"


def runner_paths() -> list[str]:
    """Directories of the CI runner's command files, to hide from submissions."""
    paths = {str(Path(os.environ[name]).parent) for name in RUNNER_FILES if os.environ.get(name)}
    if os.environ.get("RUNNER_TEMP"):
        paths.add(os.environ["RUNNER_TEMP"])
    return sorted(paths)


def fenced_for_ci(report: str) -> str:
    """A text report as printed on stdout: in GitHub Actions, fenced so that student text runs no workflow command."""
    if not in_github_actions():
        return report
    from grader.reporters import github

    return github.fence(report, STOP_COMMANDS_TOKEN)


def write_text(path: Path, content: str, append: bool = False, lang: Lang | None = None) -> None:
    """Write (or append) a report file; a path that cannot be written is a usage error (said in `lang`)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a" if append else "w", encoding="utf-8", errors="replace", newline="") as out:
            out.write(content)
    except OSError as exc:
        from grader.i18n import msg

        said = msg("grade_usage_prefix", text=msg("usage_cannot_write", path=str(path), reason=str(exc.strerror or exc)))
        fail(say(lang, said))


def write_reports(scorecards: list[Any], output_format: str, fail_under: float | None, junit_xml: Path | None,
                  gradescope_path: Path | None, markdown_path: Path | None, csv_path: Path | None,
                  lang: Lang | None = None, gradescope_card: Any | None = None) -> None:
    """Write the report files asked for, and in CI the step summary, the Classroom result and annotations, in `lang`.

    `gradescope_card`: the scorecard Gradescope's results.json is made of (default: the first one).

    Annotations go to stdout in text mode; with `--format json` they go to stderr, which the GitHub
    runner reads for workflow commands too, so that stdout stays one JSON document.
    """
    from grader.reporters import csv_report, github, gradescope, junit, markdown

    if junit_xml:
        write_text(junit_xml, junit.render(scorecards, lang), lang=lang)
    if gradescope_path:
        write_text(gradescope_path, gradescope.render(gradescope_card or scorecards[0], lang), lang=lang)
    if markdown_path:
        write_text(markdown_path, markdown.render(scorecards, lang), lang=lang)
    if csv_path:
        write_text(csv_path, csv_report.render(scorecards), lang=lang)
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        write_text(Path(os.environ["GITHUB_STEP_SUMMARY"]), markdown.render(scorecards, lang) + "\n", append=True, lang=lang)
    if os.environ.get("GITHUB_OUTPUT"):
        result = github.classroom_result(scorecards, fail_under, lang)
        write_text(Path(os.environ["GITHUB_OUTPUT"]), f"result={result}\n", append=True, lang=lang)
    if in_github_actions():
        click.echo("".join(github.annotations(card, lang) for card in scorecards), nl=False, err=output_format == "json")
