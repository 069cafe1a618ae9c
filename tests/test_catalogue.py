"""The message catalogue, read as a reader would: every key renders in both languages, and Chinese
text holds no English words but code.

Each key is rendered with sample parameters (numbers where a format spec wants one, both 1 and 2
so that plural forms are exercised, lists where a spec names a separator, short strings
otherwise). What is left of the Chinese text once the parameters and code are taken out must be
Chinese. Then a whole batch run of the example submissions in Chinese is read the same way: every
English word on stdout and stderr must be code, or data (what the student wrote or a library
said), never a sentence of the grader's.
"""

from __future__ import annotations

import re
import string
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT
from grader.i18n import Msg, msg
from grader.messages import MESSAGES, render
from grader.reporters.text import display_width
from grader.sandbox.isolation import Isolation

_FORMATTER = string.Formatter()
_NUMBER_SPEC = re.compile(r"^[,.]?\d*[a-z%]?\Z|\|")
"""A spec a number takes (`,`, `.2e`, `g`, `one|other`); any other spec joins a list (`, `, `; `, `\\n`)."""
SAMPLE = re.compile(r"P\d")
"""How sample string parameters look: taken out before the words of a text are read."""

# Code that Chinese text names as it is: Python's and torch's words, commands, and the grader's units.
CODE_WORDS = {
    "backward", "detach", "dtype", "figsize", "float", "int", "bool", "str", "None", "NaN", "True", "False",
    "numpy", "torch", "matplotlib", "Python", "IPython", "Jupyter", "jacfwd", "rtol", "atol", "low", "high",
    "if", "for", "while", "grade", "MiB", "PID", "ASCII", "Landlock", "cgroup", "FILE", "sin", "cos", "exp",
    "tanh", "UTF", "Jv",
}
_QUOTED = re.compile(r"`[^`]*`")
_CODE = re.compile(r"--[a-z][\w-]*|.*[_.()=\[\]/*<>+:'\"\d].*|[A-Z][a-z]+(?:[A-Z][a-z]*)+|[A-Za-z]")
"""Code, as a whole token: an option, anything with code's punctuation or a digit, CamelCase, one letter."""


def _trim(token: str) -> str:
    """A token without the sentence around it: end punctuation, and brackets or quotes that do not pair inside it."""
    while token:
        before = token
        token = token.rstrip(",;:!?")
        if token.endswith(".") and token.count(".") == 1 and len(token) > 1:
            token = token[:-1]
        for opening, closing in ("()", "[]", "{}", "<>"):
            if token.endswith(closing) and token.count(closing) > token.count(opening):
                token = token[:-1]
            if token.startswith(opening) and token.count(opening) > token.count(closing):
                token = token[1:]
        for quote in "'\"":
            if token.count(quote) % 2:
                token = token.replace(quote, "", 1) if token.startswith(quote) else token.rstrip(quote)
        if token == before:
            return token
    return token


def tokens(text: str) -> list[str]:
    """The Latin tokens of a text: split at spaces and at every non-ASCII character, the sentence's punctuation trimmed."""
    found = []
    for token in re.split(r"[\s\u0080-\U0010ffff]+", _QUOTED.sub(" ", text)):
        token = _trim(token)
        if re.search(r"[A-Za-z]", token):
            found.append(token)
    return found


def english_words(text: str, data: set[str] = frozenset()) -> list[str]:
    """The English words of a text that are neither code nor data (`data`: tokens that came from parameters)."""
    return [t for t in tokens(text) if not _CODE.fullmatch(t) and t not in CODE_WORDS and t not in data]


def _parameters(key: str, count: int) -> dict[str, object]:
    params: dict[str, object] = {}
    for template in (MESSAGES[key]["en"], MESSAGES[key]["zh"]):
        for _, field, spec, _ in _FORMATTER.parse(template):
            if field is None:
                continue
            if spec and not _NUMBER_SPEC.search(spec):
                params[field] = ["P1", "P2"]
            elif spec:
                params[field] = count
            else:
                params.setdefault(field, "P3")
    return params


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_key_renders_in_both_languages_and_chinese_is_chinese(key):
    for count in (1, 2):
        params = _parameters(key, count)
        english = render(Msg(key=key, params=params), "en")
        chinese = render(Msg(key=key, params=params), "zh")
        assert english and chinese, key
        for sample in {v for v in params.values() if isinstance(v, str)}:
            assert sample in english and sample in chinese, f"{key}: a parameter is not shown"
        assert english_words(SAMPLE.sub(" ", chinese)) == [], f"{key}: English in the Chinese text: {chinese!r}"
        # Chinese punctuation in Chinese text: a half-width colon or parenthesis beside a character reads as a slip.
        prose = _QUOTED.sub("X", chinese)
        assert not re.search(r"[\u4e00-\u9fff][:;,(?!]|[:;,)?!][\u4e00-\u9fff]", prose), f"{key}: {chinese!r}"
        assert not re.search(r"[\u4e00-\u9fff] +[\u4e00-\u9fff]", prose), f"{key}: a space between characters: {chinese!r}"


