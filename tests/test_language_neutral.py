"""Scorecards are language-neutral: the judge speaks in message ids and data, reporters choose the words.

A scorecard graded once renders in English and in Chinese exactly as grading in that language
shows it; its JSON form validates back to itself; `--format json` names each message's id; and
the judge has no language to choose with.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import math
import re
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT, en, run_cli, zh
from grader.checks.base import Attachment, CheckContext
from grader.grading import GradeOptions, grade_submission
from grader.i18n import Localized, Msg, msg
from grader.messages import MESSAGES, render, tr
from grader.overlay import OverlayWords
from grader.reporters import json_report, text
from grader.scorecard import CheckResult, ExerciseResult, RunInfo, Scorecard

GRADER = ROOT / "grader"
TIMINGS = ("wall_time", "duration", "max_rss_kb", "memory_peak_kb")


def _grade(sandbox, builtin, name: str, lang: str, seed: int, *ids: str) -> Scorecard:
    exercises = [e for e in builtin if e.spec.id in ids] if ids else builtin
    path = EXAMPLES / name
    return grade_submission(path, exercises, sandbox, GradeOptions(seed=seed, lang=lang),  # type: ignore[arg-type]
                            display=f"submissions_example/{name}").scorecard


def _stored(card: Scorecard) -> Scorecard:
    """The scorecard as a service would keep it: its JSON text, read back."""
    return Scorecard.model_validate(json.loads(json.dumps(card.model_dump(mode="json"))))


def _without_timings(value):
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k not in TIMINGS}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


# -- one scorecard, either language ---------------------------------------------------------------

def test_a_scorecard_graded_in_english_renders_in_chinese_as_grading_in_chinese_shows_it(sandbox, builtin):
    shown = run_cli("submissions_example/mistake_cosine.py", "--lang", "zh", "--seed", "3")
    assert shown.returncode == 1, shown.stderr
    assert "源代码在第 " in shown.stdout  # really Chinese
    card = _stored(_grade(sandbox, builtin, "mistake_cosine.py", "en", 3))
    assert card.lang == "en"
    assert text.render(card, lang="zh") + "\n" == shown.stdout
    assert text.render(card) == text.render(card, lang="en") != text.render(card, lang="zh")


def test_a_scorecard_graded_in_chinese_renders_the_english_json(sandbox, builtin):
    shown = run_cli("submissions_example/mistake_nonscalar_backward.py", "--format", "json", "--seed", "5",
                    "-e", "vector-control-flow", "--lang", "en")
    assert shown.returncode == 1, shown.stderr
    card = _stored(_grade(sandbox, builtin, "mistake_nonscalar_backward.py", "zh", 5, "vector-control-flow"))
    assert _without_timings(json_report.scorecard_data(card, "en")) == _without_timings(json.loads(shown.stdout))


def test_grade_json_names_each_message_and_hint_by_id():
    shown = run_cli("submissions_example/mistake_nonscalar_backward.py", "--format", "json", "--seed", "5",
                    "-e", "vector-control-flow", "--lang", "zh")
    card = json.loads(shown.stdout)
    assert card["schema_version"] == 2 and card["lang"] == "zh"
    checks = {c["id"]: c for c in card["exercises"][0]["checks"]}
    for check in checks.values():
        assert isinstance(check["message"], str) and isinstance(check["message_id"], str)
        assert "hint_id" in check and "tip_ids" in check
        assert check["hint_id"] is None or check["hint"]
    gradient = checks["gradient"]
    assert gradient["message_id"] == "call_raised" and gradient["hint_id"] == "nonscalar_backward_hint"
    assert gradient["hint"] == MESSAGES["nonscalar_backward_hint"]["zh"]
    passed = checks["nonscalar-backward-fails"]
    assert (passed["message_id"], passed["hint"], passed["hint_id"]) == ("raises_ok", None, None)


def test_an_instructors_hint_is_localized_text_without_a_message_id(sandbox, builtin):
    card = _grade(sandbox, builtin, "mistake_cosine.py", "en", 3, "sin-derivative-plot")
    check = next(c for c in card.exercises[0].checks if c.id == "no-cosine-in-source")
    assert isinstance(check.hint, Localized) and isinstance(check.title, Localized)
    assert check.message.key == "forbid_source_found"
    data = next(c for c in json_report.scorecard_data(card, "zh")["exercises"][0]["checks"] if c["id"] == check.id)
    assert (data["hint"], data["hint_id"], data["title"]) == (check.hint.zh, None, check.title.zh)
    assert data["message_id"] == "forbid_source_found" and data["message"].startswith("源代码在第 ")


# -- the stored form --------------------------------------------------------------------------------

def test_a_full_scorecard_round_trips_through_json(sandbox, builtin):
    for name in ("mistake_cosine.py", "mistake_missing_module.py", "mistake_curly_quotes.py", "solution_notebook.ipynb"):
        card = _grade(sandbox, builtin, name, "zh", 11)
        assert Scorecard.model_validate(card.model_dump(mode="json")) == card, name
        assert _stored(card) == card and Scorecard.model_validate_json(card.model_dump_json()) == card, name
    assert card.schema_version == 2


def test_message_parameters_keep_their_types_through_json():
    inner = msg("where_cell", cell=2, line=3)
    message = msg("mismatch_values", name=Localized(en="the result", zh="结果"), bad=1, total=3, diff=0.000123,
                  where=msg("at_index_x", index="[2]", x=1.5707963), got="1.0", expected="2.0", rtol=1e-7, atol=0.0)
    nested = msg("unreached_cells", lines=[inner, msg("where_cell", cell=2, line=5)])
    plain = msg("call", function="f", args=["True", msg("arg_tensor", shape="[3]", dtype="float64")])
    flags = Msg(key="mismatch_scalar", params={"name": "x", "got": True, "expected": None, "n": [1, 2.5, "a"]})
    for original in (message, nested, plain, flags):
        back = Msg.model_validate(json.loads(original.model_dump_json()))
        assert back == original
        assert [type(v) for v in back.params.values()] == [type(v) for v in original.params.values()]
    assert isinstance(message.params["name"], Localized) and isinstance(message.params["where"], Msg)
    assert isinstance(message.params["diff"], float) and isinstance(flags.params["got"], bool)
    assert en(message) == ("the result differs at 1 of 3 entries; worst |diff| 1.23e-04 at [2] (x=1.5708) "
                           "(got 1.0, expected 2.0; rtol 1e-07, atol 0).")
    assert zh(message).startswith("结果在 3 个元素中有 1 个不一致；最大绝对差 1.23e-04")


def test_non_finite_numbers_survive_the_stored_form():
    check = CheckResult(id="c", kind="gradient_consistency", status="failed", score=0, max_score=1,
                        message=msg("inconsistent", hand="g_grad", function="g", bad=1, n=2, x=0.5,
                                    got=math.inf, expected=math.nan))
    card = Scorecard(submission="s.py", score=0, max_score=1,
                     exercises=[ExerciseResult(id="e", title="E", score=0, max_score=1, checks=[check])])
    back = Scorecard.model_validate_json(card.model_dump_json())
    assert en(back.exercises[0].checks[0].message) == en(check.message)
    assert "g_grad gives inf, autograd nan" in en(check.message)


def test_inline_templates_of_plugins_render_and_round_trip():
    said = Msg.inline({"en": "{call} returned {bad} bad entries.", "zh": "{call} 返回了 {bad} 个坏元素。"}, "demo.bad",
                      call=msg("call", function="soft", args=[msg("arg_tensor", shape="[4]", dtype="float64")]), bad=2)
    assert said.key == "demo.bad"
    assert en(said) == "soft(tensor[4] float64) returned 2 bad entries."
    assert zh(said) == "soft(张量[4] float64) 返回了 2 个坏元素。"
    assert Msg.model_validate(said.model_dump(mode="json")) == said
    assert en(Msg.inline("English only: {n}", n=1)) == zh(Msg.inline("English only: {n}", n=1)) == "English only: 1"


# -- rendering --------------------------------------------------------------------------------------

def test_lists_read_naturally_in_each_language():
    names = msg("forbid_source_ok", names=["cos", "cos_"])
    assert en(names) == "The source does not use cos, cos_."
    assert zh(names) == "源代码中没有使用 cos、cos_。"
    curves = msg("plot_ok", curves=[Localized(en="sin(x)"), Localized(en="its derivative", zh="它的导数")],
                 how=msg("plot_by_legend"))
    assert zh(curves) == "图中画出了 sin(x)、它的导数，并通过图例加以区分。"
    # A call is code: its arguments are separated by commas in every language.
    call = msg("call", function="f", args=["1", "2"])
    assert en(call) == zh(call) == "f(1, 2)"
    # A notebook's places hold commas, so they are set apart by semicolons.
    places = msg("unreached_cells", lines=[msg("where_cell", cell=1, line=2), msg("where_cell", cell=1, line=4)])
    assert en(places) == " Lines never reached: cell 1, line 2; cell 1, line 4."
    assert zh(places) == " 从未执行到的行：第 1 个单元格第 2 行；第 1 个单元格第 4 行。"


def test_render_takes_every_kind_of_text_and_format_specs_still_apply():
    assert render(None, "zh") is None and render("student text {x}", "zh") == "student text {x}"
    assert render(Localized(en="a", zh="甲"), "zh") == "甲" and render(Localized(en="a"), "zh") == "a"
    assert en(msg("import_timeout", timeout=2.5)) == "Importing the submission did not finish within 2.5 s."
    assert tr("zh", "seconds", n=2.0) == zh(msg("seconds", n=2.0)) == "2 秒"
    with pytest.raises(KeyError, match="no_such_message"):
        en(msg("no_such_message"))


def test_hidden_output_is_headed_in_the_readers_language():
    card = Scorecard(submission="s.py", score=0, max_score=0, exercises=[],
                     run=RunInfo(seed=1, isolation={"level": "namespaces"}, wall_time=0.1, output="shown\n",
                                 hidden_output="secret\n", output_bytes=6))
    assert f"[{MESSAGES['hidden_output_header']['zh']}]" in text.render(card, lang="zh")
    assert json_report.scorecard_data(card, "en")["run"]["output"] == "shown\n\n[printed during hidden checks]\nsecret\n"
    assert "hidden_output" not in json_report.scorecard_data(card)["run"]


def test_attachments_choose_their_words_when_written():
    words = OverlayWords(title=msg("overlay_title"), expected=(msg("overlay_expected", name=Localized(en="sin(x)")),),
                         drawn=(msg("overlay_yours", label=msg("overlay_unlabelled", n=1)),))
    chinese, english = words.texts("zh")
    assert (chinese.title, chinese.drawn) == (MESSAGES["overlay_title"]["zh"], ("你的：曲线 1",))
    assert (english.title, english.expected) == (MESSAGES["overlay_title"]["en"], ("expected: sin(x)",))
    assert [t.title for t in words.texts("en")] == [MESSAGES["overlay_title"]["en"]]
    drawn = Attachment("overlay", "o.png", b"", msg("overlay_png"), render=lambda lang: lang.encode())
    assert drawn.content("zh") == b"zh" and drawn.content("en") == b"en"


# -- the judge knows no language --------------------------------------------------------------------

def test_the_check_context_offers_no_language():
    assert "lang" not in {f.name for f in dataclasses.fields(CheckContext)}
    assert not hasattr(CheckContext, "tr")


JUDGE_SIDE = sorted((GRADER / "checks").glob("*.py")) + [GRADER / "judge.py", GRADER / "hints.py"]


@pytest.mark.parametrize("path", JUDGE_SIDE, ids=[p.stem for p in JUDGE_SIDE])
def test_the_judge_renders_nothing(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "grader.messages":
            found.append(f"line {node.lineno}: imports grader.messages")
        elif isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Name) and func.id in ("tr", "render")) or (isinstance(func, ast.Attribute) and func.attr == "tr"):
                found.append(f"line {node.lineno}: calls {ast.unparse(func)}()")
            if isinstance(func, ast.Attribute) and func.attr == "get" and any(isinstance(a, (ast.Name, ast.Attribute)) and "lang" in ast.unparse(a) for a in node.args):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Attribute) and node.attr == "lang":
            found.append(f"line {node.lineno}: reads {ast.unparse(node)}")
    assert not found, f"{path.relative_to(ROOT)}: " + "; ".join(found)


def _message_keys_in_the_source() -> dict[str, list[str]]:
    """The catalogue keys named by msg("...") and tr(lang, "...") anywhere in the grader, with where."""
    keys: dict[str, list[str]] = {}
    for path in sorted(GRADER.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            position = {"msg": 0, "tr": 1}.get(node.func.id)
            if position is None or len(node.args) <= position:
                continue
            key = node.args[position]
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                keys.setdefault(key.value, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return keys


def test_every_message_the_grader_names_is_in_the_catalogue():
    keys = _message_keys_in_the_source()
    assert len(keys) > 100
    assert {key: where for key, where in keys.items() if key not in MESSAGES} == {}
    # Keys made from data: every reason a call was not run, every sequence type.
    reasons = re.findall(r'"why_(\w+)"', (GRADER / "messages.py").read_text(encoding="utf-8"))
    assert {"call_timeout", "total_time", "exercise_time", "earlier_timeout", "earlier_crash", "not_reached"} <= set(reasons)
    assert {"type_tuple", "type_list"} <= set(MESSAGES)
