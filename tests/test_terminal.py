"""What a reader sees in a terminal: the text report's words and wrapping, the batch's closing lines, and the
edge cases a command line meets (an empty file, an unreachable --fail-under)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT, en, run_cli, zh
from grader.checks.short_answer import answer_length
from grader.reporters import text
from grader.reporters.text import display_width, wrap, wrap_line
from grader.scorecard import CheckResult, ExerciseResult, RunInfo, Scorecard
from grader.source import load_submission


def _card(**run: object) -> Scorecard:
    check = CheckResult(id="values", kind="compare", title={"en": "sin and its derivative are exact", "zh": "sin 及其导数精确"},
                        status="failed", score=0, max_score=3, message="m", hint="h")
    untitled = CheckResult(id="plot", kind="plot", status="passed", score=2, max_score=2, message="ok")
    exercise = ExerciseResult(id="sin-derivative-plot", title={"en": "Plot sin", "zh": "画出 sin"}, score=2, max_score=5,
                              checks=[check, untitled])
    return Scorecard(submission="a.py", score=2, max_score=5, exercises=[exercise],
                     run=RunInfo(seed=2127665847, isolation={"level": "namespaces", "missing": []}, wall_time=1.0, **run),
                     answers={"WHY": "because"})


def test_the_report_shows_titles_a_copyable_seed_and_chinese_punctuation():
    card = _card(output="hello\n", output_bytes=140)
    english, chinese = text.render(card, lang="en"), text.render(card, lang="zh")
    assert "    ✘ sin and its derivative are exact  0/3" in english and "    ✔ plot  2/2" in english  # an id without a title
    assert "seed 2127665847 (reproduce with --seed 2127665847) · isolation: namespaces" in english
    assert "随机种子 2127665847（用 --seed 2127665847 复现）· 隔离：命名空间" in chinese
    assert "--seed 2127665847" in chinese.split("用 ", 1)[1]  # the command text stays whole, ready to copy
    assert "Your program printed (140 bytes):" in english and "你的程序输出（140 字节）：" in chinese
    assert "  WHY: because" in english and "  WHY：because" in chinese
    assert "bytes" not in chinese and "namespaces" not in chinese


def test_weaker_isolation_is_worded_in_the_readers_language():
    card = _card().model_copy(update={"run": RunInfo(seed=1, wall_time=1.0,
                                                     isolation={"level": "rlimits-only", "missing": ["network_namespace", "pid_namespace"]})})
    chinese = text.render(card, lang="zh")
    assert "隔离：仅资源限制" in chinese and "隔离程度低于完整隔离：网络未隔离；没有 PID 命名空间" in chinese
    assert "isolation: rlimits-only" in text.render(card, lang="en")


def test_wrapping_keeps_indentation_scores_and_chinese_punctuation_in_place():
    message = "        " + "sin_and_grad 没有运行自动微分（共 4 次调用中有 4 次），即没有用 backward、torch.autograd.grad 或 torch.func 求导。" * 2
    lines = wrap_line(message, 40)
    assert all(display_width(line) <= 40 and line.startswith("        ") for line in lines)
    assert not any(line.strip()[0] in "，。、）：；" for line in lines)  # closing punctuation never starts a line
    assert "".join(line.strip() for line in lines).replace(" ", "") == message.replace(" ", "")
    header = text.render(_card(), lang="en", width=30)
    assert "      are exact  0/3" in header  # the score stays with the last word of its title, under the title
    assert "--seed 2127665847)" in header  # the command is never cut
    assert all(display_width(line) <= 30 for line in header.splitlines())
    assert wrap("  | " + "x" * 50, 30).splitlines()[1].startswith("  | x")  # printed output keeps its bar
    assert wrap("short line", None) == "short line" and text.render(_card()) == text.render(_card(), width=None)
    # Code is not split at a spaced operator: the expression moves to the next line whole.
    hint = "        hint: backward(gradient=v) computes the gradient of (y * v).sum(); make x = x.detach().requires_grad_() first"
    for width in range(40, 80):
        lines = wrap_line(hint, width)
        assert any("(y * v).sum();" in line for line in lines) and any("x = x.detach()" in line for line in lines), width
        assert all(display_width(line) <= width for line in lines)


def test_a_batch_prints_its_table_then_the_summary_in_the_readers_language(tmp_path):
    for name in ("solution.py", "mistake_cosine.py"):
        (tmp_path / name).write_text((EXAMPLES / name).read_text())
    grade = Path(sys.executable).parent / "grade"
    environment = {k: v for k, v in os.environ.items() if k != "COLUMNS" and not k.startswith(("GITHUB_", "RUNNER_"))}
    result = subprocess.run([str(grade), str(tmp_path), "--seed", "4", "--lang", "zh"], cwd=ROOT, text=True, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    lines = result.stdout.rstrip().splitlines()
    assert lines[-1].startswith("用 ") and lines[-1].endswith("秒评完 2 份提交：满分 1 份，有失分 1 份，未运行 0 份。")
    assert lines[-3].startswith("✘ ") and lines[-3].endswith("mistake_cosine.py  45/50")  # the table comes before it
    assert lines[-2].startswith("✔ ") and lines[-2].endswith("solution.py        50/50")


def test_fail_under_above_the_maximum_is_a_usage_error():
    result = run_cli(str(EXAMPLES / "solution.py"), "--fail-under", "60")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == ("grade: --fail-under 60 is more than the 50 points the selected exercises are worth, "
                                     "so no submission could reach it; give a score between 0 and 50")
    one = run_cli(str(EXAMPLES / "solution.py"), "--fail-under", "11", "-e", "double-backward", "--lang", "zh")
    assert one.returncode == 2 and "--fail-under 11 超过了所选练习的满分 10 分" in one.stderr


def test_an_empty_file_is_said_to_be_empty(grade_source, only, tmp_path):
    for source, key in (("", "source_empty"), ("\n  \n", "source_empty"), ("# my answers\n\n# todo\n", "source_no_code")):
        card = grade_source(source, only("double-backward")).scorecard
        assert card.score == 0 and card.error.params["msg"].key == key
        assert card.top_level_errors == [] and {c.status for e in card.exercises for c in e.checks} == {"error"}
    said = en(grade_source("", only("double-backward")).scorecard.error)
    assert "it is empty (0 bytes, no code at all)" in said and "grade --starter" in said
    assert "只有空行和注释" in zh(grade_source("# todo\n", only("double-backward")).scorecard.error)
    notebook = tmp_path / "empty.ipynb"
    notebook.write_text('{"cells": [{"cell_type": "code", "source": "%matplotlib inline\\n# later", "metadata": {}, '
                        '"outputs": [], "execution_count": null}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    assert load_submission(notebook).decode_error.key == "source_no_code_cells"
    assert load_submission(EXAMPLES / "solution.py").decode_error is None


def test_explanations_are_counted_as_their_language_counts():
    assert answer_length("To differentiate a second time, autograd records the backward pass.") == (10, "words")
    chinese = "二阶导数需要先用 create_graph=True 把反向传播记录成计算图，再对这个更大的图求导。"
    assert answer_length(chinese) == (30, "chars")  # 29 characters and one word of code


def test_usage_errors_are_worded_in_the_readers_language(tmp_path):
    """Every line the grade command prints comes from the catalogue: its usage errors too, in both languages."""
    (tmp_path / "notes.txt").write_text("not python")
    cases = [
        ((str(tmp_path / "missing.py"),), "no such file or directory", "没有这个文件或目录"),
        ((str(tmp_path / "notes.txt"),), "not a .py file or .ipynb notebook", "不是 .py 文件或 .ipynb 笔记本"),
        ((str(tmp_path),), "no .py or .ipynb files in this directory", "这个目录中没有 .py 或 .ipynb 文件"),
        ((), "give a .py file, an .ipynb notebook or a directory", "请给出要评分的 .py 文件"),
        ((str(EXAMPLES / "solution.py"), "-e", "nope"), "unknown exercise 'nope'; choose from: second-derivative-cost, ",
         "没有练习 'nope'；可选的练习：second-derivative-cost、"),
        (("--starter", str(tmp_path / "start.txt")), "a starter file is Python", "起始文件是 Python 文件"),
    ]
    for args, english, chinese in cases:
        said_en, said_zh = run_cli(*args, "--lang", "en"), run_cli(*args, "--lang", "zh")
        assert (said_en.returncode, said_zh.returncode) == (2, 2), args
        assert said_en.stderr.startswith("grade: ") and english in said_en.stderr, said_en.stderr
        assert said_zh.stderr.startswith("grade: ") and chinese in said_zh.stderr, said_zh.stderr
        assert len(said_zh.stderr.strip().splitlines()) == 1 and said_en.stdout == said_zh.stdout == ""


def test_a_coding_cookie_is_honoured_as_python_honours_it(tmp_path, sandbox, builtin):
    """A GBK file that declares `# -*- coding: gbk -*-` runs in Python, so it is graded, not rejected as "not UTF-8"."""
    from grader.grading import GradeOptions, grade_submission

    code = (EXAMPLES / "solution.py").read_text(encoding="utf-8").split("WHY_SECOND_DERIVATIVE_COSTS_MORE")[0]
    answer = "二阶导数要先用 create_graph=True 把反向传播记录成计算图，再对这个更大的图求导。"
    source = f"# -*- coding: gbk -*-\n# 自动微分练习的答案\n{code}WHY_SECOND_DERIVATIVE_COSTS_MORE = \"{answer}\"\n"
    path = tmp_path / "gbk.py"
    path.write_bytes(source.encode("gbk"))
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # really not UTF-8
    assert load_submission(path).source == source
    card = grade_submission(path, [e for e in builtin if e.spec.id == "second-derivative-cost"], sandbox,
                            GradeOptions(seed=5)).scorecard
    assert card.error is None and card.score == card.max_score
    assert card.answers["WHY_SECOND_DERIVATIVE_COSTS_MORE"] == answer  # decoded as the cookie says
    explanation = {c.id: c for c in card.exercises[0].checks}["explanation"]
    assert explanation.message.key == "answer_collected_chars"
    # A cookie that names an encoding the bytes are not in is said as such.
    broken = tmp_path / "broken.py"
    broken.write_bytes(b"# -*- coding: ascii -*-\nx = '\xe4\xb8\xad'\n")
    assert load_submission(broken).decode_error.key == "source_not_text"
    unknown = tmp_path / "unknown.py"
    unknown.write_bytes(b"# -*- coding: klingon -*-\nx = 1\n")
    assert load_submission(unknown).decode_error.key == "source_bad_encoding"


def test_the_batch_summary_wraps_to_the_terminal_too(capsys):
    """The closing line is wrapped like the report above it: at 40 columns it takes several lines, words whole."""
    from grader.cli.progress import Progress

    cards = [_card()] * 12
    for lang, words in (("en", "Graded 12 submissions in 3.4 s: 0 with full marks, 12 with points lost, 0 not run."),
                        ("zh", "用 3.4 秒评完 12 份提交：满分 0 份，有失分 12 份，未运行 0 份。")):
        Progress(len(cards), lang).finish(cards, 3.4, width=40)
        said = capsys.readouterr().err.splitlines()
        assert len(said) >= 2 and all(display_width(line) <= 40 for line in said), said
        assert "".join(said).replace(" ", "") == words.replace(" ", "")  # only spaces at the breaks go
        Progress(len(cards), lang).finish(cards, 3.4)  # no width (not a terminal): one line
        assert capsys.readouterr().err == words + "\n"