def test_plurals_agree_with_their_count_in_english():
    one = render(msg("plot_missing_curves", missing=["sin(x)"], n=1, found=""), "en")
    two = render(msg("plot_missing_curves", missing=["sin(x)"], n=2, found=""), "en")
    assert "(1 curve found)" in one and "(2 curves found)" in two
    assert render(msg("more_places", n=1), "en") == " (and 1 more place)"
    assert render(msg("on_calls", bad=1, total=1), "en") == "in 1 of 1 call"
    assert render(msg("paths_too_few", function="g", paths=1, n=16, need=2, unreached=""), "en").startswith(
        "g took 1 path through its control flow over 16 inputs")
    # Chinese has no plural: the same words for any count.
    assert render(msg("more_places", n=1), "zh") == "（另有 1 处）" and render(msg("more_places", n=3), "zh") == "（另有 3 处）"
    # Other format specs still apply to counts.
    assert render(msg("report_printed_bytes", n=12345), "en") == "Your program printed (12,345 bytes):"
    assert render(msg("report_printed_bytes", n=1), "en") == "Your program printed (1 byte):"


def test_chinese_values_meet_chinese_text_without_a_space_and_latin_with_one():
    said = msg("mismatch_type", name=msg("the_result"), got=msg("type_float"),
               expected=msg("type_tensor", shape="[]", dtype="float64"))
    assert render(said, "zh") == "结果是 float，应为形状为 [] 的张量（float64）。"
    assert render(msg("mismatch_type", name="dydx", got=msg("type_none"), expected=msg("type_int")), "zh") == \
        "dydx 是 None，应为 int。"
    assert render(msg("call_timeout", call="f(x)", timeout=msg("seconds", n=2.0)), "zh") == "f(x) 未能在 2 秒内返回，已被终止。"
    assert render(msg("at_index_x", index="[2]", x=1.57), "zh") == "[2]（x=1.57）"
    # What the student wrote keeps its own spaces.
    assert render(msg("call_raised", call="f(x)", type="ValueError", msg="坏 值"), "zh") == "f(x) 抛出 ValueError：坏 值"


def test_keys_made_from_data_exist():
    for level in ("namespaces", "partial", "rlimits-only", "process"):
        assert f"isolation_level_{level.replace('-', '_')}" in MESSAGES
    assert {f"isolation_{name}" for name in Isolation.PROTECTIONS} <= set(MESSAGES)
    assert {"answer_collected_words", "answer_collected_chars"} <= set(MESSAGES)


# -- a whole batch in Chinese ----------------------------------------------------------------------

def _data_words(value: object, found: set[str]) -> None:
    """Every word of the data in a scorecard's stored form: parameters given as plain strings, the student's
    text and output, spec texts, ids and names (all but the catalogue's own sentences)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "key" and "params" in value:
                continue  # a message's id is not shown
            _data_words(item, found)
    elif isinstance(value, list):
        for item in value:
            _data_words(item, found)
    elif isinstance(value, str):
        found.update(tokens(value))


def test_a_chinese_batch_prints_only_chinese_code_and_data_at_80_columns(example_cards):
    """`grade submissions_example --lang zh` at COLUMNS=80: every line fits, every English word is code or data."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "grade"), "submissions_example", "--lang", "zh", "--seed", str(example_cards.seed)],
        cwd=ROOT, env={**example_cards.environment, "COLUMNS": "80"}, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1, result.stderr[-2000:]
    printed = result.stdout + result.stderr
    assert "随机种子" in printed and "份提交" in result.stderr  # really Chinese, the summary included
    too_wide = [line for line in printed.splitlines() if display_width(line) > 80]
    assert too_wide == []
    data: set[str] = set()
    for card in example_cards.cards.values():
        _data_words(card.model_dump(mode="json"), data)
    for loaded in example_cards.exercises:
        _data_words(loaded.spec.model_dump(mode="json"), data)
    assert english_words(printed, data) == []


def test_english_words_are_found_and_code_is_not():
    assert english_words("请使用 x.grad 和 `torch.no_grad()`，不要 finite differences") == ["finite", "differences"]
    assert english_words("抛出 RuntimeError：见 --seed 3、create_graph=True、float64、f(x)") == []
    assert english_words("你的程序输出 (140 bytes):") == ["bytes"]
    assert english_words("隔离：namespaces") == ["namespaces"]
    assert english_words("不要用 .item()、float()、clone() 或 (x.grad)。") == []
    assert english_words("Trying to backward", data={"Trying", "to"}) == []
