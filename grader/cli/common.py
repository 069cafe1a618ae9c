"""What every command shares: exit statuses, usage errors, choosing exercises, running a command safely."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any, NoReturn

import click

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BUG = 0, 1, 2, 3


class UsageProblem(Exception):
    """Something the user typed or pointed at is wrong; exit 2 with this one-line message (a catalogue `Msg`)."""

    def __init__(self, text: Any) -> None:
        super().__init__(text)
        self.text = text

    def said(self, lang: str | None = None) -> str:
        """The message in `lang` (default: the locale's)."""
        return say(lang, self.text)


def say(lang: str | None, text: Any) -> str:
    """A message (or plain text) in `lang`, the locale's language when none was chosen."""
    # Imported here: the catalogue is not needed for `--help`.
    from grader.i18n import detect_lang
    from grader.messages import render

    return render(text, lang or detect_lang()) or ""  # type: ignore[arg-type]


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print a one-line reason on stderr and exit (2 by default: the user's input is wrong)."""
    click.echo(message, err=True)
    sys.exit(code)


def select_exercises(exercises: list[Any], wanted: tuple[str, ...]) -> list[Any]:
    """The exercises named with -e (all when none is named); UsageProblem lists the valid ids."""
    if not wanted:
        return exercises
    by_id = {e.spec.id: e for e in exercises}
    unknown = [w for w in wanted if w not in by_id]
    if unknown:
        from grader.i18n import msg

        raise UsageProblem(msg("usage_unknown_exercise", ids=[repr(w) for w in unknown], valid=list(by_id)))
    return [by_id[w] for w in wanted]


def load_selected_exercises(directory: Any, wanted: tuple[str, ...], command: str, references: Any = None,
                            lang: str | None = None) -> list[Any]:
    """The exercises of a directory (default: the built-in ones) named with -e; exit 2 on an invalid spec or id.

    With `references` (a sandbox's reference worker) their reference code is imported there and
    checked too, so that a broken reference.py is a spec error before anything is graded.
    """
    from grader.spec.loader import SpecError, builtin_exercises_dir, load_exercises

    try:
        return select_exercises(load_exercises(directory or builtin_exercises_dir(), references=references), wanted)
    except SpecError as exc:
        fail(f"{command}: invalid exercise spec:\n{exc}")
    except UsageProblem as exc:
        fail(f"{command}: {exc.said(lang)}")


def use_color(stream: Any) -> bool:
    """Whether to colour output on this stream (a terminal, and NO_COLOR not set)."""
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def run_command(command: click.Command) -> None:
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
            fail(f"{command.name}: {exc}")
        traceback.print_exc()
        from grader.i18n import msg

        click.echo(say(None, msg("grader_bug")), err=True)
        sys.exit(EXIT_BUG)
