"""Every sentence the grader says exists in English and Chinese, with the same placeholders."""

from __future__ import annotations

import string

from grader.messages import MESSAGES
from grader.spec.loader import builtin_exercises_dir, load_exercises


def fields(template):
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_message_has_both_languages_with_the_same_fields():
    for key, entry in MESSAGES.items():
        assert entry.get("en") and entry.get("zh"), key
        assert fields(entry["en"]) == fields(entry["zh"]), key


def test_builtin_titles_and_hints_exist_in_both_languages():
    for loaded in load_exercises(builtin_exercises_dir()):
        spec = loaded.spec
        texts = [spec.title, spec.description] + [f.summary for f in spec.functions.values()]
        texts += [v.summary for v in spec.variables.values()]
        for check in spec.checks:
            texts += [check.title, check.hint, getattr(check, "feedback", None)]
        for text in texts:
            if text is not None:
                assert text.zh, f"{spec.id}: missing Chinese for {text.en!r}"


def test_folded_yaml_leaves_no_space_between_chinese_characters():
    from grader.i18n import Localized

    folded = Localized(en="graph", zh="计算图（create_graph=True）， 这个图 比 x 大")
    assert folded.zh == "计算图（create_graph=True），这个图比 x 大"  # spaces around Latin words stay
