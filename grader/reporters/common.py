"""What reporters share: a scorecard's texts in the reader's language, and what its program printed."""

from __future__ import annotations

from grader.i18n import Lang, Text
from grader.messages import render, tr
from grader.scorecard import RunInfo, Scorecard


def words(text: Text | None, lang: Lang) -> str:
    """A scorecard's text (message, localized or plain) in `lang`; "" for none."""
    return render(text, lang) or ""


def language(scorecard: Scorecard, lang: Lang | None) -> Lang:
    """The language to render in: the one asked for, else the one asked for when grading."""
    return lang or scorecard.lang


def program_output(run: RunInfo, lang: Lang) -> str:
    """What the submission printed, then (only when hidden checks are shown) what it printed during them, headed."""
    if not run.hidden_output:
        return run.output
    return f"{run.output}\n[{tr(lang, 'hidden_output_header')}]\n{run.hidden_output}"
