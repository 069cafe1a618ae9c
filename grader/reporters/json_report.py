"""The JSON scorecard of interfaces.md: one object per submission, `{"submissions": [...]}` for a batch.

`scorecard_data` renders a (language-neutral) scorecard into that plain data in one language:
every text a string, and beside each message the id it was made from (`message_id`, `hint_id`,
`tip_ids`, `error_id`, ...; null for text that is not from the catalogue: what the student wrote,
an instructor's `hint:` from the spec), so that analytics can count them. The neutral form itself
is `card.model_dump(mode="json")`.
"""

from __future__ import annotations

import json
from typing import Any

from grader.i18n import Lang, Msg, Text
from grader.reporters.common import language, program_output, words
from grader.scorecard import Scorecard


def message_id(text: Text | None) -> str | None:
    """The id of a message (its catalogue key, or a plugin's own), None for any other text."""
    return text.key if isinstance(text, Msg) else None


def _texts(data: dict[str, Any], source: Any, lang: Lang, fields: dict[str, str | None]) -> dict[str, Any]:
    """`data` (a model's dump) with each text field (or list of texts) rendered, then its id(s) under the name given."""
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name not in fields:
            out[name] = value
            continue
        text = getattr(source, name)
        if isinstance(text, list):
            out[name] = [words(item, lang) for item in text]
            ids: Any = [message_id(item) for item in text]
        else:
            out[name] = None if text is None else words(text, lang)
            ids = message_id(text)
        if fields[name]:
            out[fields[name]] = ids
    return out


_MESSAGE_FIELDS = set(Msg.model_fields)


def _details(value: Any, lang: Lang) -> Any:
    """Details as plain data with the messages in them (in their JSON form: key, params, template) rendered."""
    if isinstance(value, dict):
        if set(value) == _MESSAGE_FIELDS:
            return words(Msg.model_validate(value), lang)
        return {key: _details(item, lang) for key, item in value.items()}
    if isinstance(value, list):
        return [_details(item, lang) for item in value]
    return value


def scorecard_data(scorecard: Scorecard, lang: Lang | None = None) -> dict[str, Any]:
    """A scorecard as the plain data of `grade --format json`, its texts in `lang` (default: the scorecard's)."""
    lang = language(scorecard, lang)
    data = scorecard.model_dump(mode="json")
    exercises = []
    for exercise, exercise_data in zip(scorecard.exercises, data["exercises"]):
        checks = []
        for check, check_data in zip(exercise.checks, exercise_data["checks"]):
            rendered = _texts(check_data, check, lang,
                              {"title": None, "message": "message_id", "hint": "hint_id", "tips": "tip_ids"})
            rendered["details"] = _details(check_data["details"], lang)
            rendered["artifacts"] = [{**artifact_data, "description": words(artifact.description, lang)}
                                     for artifact, artifact_data in zip(check.artifacts, check_data["artifacts"])]
            checks.append(rendered)
        exercises.append({**_texts(exercise_data, exercise, lang, {"title": None}), "checks": checks})
    data["exercises"] = exercises
    data["lang"] = lang  # the language of this rendering's texts
    data = _texts(data, scorecard, lang, {"error": "error_id", "error_hint": "error_hint_id"})
    data["top_level_errors"] = [_texts(problem_data, problem, lang, {"message": "message_id", "hint": "hint_id"})
                                for problem, problem_data in zip(scorecard.top_level_errors, data["top_level_errors"])]
    if scorecard.run is not None:
        # One `output` as the report shows it: what was printed during shown hidden checks comes after a header.
        run = dict(data["run"])
        run["output"] = program_output(scorecard.run, lang)
        del run["hidden_output"]
        data["run"] = run
    return data


def render(scorecard: Scorecard, lang: Lang | None = None) -> str:
    """One submission's scorecard as JSON, its texts in `lang` (default: the scorecard's)."""
    return json.dumps(scorecard_data(scorecard, lang), ensure_ascii=False, indent=2) + "\n"


def render_batch(scorecards: list[Scorecard], lang: Lang | None = None) -> str:
    """Several submissions' scorecards as `{"submissions": [...]}`."""
    return json.dumps({"submissions": [scorecard_data(s, lang) for s in scorecards]}, ensure_ascii=False, indent=2) + "\n"
